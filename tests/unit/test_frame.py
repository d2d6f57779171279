"""Frames, bases and frame ids: determinism, what is hashed and what is not."""

from __future__ import annotations

import struct
from dataclasses import replace

import blake3
import pytest

from contextree.core.frame import Basis, BasisKind, Frame, compute_frame_id, default_frame_type
from contextree.core.ids import (
    EMPTY_DIGEST,
    FrameId,
    NodeId,
    digest_bytes,
    digest_fields,
    is_digest,
)
from contextree.errors import InvalidFrameError

NODE_A = NodeId(bytes(range(32)))
NODE_B = NodeId(bytes(range(1, 33)))
PARENT = FrameId(b"\xaa" * 32)


def _lp(*fields: bytes) -> bytes:
    return b"".join(struct.pack(">Q", len(f)) + f for f in fields)


def _frame(**changes: object) -> Frame:
    base = Frame(
        basis=Basis.node(NODE_A),
        agent_id="docs-writer",
        frame_type="context-docs-writer",
        content=b"# a.py\nSummary.\n",
        metadata={"agent_id": "docs-writer"},
        created_at_ns=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_frame_id_follows_the_documented_length_prefixed_layout() -> None:
    frame = _frame()
    basis_hash = blake3.blake3(_lp(b"node", NODE_A)).digest()
    expected = blake3.blake3(
        _lp(basis_hash, b"docs-writer", b"context-docs-writer", b"# a.py\nSummary.\n")
    ).digest()
    assert frame.frame_id == expected
    assert len(frame.frame_id) == 32


def test_frame_id_is_deterministic_across_constructions() -> None:
    assert _frame().frame_id == _frame().frame_id
    assert _frame().frame_id == compute_frame_id(
        Basis.node(NODE_A), "docs-writer", "context-docs-writer", b"# a.py\nSummary.\n"
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"basis": Basis.node(NODE_B)},
        {"basis": Basis.both(NODE_A, PARENT)},
        {"basis": Basis.frame(PARENT)},
        {"agent_id": "code-analyzer"},
        {"frame_type": "context-other"},
        {"content": b"# a.py\nSummary!\n"},
        {"content": b""},
    ],
    ids=["basis-node", "basis-both", "basis-frame", "agent", "frame-type", "content", "empty"],
)
def test_frame_id_changes_with_each_hashed_field(changes: dict[str, object]) -> None:
    assert _frame(**changes).frame_id != _frame().frame_id


def test_metadata_and_creation_time_are_not_hashed() -> None:
    other = _frame(metadata={"agent_id": "docs-writer", "model": "m"}, created_at_ns=99)
    assert other.frame_id == _frame().frame_id


def test_length_prefixes_keep_field_boundaries_apart() -> None:
    one = compute_frame_id(Basis.node(NODE_A), "ab", "c", b"x")
    two = compute_frame_id(Basis.node(NODE_A), "a", "bc", b"x")
    three = compute_frame_id(Basis.node(NODE_A), "a", "b", b"cx")
    assert len({one, two, three}) == 3


def test_basis_kinds_hash_differently_even_over_the_same_bytes() -> None:
    same = FrameId(bytes(NODE_A))
    assert Basis.node(NODE_A).hash() != Basis.frame(same).hash()
    assert Basis.both(NODE_A, PARENT).hash() != Basis.both(NODE_B, PARENT).hash()
    assert Basis.both(NODE_A, PARENT).kind is BasisKind.BOTH


@pytest.mark.parametrize(
    ("kind", "node", "frame"),
    [
        (BasisKind.NODE, None, None),
        (BasisKind.NODE, NODE_A, PARENT),
        (BasisKind.FRAME, NODE_A, PARENT),
        (BasisKind.BOTH, NODE_A, None),
        (BasisKind.NODE, NodeId(b"short"), None),
    ],
)
def test_a_basis_must_carry_exactly_the_ids_its_kind_names(
    kind: BasisKind, node: NodeId | None, frame: FrameId | None
) -> None:
    with pytest.raises(InvalidFrameError):
        Basis(kind=kind, node_id=node, frame_id=frame)


def test_frame_metadata_is_a_read_only_copy() -> None:
    source = {"agent_id": "docs-writer"}
    frame = _frame(metadata=source)
    source["model"] = "changed later"
    assert dict(frame.metadata) == {"agent_id": "docs-writer"}
    with pytest.raises(TypeError):
        frame.metadata["model"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    "changes",
    [{"agent_id": ""}, {"frame_type": ""}, {"metadata": {"k": 1}}, {"content": "text"}],
    ids=["agent", "frame-type", "metadata-value", "content-str"],
)
def test_malformed_frames_are_refused_at_construction(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidFrameError):
        _frame(**changes)


def test_frames_are_hashable_and_equal_by_value() -> None:
    assert hash(_frame()) == hash(_frame(created_at_ns=5))
    assert _frame() == _frame(created_at_ns=5)
    assert _frame() != _frame(content=b"other")


def test_text_decodes_utf8_and_reports_binary_as_none() -> None:
    assert _frame(content="é".encode()).text() == "é"
    assert _frame(content=b"\xff\xfe").text() is None


def test_default_frame_type_is_context_dash_agent() -> None:
    assert default_frame_type("docs-writer") == "context-docs-writer"


def test_digests_are_lowercase_hex_blake3() -> None:
    assert blake3.blake3(b"").hexdigest() == EMPTY_DIGEST
    assert digest_bytes(b"abc") == blake3.blake3(b"abc").hexdigest()
    assert is_digest(EMPTY_DIGEST)
    assert not is_digest(EMPTY_DIGEST.upper())
    assert not is_digest(EMPTY_DIGEST[:-1])
    assert digest_fields(b"ab", b"c") != digest_fields(b"a", b"bc")
    assert digest_fields(b"a") != digest_fields(b"a", b"")
