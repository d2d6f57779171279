"""Readers say whether a file changed since the scan its frames are current for, by one
``lstat`` against the stored signature (no read, no hash, no walk)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import contextree
from contextree.bootstrap import load_workspace, open_store_for_reading, tree_rows
from contextree.core.tree import DiskState
from contextree.workspace.freshness import disk_states


def _generated(workspace: Path) -> contextree.Workspace:
    (workspace / "src").mkdir()
    (workspace / "src" / "a.py").write_text("def f():\n    return 1\n")
    (workspace / "src" / "b.py").write_text("def g():\n    return 2\n")
    ws = contextree.open_workspace(workspace)
    assert asyncio.run(ws.generate()).result.succeeded
    return ws


def test_get_says_unchanged_then_changed_then_missing(workspace: Path) -> None:
    ws = _generated(workspace)
    node = ws.get("src/a.py")
    assert node.on_disk == DiskState.UNCHANGED
    assert node.scanned_at is not None and node.frame is not None and node.frame.current

    (workspace / "src" / "a.py").write_text("def f():\n    return 10\n")
    assert ws.get("src/a.py").on_disk == DiskState.CHANGED
    assert ws.get("src").on_disk == DiskState.DIRECTORY

    (workspace / "src" / "a.py").unlink()
    assert ws.get("src/a.py").on_disk == DiskState.MISSING
    assert ws.get("src/b.py").on_disk == DiskState.UNCHANGED


def test_a_touch_without_a_change_of_size_is_still_seen(workspace: Path) -> None:
    ws = _generated(workspace)
    path = workspace / "src" / "b.py"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert ws.get("src/b.py").on_disk == DiskState.CHANGED


def test_a_file_replaced_by_a_directory_is_changed_and_unknown_paths_are_left_out(
    workspace: Path,
) -> None:
    _generated(workspace)
    (workspace / "src" / "b.py").unlink()
    (workspace / "src" / "b.py").mkdir()
    setup = load_workspace(str(workspace))
    with open_store_for_reading(setup) as store:
        states = disk_states(workspace, tree_rows(store), [b"src/b.py", b"nope", b""])
    assert states == {b"src/b.py": DiskState.CHANGED, b"": DiskState.DIRECTORY}
