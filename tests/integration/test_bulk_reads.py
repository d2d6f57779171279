"""Bulk reads: ``Workspace.get_tree`` (every node under a path, pre-order, with its heads) and
``Workspace.children``, and ``ContextApi.heads_under`` costing the same number of statements for
30 nodes as for 3,000."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.helpers.trees import write_tree

import contextree
from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi, FrameWrite
from contextree.core.frame import Basis, Frame
from contextree.core.ids import NodeId
from contextree.core.tree import DiskState
from contextree.errors import PathNotFoundError
from contextree.store.db import Store
from contextree.store.tree import TreeRows
from contextree.workspace.scan import Scanner

FILES = {
    "src/a.py": "def a():\n    return 1\n",
    "src/pkg/b.py": "B = 2\n",
    "src-extra/c.py": "C = 3\n",  # sorts between "src" and "src/..." by raw bytes
    "README.md": "# Readme\n",
}


def _generated(workspace: Path) -> contextree.Workspace:
    write_tree(workspace, FILES)
    ws = contextree.open_workspace(workspace)
    assert asyncio.run(ws.generate()).result.succeeded
    return ws


def test_get_tree_is_pre_order_with_each_nodes_frames(workspace: Path) -> None:
    ws = _generated(workspace)
    nodes = ws.get_tree("")
    assert [n.path for n in nodes] == [
        ".",
        "README.md",
        "src",
        "src/a.py",
        "src/pkg",
        "src/pkg/b.py",
        "src-extra",
        "src-extra/c.py",
    ]
    for node in nodes:
        single = ws.get(node.path)
        assert [f.frame_id for f in node.frames] == [f.frame_id for f in single.frames]
        assert node.frames[0].text == single.text
        assert (node.node_id, node.kind, node.size, node.frame_count) == (
            single.node_id,
            single.kind,
            single.size,
            single.frame_count,
        )
        assert node.agent_id == "docs-writer" and node.frames[0].current
        assert node.on_disk == (DiskState.DIRECTORY if node.kind == "dir" else DiskState.UNCHANGED)
        assert node.scanned_at is not None
    assert [n.path for n in ws.get_tree("src")] == ["src", "src/a.py", "src/pkg", "src/pkg/b.py"]
    assert [n.path for n in ws.get_tree("src/a.py")] == ["src/a.py"]


def test_nodes_without_a_frame_are_listed_with_no_frames(workspace: Path) -> None:
    ws = _generated(workspace)
    write_tree(workspace, {"src/new.py": "N = 1\n"})
    (workspace / "src" / "a.py").write_text("def a():\n    return 2\n")
    ws.scan()
    nodes = {n.path: n for n in ws.get_tree("src")}
    assert nodes["src/new.py"].frames == () and nodes["src/new.py"].frame_count == 0
    assert nodes["src/a.py"].frames == ()  # edited: the old head belongs to the old node id
    assert nodes["src"].frames == ()  # its id changed with its child's
    assert len(nodes["src/pkg/b.py"].frames) == 1
    assert ws.get_tree("src", agent="code-analyzer")[0].frames == ()


def test_children_are_the_direct_ones_by_name(workspace: Path) -> None:
    ws = _generated(workspace)
    assert [n.path for n in ws.children("")] == ["README.md", "src", "src-extra"]
    children = ws.children("src")
    assert [(n.path, n.kind) for n in children] == [("src/a.py", "file"), ("src/pkg", "dir")]
    assert all(len(n.frames) == 1 for n in children)
    assert ws.children("src/a.py") == []
    with pytest.raises(PathNotFoundError):
        ws.children("nope")
    with pytest.raises(PathNotFoundError):
        ws.get_tree("nope")


def _store_with_frames(root: Path, files: int) -> None:
    write_tree(root, {f"d{i % 10}/sub{i % 7}/f{i}.txt": f"file {i}\n" for i in range(files)})
    (root / ".contextree").mkdir()
    with Store.open(root / ".contextree" / "store.db") as store:
        Scanner(root, store).scan()
        writes = [
            FrameWrite(
                node_id=NodeId(entry.node_id),
                frame=Frame(
                    basis=Basis.node(NodeId(entry.node_id)),
                    agent_id="docs-writer",
                    frame_type="notes",
                    content=f"notes on {entry.path.decode()}".encode(),
                    metadata={"agent_id": "docs-writer"},
                ),
                agent_id="docs-writer",
            )
            for entry in TreeRows(store.conn).subtree(b"")
        ]
        assert all(
            isinstance(r, bytes)
            for r in ContextApi(store, AgentRegistry.builtin()).put_frames(writes)
        )


def _statements_for_subtree(root: Path) -> tuple[int, int, int]:
    """(nodes read, nodes with a frame, SQL statements run) for one heads_under of the root."""
    with Store.open(root / ".contextree" / "store.db") as store:
        api = ContextApi(store, AgentRegistry.builtin())
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        nodes = api.heads_under(b"", agent_id="docs-writer")
        store.conn.set_trace_callback(None)
    return len(nodes), sum(1 for n in nodes if n.frames), len(statements)


def test_a_3000_node_subtree_is_read_in_as_many_statements_as_a_small_one(
    tmp_path: Path,
) -> None:
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    big.mkdir()
    _store_with_frames(small, 20)
    _store_with_frames(big, 2_920)
    small_nodes, small_framed, small_statements = _statements_for_subtree(small)
    big_nodes, big_framed, big_statements = _statements_for_subtree(big)
    assert big_nodes == big_framed == 2_920 + 10 + 70 + 1  # files, d*, d*/sub*, the root
    assert small_nodes == small_framed
    assert big_statements == small_statements == 1
