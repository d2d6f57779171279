"""Orchestration: the contract the queue calls, in three steps, for one node.

``prepare(request)`` resolves the node and its agent, computes the node's input key (for a
directory, from its children's frames as they are now, after they finished) and returns
``Skip`` when the head already has that key (unless forced); otherwise it collects the prompt
and returns a ``PreparedCall`` naming the provider that will really be called and an estimate
of the tokens it will cost. ``execute(prepared)`` calls the provider (or, for withheld and
empty files, makes the frame without any call) and builds the frame and its metadata through
the one metadata path, while the queue holds a concurrency slot. ``commit(executed)`` writes
the frame with its lineage through ``ContextApi.put_frames`` (a group commit with the other
frames finished in the same event-loop turn: ``frame_writer``) after the slot is released. The
queue owns retries, limits and ordering; this module owns none of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from contextree.agents.profile import AgentProfile
from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi, FrameWrite, Lineage
from contextree.context.generation.contracts import (
    ExecutedCall,
    FrameResult,
    GeneratedMetadata,
    GenerationRequest,
    PreparedCall,
    Skip,
)
from contextree.context.generation.currency import DEFAULT_DIRECTORY_CONTEXT_BUDGET, CurrencyKeys
from contextree.context.generation.frame_writer import FrameWriter
from contextree.context.generation.metadata_construction import frame_metadata, with_redactions
from contextree.context.generation.plan import HEAD_REUSE
from contextree.context.generation.prompt_collection import (
    ChildHeads,
    CollectedPrompt,
    PromptCollector,
)
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.context.generation.window_fit import Window, cut_metadata, prompt_tokens
from contextree.core.frame import Basis, Frame
from contextree.core.ids import EMPTY_DIGEST, Digest, NodeKind, digest_bytes
from contextree.core.messages import ProviderResponse
from contextree.core.tree import TreeNode, display_path
from contextree.errors import NodeNotInTreeError
from contextree.providers.profiles import STRUCTURAL, STRUCTURAL_MODEL
from contextree.providers.types import CompletionOptions
from contextree.store.tree import TreeRows
from contextree.telemetry import EventValue
from contextree.workspace.scope import Scope

#: Output tokens assumed when a profile sets no max_tokens.
DEFAULT_OUTPUT_ESTIMATE = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class _Payload:
    """What ``execute`` needs; opaque to the queue."""

    agent: AgentProfile
    entry: TreeNode
    collected: CollectedPrompt
    input_key: str
    #: The provider actually called; None when the frame needs no call at all.
    call_provider: str | None
    #: Options fitted to the provider's context window (None: the profile's, unchanged).
    options: CompletionOptions | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Answered:
    """What ``commit`` needs; opaque to the queue."""

    write: FrameWrite
    served_model: str
    provider_name: str


class Orchestrator:
    """Prepares and executes generation requests for one workspace."""

    def __init__(
        self,
        *,
        api: ContextApi,
        tree: TreeRows,
        agents: AgentRegistry,
        providers: ProviderExecution,
        collector: PromptCollector,
        directory_context_budget: int = DEFAULT_DIRECTORY_CONTEXT_BUDGET,
        redact: bool = True,
    ) -> None:
        self._api = api
        #: Frames finished in the same event-loop turn share one transaction.
        self._writer = FrameWriter(api)
        self._tree = tree
        self._agents = agents
        self._providers = providers
        self._collector = collector
        #: The collector's budget, which a directory's input key includes when not the default.
        self._directory_context_budget = directory_context_budget
        #: Whether the collector redacts; every input key says so when it does not.
        self._redact = redact
        #: (prompt profile digest, provider, model) -> the key maker for them: the shared
        #: fields are hashed once per run, not once per node.
        self._keys: dict[tuple[str, str, str], CurrencyKeys] = {}

    # -- prepare --------------------------------------------------------------------------

    async def prepare(self, request: GenerationRequest) -> PreparedCall | Skip:
        agent = self._agents.get(request.agent_id)
        entry = self._tree.entry_by_node(request.node_id)
        if entry is None:
            raise NodeNotInTreeError(
                f"{display_path(request.path)} changed since the plan was made",
                hint="Run `contextree generate` again; it rescans first.",
            )
        # A directory's children and their heads are read once, for its key and its context.
        kids = None if entry.kind == NodeKind.FILE else self._collector.child_heads(request, entry)
        key = self.input_key(request, entry, agent, kids)
        head = self._api.head(request.node_id, request.agent_id, request.frame_type)
        if not request.force and head is not None and head.input_key == key:
            return Skip(request=request, frame_id=head.frame_id, reason=HEAD_REUSE)
        window = await self._window(request, entry)
        collected = await self._collector.collect(request, entry, agent, kids, window=window)
        call_provider = _provider_for(collected.scope, request.provider_name)
        return PreparedCall(
            request=request,
            provider_name=call_provider or STRUCTURAL,
            token_estimate=self._estimate(collected, call_provider),
            input_key=key,
            payload=_Payload(
                agent=agent,
                entry=entry,
                collected=collected,
                input_key=key,
                call_provider=call_provider,
                options=_fitted_options(window, collected) if call_provider else None,
            ),
        )

    async def _window(self, request: GenerationRequest, entry: TreeNode) -> Window | None:
        """The window the node's prompt is fitted to; asked only of a node that will call
        the requested provider (never of a file that goes elsewhere or needs no call)."""
        if request.provider_name == STRUCTURAL or (
            entry.kind == NodeKind.FILE and self._collector.file_scope(entry) is not Scope.LLM
        ):
            return None
        return await self._providers.window(request.provider_name)

    def input_key(
        self,
        request: GenerationRequest,
        entry: TreeNode,
        agent: AgentProfile,
        child_heads: ChildHeads | None = None,
    ) -> str:
        """The node's input key now (for a directory: from its children's current heads,
        ``child_heads`` when given, else read here)."""
        model = self._providers.profile(request.provider_name).effective_model
        cache_key = (agent.prompt_digest, request.provider_name, model)
        keys = self._keys.get(cache_key)
        if keys is None:
            profile = self._providers.profile(request.provider_name)
            keys = CurrencyKeys(
                prompt_digest=agent.prompt_digest,
                provider_name=request.provider_name,
                model=model,
                directory_context_budget=self._directory_context_budget,
                redact=self._redact,
                context_window=profile.context_window,
                reply_reserve=profile.reply_reserve,
            )
            self._keys[cache_key] = keys
        if entry.kind == NodeKind.FILE:
            return keys.file_key(entry.node_id)
        if child_heads is None:
            child_heads = self._collector.child_heads(request, entry)
        return keys.dir_key(entry.node_id, child_heads.frame_ids())

    def _estimate(self, collected: CollectedPrompt, provider: str | None) -> int:
        if provider is None or provider == STRUCTURAL:
            return 0
        prompt_bytes = sum(len(m.content.encode("utf-8")) for m in collected.prompt.messages)
        max_tokens = self._providers.profile(provider).options.max_tokens
        return prompt_bytes // 4 + (max_tokens or DEFAULT_OUTPUT_ESTIMATE)

    # -- execute --------------------------------------------------------------------------

    async def execute(self, prepared: PreparedCall) -> ExecutedCall:
        payload = prepared.payload
        assert isinstance(payload, _Payload)
        request = prepared.request
        prompt = payload.collected.prompt
        if payload.call_provider is None:
            result = _fixed_frame(payload)
            provider_name, provider_type = STRUCTURAL, STRUCTURAL
        else:
            provider_name = payload.call_provider
            provider_type = self._providers.profile(provider_name).type.value
            result = await self._providers.call(
                provider_name,
                prompt.messages,
                payload.collected.subject,
                event_data=_event_data(request),
                options=payload.options,
            )
        request_digest = digest_bytes(result.request_body)
        metadata = frame_metadata(
            GeneratedMetadata(
                agent_id=request.agent_id,
                provider=provider_name,
                provider_type=provider_type,
                model=result.served_model,
                prompt_digest=prompt.prompt_digest if payload.call_provider else EMPTY_DIGEST,
                context_digest=prompt.context_digest if payload.call_provider else EMPTY_DIGEST,
                prompt_link_id=request_digest,
                tokens_in=result.tokens_in,
                tokens_out=result.tokens_out,
                finish_reason=result.finish_reason,
            )
        )
        if result.truncated_bytes:
            metadata["truncated_bytes"] = str(result.truncated_bytes)
        if payload.options is not None:  # fitted to a window: what was cut, on the frame
            metadata.update(cut_metadata(prompt.truncation))
        # What was redacted in the prompt (the write path adds what it redacts in the frame).
        metadata = with_redactions(metadata, payload.collected.redactions)
        frame = Frame(
            basis=Basis.node(request.node_id),
            agent_id=request.agent_id,
            frame_type=request.frame_type,
            content=result.content.encode("utf-8"),
            metadata=metadata,
        )
        write = FrameWrite(
            node_id=request.node_id,
            frame=frame,
            agent_id=request.agent_id,
            lineage=_lineage(payload, result, request_digest),
        )
        return ExecutedCall(
            prepared=prepared,
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            payload=_Answered(
                write=write, served_model=result.served_model, provider_name=provider_name
            ),
        )

    # -- commit ---------------------------------------------------------------------------

    async def commit(self, executed: ExecutedCall) -> FrameResult:
        answered = executed.payload
        assert isinstance(answered, _Answered)
        frame_id = await self._writer.put(answered.write)
        return FrameResult(
            frame_id=frame_id,
            tokens_in=executed.tokens_in,
            tokens_out=executed.tokens_out,
            served_model=answered.served_model,
            provider_name=answered.provider_name,
        )


def _provider_for(scope: Scope, requested: str) -> str | None:
    if scope is Scope.LLM:
        return requested
    if scope is Scope.STRUCTURAL:
        return STRUCTURAL
    return None


def _fixed_frame(payload: _Payload) -> ProviderResponse:
    """The frame of a withheld or empty file: made here, with no provider involved."""
    path = display_path(payload.entry.path)
    if payload.collected.scope is Scope.WITHHELD and payload.collected.withheld_by == "content":
        content = (
            f"# {path}\n\nWithheld: this file holds a private key (a JSON key file, such as a "
            "cloud service-account key), so its content was not sent to any provider."
            f"\n\nSize: {payload.entry.size or 0:,} bytes."
        )
        reason = "withheld"
    elif payload.collected.scope is Scope.WITHHELD:
        content = (
            f"# {path}\n\nWithheld: this file's name marks it as likely to hold secrets "
            "(see `generation.secret_patterns`), so its content was never read or sent to any "
            f"provider.\n\nSize: {payload.entry.size or 0:,} bytes."
        )
        reason = "withheld"
    else:
        content = f"# {path}\n\nEmpty file (0 bytes)."
        reason = "empty"
    return ProviderResponse(
        content=content,
        served_model=STRUCTURAL_MODEL,
        tokens_in=0,
        tokens_out=0,
        finish_reason=reason,
        latency_s=0.0,
        request_body=b"",
    )


def _lineage(payload: _Payload, result: ProviderResponse, request_digest: Digest) -> Lineage:
    prompt = payload.collected.prompt
    if payload.call_provider is None:
        return Lineage(
            input_key=Digest(payload.input_key),
            prompt_digest=EMPTY_DIGEST,
            context_digest=EMPTY_DIGEST,
            request_digest=request_digest,
        )
    artifacts: dict[Digest, bytes] = {
        prompt.prompt_digest: prompt.user_prompt.encode("utf-8"),
        prompt.context_digest: payload.collected.context_text.encode("utf-8"),
    }
    if result.request_body:
        artifacts[request_digest] = result.request_body
    return Lineage(
        input_key=Digest(payload.input_key),
        prompt_digest=prompt.prompt_digest,
        context_digest=prompt.context_digest,
        request_digest=request_digest,
        artifacts=artifacts,
    )


def _fitted_options(window: Window | None, collected: CollectedPrompt) -> CompletionOptions | None:
    """``max_tokens`` within what the window leaves after the prompt, and the window itself
    (Ollama's ``num_ctx``); None without a window."""
    if window is None:
        return None
    used = prompt_tokens(collected.prompt.messages)
    return CompletionOptions(max_tokens=window.max_tokens_for(used), context_window=window.size)


def _event_data(request: GenerationRequest) -> dict[str, EventValue]:
    return {
        "node_id": request.node_id.hex(),
        "path": display_path(request.path),
        "agent_id": request.agent_id,
        "frame_type": request.frame_type,
    }
