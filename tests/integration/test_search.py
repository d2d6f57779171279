"""Full-text search over the heads: the index is filled by the migration, kept in step by every
head move (generate, regenerate, gc), checked by verify and rebuilt by repair; queries never
raise an SQLite syntax error and only current-tree nodes are found."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from tests.helpers.trees import write_tree

import contextree
from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi, FrameWrite
from contextree.core.frame import Basis, Frame, default_frame_type
from contextree.core.ids import NodeId
from contextree.core.tree import DiskState
from contextree.errors import AgentNotFoundError, PathNotFoundError, UsageError
from contextree.facade import ProblemKind
from contextree.store.db import Store
from contextree.store.migrations import LATEST_VERSION
from contextree.store.tree import TreeRows

FILES = {
    "src/config.py": 'def parse_config(path):\n    """Read the TOML settings."""\n    return 1\n',
    "src/server.py": "def serve_forever(port):\n    return port\n",
    "docs/guide.md": "# Guide\n\nHow to deploy the zebrafish service.\n",
}


def _generated(workspace: Path, files: dict[str, str] | None = None) -> contextree.Workspace:
    write_tree(workspace, files or FILES)
    ws = contextree.open_workspace(workspace)
    assert asyncio.run(ws.generate()).result.succeeded
    return ws


def _index_rows(workspace: Path) -> int:
    with sqlite3.connect(workspace / ".contextree" / "store.db") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM frame_search").fetchone()[0])


def _head_count(workspace: Path) -> int:
    with sqlite3.connect(workspace / ".contextree" / "store.db") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM heads").fetchone()[0])


def test_search_after_generate_finds_paths_and_texts_ranked_with_snippets(
    workspace: Path,
) -> None:
    ws = _generated(workspace)
    hits = ws.search("parse_config")
    assert [h.path for h in hits] == ["src/config.py"]
    hit = hits[0]
    assert "«parse_config»" in hit.snippet
    assert hit.agent_id == "docs-writer" and hit.frame_type == default_frame_type("docs-writer")
    assert hit.current and hit.on_disk == DiskState.UNCHANGED
    assert hit.frame_id == ws.get("src/config.py").frame.frame_id  # type: ignore[union-attr]
    assert hit.node_id == ws.get("src/config.py").node_id
    # A path word: the file itself (its path and its text) ranks above its directory's frame.
    server = ws.search("server")
    assert server[0].path == "src/server.py"
    assert server[0].score <= server[-1].score
    assert {h.path for h in server} >= {"src/server.py", "src"}
    # The last word is a prefix; every word must match.
    # (the directory's frame quotes its file's heading, so it is found too, ranked below)
    assert [h.path for h in ws.search("zebra")] == ["docs/guide.md", "docs"]
    assert ws.search("zebrafish parse_config") == []
    assert _index_rows(workspace) == _head_count(workspace) == 6  # 3 files, 2 dirs, the root


def test_path_prefix_agent_and_limit(workspace: Path) -> None:
    ws = _generated(workspace)
    assert {h.path for h in ws.search("python", path_prefix="src")} == {
        "src",
        "src/config.py",
        "src/server.py",
    }
    assert ws.search("python", path_prefix="docs") == []
    assert [h.path for h in ws.search("def", path_prefix="src/server.py")] == ["src/server.py"]
    assert len(ws.search("python", limit=1)) == 1
    assert ws.search("python", agent="code-analyzer") == []
    assert ws.search("python", agent="docs-writer")
    with pytest.raises(PathNotFoundError):
        ws.search("python", path_prefix="nope")
    with pytest.raises(AgentNotFoundError):
        ws.search("python", agent="nobody")


@pytest.mark.parametrize(
    "query",
    ['"', "*", "AND", ":", "-", 'parse"', "NEAR(a b)", "path:config", "-config", "a OR", "^x", "'"],
)
def test_fts_syntax_in_a_query_is_text_and_never_raises(workspace: Path, query: str) -> None:
    ws = _generated(workspace)
    assert isinstance(ws.search(query), list)


def test_fts_words_are_searched_literally(workspace: Path) -> None:
    ws = _generated(workspace)
    # "config:py" is the phrase "config py": the path src/config.py (and the frames naming it).
    assert ws.search("config:py")[0].path == "src/config.py"
    assert ws.search("py:config") == []
    assert [h.path for h in ws.search('"zebrafish')] == ["docs/guide.md", "docs"]
    assert ws.search("-") == []  # no letter or digit: nothing can match


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_an_empty_query_is_a_usage_error(workspace: Path, query: str) -> None:
    ws = _generated(workspace)
    with pytest.raises(UsageError, match="empty"):
        ws.search(query)
    with pytest.raises(UsageError, match="limit"):
        ws.search("x", limit=0)


def test_after_an_edit_and_regenerate_the_old_text_is_gone(workspace: Path) -> None:
    ws = _generated(workspace)
    assert [h.path for h in ws.search("serve_forever")] == ["src/server.py"]
    (workspace / "src" / "server.py").write_text("def handle_request(req):\n    return req\n")
    assert asyncio.run(ws.generate()).result.succeeded
    assert ws.search("serve_forever") == []
    assert [h.path for h in ws.search("handle_request")] == ["src/server.py"]
    assert _index_rows(workspace) == _head_count(workspace)
    assert ws.verify().ok


def test_a_deleted_file_gives_no_hit_after_scan_and_after_gc(workspace: Path) -> None:
    ws = _generated(workspace)
    (workspace / "docs" / "guide.md").unlink()
    ws.scan()
    # Before gc the old head is still stored (and indexed) but its node left the tree.
    assert _index_rows(workspace) == _head_count(workspace) == 6
    assert ws.search("zebrafish") == []
    report = ws.gc()
    assert report.heads >= 1
    assert ws.search("zebrafish") == []
    assert _index_rows(workspace) == _head_count(workspace)
    assert ws.verify().ok


def test_force_regenerate_replaces_rows_instead_of_adding_them(workspace: Path) -> None:
    ws = _generated(workspace)
    assert asyncio.run(ws.generate(force=True)).result.succeeded
    assert _index_rows(workspace) == _head_count(workspace) == 6
    assert len(ws.search("serve_forever")) == 1
    assert ws.verify().ok


def _put_hand_frames(workspace: Path, contents: dict[str, bytes]) -> None:
    with Store.open(workspace / ".contextree" / "store.db") as store:
        rows = TreeRows(store.conn)
        writes = []
        for rel, content in contents.items():
            entry = rows.entry(rel.encode())
            assert entry is not None
            writes.append(
                FrameWrite(
                    node_id=NodeId(entry.node_id),
                    frame=Frame(
                        basis=Basis.node(NodeId(entry.node_id)),
                        agent_id="docs-writer",
                        frame_type="notes",
                        content=content,
                        metadata={"agent_id": "docs-writer"},
                    ),
                    agent_id="docs-writer",
                )
            )
        results = ContextApi(store, AgentRegistry.builtin()).put_frames(writes)
        assert all(isinstance(r, bytes) for r in results), results


def test_a_frame_that_is_not_utf8_is_found_by_its_path_only(workspace: Path) -> None:
    ws = _generated(workspace)
    # Two heads in one batch: the binary one, and one that replaces itself within the batch.
    _put_hand_frames(workspace, {"src/server.py": b"\xff\xfe quokka \x80", "docs/guide.md": b"x"})
    _put_hand_frames(workspace, {"docs/guide.md": b"wombat notes"})
    assert ws.search("quokka") == []
    by_path = [h for h in ws.search("server") if h.frame_type == "notes"]
    assert [h.path for h in by_path] == ["src/server.py"]
    assert [(h.path, h.frame_type) for h in ws.search("wombat")] == [("docs/guide.md", "notes")]
    assert _index_rows(workspace) == _head_count(workspace) == 8
    assert ws.verify().ok


def test_the_migration_fills_the_index_of_an_existing_store(workspace: Path) -> None:
    ws = _generated(workspace)
    store_path = workspace / ".contextree" / "store.db"
    with sqlite3.connect(store_path) as conn:  # the store as contextree 4 left it
        conn.execute("DROP TABLE frame_search")
        conn.execute("PRAGMA user_version = 4")
    with Store.open(store_path) as store:  # a writer's open migrates
        assert int(store.conn.execute("PRAGMA user_version").fetchone()[0]) == LATEST_VERSION
    assert _index_rows(workspace) == _head_count(workspace) == 6
    assert [h.path for h in ws.search("zebrafish")] == ["docs/guide.md", "docs"]
    assert ws.verify().ok


def test_a_reader_of_an_old_store_migrates_it_first(workspace: Path) -> None:
    ws = _generated(workspace)
    with sqlite3.connect(workspace / ".contextree" / "store.db") as conn:
        conn.execute("DROP TABLE frame_search")
        conn.execute("PRAGMA user_version = 4")
    assert [h.path for h in ws.search("zebrafish")] == ["docs/guide.md", "docs"]


@pytest.mark.parametrize(
    ("tamper", "how"),
    [
        ("DELETE FROM frame_search WHERE rowid = (SELECT max(rowid) FROM frame_search)", "no row"),
        (
            "UPDATE frame_search SET body = 'forged' WHERE rowid = (SELECT min(rowid) FROM "
            "frame_search)",
            "other text",
        ),
        ("INSERT INTO frame_search (rowid, path, body) VALUES (999999, 'ghost', 'boo')", "no head"),
    ],
)
def test_verify_reports_an_index_out_of_step_and_repair_rebuilds_it(
    workspace: Path, tamper: str, how: str
) -> None:
    ws = _generated(workspace)
    with sqlite3.connect(workspace / ".contextree" / "store.db") as conn:
        conn.execute(tamper)
    report = ws.verify()
    assert [g.kind for g in report.problems] == [ProblemKind.SEARCH_INDEX_OUT_OF_STEP]
    (group,) = report.problems
    assert group.count == 1 and how in group.examples[0].detail
    assert not report.damaged
    fixed = ws.repair()
    assert not fixed.before.ok and fixed.after.ok
    assert fixed.indexed == 6
    assert ws.verify().ok
    assert _index_rows(workspace) == 6
    assert [h.path for h in ws.search("zebrafish")] == ["docs/guide.md", "docs"]
    assert ws.search("ghost") == [] and ws.search("forged") == []
