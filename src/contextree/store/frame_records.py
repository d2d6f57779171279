"""The stored shape of the frame tables' rows: one value type per table, its column list and
its decoder, and the frame record's version and metadata encoding.

Owns what a row of ``frames``, ``generations`` and ``heads`` is as a plain value; the
statements that read and write them are ``contextree.store.frames``. Nothing here issues SQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Version of the stored frame record (the row layout and its metadata encoding).
FRAME_RECORD_VERSION = 1


#: One encoder for every write (``json.dumps`` with options builds a new one per call).
_METADATA_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def encode_metadata(metadata: Mapping[str, str]) -> str:
    return _METADATA_ENCODER.encode(dict(metadata))


def decode_metadata(text: str) -> dict[str, str]:
    data = json.loads(text)
    return {str(k): str(v) for k, v in data.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameRow:
    frame_id: bytes
    basis_kind: str
    node_id: bytes | None
    basis_frame: bytes | None
    agent_id: str
    frame_type: str
    content: bytes
    metadata: Mapping[str, str]
    created_at_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationRow:
    id: int  # 0 when not yet inserted
    path: bytes
    node_id: bytes
    agent_id: str
    frame_type: str
    frame_id: bytes
    input_key: str | None
    prompt_digest: str | None
    context_digest: str | None
    request_digest: str | None
    metadata: Mapping[str, str]
    created_at_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HeadRow:
    node_id: bytes
    agent_id: str
    frame_type: str
    frame_id: bytes
    input_key: str | None
    generation_id: int
    updated_at_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameIdentity:
    """The hashed fields of a stored frame, read to recompute its id (metadata is not hashed)."""

    frame_id: bytes
    basis_kind: str
    node_id: bytes | None
    basis_frame: bytes | None
    agent_id: str
    frame_type: str
    content: bytes


FRAME_COLUMNS = (
    "frame_id, basis_kind, node_id, basis_frame, agent_id, frame_type, content, metadata, "
    "created_at_ns"
)
GENERATION_COLUMNS = (
    "id, path, node_id, agent_id, frame_type, frame_id, input_key, prompt_digest, "
    "context_digest, request_digest, metadata, created_at_ns"
)
HEAD_COLUMNS = "node_id, agent_id, frame_type, frame_id, input_key, generation_id, updated_at_ns"


# Rows come from the fixed schema above: each column has the type its field expects.
def frame_row(r: Sequence[Any]) -> FrameRow:
    return FrameRow(
        frame_id=r[0],
        basis_kind=r[1],
        node_id=r[2],
        basis_frame=r[3],
        agent_id=r[4],
        frame_type=r[5],
        content=r[6],
        metadata=decode_metadata(r[7]),
        created_at_ns=r[8],
    )


def generation_row(r: Sequence[Any]) -> GenerationRow:
    return GenerationRow(
        id=r[0],
        path=r[1],
        node_id=r[2],
        agent_id=r[3],
        frame_type=r[4],
        frame_id=r[5],
        input_key=r[6],
        prompt_digest=r[7],
        context_digest=r[8],
        request_digest=r[9],
        metadata=decode_metadata(r[10]),
        created_at_ns=r[11],
    )


def head_row(r: Sequence[Any]) -> HeadRow:
    return HeadRow(
        node_id=r[0],
        agent_id=r[1],
        frame_type=r[2],
        frame_id=r[3],
        input_key=r[4],
        generation_id=r[5],
        updated_at_ns=r[6],
    )
