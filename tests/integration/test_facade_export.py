"""``Workspace.export`` and ``Workspace.export_check`` on a generated workspace: jsonl and
markdown documents, AGENTS.md blocks (idempotent, user text kept, no node id changed), the
check (also in a fresh copy without a store) and every refusal."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import blake3
import pytest
from tests.helpers.trees import write_tree

from contextree.core.tokens import estimate_tokens
from contextree.errors import ConfigError, UsageError, WorkspaceWriteError
from contextree.facade import Workspace, open_workspace
from contextree.store.db import Store
from contextree.store.tree import TreeRows
from contextree.workspace.marked_blocks import find_blocks, strip_blocks

FILES = {
    "src/app.py": "def main():\n    return 1\n",
    "src/util.py": "X = 2\n",
    "docs/guide.md": "# Guide\n\nRead me.\n",
    "AGENTS.md": "# Agents\n\nWritten by a person.\n",
}
ONE_PROCESS: dict[str, Any] = {"scan": {"hash_processes": 1}}


def _open(root: Path, **export: Any) -> Workspace:
    overrides = dict(ONE_PROCESS)
    if export:
        overrides["export"] = export
    return open_workspace(root, discover=False, settings_overrides=overrides)


def _generate(root: Path, **export: Any) -> int:
    """Generate (offline) and return how many nodes were done (not skipped)."""
    with _open(root, **export) as ws:
        outcome = asyncio.run(ws.generate())
    assert outcome.result.succeeded
    return sum(1 for node in outcome.result.nodes.values() if node.status == "done")


def _tree(root: Path) -> dict[bytes, bytes]:
    with Store.open(root / ".contextree" / "store.db") as store:
        return {path: row[1] for path, row in TreeRows(store.conn).load_entries().items()}


@pytest.fixture
def generated(workspace: Path) -> Path:
    write_tree(workspace, FILES)
    assert _generate(workspace) == 7  # 4 files, 3 directories
    return workspace


def test_jsonl_has_one_record_per_node_with_its_ids_and_frame(generated: Path) -> None:
    with _open(generated) as ws:
        result = ws.export("jsonl")
        app = ws.get("src/app.py")
    records = [json.loads(line) for line in result.text.splitlines()]
    ids = _tree(generated)
    assert [r["path"] for r in records] == [
        ".",
        "AGENTS.md",
        "docs",
        "docs/guide.md",
        "src",
        "src/app.py",
        "src/util.py",
    ]
    assert (result.nodes, result.without_frame) == (7, 0)
    for record in records:
        raw = b"" if record["path"] == "." else record["path"].encode()
        assert record["node_id"] == ids[raw].hex()
        assert record["agent_id"] == "docs-writer"
        assert record["frame_type"] == "context-docs-writer"
        assert record["current"] is True
        assert record["metadata"]["provider"] == "structural"
    by_path = {r["path"]: r for r in records}
    assert by_path["src/app.py"]["frame_id"] == app.frame.frame_id if app.frame else False
    assert by_path["src/app.py"]["text"] == app.text
    assert by_path["src"]["kind"] == "dir" and by_path["src/app.py"]["kind"] == "file"
    assert set(records[0]) == {
        "path", "kind", "node_id", "size", "agent_id", "frame_type", "frame_id", "text",
        "metadata", "written_at", "current",
    }  # fmt: skip


def test_jsonl_of_a_subtree_and_to_a_file(generated: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with _open(generated) as ws:
        result = ws.export("jsonl", "src", out=out)
    assert result.out == out / "src.jsonl"
    assert result.out.read_text() == result.text
    assert [json.loads(line)["path"] for line in result.text.splitlines()] == [
        "src",
        "src/app.py",
        "src/util.py",
    ]


def test_a_node_without_a_frame_is_a_record_with_null_frame_fields(generated: Path) -> None:
    write_tree(generated, {"src/new.py": "N = 3\n"})
    with _open(generated) as ws:
        ws.scan()
        result = ws.export("jsonl", "src")
    by_path = {r["path"]: r for r in map(json.loads, result.text.splitlines())}
    assert by_path["src/new.py"]["frame_id"] is None
    assert by_path["src/new.py"]["text"] is None
    assert by_path["src/new.py"]["current"] is False
    assert by_path["src"]["frame_id"] is None  # its id changed with its new child
    assert by_path["src/app.py"]["current"] is True
    assert result.without_frame == 2


def test_markdown_is_one_document_level_by_level_and_a_budget_cuts_it(generated: Path) -> None:
    with _open(generated) as ws:
        full = ws.export("markdown")
        cut = ws.export("markdown", budget=estimate_tokens(full.text) // 2)
        with pytest.raises(UsageError, match="cannot hold even the title"):
            ws.export("markdown", budget=5)
        with pytest.raises(UsageError, match="markdown only"):
            ws.export("jsonl", budget=1000)
        with pytest.raises(UsageError, match="unknown export format"):
            ws.export("html")
    headings = [line for line in full.text.splitlines() if line.startswith("## `")]
    assert "\n#### Contents\n" in full.text  # the frames' own headings sit below the sections'
    assert not [line for line in full.text.splitlines() if line.startswith("## C")]
    assert headings == [
        "## `.` (directory)",
        "## `AGENTS.md` (file)",
        "## `docs` (directory)",
        "## `src` (directory)",
        "## `docs/guide.md` (file)",
        "## `src/app.py` (file)",
        "## `src/util.py` (file)",
    ]
    assert full.text.startswith("# Context: .\n")
    assert (full.nodes, full.omitted) == (7, 0)
    assert 0 < cut.nodes < 7 and cut.nodes + cut.omitted == 7
    assert cut.text.startswith(full.text.split("## ")[0])
    assert f"{cut.omitted} more nodes left out to fit the budget" in cut.text
    assert estimate_tokens(cut.text) <= estimate_tokens(full.text) // 2


def test_agents_md_keeps_user_text_is_idempotent_and_changes_no_node_id(
    generated: Path,
) -> None:
    agents = generated / "AGENTS.md"
    agents.write_bytes(b"# Agents\n\nWritten by a person.\n")  # same bytes as scanned
    before = _tree(generated)
    with _open(generated) as ws:
        first = ws.export("agents-md")
        root_frame = ws.get(".").frame
    assert root_frame is not None
    data = agents.read_bytes()
    (block,) = find_blocks(data)
    assert (block.node_id, block.frame_id) == (before[b""].hex(), root_frame.frame_id)
    assert data.startswith(b"# Agents\n\nWritten by a person.\n<!-- contextree:begin ")
    assert root_frame.text is not None and root_frame.text.strip().encode() in data
    assert strip_blocks(data) == b"# Agents\n\nWritten by a person.\n"
    assert [(f.path, f.action, f.tree_changed) for f in first.files] == [
        ("AGENTS.md", "updated", False)
    ]
    # Text a person adds below (and above) the block survives the next export.
    agents.write_bytes(b"top\n" + data + b"bottom\n")
    with _open(generated) as ws:
        assert ws.export("agents-md").files[0].action == "unchanged"
    kept = agents.read_bytes()
    mtime = agents.stat().st_mtime_ns
    with _open(generated) as ws:
        again = ws.export("agents-md")
    assert again.files[0].action == "unchanged" and again.written == ()
    assert agents.read_bytes() == kept and agents.stat().st_mtime_ns == mtime
    # Put the scanned text back: generating again calls nothing, every id is the same.
    agents.write_bytes(data)
    assert _generate(generated) == 0
    assert _tree(generated) == before
    with _open(generated) as ws:
        assert ws.export_check().ok


def test_check_fails_after_an_edit_and_names_the_block(generated: Path) -> None:
    with _open(generated, agents_md_dirs=[".", "src"]) as ws:
        created = ws.export("agents-md")  # creates src/AGENTS.md: src and the root change
        assert [b.status for b in ws.export_check().blocks] == ["stale", "stale"]
    assert [(f.path, f.tree_changed) for f in created.files] == [
        ("AGENTS.md", False),
        ("src/AGENTS.md", True),
    ]
    assert _generate(generated) == 3  # src/AGENTS.md, src and the root
    with _open(generated, agents_md_dirs=[".", "src"]) as ws:
        assert [f.action for f in ws.export("agents-md").files] == ["updated", "updated"]
        assert ws.export_check().ok
    assert _generate(generated) == 0
    write_tree(generated, {"src/util.py": "X = 3\n"})
    with _open(generated, agents_md_dirs=[".", "src"]) as ws:
        report = ws.export_check()
    assert not report.ok
    assert [(b.path, b.status) for b in report.problems] == [
        ("AGENTS.md", "stale"),
        ("src/AGENTS.md", "stale"),
    ]
    assert report.problems[1].reason == "the directory changed since the block was written"
    assert report.problems[1].block_node_id != report.problems[1].current_node_id


def test_check_works_in_a_fresh_copy_without_a_store(generated: Path, tmp_path: Path) -> None:
    with _open(generated) as ws:
        ws.export("agents-md")
    clone = tmp_path / "clone"
    shutil.copytree(generated, clone, ignore=shutil.ignore_patterns(".contextree"))
    with _open(clone) as ws:
        report = ws.export_check()
    assert report.ok, report
    assert not (clone / ".contextree").exists()  # the check created nothing in the clone
    (clone / "docs" / "guide.md").write_text("# Guide\n\nChanged.\n")
    with _open(clone) as ws:
        assert [b.status for b in ws.export_check().blocks] == ["stale"]


def test_a_missing_file_is_created_and_the_check_reports_missing_blocks(
    generated: Path,
) -> None:
    with _open(generated, agents_md_dirs=["src"], agents_md_files=["CLAUDE.md"]) as ws:
        assert [b.status for b in ws.export_check().blocks] == ["missing"]
        result = ws.export("agents-md")
    created = generated / "src" / "CLAUDE.md"
    assert [(f.path, f.action, f.tree_changed) for f in result.files] == [
        ("src/CLAUDE.md", "created", True)
    ]
    assert strip_blocks(created.read_bytes()) == b""
    assert created.stat().st_mode & 0o777 == 0o644


def test_a_symlinked_agents_md_is_refused_and_its_target_untouched(
    generated: Path, tmp_path: Path
) -> None:
    target = tmp_path / "bashrc"
    target.write_text("export PATH=/usr/bin\n")
    (generated / "AGENTS.md").unlink()
    (generated / "AGENTS.md").symlink_to(target)
    with _open(generated) as ws, pytest.raises(WorkspaceWriteError, match="symbolic link"):
        ws.export("agents-md")
    assert target.read_text() == "export PATH=/usr/bin\n"
    assert (generated / "AGENTS.md").is_symlink()
    with _open(generated) as ws:
        (item,) = ws.export_check().blocks
    assert item.status == "unreadable" and "symbolic link" in item.reason


@pytest.mark.parametrize(
    "value", ["..", "../elsewhere", "/etc", "src/../../x", "nope", "src/app.py"]
)
def test_an_agents_md_dir_outside_the_workspace_or_not_a_directory_is_a_config_error(
    generated: Path, value: str
) -> None:
    with _open(generated, agents_md_dirs=[value]) as ws:
        with pytest.raises(ConfigError, match=r"export\.agents_md_dirs entry") as caught:
            ws.export("agents-md")
        with pytest.raises(ConfigError):
            ws.export_check()
    assert repr(value) in caught.value.message
    assert not list(generated.parent.glob("**/AGENTS.md"))[1:]  # only the workspace's own


def test_a_symlinked_directory_is_refused_even_inside_the_workspace(generated: Path) -> None:
    os.symlink(generated / "src", generated / "linked")
    with (
        _open(generated, agents_md_dirs=["linked"]) as ws,
        pytest.raises(ConfigError, match="goes through the symbolic link"),
    ):
        ws.export("agents-md")
    assert not (generated / "src" / "AGENTS.md").exists()


def test_ignored_and_withheld_targets_are_refused_before_anything_is_written(
    generated: Path,
) -> None:
    (generated / ".gitignore").write_text("docs/AGENTS.md\n")
    with _open(generated) as ws:
        asyncio.run(ws.generate())
    with (
        _open(generated, agents_md_dirs=[".", "docs"]) as ws,
        pytest.raises(WorkspaceWriteError, match=r"docs/AGENTS\.md: .*ignored by \.gitignore"),
    ):
        ws.export("agents-md")
    assert not (generated / "docs" / "AGENTS.md").exists()
    assert find_blocks((generated / "AGENTS.md").read_bytes()) == []  # nothing written at all
    overrides = {**ONE_PROCESS, "generation": {"secret_patterns": ["CLAUDE.md"]}}
    overrides["export"] = {"agents_md_files": ["CLAUDE.md"]}
    with (
        open_workspace(generated, discover=False, settings_overrides=overrides) as ws,
        pytest.raises(WorkspaceWriteError, match="secret patterns withhold it"),
    ):
        ws.export("agents-md")
    assert not (generated / "CLAUDE.md").exists()


def test_other_files_keep_their_plain_blake3_content_hash(generated: Path) -> None:
    with Store.open(generated / ".contextree" / "store.db") as store:
        rows = TreeRows(store.conn)
        for rel in ("src/app.py", "docs/guide.md"):
            entry = rows.entry(rel.encode())
            assert entry is not None
            digest = blake3.blake3((generated / rel).read_bytes()).digest()
            assert entry.content_hash == digest
