"""A healthy store on read-only media is read, never called damaged (issue 13, items 12, 13).

Run as an unprivileged user (uid 65534) on a root-owned workspace: the directory and
``.contextree/`` 0555, the store 0444. Root would be denied nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree
from tests.helpers.unprivileged import (
    NOBODY,
    public_temp_dir,
    run_cli_as_nobody,
    unprivileged_skip,
)

_SKIP = unprivileged_skip()
pytestmark = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")


@pytest.fixture
def public_dir() -> Iterator[Path]:
    with public_temp_dir("ctx-ro-") as path:
        yield path


def _read_only_workspace(public_dir: Path) -> tuple[Path, Path]:
    ws = public_dir / "ws"
    write_tree(ws, {"src/a.py": "def a():\n    return 1\n", "README.md": "# hi\n"})
    assert run_cli("-w", str(ws), "generate", "-q").returncode == 0
    home = public_dir / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    data = ws / ".contextree"
    for dirpath, _dirs, files in os.walk(ws):
        os.chmod(dirpath, 0o555)
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o444)
    assert not (data / "store.db-wal").exists()
    return ws, home


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_readers_work_on_a_read_only_workspace(public_dir: Path) -> None:
    ws, home = _read_only_workspace(public_dir)
    store = ws / ".contextree" / "store.db"
    before = _digest(store)
    # The store is root's: uid 65534 adopts it, which writes only its own state directory.
    adopt = run_cli_as_nobody("-w", str(ws), "verify", "--adopt", home=home)
    assert adopt.returncode == 0, (adopt.stdout, adopt.stderr)
    for args in (["status"], ["status", "--check"], ["get", "src/a.py"], ["verify"]):
        result = run_cli_as_nobody("-w", str(ws), *args, home=home)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        text = (result.stdout + result.stderr).lower()
        assert "damaged" not in text and "move" not in text, (args, text)
        assert "Traceback" not in result.stderr
    assert _digest(store) == before
    assert not (ws / ".contextree" / "store.db-wal").exists()


def test_writers_on_a_read_only_workspace_fail_cleanly(public_dir: Path) -> None:
    ws, home = _read_only_workspace(public_dir)
    for args in (["scan"], ["generate"]):
        result = run_cli_as_nobody("-w", str(ws), *args, home=home)
        assert result.returncode in {1, 2}, (args, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        assert "cannot write .contextree/" in result.stderr, result.stderr
        assert "damaged" not in result.stderr.lower()
