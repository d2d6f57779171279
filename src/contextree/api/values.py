"""The values ``ContextApi`` takes and returns.

Owns what a caller hands the write boundary (``FrameWrite``, ``Lineage``) and what the read side
gives back (``Head``, ``WrittenFrame``, ``NodeContext``, ``SearchMatch``) and how a read is
asked for (``NodeView``, ``Ordering``, with the view's filters and sort keys): immutable
values, no store access.
``contextree.api`` exports them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from contextree.core.frame import Frame
from contextree.core.ids import Digest, FrameId, NodeId


@dataclass(frozen=True, slots=True, kw_only=True)
class Lineage:
    """What a generated frame was made from. ``input_key`` goes on the head (None: never
    current); the digests must equal the frame's ``prompt_digest``, ``context_digest`` and
    ``prompt_link_id`` metadata; ``artifacts`` maps a digest to the bytes it names (the
    prompt text, the context text, the exact provider request body), each stored once."""

    input_key: Digest | None
    prompt_digest: Digest
    context_digest: Digest
    request_digest: Digest
    artifacts: Mapping[Digest, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "artifacts", MappingProxyType(dict(self.artifacts)))


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameWrite:
    """One frame for ``put_frames``: what ``put_frame`` takes, as a value."""

    node_id: NodeId
    frame: Frame
    agent_id: str
    lineage: Lineage | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Head:
    """The latest frame of (node, agent, frame type) and what it was generated from."""

    node_id: NodeId
    agent_id: str
    frame_type: str
    frame_id: FrameId
    input_key: Digest | None
    generation_id: int
    updated_at_ns: int


class Ordering(StrEnum):
    RECENCY = "recency"  # newest write first
    FRAME_TYPE = "frame_type"
    AGENT = "agent"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeView:
    """How ``get_node`` selects frames. Filters must all match; ``max_frames`` caps the heads
    and, separately, the history."""

    max_frames: int = 100
    ordering: Ordering = Ordering.RECENCY
    frame_type: str | None = None
    agent_id: str | None = None
    history: bool = False

    def selects(self, agent_id: str, frame_type: str) -> bool:
        """Whether a head of ``agent_id`` and ``frame_type`` passes the view's filters."""
        return (self.agent_id is None or self.agent_id == agent_id) and (
            self.frame_type is None or self.frame_type == frame_type
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WrittenFrame:
    """One write of a frame to a path. ``frame`` is the stored frame (an identical frame is
    stored once, with its first writer's metadata); ``metadata`` is this write's own."""

    frame: Frame
    node_id: NodeId
    path: bytes
    metadata: Mapping[str, str]
    input_key: Digest | None
    written_at_ns: int
    generation_id: int
    is_head: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeContext:
    node_id: NodeId
    path: bytes
    kind: str
    size: int | None
    #: Heads of the node that pass the view's filters, ordered and capped.
    frames: tuple[WrittenFrame, ...]
    #: Number of heads of the node before filtering.
    frame_count: int
    #: With ``view.history``: writes to this path (any node id it had), newest first.
    history: tuple[WrittenFrame, ...] = ()
    #: Bulk reads (``heads_under``) only: the file's stat signature at the last scan (None for
    #: a directory, or when not read), for the read path's freshness check.
    sig: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchMatch:
    """One head ``ContextApi.search`` found: its node (in the current tree), frame, agent
    and frame type, its bm25 rank (lower is better) and a snippet with the matched terms
    between ``«`` and ``»``."""

    path: bytes
    node_id: NodeId
    frame_id: FrameId
    agent_id: str
    frame_type: str
    score: float
    snippet: str
    #: The file's stat signature at the last scan (None for a directory).
    sig: bytes | None = None


#: How ``get_node`` sorts the heads for each ``Ordering``.
SORT_KEYS: Mapping[Ordering, Callable[[WrittenFrame], tuple[object, ...]]] = {
    Ordering.RECENCY: lambda e: (-e.written_at_ns, e.frame.frame_type, e.frame.agent_id),
    Ordering.FRAME_TYPE: lambda e: (e.frame.frame_type, e.frame.agent_id),
    Ordering.AGENT: lambda e: (e.frame.agent_id, e.frame.frame_type),
}
