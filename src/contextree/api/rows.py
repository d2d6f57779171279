"""Conversions between the frame tables' rows and the API's values.

Owns turning a ``Frame`` into its ``FrameRow`` and a stored row back into a ``Frame`` (checking
that its fields still hash to its id), the id a stored row's fields hash to (for ``verify``),
the ``GenerationRow`` and ``HeadRow`` of a checked write, and the ``Head`` and ``WrittenFrame`` a
read returns. Pure functions of rows and values: it runs no query and writes nothing; only
``ContextApi`` calls them (the rows module is the API's alone).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from types import MappingProxyType

from contextree.api.values import (
    SORT_KEYS,
    FrameWrite,
    Head,
    NodeContext,
    Ordering,
    SearchMatch,
    WrittenFrame,
)
from contextree.core.frame import Basis, BasisKind, Frame, compute_frame_id
from contextree.core.ids import Digest, FrameId, NodeId
from contextree.errors import InvalidFrameError, StoreError
from contextree.store.frames import FrameIdentity, FrameRow, GenerationRow, HeadRow
from contextree.store.search_index import SearchRow
from contextree.store.subtree_reads import SubtreeRow


def generation_row(write: FrameWrite, path: bytes, now: int) -> GenerationRow:
    frame, lineage = write.frame, write.lineage
    return GenerationRow(
        id=0,
        path=path,
        node_id=write.node_id,
        agent_id=write.agent_id,
        frame_type=frame.frame_type,
        frame_id=frame.frame_id,
        input_key=lineage.input_key if lineage else None,
        prompt_digest=lineage.prompt_digest if lineage else None,
        context_digest=lineage.context_digest if lineage else None,
        request_digest=lineage.request_digest if lineage else None,
        metadata=frame.metadata,
        created_at_ns=now,
    )


def frame_row(frame: Frame) -> FrameRow:
    return FrameRow(
        frame_id=frame.frame_id,
        basis_kind=frame.basis.kind.value,
        node_id=frame.basis.node_id,
        basis_frame=frame.basis.frame_id,
        agent_id=frame.agent_id,
        frame_type=frame.frame_type,
        content=frame.content,
        metadata=frame.metadata,
        created_at_ns=frame.created_at_ns,
    )


def frame_from_row(row: FrameRow) -> Frame:
    basis = Basis(
        kind=BasisKind(row.basis_kind),
        node_id=NodeId(row.node_id) if row.node_id is not None else None,
        frame_id=FrameId(row.basis_frame) if row.basis_frame is not None else None,
    )
    frame = Frame(
        basis=basis,
        agent_id=row.agent_id,
        frame_type=row.frame_type,
        content=row.content,
        metadata=row.metadata,
        created_at_ns=row.created_at_ns,
    )
    if frame.frame_id != row.frame_id:
        raise StoreError(
            f"frame {row.frame_id.hex()} is damaged: its fields hash to {frame.frame_id.hex()}",
            hint="The store file was changed outside contextree; regenerate the affected paths.",
        )
    return frame


def stored_frame_id(row: FrameIdentity) -> bytes | None:
    """The id a stored frame's fields hash to; None when they cannot form a frame."""
    try:
        basis = Basis(
            kind=BasisKind(row.basis_kind),
            node_id=NodeId(row.node_id) if row.node_id is not None else None,
            frame_id=FrameId(row.basis_frame) if row.basis_frame is not None else None,
        )
        return compute_frame_id(basis, row.agent_id, row.frame_type, row.content)
    except (ValueError, TypeError, AttributeError, InvalidFrameError):
        return None  # a damaged row: wrong kind, wrong id length, text where bytes belong


def head_from_row(row: HeadRow) -> Head:
    return Head(
        node_id=NodeId(row.node_id),
        agent_id=row.agent_id,
        frame_type=row.frame_type,
        frame_id=FrameId(row.frame_id),
        input_key=Digest(row.input_key) if row.input_key is not None else None,
        generation_id=row.generation_id,
        updated_at_ns=row.updated_at_ns,
    )


def head_row(write: FrameWrite, generation_id: int, now: int) -> HeadRow:
    """The head a checked write moves, to the generation row it was written as."""
    return HeadRow(
        node_id=write.node_id,
        agent_id=write.agent_id,
        frame_type=write.frame.frame_type,
        frame_id=write.frame.frame_id,
        input_key=write.lineage.input_key if write.lineage else None,
        generation_id=generation_id,
        updated_at_ns=now,
    )


def frame_entry(row: GenerationRow, stored: FrameRow, *, is_head: bool) -> WrittenFrame:
    """One write of a frame: its generation row and the stored frame it names."""
    return WrittenFrame(
        frame=frame_from_row(stored),
        node_id=NodeId(row.node_id),
        path=row.path,
        metadata=MappingProxyType(dict(row.metadata)),
        input_key=Digest(row.input_key) if row.input_key is not None else None,
        written_at_ns=row.created_at_ns,
        generation_id=row.id,
        is_head=is_head,
    )


def subtree_contexts(rows: Iterable[SubtreeRow], *, keys_trusted: bool) -> list[NodeContext]:
    """The nodes of a bulk read in pre-order (a directory, then its children by raw name),
    each with its heads newest first. Untrusted input keys read as None (``store.provenance``)."""
    nodes: dict[bytes, tuple[SubtreeRow, list[WrittenFrame]]] = {}
    for row in rows:
        _, frames = nodes.setdefault(row.path, (row, []))
        if row.generation is not None and row.frame is not None:
            generation = row.generation
            if not keys_trusted:
                generation = replace(generation, input_key=None)
            frames.append(frame_entry(generation, row.frame, is_head=True))
    out = []
    sort_key = SORT_KEYS[Ordering.RECENCY]
    for path in sorted(nodes, key=lambda p: p.split(b"/") if p else []):
        row, frames = nodes[path]
        frames.sort(key=sort_key)
        out.append(
            NodeContext(
                node_id=NodeId(row.node_id),
                path=row.path,
                kind=row.kind,
                size=row.size,
                frames=tuple(frames),
                frame_count=row.head_count,
                sig=row.sig,
            )
        )
    return out


def search_match(row: SearchRow) -> SearchMatch:
    return SearchMatch(
        path=row.path,
        node_id=NodeId(row.node_id),
        frame_id=FrameId(row.frame_id),
        agent_id=row.agent_id,
        frame_type=row.frame_type,
        score=row.score,
        snippet=row.snippet,
        sig=row.sig,
    )
