"""The workspace use cases from Python: ``Workspace.init``, ``scan``, ``status``,
``frame_status``, ``verify``, ``adopt`` and ``gc`` on a temporary workspace."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from tests.helpers.trees import OLD_NS, write_tree

from contextree.errors import PathNotFoundError
from contextree.facade import (
    AdoptResult,
    GcReport,
    InitResult,
    ScanReport,
    StatusReport,
    VerifyReport,
    Workspace,
    open_workspace,
)

FILES = {"src/a.py": "A = 1\n", "src/b.py": "B = 2\n", "README.md": "# demo\n"}
ONE_PROCESS = {"scan": {"hash_processes": 1}}


def _open(root: Path) -> Workspace:
    return open_workspace(root, discover=False, settings_overrides=ONE_PROCESS)


def test_init_creates_the_store_config_and_ignore_file_once(workspace: Path) -> None:
    with _open(workspace) as ws:
        first = ws.init()
        second = ws.init()
    data = workspace / ".contextree"
    assert isinstance(first, InitResult)
    assert first.created == (
        data / "store.db",
        data / "config.toml",
        workspace / ".contextreeignore",
    )
    assert first.existing == ()
    assert second.created == ()
    assert set(second.existing) == set(first.created)


def test_scan_then_status_report_the_tree_and_what_changed_since(workspace: Path) -> None:
    write_tree(workspace, FILES)
    ws = _open(workspace)
    never = ws.status()
    assert never.last_scan is None and never.files == 0 and never.pending is None

    report = ws.scan()
    assert isinstance(report, ScanReport)
    assert (report.files, report.dirs, report.hashed) == (3, 2, 3)
    assert sorted(report.added) == [b"", b"README.md", b"src", b"src/a.py", b"src/b.py"]
    assert report.total_bytes == sum(len(text) for text in FILES.values())

    status = ws.status()
    assert isinstance(status, StatusReport)
    assert status.root == workspace.resolve()
    assert status.last_scan is not None
    assert status.last_scan.root_id == report.root_id
    assert (status.files, status.dirs, status.adopted) == (3, 2, True)
    assert status.pending is not None and not status.pending.modified

    (workspace / "src" / "a.py").write_text("A = 2\n")
    os.utime(workspace / "src" / "a.py", ns=(OLD_NS + 10**9, OLD_NS + 10**9))
    (workspace / "new.txt").write_text("n\n")
    changed = ws.status()
    assert changed.pending is not None
    assert list(changed.pending.modified) == [b"src/a.py"]
    assert list(changed.pending.added) == [b"new.txt"]
    assert ws.status(check_changes=False).pending is None
    # status wrote nothing: a scan now still finds the same changes.
    assert sorted(ws.scan().added) == [b"new.txt"]


def test_frame_status_counts_coverage_after_generate(workspace: Path) -> None:
    write_tree(workspace, FILES)
    ws = _open(workspace)
    assert ws.frame_status().coverage is None  # never scanned: nothing to count
    ws.scan()
    before = ws.frame_status()
    assert before.coverage is not None
    assert (before.coverage.nodes, before.coverage.current) == (5, 0)
    assert before.heads == [] and before.last_run is None

    outcome = asyncio.run(ws.generate())
    assert outcome.result.succeeded
    after = ws.frame_status()
    assert after.coverage is not None
    assert (after.coverage.current, after.coverage.missing) == (5, 0)
    assert after.coverage.resolved.provider_name == "structural"
    assert [count for _, _, count in after.heads] == [5]
    assert after.last_run is not None and after.last_run.run.done == 5


def test_frame_status_reports_an_unknown_agent_instead_of_raising(workspace: Path) -> None:
    write_tree(workspace, FILES)
    ws = _open(workspace)
    ws.scan()
    report = ws.frame_status(agent="no-such-agent")
    assert report.coverage is None
    assert report.coverage_error is not None
    assert "no-such-agent" in report.coverage_error.message


def test_verify_a_sound_store_and_refuse_an_unscanned_one(workspace: Path) -> None:
    ws = _open(workspace)
    with pytest.raises(PathNotFoundError):
        ws.verify()
    write_tree(workspace, FILES)
    ws.scan()
    asyncio.run(ws.generate())
    report = ws.verify()
    assert isinstance(report, VerifyReport)
    assert report.ok and not report.damaged and report.problem_count == 0
    assert (report.frames, report.heads, report.generations) == (5, 5, 5)


def test_gc_removes_what_left_the_tree_and_a_dry_run_only_counts(workspace: Path) -> None:
    write_tree(workspace, FILES)
    ws = _open(workspace)
    ws.scan()
    asyncio.run(ws.generate())
    (workspace / "README.md").unlink()
    ws.scan()

    # store.keep_history (on by default) keeps the history of the root, which is still there.
    kept = ws.gc(dry_run=True)
    assert isinstance(kept, GcReport)
    assert kept.dry_run and kept.keep_history and not kept.compacted
    assert (kept.nodes, kept.heads, kept.generations, kept.frames) == (1, 2, 1, 1)
    # Without history: README.md's node, head, history row and frame, and the old root's.
    preview = ws.gc(dry_run=True, keep_history=False)
    assert (preview.nodes, preview.heads, preview.generations, preview.frames) == (2, 2, 2, 2)
    assert preview.store_bytes_after == preview.store_bytes_before

    swept = ws.gc(keep_history=False)
    assert not swept.dry_run and not swept.keep_history and swept.compacted
    counts = (swept.nodes, swept.heads, swept.generations, swept.frames, swept.artifacts)
    assert counts == (
        preview.nodes,
        preview.heads,
        preview.generations,
        preview.frames,
        preview.artifacts,
    )
    again = ws.gc()
    assert (again.nodes, again.heads, again.generations, again.frames) == (0, 0, 0, 0)
    assert ws.verify().ok


def test_adopt_a_store_that_came_with_a_copy_of_the_workspace(tmp_path: Path) -> None:
    original = tmp_path / "original"
    original.mkdir()
    write_tree(original, FILES)
    ws = _open(original)
    ws.scan()
    asyncio.run(ws.generate())

    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    cloned = _open(copy)
    assert cloned.status(check_changes=False).adopted is False
    cloned_coverage = cloned.frame_status().coverage
    assert cloned_coverage is not None and cloned_coverage.current == 0

    result = cloned.adopt()
    assert isinstance(result, AdoptResult)
    assert result.adopted and result.report.ok
    assert result.store_path == copy.resolve() / ".contextree" / "store.db"
    assert cloned.status(check_changes=False).adopted is True
    adopted_coverage = cloned.frame_status().coverage
    assert adopted_coverage is not None and adopted_coverage.current == 5
