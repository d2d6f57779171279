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


# --- no symlink is followed where contextree writes (item 6) ------------------------------


def _victim(tmp_path: Path, name: str = "victim") -> tuple[Path, bytes]:
    target = tmp_path / name
    data = b"the user's own file\n"
    target.write_bytes(data)
    return target, data


@pytest.mark.parametrize("name", ["lock", "scan-stamp"])
def test_a_symlinked_lock_or_stamp_is_refused_and_its_target_untouched(
    workspace: Path, tmp_path: Path, name: str
) -> None:
    write_tree(workspace, {"a.txt": "a"})
    target, data = _victim(tmp_path)
    before = target.stat().st_mtime_ns
    data_dir = workspace / ".contextree"
    data_dir.mkdir()
    (data_dir / name).symlink_to(target)
    result = run_cli("-w", str(workspace), "scan")
    assert result.returncode == 2, result.stderr
    assert f"{data_dir / name} is a symlink" in result.stderr
    assert "Traceback" not in result.stderr
    assert target.read_bytes() == data
    assert target.stat().st_mtime_ns == before


@pytest.mark.parametrize("name", ["store.db", "store.db-wal", "store.db-shm"])
@pytest.mark.parametrize("command", [["scan"], ["status"], ["generate", "-q"]])
def test_a_symlinked_store_file_is_refused_and_its_target_untouched(
    workspace: Path, tmp_path: Path, name: str, command: list[str]
) -> None:
    write_tree(workspace, {"a.txt": "a"})
    target, data = _victim(tmp_path)
    data_dir = workspace / ".contextree"
    if name != "store.db":
        assert run_cli("-w", str(workspace), "scan", "-q").returncode == 0
    data_dir.mkdir(exist_ok=True)
    (data_dir / name).symlink_to(target)
    result = run_cli("-w", str(workspace), *command)
    assert result.returncode != 0, result.stdout
    assert str(data_dir / name) in result.stderr and "symbolic link" in result.stderr.replace(
        "symlink", "symbolic link"
    )
    assert "Traceback" not in result.stderr
    assert target.read_bytes() == data


def test_a_symlinked_data_dir_is_refused(workspace: Path, tmp_path: Path) -> None:
    write_tree(workspace, {"a.txt": "a"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (workspace / ".contextree").symlink_to(elsewhere)
    for command in (["scan"], ["init"], ["generate", "-q"]):
        result = run_cli("-w", str(workspace), *command)
        assert result.returncode == 2, (command, result.stderr)
        assert f"{workspace / '.contextree'} is a symlink" in result.stderr
        assert "Traceback" not in result.stderr
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("name", [".contextree/config.toml", ".contextreeignore"])
def test_init_never_writes_through_a_symlink(workspace: Path, tmp_path: Path, name: str) -> None:
    target = tmp_path / "victim"  # dangling: init would create it
    (workspace / ".contextree").mkdir()
    (workspace / name).symlink_to(target)
    result = run_cli("-w", str(workspace), "init")
    assert "Traceback" not in result.stderr
    assert not target.exists()
    target.write_bytes(b"mine\n")
    run_cli("-w", str(workspace), "init")
    assert target.read_bytes() == b"mine\n"


# --- a workspace path that is a file, or a .contextree that is a file (item 13) ---------


@pytest.mark.parametrize(
    "command", [["init"], ["scan"], ["status"], ["generate", "-q"], ["get", "a"], ["verify"]]
)
def test_a_workspace_path_that_is_a_file_is_a_clean_error(
    tmp_path: Path, command: list[str]
) -> None:
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    result = run_cli("-w", str(not_a_dir), *command)
    assert result.returncode == 2, result.stderr
    assert f"workspace {not_a_dir} is not a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_data_dir_that_is_a_file_is_a_clean_error(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "a"})
    (workspace / ".contextree").write_text("not a directory")
    for command in (["init"], ["scan"], ["status"]):
        result = run_cli("-w", str(workspace), *command)
        assert result.returncode == 2, (command, result.stderr)
        assert str(workspace / ".contextree") in result.stderr
        assert "Traceback" not in result.stderr
    assert (workspace / ".contextree").read_text() == "not a directory"
