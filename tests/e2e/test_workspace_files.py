"""What contextree writes in ``.contextree/``: its ``.gitignore`` (runtime files never show in
``git status``), never through a symlink, and a clean error where it cannot write."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(workspace: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(workspace), *args],
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "PATH": "/usr/bin:/bin",
            "HOME": str(workspace),
        },
    )
    return result.stdout


@needs_git
@pytest.mark.parametrize("command", [["init"], ["scan"], ["generate", "-q"]])
def test_runtime_files_never_show_in_git_status(workspace: Path, command: list[str]) -> None:
    write_tree(workspace, {"src/a.py": "x = 1\n"})
    _git(workspace, "init", "-q")
    assert run_cli("-w", str(workspace), *command).returncode == 0
    # Every runtime file exists now (a scan-stamp, the lock, the store and its WAL files).
    run_cli("-w", str(workspace), "scan", "-q")
    data = workspace / ".contextree"
    for name in ("store.db-wal", "store.db-shm", "store.db-journal", "scan-stamp", "lock"):
        (data / name).touch()
    (data / "agents").mkdir()
    (data / "agents" / "mine.toml").write_text('id = "mine"\n')
    (data / "providers").mkdir()
    (data / "providers" / "p.toml").write_text('type = "openai"\n')
    (data / "config.toml").touch()

    status = _git(workspace, "status", "--porcelain", "--untracked-files=all")
    listed = sorted(line[3:] for line in status.splitlines())
    assert [p for p in listed if p.startswith(".contextree/")] == [
        ".contextree/.gitignore",
        ".contextree/agents/mine.toml",
        ".contextree/config.toml",
        ".contextree/providers/p.toml",
    ]


def test_an_existing_gitignore_is_kept(workspace: Path) -> None:
    data = workspace / ".contextree"
    data.mkdir()
    (data / ".gitignore").write_text("# mine\n")
    assert run_cli("-w", str(workspace), "scan", "-q").returncode == 0
    assert (data / ".gitignore").read_text() == "# mine\n"


def test_a_gitignore_symlink_is_not_followed(workspace: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    data = workspace / ".contextree"
    data.mkdir()
    (data / ".gitignore").symlink_to(target)
    assert run_cli("-w", str(workspace), "scan", "-q").returncode == 0
    assert not target.exists()
