"""``status --check`` fails on a tree that changed on disk since the last scan, without
writing the store (issue 13, item 16)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

FILES = {"src/a.py": "def a():\n    return 1\n", "src/b.py": "B = 2\n", "README.md": "# hi\n"}


def _store_state(workspace: Path) -> tuple[bytes, int, bytes]:
    """The store's bytes and mtime, and what its WAL holds (a reader may leave an empty
    ``-wal`` and a ``-shm``, SQLite's index of the WAL: no data)."""
    db = workspace / ".contextree" / "store.db"
    wal = workspace / ".contextree" / "store.db-wal"
    return db.read_bytes(), db.stat().st_mtime_ns, wal.read_bytes() if wal.exists() else b""


def test_check_passes_on_an_untouched_tree(workspace: Path) -> None:
    write_tree(workspace, FILES)
    assert run_cli("-w", str(workspace), "generate", "-q").returncode == 0
    result = run_cli("-w", str(workspace), "status", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_when_files_changed_since_the_scan_and_writes_nothing(
    workspace: Path,
) -> None:
    write_tree(workspace, FILES)
    assert run_cli("-w", str(workspace), "generate", "-q").returncode == 0
    (workspace / "src" / "a.py").write_text("def a():\n    return 100\n")
    (workspace / "src" / "c.py").write_text("C = 3\n")
    before = _store_state(workspace)
    result = run_cli("-w", str(workspace), "status", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 paths changed on disk since the last scan" in result.stderr
    assert "src/a.py" in result.stderr and "src/c.py" in result.stderr
    assert "contextree generate" in result.stderr
    assert "Traceback" not in result.stderr
    assert _store_state(workspace) == before
