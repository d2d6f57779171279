"""Typed contracts between the generation queue and the generation units.

Owns the values that cross unit boundaries during generation (a request, the assembled prompt,
a prepared provider call, an answered call, a skip, a result, the generated metadata; the
chat messages and the provider's answer are ``core.messages``) and the ``Orchestration``
protocol the queue drives. Every value is a frozen, keyword-only dataclass.

import-linter checks two contracts on it (``pyproject.toml``). Its own ("Generation contracts
are plain types") forbids ``contextree.providers``, ``contextree.metadata`` and aiohttp,
directly or indirectly. The queue's ("The generation queue owns lifecycle only") forbids the
queue modules ``contextree.providers``, ``contextree.metadata``, ``contextree.api``, the
``prompt_collection``, ``provider_execution`` and ``metadata_construction`` units and aiohttp,
indirect imports included; the queue imports this module, so that list binds it too. The queue
must stay ignorant of how prompts are built, providers are called and metadata is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from contextree.core.ids import Digest, FrameId, NodeId, NodeKind
from contextree.core.messages import ChatMessage

#: What the queue deduplicates on: (node id, agent id, frame type).
RequestIdentity = tuple[NodeId, str, str]


class Priority(IntEnum):
    """How urgently a request should run; a greater value is served first."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationRequest:
    """Generate one frame of ``frame_type`` by ``agent_id`` for one node.

    ``path`` is workspace-relative raw bytes, used for messages and telemetry only; ``depth``
    is the path depth (the root is 0), used to serve deeper nodes first.
    """

    node_id: NodeId
    path: bytes
    node_kind: NodeKind
    depth: int
    agent_id: str
    provider_name: str
    frame_type: str
    force: bool = False
    plan_id: str | None = None

    @property
    def identity(self) -> RequestIdentity:
        """Two requests with the same identity produce the same head, so they run once."""
        return (self.node_id, self.agent_id, self.frame_type)


@dataclass(frozen=True, slots=True, kw_only=True)
class TruncationFacts:
    """What had to be cut to fit the prompt budgets.

    ``children_cut`` lists child paths whose frames were shortened or dropped to fit the
    directory context budget.
    """

    file_truncated: bool = False
    original_bytes: int | None = None
    kept_bytes: int | None = None
    children_cut: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AssembledPrompt:
    """The prompt for one request: rendered user prompt, system prompt and chat messages."""

    user_prompt: str
    system_prompt: str
    messages: tuple[ChatMessage, ...]
    prompt_digest: Digest
    context_digest: Digest
    included_children: tuple[str, ...] = ()
    truncation: TruncationFacts = TruncationFacts()


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedCall:
    """A request that needs a provider call.

    The queue reads only ``provider_name`` (the provider actually called, which may differ
    from the request's, e.g. ``structural`` for a lockfile) and ``token_estimate`` to apply
    limits; ``payload`` is opaque to it and handed back to ``Orchestration.execute`` untouched.
    """

    request: GenerationRequest
    provider_name: str
    token_estimate: int
    input_key: str
    payload: object


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutedCall:
    """A provider call that answered, with its frame not yet written.

    The queue reads only the token counts (to correct the rate budget it estimated);
    ``payload`` is opaque to it and handed to ``Orchestration.commit`` untouched.
    """

    prepared: PreparedCall
    tokens_in: int
    tokens_out: int
    payload: object


@dataclass(frozen=True, slots=True, kw_only=True)
class Skip:
    """No call is needed; ``frame_id`` is the current head's (None when there is none)."""

    request: GenerationRequest
    frame_id: FrameId | None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameResult:
    """A frame was written for the request."""

    frame_id: FrameId
    tokens_in: int
    tokens_out: int
    served_model: str
    provider_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratedMetadata:
    """The typed metadata of a generated frame, before it is turned into frame metadata."""

    agent_id: str
    provider: str
    provider_type: str
    model: str
    prompt_digest: Digest
    context_digest: Digest
    prompt_link_id: str
    tokens_in: int
    tokens_out: int
    finish_reason: str


class Orchestration(Protocol):
    """What the queue calls for each attempt: ``prepare``; then, holding a concurrency slot,
    ``execute``; then, with the slot released, ``commit``. A slot stands for one provider
    call in flight, so it is never held while a frame waits for the store."""

    async def prepare(self, request: GenerationRequest) -> PreparedCall | Skip:
        """Decide whether the request needs a provider call and, if so, build it."""
        ...

    async def execute(self, prepared: PreparedCall) -> ExecutedCall:
        """Call the provider and build the frame and its metadata."""
        ...

    async def commit(self, executed: ExecutedCall) -> FrameResult:
        """Write the frame through the write boundary."""
        ...
