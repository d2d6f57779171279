"""Frames: the immutable, content-addressed records an agent writes about a node.

Owns the ``Frame`` and ``Basis`` types and the one definition of a frame id: BLAKE3 over
length-prefixed fields (u64 big-endian length, then bytes), in order the basis hash, the agent
id, the frame type and the content. Metadata and the creation time are not hashed: the id says
*what* was written about *which* basis by *whom*, not how it was produced (that is lineage, kept
beside the head). It is a plain value type in ``core``, importing nothing of the project but
``errors`` and ``core.ids``: validating metadata is the write boundary's job.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import blake3

from contextree.core.ids import FrameId, NodeId
from contextree.errors import InvalidFrameError

ID_BYTES = 32
_U64 = struct.Struct(">Q")


def _prefixed(data: bytes) -> bytes:
    """One field as it is hashed: its length (u64 big-endian), then its bytes."""
    return _U64.pack(len(data)) + data


#: The length prefix of a 32-byte id, the only length a basis id may have.
_ID_PREFIX = _U64.pack(ID_BYTES)


def default_frame_type(agent_id: str) -> str:
    """The frame type an agent writes when none is asked for: ``context-<agent id>``."""
    return f"context-{agent_id}"


class BasisKind(StrEnum):
    NODE = "node"
    FRAME = "frame"
    BOTH = "both"


@dataclass(frozen=True, slots=True, kw_only=True)
class Basis:
    """What a frame is about: a node, an earlier frame, or both. Build it with ``Basis.node``,
    ``Basis.frame`` or ``Basis.both``."""

    kind: BasisKind
    node_id: NodeId | None = None
    frame_id: FrameId | None = None

    def __post_init__(self) -> None:
        kind = self.kind
        _check_basis_id(kind, "node_id", self.node_id, kind is not BasisKind.FRAME)
        _check_basis_id(kind, "frame_id", self.frame_id, kind is not BasisKind.NODE)

    @classmethod
    def node(cls, node_id: NodeId) -> Basis:
        return cls(kind=BasisKind.NODE, node_id=node_id)

    @classmethod
    def frame(cls, frame_id: FrameId) -> Basis:
        return cls(kind=BasisKind.FRAME, frame_id=frame_id)

    @classmethod
    def both(cls, node_id: NodeId, frame_id: FrameId) -> Basis:
        return cls(kind=BasisKind.BOTH, node_id=node_id, frame_id=frame_id)

    def hash(self) -> bytes:
        """BLAKE3 over the length-prefixed kind tag and the id(s) the basis names."""
        fields = [_KIND_TAGS[self.kind]]
        if self.node_id is not None:
            fields += (_ID_PREFIX, self.node_id)
        if self.frame_id is not None:
            fields += (_ID_PREFIX, self.frame_id)
        return blake3.blake3(b"".join(fields)).digest()


def _check_basis_id(kind: BasisKind, name: str, value: bytes | None, needed: bool) -> None:
    if needed and (value is None or len(value) != ID_BYTES):
        raise InvalidFrameError(f"a {kind} basis needs a {ID_BYTES}-byte {name}")
    if not needed and value is not None:
        raise InvalidFrameError(f"a {kind} basis has no {name}")


#: Each basis kind's tag, length-prefixed, as the basis hash starts with it.
_KIND_TAGS = {kind: _prefixed(kind.value.encode("ascii")) for kind in BasisKind}
_HASH_PREFIX = _U64.pack(32)  # BLAKE3's default output, the length of a basis hash


def compute_frame_id(basis: Basis, agent_id: str, frame_type: str, content: bytes) -> FrameId:
    """The id of a frame with these hashed fields."""
    hasher = blake3.blake3(
        b"".join(
            (
                _HASH_PREFIX,
                basis.hash(),
                _prefixed(agent_id.encode("utf-8")),
                _prefixed(frame_type.encode("utf-8")),
                _U64.pack(len(content)),
            )
        )
    )
    hasher.update(content)
    return FrameId(hasher.digest())


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One frame. ``metadata`` is a read-only copy of what was passed in; ``frame_id`` is
    computed once, at construction."""

    basis: Basis
    agent_id: str
    frame_type: str
    content: bytes
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)
    created_at_ns: int = field(default_factory=time.time_ns, compare=False)
    frame_id: FrameId = field(init=False)

    def __post_init__(self) -> None:
        if not self.agent_id:
            raise InvalidFrameError("a frame needs a non-empty agent_id")
        if not self.frame_type:
            raise InvalidFrameError("a frame needs a non-empty frame_type")
        if not isinstance(self.content, bytes):
            raise InvalidFrameError("frame content must be bytes")
        frozen = dict(self.metadata.items())
        for key, value in frozen.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidFrameError("frame metadata keys and values must be strings")
        object.__setattr__(self, "metadata", MappingProxyType(frozen))
        object.__setattr__(
            self,
            "frame_id",
            compute_frame_id(self.basis, self.agent_id, self.frame_type, self.content),
        )

    def text(self) -> str | None:
        """The content as text, or None when it is not valid UTF-8."""
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            return None
