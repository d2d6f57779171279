"""ContextApi over a real SQLite store: the write boundary, its check order and atomicity,
heads and input keys, history across edits, views, and concurrent writers."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.helpers.trees import write_tree

from contextree.agents.profile import AgentProfile, AgentRole
from contextree.agents.registry import AgentRegistry, builtin_profiles
from contextree.api import ContextApi, FrameWrite, Lineage, NodeView, Ordering
from contextree.core.frame import Basis, Frame, default_frame_type
from contextree.core.ids import Digest, FrameId, NodeId, digest_text
from contextree.errors import (
    AgentCannotWriteError,
    AgentMismatchError,
    AgentNotFoundError,
    ArtifactDigestMismatchError,
    BasisMismatchError,
    ContextreeError,
    LineageMismatchError,
    MetadataForbiddenKeyError,
    MetadataForbiddenValueError,
    MetadataMissingKeyError,
    MetadataUnknownKeyError,
    NodeNotInTreeError,
)
from contextree.metadata.contract import build_frame_metadata
from contextree.metadata.policy import FORBIDDEN_KEYS
from contextree.store.db import Store
from contextree.store.frames import FrameRows
from contextree.store.tree import TreeRows
from contextree.workspace.scan import Scanner

WRITER = "docs-writer"
FTYPE = default_frame_type(WRITER)
CREDENTIAL_SAMPLES = [
    "-----BEGIN RSA PRIVATE KEY-----",
    "sk-ant-api03-" + "A1b2C3d4E5f6G7h8",
    "sk-" + "Zx9Yw8Vu7Ts6Rq5P0000",
    "AKIA" + "IOSFODNN7EXAMPLE",
    "ghp_" + "b" * 36,
    "github_pat_" + "11ABCDEFG0" * 3,
    "xoxp-" + "1234567890-abc",
]


@dataclass
class Env:
    root: Path
    store: Store
    api: ContextApi

    def node(self, path: str) -> NodeId:
        entry = TreeRows(self.store.conn).entry(path.encode())
        assert entry is not None, path
        return NodeId(entry.node_id)

    def counts(self) -> dict[str, int]:
        return FrameRows(self.store.conn).counts()

    def rescan(self) -> None:
        Scanner(self.root, self.store).scan()


def _registry() -> AgentRegistry:
    extra = AgentProfile(
        id="helper",
        role=AgentRole.WRITER,
        system_prompt="s",
        file_template="f {path}",
        directory_template="d {path}",
    )
    return AgentRegistry([*builtin_profiles(), extra])


@pytest.fixture
def env(workspace: Path) -> Iterator[Env]:
    write_tree(workspace, {"src/a.py": "def a():\n    return 1\n", "src/b.py": "B = 2\n"})
    (workspace / ".contextree").mkdir()
    store = Store.open(workspace / ".contextree" / "store.db")
    Scanner(workspace, store).scan()
    clock = itertools.count(1_700_000_000_000_000_000, 1_000)
    api = ContextApi(store, _registry(), clock=lambda: next(clock))
    try:
        yield Env(workspace, store, api)
    finally:
        store.close()


def generated_frame(
    node_id: NodeId, content: str, *, agent: str = WRITER, **meta_changes: str
) -> tuple[Frame, Lineage]:
    prompt, context, request = f"prompt {content}", f"context {content}", f'{{"p":"{content}"}}'
    digests = [digest_text(t) for t in (prompt, context, request)]
    metadata = build_frame_metadata(
        agent_id=agent,
        provider="structural",
        provider_type="structural",
        model="structural-1",
        prompt_digest=digests[0],
        context_digest=digests[1],
        prompt_link_id=digests[2],
        tokens_in=0,
        tokens_out=0,
        finish_reason="stop",
    )
    metadata.update(meta_changes)
    frame = Frame(
        basis=Basis.node(node_id),
        agent_id=agent,
        frame_type=default_frame_type(agent),
        content=content.encode(),
        metadata=metadata,
    )
    lineage = Lineage(
        input_key=digest_text(f"inputs {content}"),
        prompt_digest=digests[0],
        context_digest=digests[1],
        request_digest=digests[2],
        artifacts={d: t.encode() for d, t in zip(digests, (prompt, context, request), strict=True)},
    )
    return frame, lineage


def hand_frame(node_id: NodeId, content: str, *, agent: str = WRITER) -> Frame:
    return Frame(
        basis=Basis.node(node_id),
        agent_id=agent,
        frame_type=default_frame_type(agent),
        content=content.encode(),
        metadata={"agent_id": agent},
    )


NOTHING = {"frames": 0, "heads": 0, "generations": 0, "artifacts": 0}


# -- the write path --------------------------------------------------------------------------


def test_put_frame_commits_frame_artifacts_generation_and_head_together(env: Env) -> None:
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "summary of a")
    assert env.api.put_frame(node, frame, WRITER, lineage) == frame.frame_id
    assert env.counts() == {"frames": 1, "heads": 1, "generations": 1, "artifacts": 3}
    head = env.api.head(node, WRITER, FTYPE)
    assert head is not None
    assert (head.frame_id, head.input_key) == (frame.frame_id, lineage.input_key)
    stored = env.api.get_frame(frame.frame_id)
    assert stored is not None and stored.content == b"summary of a"
    assert dict(stored.metadata) == dict(frame.metadata)
    assert env.api.artifact(lineage.request_digest) == b'{"p":"summary of a"}'
    kinds = dict(env.store.conn.execute("SELECT kind, COUNT(*) FROM artifacts GROUP BY kind"))
    assert kinds == {"prompt": 1, "context": 1, "request": 1}


def test_a_frame_without_lineage_gets_a_head_with_no_input_key(env: Env) -> None:
    node = env.node("src/a.py")
    frame = hand_frame(node, "written by hand")
    env.api.put_frame(node, frame, WRITER)
    head = env.api.head(node, WRITER, FTYPE)
    assert head is not None and head.frame_id == frame.frame_id
    assert head.input_key is None
    assert env.counts() == {"frames": 1, "heads": 1, "generations": 1, "artifacts": 0}


def test_frame_contents_reads_many_frames_at_once_and_leaves_out_unknown_ids(env: Env) -> None:
    a, b = env.node("src/a.py"), env.node("src/b.py")
    frame_a, frame_b = hand_frame(a, "about a"), hand_frame(b, "about b")
    env.api.put_frame(a, frame_a, WRITER)
    env.api.put_frame(b, frame_b, WRITER)
    unknown = FrameId(b"\x07" * 32)
    wanted = [frame_b.frame_id, unknown, frame_a.frame_id, frame_b.frame_id]
    assert env.api.frame_contents(wanted) == {
        frame_a.frame_id: b"about a",
        frame_b.frame_id: b"about b",
    }
    assert env.api.frame_contents([]) == {}
    # More ids than one query takes: the known ones are found in whichever chunk they fall.
    many = [FrameId(i.to_bytes(32, "big")) for i in range(1_200)]
    found = env.api.frame_contents([*many[:700], frame_a.frame_id, *many[700:], frame_b.frame_id])
    assert found == {frame_a.frame_id: b"about a", frame_b.frame_id: b"about b"}


def _case_unknown_agent(env: Env) -> tuple[NodeId, Frame, str]:
    # Also from a reader-like unknown agent, for a node that is not in the tree.
    return NodeId(b"\x01" * 32), hand_frame(env.node("src/b.py"), "x", agent="ghost"), "ghost"


def _case_reader(env: Env) -> tuple[NodeId, Frame, str]:
    # Also: node not in the tree, basis elsewhere.
    return NodeId(b"\x01" * 32), hand_frame(env.node("src/b.py"), "x", agent="reader"), "reader"


def _case_node_missing(env: Env) -> tuple[NodeId, Frame, str]:
    # Also: basis names another node and the frame's agent differs.
    return NodeId(b"\x01" * 32), hand_frame(env.node("src/b.py"), "x", agent="helper"), WRITER


def _case_basis(env: Env) -> tuple[NodeId, Frame, str]:
    # Also: the frame's agent differs.
    return env.node("src/a.py"), hand_frame(env.node("src/b.py"), "x", agent="helper"), WRITER


def _case_agent(env: Env) -> tuple[NodeId, Frame, str]:
    # Also: the metadata carries a forbidden key and names the other agent.
    node = env.node("src/a.py")
    frame = Frame(
        basis=Basis.node(node),
        agent_id="helper",
        frame_type=FTYPE,
        content=b"x",
        metadata={"agent_id": "helper", "prompt": "raw"},
    )
    return node, frame, WRITER


def _case_metadata(env: Env) -> tuple[NodeId, Frame, str]:
    node = env.node("src/a.py")
    frame = Frame(
        basis=Basis.node(node),
        agent_id=WRITER,
        frame_type=FTYPE,
        content=b"x",
        metadata={"agent_id": WRITER, "colour": "blue"},
    )
    return node, frame, WRITER


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (_case_unknown_agent, AgentNotFoundError),
        (_case_reader, AgentCannotWriteError),
        (_case_node_missing, NodeNotInTreeError),
        (_case_basis, BasisMismatchError),
        (_case_agent, AgentMismatchError),
        (_case_metadata, MetadataUnknownKeyError),
    ],
    ids=["agent-exists", "agent-may-write", "node-in-tree", "basis", "frame-agent", "metadata"],
)
def test_put_frame_reports_the_first_broken_rule_and_writes_nothing(
    env: Env, case: object, expected: type[ContextreeError]
) -> None:
    node, frame, agent = case(env)  # type: ignore[operator]
    with pytest.raises(ContextreeError) as caught:
        env.api.put_frame(node, frame, agent)
    assert type(caught.value) is expected
    assert env.counts() == NOTHING


def test_a_reader_agent_cannot_write_even_a_valid_frame(env: Env) -> None:
    node = env.node("src/a.py")
    with pytest.raises(AgentCannotWriteError, match="'reader' has role reader"):
        env.api.put_frame(node, hand_frame(node, "ok", agent="reader"), "reader")
    assert env.counts() == NOTHING


def test_a_frame_based_on_another_frame_may_be_written_to_any_node(env: Env) -> None:
    node = env.node("src/a.py")
    first = hand_frame(node, "first")
    env.api.put_frame(node, first, WRITER)
    follow_up = Frame(
        basis=Basis.frame(first.frame_id),
        agent_id=WRITER,
        frame_type="review",
        content=b"second look",
        metadata={"agent_id": WRITER},
    )
    env.api.put_frame(node, follow_up, WRITER)
    stored = env.api.get_frame(follow_up.frame_id)
    assert stored is not None and stored.basis == Basis.frame(first.frame_id)
    wrong = Frame(
        basis=Basis.both(env.node("src/b.py"), first.frame_id),
        agent_id=WRITER,
        frame_type="review",
        content=b"y",
        metadata={"agent_id": WRITER},
    )
    with pytest.raises(BasisMismatchError):
        env.api.put_frame(node, wrong, WRITER)


@pytest.mark.parametrize("key", sorted(FORBIDDEN_KEYS))
def test_each_forbidden_key_is_rejected_with_nothing_written(env: Env, key: str) -> None:
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "x", **{key: "the raw text"})
    with pytest.raises(MetadataForbiddenKeyError) as caught:
        env.api.put_frame(node, frame, WRITER, lineage)
    assert caught.value.key == key
    assert env.counts() == NOTHING


@pytest.mark.parametrize("secret", CREDENTIAL_SAMPLES)
def test_each_credential_pattern_is_rejected_with_nothing_written(env: Env, secret: str) -> None:
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "x", model=f"model {secret}")
    with pytest.raises(MetadataForbiddenValueError) as caught:
        env.api.put_frame(node, frame, WRITER, lineage)
    assert secret not in str(caught.value)
    assert env.counts() == NOTHING


def test_configured_api_key_values_are_asked_for_on_each_write(env: Env) -> None:
    secrets: list[str] = []
    api = ContextApi(env.store, _registry(), secret_values=lambda: list(secrets))
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "x", finish_reason="stop my-private-key-123456")
    secrets.append("my-private-key-123456")
    with pytest.raises(MetadataForbiddenValueError):
        api.put_frame(node, frame, WRITER, lineage)
    assert env.counts() == NOTHING


def test_a_hex_digest_value_is_accepted(env: Env) -> None:
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "x")
    assert len(frame.metadata["prompt_digest"]) == 64
    env.api.put_frame(node, frame, WRITER, lineage)
    assert env.counts()["frames"] == 1


def test_generated_frames_need_the_full_metadata(env: Env) -> None:
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "x")
    partial = Frame(
        basis=frame.basis,
        agent_id=WRITER,
        frame_type=FTYPE,
        content=b"x",
        metadata={"agent_id": WRITER, "model": "m"},
    )
    with pytest.raises(MetadataMissingKeyError):
        env.api.put_frame(node, partial, WRITER, lineage)
    assert env.counts() == NOTHING


def test_artifacts_must_hash_to_their_digest_and_belong_to_the_lineage(env: Env) -> None:
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "x")
    tampered = Lineage(
        input_key=lineage.input_key,
        prompt_digest=lineage.prompt_digest,
        context_digest=lineage.context_digest,
        request_digest=lineage.request_digest,
        artifacts={lineage.prompt_digest: b"not the prompt"},
    )
    with pytest.raises(ArtifactDigestMismatchError):
        env.api.put_frame(node, frame, WRITER, tampered)
    stray = Lineage(
        input_key=lineage.input_key,
        prompt_digest=lineage.prompt_digest,
        context_digest=lineage.context_digest,
        request_digest=lineage.request_digest,
        artifacts={digest_text("unrelated"): b"unrelated"},
    )
    with pytest.raises(LineageMismatchError, match="neither the prompt"):
        env.api.put_frame(node, frame, WRITER, stray)
    other = Lineage(
        input_key=lineage.input_key,
        prompt_digest=digest_text("another prompt"),
        context_digest=lineage.context_digest,
        request_digest=lineage.request_digest,
    )
    with pytest.raises(LineageMismatchError, match="prompt_digest"):
        env.api.put_frame(node, frame, WRITER, other)
    assert env.counts() == NOTHING


# -- atomicity ---------------------------------------------------------------------------


class InjectedFailure(Exception):
    pass


def _fail() -> None:
    raise InjectedFailure("between frame insert and head update")


def test_a_failure_after_the_frame_insert_leaves_nothing_visible(env: Env) -> None:
    api = ContextApi(env.store, _registry(), _after_frame_insert=_fail)
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "doomed")
    with pytest.raises(InjectedFailure):
        api.put_frame(node, frame, WRITER, lineage)
    assert env.counts() == NOTHING
    assert env.api.get_frame(frame.frame_id) is None
    assert env.api.head(node, WRITER, FTYPE) is None
    # The connection is usable afterwards: the transaction was rolled back, not left open.
    env.api.put_frame(node, frame, WRITER, lineage)
    assert env.counts()["frames"] == 1


def test_a_failed_rewrite_keeps_the_previous_head(env: Env) -> None:
    node = env.node("src/a.py")
    first, first_lineage = generated_frame(node, "first")
    env.api.put_frame(node, first, WRITER, first_lineage)
    failing = ContextApi(env.store, _registry(), _after_frame_insert=_fail)
    second, second_lineage = generated_frame(node, "second")
    with pytest.raises(InjectedFailure):
        failing.put_frame(node, second, WRITER, second_lineage)
    head = env.api.head(node, WRITER, FTYPE)
    assert head is not None
    assert (head.frame_id, head.input_key) == (first.frame_id, first_lineage.input_key)
    assert env.counts() == {"frames": 1, "heads": 1, "generations": 1, "artifacts": 3}


# -- put_frames: many frames in one transaction -------------------------------------------


def test_put_frames_commits_the_good_writes_and_returns_each_bad_ones_error(env: Env) -> None:
    a, b = env.node("src/a.py"), env.node("src/b.py")
    good_a, lineage_a = generated_frame(a, "a in a batch")
    good_b, lineage_b = generated_frame(b, "b in a batch")
    secret, secret_lineage = generated_frame(b, "leaky", model="sk-" + "Zx9Yw8Vu7Ts6Rq5P0000")
    gone = NodeId(bytes(32))
    writes = [
        FrameWrite(node_id=a, frame=good_a, agent_id=WRITER, lineage=lineage_a),
        FrameWrite(node_id=b, frame=secret, agent_id=WRITER, lineage=secret_lineage),
        FrameWrite(node_id=gone, frame=hand_frame(gone, "x"), agent_id=WRITER),
        FrameWrite(node_id=b, frame=hand_frame(b, "by nobody", agent="nobody"), agent_id="nobody"),
        FrameWrite(node_id=b, frame=good_b, agent_id=WRITER, lineage=lineage_b),
    ]
    results = env.api.put_frames(writes)
    assert results[0] == good_a.frame_id
    assert isinstance(results[1], MetadataForbiddenValueError)
    assert isinstance(results[2], NodeNotInTreeError)
    assert isinstance(results[3], AgentNotFoundError)
    assert results[4] == good_b.frame_id
    assert env.counts() == {"frames": 2, "heads": 2, "generations": 2, "artifacts": 6}
    for node, frame, lineage in ((a, good_a, lineage_a), (b, good_b, lineage_b)):
        head = env.api.head(node, WRITER, FTYPE)
        assert head is not None
        assert (head.frame_id, head.input_key) == (frame.frame_id, lineage.input_key)


def test_put_frames_applies_writes_to_one_head_in_order(env: Env) -> None:
    node = env.node("src/a.py")
    frames = [generated_frame(node, f"take {n}") for n in range(3)]
    env.api.put_frames(
        [FrameWrite(node_id=node, frame=f, agent_id=WRITER, lineage=lin) for f, lin in frames]
    )
    rows = env.store.conn.execute("SELECT id, frame_id FROM generations ORDER BY id").fetchall()
    assert [r[1] for r in rows] == [f.frame_id for f, _ in frames]
    head = env.api.head(node, WRITER, FTYPE)
    assert head is not None
    assert (head.frame_id, head.generation_id) == (frames[-1][0].frame_id, rows[-1][0])


def test_put_frames_never_reuses_a_generation_id_that_gc_removed(env: Env) -> None:
    node = env.node("src/a.py")
    first, first_lineage = generated_frame(node, "before the edit")
    env.api.put_frame(node, first, WRITER, first_lineage)
    (first_id,) = env.store.conn.execute("SELECT max(id) FROM generations").fetchone()
    (env.root / "src" / "a.py").write_text("def a():\n    return 2\n")
    env.rescan()
    env.api.gc(dry_run=False, keep_history=False, compact_store=False)
    assert env.counts()["generations"] == 0
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "after the edit")
    env.api.put_frames([FrameWrite(node_id=node, frame=frame, agent_id=WRITER, lineage=lineage)])
    head = env.api.head(node, WRITER, FTYPE)
    assert head is not None and head.generation_id == first_id + 1


def test_a_store_failure_in_put_frames_writes_nothing_of_the_batch(env: Env) -> None:
    api = ContextApi(env.store, _registry(), _after_frame_insert=_fail)
    writes = [
        FrameWrite(node_id=n, frame=f, agent_id=WRITER, lineage=lin)
        for n in (env.node("src/a.py"), env.node("src/b.py"))
        for f, lin in [generated_frame(n, f"doomed {n.hex()}")]
    ]
    with pytest.raises(InjectedFailure):
        api.put_frames(writes)
    assert env.counts() == NOTHING
    # The connection is usable afterwards: the same batch then commits whole.
    assert env.api.put_frames(writes) == [w.frame.frame_id for w in writes]


def test_put_frames_of_nothing_writes_nothing(env: Env) -> None:
    assert env.api.put_frames([]) == []
    assert env.counts() == NOTHING


# -- heads, input keys and history --------------------------------------------------------


def test_an_identical_frame_with_new_inputs_is_stored_once_and_moves_the_input_key(
    env: Env,
) -> None:
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "same output")
    env.api.put_frame(node, frame, WRITER, lineage)
    new_key = Digest(digest_text("other model, same output"))
    again = Lineage(
        input_key=new_key,
        prompt_digest=lineage.prompt_digest,
        context_digest=lineage.context_digest,
        request_digest=lineage.request_digest,
        artifacts=lineage.artifacts,
    )
    assert env.api.put_frame(node, frame, WRITER, again) == frame.frame_id
    head = env.api.head(node, WRITER, FTYPE)
    assert head is not None and head.input_key == new_key
    assert env.counts() == {"frames": 1, "heads": 1, "generations": 2, "artifacts": 3}
    keys = [r[0] for r in env.store.conn.execute("SELECT input_key FROM generations ORDER BY id")]
    assert keys == [lineage.input_key, new_key]


def test_history_follows_a_path_across_generations_and_an_edit(env: Env) -> None:
    old_node = env.node("src/a.py")
    written = []
    for n in range(3):
        frame, lineage = generated_frame(old_node, f"version {n}")
        env.api.put_frame(old_node, frame, WRITER, lineage)
        written.append(frame.frame_id)
    write_tree(env.root, {"src/a.py": "def a():\n    return 2\n"})
    env.rescan()
    new_node = env.node("src/a.py")
    assert new_node != old_node
    with pytest.raises(NodeNotInTreeError):
        env.api.get_node(old_node)
    before = env.api.get_node(new_node, NodeView(history=True))
    assert before.frames == ()
    assert [e.frame.frame_id for e in before.history] == written[::-1]
    assert not any(e.is_head for e in before.history)
    frame, lineage = generated_frame(new_node, "after the edit")
    env.api.put_frame(new_node, frame, WRITER, lineage)
    after = env.api.get_node(new_node, NodeView(history=True))
    assert [e.frame.frame_id for e in after.frames] == [frame.frame_id]
    assert [e.frame.content for e in after.history] == [
        b"after the edit",
        b"version 2",
        b"version 1",
        b"version 0",
    ]
    assert [e.node_id for e in after.history] == [new_node, old_node, old_node, old_node]
    assert [e.is_head for e in after.history] == [True, False, False, False]
    assert all(e.path == b"src/a.py" for e in after.history)
    capped = env.api.get_node(new_node, NodeView(history=True, max_frames=2))
    assert len(capped.history) == 2


def test_heads_are_per_agent_so_agents_sharing_a_frame_type_do_not_collide(env: Env) -> None:
    node = env.node("src/a.py")
    mine = Frame(
        basis=Basis.node(node),
        agent_id=WRITER,
        frame_type="summary",
        content=b"mine",
        metadata={"agent_id": WRITER},
    )
    theirs = Frame(
        basis=Basis.node(node),
        agent_id="helper",
        frame_type="summary",
        content=b"theirs",
        metadata={"agent_id": "helper"},
    )
    env.api.put_frame(node, mine, WRITER)
    env.api.put_frame(node, theirs, "helper")
    assert env.api.head(node, WRITER, "summary").frame_id == mine.frame_id  # type: ignore[union-attr]
    assert env.api.head(node, "helper", "summary").frame_id == theirs.frame_id  # type: ignore[union-attr]


def test_views_filter_order_and_cap_the_heads(env: Env) -> None:
    node = env.node("src/a.py")
    for agent, ftype, text in [
        (WRITER, "b-type", "one"),
        ("helper", "a-type", "two"),
        (WRITER, "a-type", "three"),
    ]:
        frame = Frame(
            basis=Basis.node(node),
            agent_id=agent,
            frame_type=ftype,
            content=text.encode(),
            metadata={"agent_id": agent},
        )
        env.api.put_frame(node, frame, agent)

    def contents(view: NodeView) -> list[bytes]:
        return [e.frame.content for e in env.api.get_node(node, view).frames]

    assert contents(NodeView()) == [b"three", b"two", b"one"]  # newest first
    assert contents(NodeView(ordering=Ordering.FRAME_TYPE)) == [b"three", b"two", b"one"]
    assert contents(NodeView(ordering=Ordering.AGENT)) == [b"three", b"one", b"two"]
    assert contents(NodeView(agent_id=WRITER)) == [b"three", b"one"]
    assert contents(NodeView(frame_type="a-type", agent_id="helper")) == [b"two"]
    assert contents(NodeView(max_frames=1)) == [b"three"]
    context = env.api.get_node(node, NodeView(agent_id="nobody"))
    assert (context.frames, context.frame_count) == ((), 3)
    assert (context.path, context.kind) == (b"src/a.py", "file")


def test_heads_reads_many_nodes_at_once(env: Env) -> None:
    a, b = env.node("src/a.py"), env.node("src/b.py")
    frame = hand_frame(a, "only a")
    env.api.put_frame(a, frame, WRITER)
    heads = env.api.heads([a, b], agent_id=WRITER, frame_type=FTYPE)
    assert list(heads) == [a]
    assert heads[a].frame_id == frame.frame_id


def test_each_write_keeps_its_own_metadata_even_for_an_identical_frame(env: Env) -> None:
    node = env.node("src/a.py")
    frame, lineage = generated_frame(node, "same")
    env.api.put_frame(node, frame, WRITER, lineage)
    relabelled = Frame(
        basis=frame.basis,
        agent_id=WRITER,
        frame_type=FTYPE,
        content=frame.content,
        metadata={**frame.metadata, "model": "served-model-b"},
    )
    assert relabelled.frame_id == frame.frame_id
    env.api.put_frame(node, relabelled, WRITER, lineage)
    head_entry = env.api.get_node(node).frames[0]
    assert head_entry.metadata["model"] == "served-model-b"
    assert head_entry.frame.metadata["model"] == "structural-1"  # first writer's stored copy


# -- concurrency -------------------------------------------------------------------------


async def test_concurrent_put_frame_from_many_tasks_leaves_one_consistent_head(
    env: Env,
) -> None:
    node = env.node("src/a.py")
    second_store = Store.open(env.store.path)
    other_api = ContextApi(second_store, _registry())
    frames = [generated_frame(node, f"task {n}") for n in range(40)]

    async def write(n: int) -> FrameId:
        api = env.api if n % 2 else other_api
        frame, lineage = frames[n]
        return await asyncio.to_thread(api.put_frame, node, frame, WRITER, lineage)

    try:
        ids = await asyncio.gather(*(write(n) for n in range(len(frames))))
    finally:
        second_store.close()
    assert sorted(ids) == sorted(f.frame_id for f, _ in frames)
    assert env.counts() == {"frames": 40, "heads": 1, "generations": 40, "artifacts": 120}
    head = env.api.head(node, WRITER, FTYPE)
    assert head is not None
    last = env.store.conn.execute(
        "SELECT id, frame_id, input_key FROM generations ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert (head.generation_id, head.frame_id, head.input_key) == tuple(last)
    by_id = {f.frame_id: lin.input_key for f, lin in frames}
    assert by_id[head.frame_id] == head.input_key
