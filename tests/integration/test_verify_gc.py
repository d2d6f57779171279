"""``ContextApi.verify`` and ``ContextApi.gc`` over a real store and real scans: what verify
finds after the store is damaged behind contextree's back, what gc removes after edits and
deletions (with and without history), that a dry run matches the real run, and how both
commands behave at the CLI (a foreign store file, a held writer lock)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from tests.helpers.cli import run_cli
from tests.helpers.trees import scan, write_tree

from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi, Lineage, NodeView
from contextree.core.frame import Basis, Frame, default_frame_type
from contextree.core.ids import FrameId, NodeId, digest_text
from contextree.errors import StoreError
from contextree.metadata.contract import build_frame_metadata
from contextree.store.db import Store
from contextree.store.sweep import GcReport
from contextree.store.tree import TreeRows
from contextree.store.upkeep import ProblemKind, VerifyReport
from contextree.workspace.lock import writer_lock

AGENT = "docs-writer"
FILES = {"src/a.py": "A = 1\n", "src/b.py": "B = 2\n", "README.md": "# demo\n"}


@dataclass
class Ws:
    root: Path
    store: Store
    api: ContextApi

    @property
    def db(self) -> Path:
        return self.root / ".contextree" / "store.db"

    def node(self, path: str) -> NodeId:
        entry = TreeRows(self.store.conn).entry(path.encode())
        assert entry is not None, path
        return NodeId(entry.node_id)

    def paths(self) -> list[str]:
        return sorted(p.decode() for p in TreeRows(self.store.conn).load_entries())

    def counts(self) -> dict[str, int]:
        tables = ("nodes", "heads", "generations", "frames", "artifacts")
        conn = self.store.conn
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables
        }  # fixed table names

    def write(self, path: str, text: str, *, prompt: str | None = None) -> FrameId:
        """A generated frame with its own artifacts (``prompt`` may be shared on purpose)."""
        node = self.node(path)
        bodies = {
            "prompt": prompt if prompt is not None else f"prompt for {text}",
            "context": f"context for {text}",
            "request": f"request for {text}",
        }
        digests = {kind: digest_text(body) for kind, body in bodies.items()}
        metadata = build_frame_metadata(
            agent_id=AGENT,
            provider="structural",
            provider_type="structural",
            model="structural-1",
            prompt_digest=digests["prompt"],
            context_digest=digests["context"],
            prompt_link_id=digests["request"],
            tokens_in=0,
            tokens_out=0,
            finish_reason="stop",
        )
        frame = Frame(
            basis=Basis.node(node),
            agent_id=AGENT,
            frame_type=default_frame_type(AGENT),
            content=text.encode(),
            metadata=metadata,
        )
        lineage = Lineage(
            input_key=digest_text(f"inputs of {text}"),
            prompt_digest=digests["prompt"],
            context_digest=digests["context"],
            request_digest=digests["request"],
            artifacts={digests[k]: bodies[k].encode() for k in bodies},
        )
        return self.api.put_frame(node, frame, AGENT, lineage)

    def write_all(self, label: str) -> dict[str, FrameId]:
        return {path: self.write(path, f"{label} {path or '<root>'}") for path in self.paths()}

    def edit(self, files: dict[str, str], *, delete: tuple[str, ...] = ()) -> None:
        for rel in delete:
            (self.root / rel).unlink()
        write_tree(self.root, files, old=False)
        scan(self.root)

    def retired(self) -> set[NodeId]:
        """Node ids in ``nodes`` (those that left the tree)."""
        return {NodeId(r[0]) for r in self.store.conn.execute("SELECT node_id FROM nodes")}

    def raw(self) -> sqlite3.Connection:
        """A plain connection with foreign keys off, to damage the store on purpose."""
        return sqlite3.connect(self.db, isolation_level=None)


@pytest.fixture
def ws(workspace: Path) -> Iterator[Ws]:
    write_tree(workspace, FILES)
    scan(workspace)
    store = Store.open(workspace / ".contextree" / "store.db")
    try:
        yield Ws(workspace, store, ContextApi(store, AgentRegistry.builtin()))
    finally:
        store.close()


def _group(report: VerifyReport, kind: ProblemKind) -> tuple[int, list[tuple[str, str]]]:
    for group in report.problems:
        if group.kind is kind:
            return group.count, [(p.subject, p.detail) for p in group.examples]
    return 0, []


def _removed(report: GcReport) -> dict[str, int]:
    return {
        "nodes": report.nodes,
        "heads": report.heads,
        "generations": report.generations,
        "frames": report.frames,
        "artifacts": report.artifacts,
    }


# -- verify -----------------------------------------------------------------------------------


def test_a_clean_store_verifies_and_says_how_much_it_checked(ws: Ws) -> None:
    ws.write_all("v1")
    ws.write("src/a.py", "v2 of a")
    report = ws.api.verify()
    assert report.ok
    assert report.problems == ()
    assert report.problem_count == 0
    # 5 nodes (root, src, 3 files) plus one rewrite; 3 artifacts per write.
    assert (report.frames, report.heads, report.generations, report.artifacts) == (6, 5, 6, 18)


def test_a_frame_whose_content_changed_is_reported_by_its_frame_id(ws: Ws) -> None:
    frames = ws.write_all("v1")
    damaged = frames["src/b.py"]
    with ws.raw() as conn:
        conn.execute("UPDATE frames SET content = ? WHERE frame_id = ?", (b"tampered", damaged))
    report = ws.api.verify()
    assert not report.ok
    count, examples = _group(report, ProblemKind.FRAME_ID_MISMATCH)
    assert count == 1
    assert examples[0][0] == damaged.hex()
    assert examples[0][1].startswith("its fields hash to ")
    assert [g.kind for g in report.problems] == [ProblemKind.FRAME_ID_MISMATCH]


def test_a_frame_with_a_malformed_basis_is_reported_not_raised(ws: Ws) -> None:
    frames = ws.write_all("v1")
    with ws.raw() as conn:
        conn.execute(
            "UPDATE frames SET basis_kind = 'frame' WHERE frame_id = ?", (frames["README.md"],)
        )
    count, examples = _group(ws.api.verify(), ProblemKind.FRAME_ID_MISMATCH)
    assert count == 1
    assert examples == [
        (frames["README.md"].hex(), "its basis, agent, frame type or content is malformed")
    ]


def test_a_head_pointing_at_a_missing_frame_is_reported_once_in_its_own_words(ws: Ws) -> None:
    ws.write_all("v1")
    node = ws.node("src/a.py")
    missing = bytes(32)
    with ws.raw() as conn:
        conn.execute("UPDATE heads SET frame_id = ? WHERE node_id = ?", (missing, node))
    report = ws.api.verify()
    count, examples = _group(report, ProblemKind.HEAD_FRAME_MISSING)
    assert count == 1
    subject, detail = examples[0]
    assert node.hex() in subject
    assert f"agent={AGENT}" in subject
    assert detail == f"frame {missing.hex()} is missing"
    # The foreign-key check would say the same thing; it is not counted twice.
    assert [g.kind for g in report.problems] == [ProblemKind.HEAD_FRAME_MISSING]


def test_a_head_pointing_at_another_nodes_frame_is_reported(ws: Ws) -> None:
    frames = ws.write_all("v1")
    with ws.raw() as conn:
        conn.execute(
            "UPDATE heads SET frame_id = ? WHERE node_id = ?",
            (frames["src/b.py"], ws.node("src/a.py")),
        )
    count, examples = _group(ws.api.verify(), ProblemKind.HEAD_FRAME_MISMATCH)
    assert count == 1
    assert (
        examples[0][1] == f"frame {frames['src/b.py'].hex()} has node {ws.node('src/b.py').hex()}"
    )


def test_a_deleted_frame_is_reported_for_its_head_and_its_history_row(ws: Ws) -> None:
    frames = ws.write_all("v1")
    with ws.raw() as conn:
        conn.execute("DELETE FROM frames WHERE frame_id = ?", (frames["README.md"],))
    report = ws.api.verify()
    assert _group(report, ProblemKind.HEAD_FRAME_MISSING)[0] == 1
    count, examples = _group(report, ProblemKind.GENERATION_FRAME_MISSING)
    assert count == 1
    assert "(README.md)" in examples[0][0]
    assert report.problem_count == 2


def test_an_artifact_whose_body_changed_is_reported_by_its_digest(ws: Ws) -> None:
    ws.write("src/a.py", "text")
    digest = digest_text("context for text")
    with ws.raw() as conn:
        conn.execute("UPDATE artifacts SET body = ? WHERE digest = ?", (b"edited", digest))
    count, examples = _group(ws.api.verify(), ProblemKind.ARTIFACT_DIGEST_MISMATCH)
    assert count == 1
    assert examples == [(f"artifact {digest}", f"body hashes to {digest_text('edited')}")]


def test_each_kind_keeps_only_the_first_few_examples_but_counts_all(ws: Ws) -> None:
    ws.write_all("v1")
    with ws.raw() as conn:
        conn.execute("UPDATE frames SET content = CAST(content || x'00' AS BLOB)")
    report = ws.api.verify(examples=2)
    (group,) = report.problems
    assert (group.kind, group.count, len(group.examples)) == (ProblemKind.FRAME_ID_MISMATCH, 5, 2)


def test_verify_cli_reports_a_foreign_file_in_place_of_the_store_without_a_traceback(
    workspace: Path,
) -> None:
    write_tree(workspace, FILES)
    assert run_cli("--workspace", str(workspace), "scan", "-q").returncode == 0
    (workspace / ".contextree" / "store.db").write_bytes(b"these are my notes, not SQLite\n" * 200)
    for command in ("verify", "gc"):
        result = run_cli("--workspace", str(workspace), command)
        assert result.returncode == 1, (command, result.stderr)
        assert "is not a usable contextree store" in result.stderr
        assert "Move it aside" in result.stderr
        assert "Traceback" not in result.stderr


def test_verify_cli_reports_damaged_pages_as_problems_without_a_traceback(workspace: Path) -> None:
    write_tree(workspace, FILES)
    assert run_cli("--workspace", str(workspace), "generate", "-q").returncode == 0
    db = workspace / ".contextree" / "store.db"
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root_page,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'frames'"
        ).fetchone()
    with db.open("r+b") as handle:
        handle.seek((root_page - 1) * page_size)
        handle.write(b"\xff" * page_size)
    result = run_cli("--workspace", str(workspace), "verify", "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert '"kind": "unreadable"' in result.stdout
    assert "malformed" in result.stdout


# -- gc ---------------------------------------------------------------------------------------


def test_gc_after_an_edit_drops_the_old_nodes_heads_and_keeps_the_paths_history(ws: Ws) -> None:
    old = ws.write_all("v1")
    old_a = ws.node("src/a.py")
    ws.edit({"src/a.py": "A = 10\n"})
    new_a = ws.node("src/a.py")
    ws.write("src/a.py", "v2 src/a.py")

    report = ws.api.gc(dry_run=False, keep_history=True)

    # a.py, src and the root got new ids: their old heads go; their history stays, and so do
    # the rows that explain the old node ids it names.
    assert _removed(report) == {
        "nodes": 0,
        "heads": 3,
        "generations": 0,
        "frames": 0,
        "artifacts": 0,
    }
    assert ws.api.head(old_a, AGENT, default_frame_type(AGENT)) is None
    retired = ws.retired()
    assert old_a in retired
    assert len(retired) == 3
    history = ws.api.get_node(new_a, NodeView(history=True)).history
    assert [e.frame.frame_id for e in history][1:] == [old["src/a.py"]]
    assert ws.api.verify().ok


def test_gc_without_history_removes_earlier_frames_and_their_artifacts(ws: Ws) -> None:
    old = ws.write_all("v1")
    ws.edit({"src/a.py": "A = 10\n"})
    new_a = ws.write("src/a.py", "v2 src/a.py")
    ws.write("src/b.py", "v2 src/b.py")  # b.py kept its node: its first write is history
    ws.api.gc(dry_run=False, keep_history=True)
    before = ws.counts()

    report = ws.api.gc(dry_run=False, keep_history=False)

    # a.py's and b.py's first writes, and the old root's, src's and a.py's only writes, with
    # the rows of those three old node ids.
    assert _removed(report) == {
        "nodes": 3,
        "heads": 0,
        "generations": 4,
        "frames": 4,
        "artifacts": 12,
    }
    assert ws.counts() == {k: before[k] - v for k, v in _removed(report).items()}
    assert ws.retired() == set()
    assert ws.api.get_frame(old["src/a.py"]) is None
    assert ws.api.get_frame(old["src/b.py"]) is None
    assert ws.api.get_frame(old["README.md"]) is not None  # still the head
    history = ws.api.get_node(ws.node("src/a.py"), NodeView(history=True)).history
    assert [e.frame.frame_id for e in history] == [new_a]
    assert ws.api.verify().ok


def test_gc_removes_everything_of_a_deleted_file_even_when_keeping_history(ws: Ws) -> None:
    ws.write_all("v1")
    ws.write("src/b.py", "v2 src/b.py")
    ws.edit({}, delete=("src/b.py",))

    report = ws.api.gc(dry_run=False, keep_history=True)

    # b.py's two writes, its node row and its head; src and the root changed ids: their old
    # heads go, their history (and the node rows it names) stays.
    assert report.generations == 2
    assert report.frames == 2
    assert report.artifacts == 6
    assert (report.nodes, report.heads) == (1, 3)
    assert len(ws.retired()) == 2
    rows = ws.store.conn.execute(
        "SELECT COUNT(*) FROM generations WHERE path = ?", (b"src/b.py",)
    ).fetchone()
    assert rows == (0,)
    assert ws.api.verify().ok


def test_an_artifact_shared_with_a_kept_write_survives_gc(ws: Ws) -> None:
    ws.write("src/a.py", "a text", prompt="the same prompt")
    ws.write("src/b.py", "b text", prompt="the same prompt")
    ws.edit({}, delete=("src/b.py",))

    report = ws.api.gc(dry_run=False, keep_history=True)

    assert report.artifacts == 2  # b.py's context and request; the prompt is a.py's too
    assert ws.api.artifact(digest_text("the same prompt")) == b"the same prompt"
    assert ws.api.artifact(digest_text("context for b text")) is None


def test_a_frame_that_a_kept_frame_is_based_on_survives_gc(ws: Ws) -> None:
    base = ws.write("src/b.py", "base")
    derived = Frame(
        basis=Basis.frame(base),
        agent_id=AGENT,
        frame_type="review",
        content=b"derived from b",
        metadata={"agent_id": AGENT},
    )
    ws.api.put_frame(ws.node("src/a.py"), derived, AGENT)
    ws.edit({}, delete=("src/b.py",))

    report = ws.api.gc(dry_run=False, keep_history=True)

    assert report.generations == 1  # b.py's write goes; its frame is still a basis
    assert (report.frames, report.artifacts) == (0, 3)
    assert ws.api.get_frame(base) is not None
    assert ws.api.verify().ok


def test_a_dry_run_changes_nothing_and_reports_what_gc_then_removes(ws: Ws) -> None:
    ws.write_all("v1")
    ws.edit({"src/a.py": "A = 10\n"}, delete=("README.md",))
    for keep in (True, False):
        before = ws.counts()
        dry = ws.api.gc(dry_run=True, keep_history=keep)
        assert ws.counts() == before
        assert dry.store_bytes_after == dry.store_bytes_before
        assert not dry.compacted
        real = ws.api.gc(dry_run=False, keep_history=keep)
        assert real.dry_run is False
        assert replace(
            real, dry_run=True, store_bytes_before=0, store_bytes_after=0, compacted=False
        ) == replace(dry, store_bytes_before=0, store_bytes_after=0)
        assert ws.counts() == {k: before[k] - v for k, v in _removed(real).items()}
        assert sum(_removed(real).values()) > 0


def test_a_second_gc_frees_nothing(ws: Ws) -> None:
    ws.write_all("v1")
    ws.edit({"src/a.py": "A = 10\n"}, delete=("README.md",))
    first = ws.api.gc(dry_run=False, keep_history=False)
    assert first.compacted
    second = ws.api.gc(dry_run=False, keep_history=False)
    assert _removed(second) == dict.fromkeys(_removed(second), 0)
    assert second.content_bytes == 0
    assert not second.compacted


def test_gc_refuses_to_leave_rows_naming_missing_rows_and_removes_nothing(ws: Ws) -> None:
    ws.write_all("v1")
    ws.edit({}, delete=("README.md",))
    with ws.raw() as conn:  # damage: a head of a node still in the tree loses its frame
        conn.execute(
            "UPDATE heads SET frame_id = ? WHERE node_id = ?", (bytes(32), ws.node("src/a.py"))
        )
    before = ws.counts()
    with pytest.raises(StoreError) as info:
        ws.api.gc(dry_run=False, keep_history=True)
    assert "a heads row names a missing frames row); nothing was removed" in info.value.message
    assert "contextree verify" in (info.value.hint or "")
    assert ws.counts() == before
    # Per-row enforcement is back on for every later write.
    assert ws.store.conn.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_gc_gives_the_space_of_large_artifacts_back_to_the_filesystem(ws: Ws) -> None:
    ws.write("src/b.py", "big", prompt="x" * 4_000_000)
    ws.edit({}, delete=("src/b.py",))
    report = ws.api.gc(dry_run=False, keep_history=True)
    assert report.content_bytes > 4_000_000
    assert report.store_bytes_before - report.store_bytes_after > 3_000_000


def test_gc_cli_exits_75_while_another_writer_holds_the_lock_but_dry_run_and_verify_work(
    workspace: Path,
) -> None:
    write_tree(workspace, FILES)
    assert run_cli("--workspace", str(workspace), "generate", "-q").returncode == 0
    with writer_lock(workspace / ".contextree" / "lock"):
        busy = run_cli("--workspace", str(workspace), "gc")
        dry = run_cli("--workspace", str(workspace), "gc", "--dry-run")
        checked = run_cli("--workspace", str(workspace), "verify")
    assert busy.returncode == 75, busy.stderr
    assert f"workspace busy (pid {os.getpid()})" in busy.stderr
    assert "Traceback" not in busy.stderr
    assert dry.returncode == 0, dry.stderr
    assert "Would remove 0 old nodes" in dry.stdout
    assert checked.returncode == 0, checked.stderr
    assert "no problems found" in checked.stdout


def test_the_keep_history_setting_is_what_gc_uses_unless_told(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "one\n"})
    args = ("--workspace", str(workspace))
    assert run_cli(*args, "generate", "-q").returncode == 0
    write_tree(workspace, {"a.txt": "two\n"}, old=False)
    assert run_cli(*args, "generate", "-q").returncode == 0
    (workspace / ".contextree" / "config.toml").write_text("[store]\nkeep_history = false\n")
    default = run_cli(*args, "gc", "--dry-run")
    told = run_cli(*args, "gc", "--dry-run", "--keep-history")
    assert "2 history rows" in default.stdout, default.stdout  # a.txt's and the root's first
    assert "History of paths still in the tree: not kept" in default.stdout
    assert "0 history rows" in told.stdout, told.stdout
