"""Prompt and context collection (C1): everything a provider is shown for one node.

Owns gathering a node's inputs and shaping them into an ``AssembledPrompt``: the agent's
templates rendered for the node, a file's bytes exactly as scanned (a file that changed since
the scan is reported, not summarised), a directory's children's current frames of the same
agent and frame type in child-name order, and the generation scope (secret files are never
read; lockfiles and the like go to the structural provider; empty files need no call). Files
are read in a worker thread, small ones many per hand-off. The text itself is shaped by
``prompt_text``. It calls no provider and writes nothing.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import blake3

from contextree.agents.profile import AgentProfile
from contextree.api import ContextApi, Head
from contextree.context.generation.contracts import (
    AssembledPrompt,
    GenerationRequest,
    PromptMessage,
    TruncationFacts,
)
from contextree.context.generation.currency import MISSING_CHILD
from contextree.context.generation.prompt_text import (
    ChildBlock,
    block,
    directory_context,
    file_text,
    render_template,
    user_message,
)
from contextree.context.generation.scope import Scope, ScopeRules
from contextree.errors import RuntimeFailure
from contextree.providers.types import ChildFrame, DirectorySubject, FileSubject, Subject
from contextree.store.digest import digest_text
from contextree.store.tree import Entry, TreeRows
from contextree.workspace.merkle import NodeId
from contextree.workspace.walk import display_path

_READ_CHUNK = 1 << 20
#: Bytes of a file handed to the structural provider (it reads structure, not every byte).
STRUCTURAL_KEEP = 4 << 20
#: Files up to this size (as scanned) are read in shared batches; bigger ones get a thread
#: hand-off of their own, so that one large read never delays many small ones.
BATCHED_READ_MAX = 64 << 10


class FileChangedSinceScanError(RuntimeFailure):
    """The file's bytes are no longer those the scan hashed; summarising them would lie."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectedPrompt:
    prompt: AssembledPrompt
    scope: Scope
    subject: Subject | None
    context_text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildHeads:
    """A directory's children (sorted by raw name bytes) and the head each has now for one
    agent and frame type (a child without one is absent). Read once per ``prepare``: the
    directory's input key and its context both come from this one read."""

    children: tuple[Entry, ...]
    heads: Mapping[NodeId, Head]

    def frame_ids(self) -> list[bytes]:
        """Each child's current frame id in child order, ``MISSING_CHILD`` where it has none."""
        heads = self.heads
        return [
            head.frame_id if (head := heads.get(NodeId(c.node_id))) is not None else MISSING_CHILD
            for c in self.children
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionLimits:
    prompt_file_cap: int = 128 << 10
    directory_context_budget: int = 64 << 10


_Read = tuple[Callable[[], bytes], asyncio.Future[bytes]]


class _BatchedReads:
    """Runs small blocking reads in a worker thread, many per hand-off.

    Each hand-off to a thread costs far more CPU than reading a small file: the threads trade
    the GIL several times per read, about 0.3 ms of CPU per request at 64 concurrent
    requests. So reads asked for while a batch runs wait for it to finish and then go,
    together, in the next one (about 20 per hand-off there). Every read still happens off the
    event loop, and each caller gets its own result or its own exception. The batches are
    plain executor futures finished by a callback: no task is left behind. It serves one
    event loop at a time; a later loop takes over from one that was closed.
    """

    def __init__(self) -> None:
        self._pending: list[_Read] = []
        #: The loop whose batch is in flight (None: none is). A batch left behind by a loop
        #: that was closed while it ran must not keep a later loop's reads waiting.
        self._running_on: asyncio.AbstractEventLoop | None = None

    def read(self, work: Callable[[], bytes]) -> asyncio.Future[bytes]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        if self._running_on is not None and self._running_on is not loop:
            self._pending, self._running_on = [], None
        self._pending.append((work, future))
        if self._running_on is None:
            self._start(loop)
        return future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = [item for item in self._pending if not item[1].done()]  # skip cancelled waiters
        self._pending = []
        if not batch:
            return
        try:
            running = loop.run_in_executor(None, _run_batch, [work for work, _ in batch])
        except RuntimeError as exc:  # the executor is shut down
            _settle(batch, [exc] * len(batch))
            return
        self._running_on = loop
        running.add_done_callback(lambda done: self._finished(loop, batch, done))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Read],
        done: asyncio.Future[list[bytes | BaseException]],
    ) -> None:
        if self._running_on is loop:
            self._running_on = None
        if done.cancelled():
            for _, future in batch:
                future.cancel()
        elif (error := done.exception()) is not None:
            _settle(batch, [error] * len(batch))
        else:
            _settle(batch, done.result())
        if self._pending and self._running_on is None:
            self._start(loop)


def _run_batch(works: list[Callable[[], bytes]]) -> list[bytes | BaseException]:
    out: list[bytes | BaseException] = []
    for work in works:
        try:
            out.append(work())
        except Exception as exc:  # each caller gets its own failure
            out.append(exc)
    return out


def _settle(batch: list[_Read], results: list[bytes | BaseException]) -> None:
    for (_, future), result in zip(batch, results, strict=True):
        if future.done():
            continue  # its caller was cancelled
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


class PromptCollector:
    """Collects prompts for the nodes of one workspace."""

    def __init__(
        self,
        *,
        root: Path,
        api: ContextApi,
        tree: TreeRows,
        scope: ScopeRules,
        limits: CollectionLimits | None = None,
    ) -> None:
        self._root = os.fsencode(root)
        self._api = api
        self._tree = tree
        self._scope = scope
        self._limits = limits or CollectionLimits()
        self._reads = _BatchedReads()

    def file_scope(self, entry: Entry) -> Scope:
        return self._scope.classify_file(entry.path, entry.size or 0)

    def child_heads(self, request: GenerationRequest, entry: Entry) -> ChildHeads:
        """The directory's children and their current heads for the request's agent and
        frame type."""
        children = tuple(self._tree.children(entry.path))
        heads = self._api.heads(
            [NodeId(c.node_id) for c in children],
            agent_id=request.agent_id,
            frame_type=request.frame_type,
        )
        return ChildHeads(children=children, heads=heads)

    async def collect(
        self,
        request: GenerationRequest,
        entry: Entry,
        agent: AgentProfile,
        child_heads: ChildHeads | None = None,
    ) -> CollectedPrompt:
        """The prompt for one node. For a directory, ``child_heads`` is what ``child_heads``
        returned for it (read here when not given)."""
        if entry.kind == "file":
            return await self._file(request, entry, agent)
        if child_heads is None:
            child_heads = self.child_heads(request, entry)
        return self._directory(entry, agent, child_heads)

    async def _file(
        self, request: GenerationRequest, entry: Entry, agent: AgentProfile
    ) -> CollectedPrompt:
        path = display_path(entry.path)
        size = entry.size or 0
        scope = self.file_scope(entry)
        task = render_template(agent.file_template, path=path, node_type="File", file_size=size)
        if scope in (Scope.WITHHELD, Scope.EMPTY):
            # Withheld files are never read at all; empty ones have nothing to read.
            return CollectedPrompt(
                prompt=_assemble(agent, task, context=None),
                scope=scope,
                subject=None,
                context_text="",
            )
        cap = self._limits.prompt_file_cap
        keep = STRUCTURAL_KEEP if scope is Scope.STRUCTURAL else cap + 1
        if size <= BATCHED_READ_MAX:
            data = await self._reads.read(functools.partial(self._read_scanned, entry, keep))
        else:
            data = await asyncio.to_thread(self._read_scanned, entry, keep)
        text = file_text(data, cap, total_size=size)
        context = block(path, "File", text.text)
        truncation = TruncationFacts(
            file_truncated=text.truncated,
            original_bytes=size,
            kept_bytes=text.kept_bytes,
        )
        return CollectedPrompt(
            prompt=_assemble(agent, task, context=context, truncation=truncation),
            scope=scope,
            subject=FileSubject(path=path, data=data, size=size),
            context_text=context,
        )

    def _read_scanned(self, entry: Entry, keep: int) -> bytes:
        """The first ``keep`` bytes, after checking the whole file still hashes as scanned."""
        abs_path = self._root + b"/" + entry.path
        hasher = blake3.blake3()
        kept = bytearray()
        # Unbuffered, and the first read sized to the scanned size (plus one byte to see the
        # end): a small file costs one read into a buffer of its own size, not 1 MiB.
        want = min((entry.size or 0) + 1, _READ_CHUNK)
        try:
            with open(abs_path, "rb", buffering=0) as handle:
                while chunk := handle.read(want):
                    hasher.update(chunk)
                    if len(kept) < keep:
                        kept += chunk[: keep - len(kept)]
                    want = _READ_CHUNK
        except OSError as exc:
            raise FileChangedSinceScanError(
                f"cannot read {display_path(entry.path)}: {exc.strerror}",
                hint="Run `contextree scan` to refresh the tree, then generate again.",
            ) from exc
        if hasher.digest() != entry.content_hash:
            raise FileChangedSinceScanError(
                f"{display_path(entry.path)} changed since the last scan",
                hint="Run `contextree scan` (or `contextree generate` without --no-scan) so the "
                "frame describes the bytes the tree names.",
            )
        return bytes(kept)

    def _directory(
        self, entry: Entry, agent: AgentProfile, child_heads: ChildHeads
    ) -> CollectedPrompt:
        path = display_path(entry.path)
        heads = child_heads.heads
        contents = self._api.frame_contents(head.frame_id for head in heads.values())
        blocks: list[ChildBlock] = []
        frames: list[ChildFrame] = []
        for child in child_heads.children:
            head = heads.get(NodeId(child.node_id))
            raw = contents.get(head.frame_id) if head is not None else None
            if raw is None:
                continue
            content = raw.decode("utf-8", "replace")
            child_path = display_path(child.path)
            kind = "Directory" if child.kind == "dir" else "File"
            blocks.append(ChildBlock(path=child_path, node_type=kind, content=content))
            frames.append(
                ChildFrame(
                    name=display_path(child.path.rpartition(b"/")[2]),
                    path=child_path,
                    kind="dir" if child.kind == "dir" else "file",
                    content=content,
                )
            )
        ctx = directory_context(blocks, self._limits.directory_context_budget)
        task = render_template(
            agent.directory_template, path=path, node_type="Directory", file_size=None
        )
        return CollectedPrompt(
            prompt=_assemble(
                agent,
                task,
                context=ctx.text or None,
                included=ctx.included,
                truncation=TruncationFacts(children_cut=ctx.cut),
            ),
            scope=Scope.LLM,
            subject=DirectorySubject(path=path, children=tuple(frames)),
            context_text=ctx.text,
        )


def _assemble(
    agent: AgentProfile,
    task: str,
    *,
    context: str | None,
    included: tuple[str, ...] = (),
    truncation: TruncationFacts | None = None,
) -> AssembledPrompt:
    messages: list[PromptMessage] = []
    if agent.system_prompt:
        messages.append(PromptMessage(role="system", content=agent.system_prompt))
    messages.append(PromptMessage(role="user", content=user_message(context, task)))
    return AssembledPrompt(
        user_prompt=task,
        system_prompt=agent.system_prompt,
        messages=tuple(messages),
        prompt_digest=digest_text(task),
        context_digest=digest_text(context or ""),
        included_children=included,
        truncation=truncation or TruncationFacts(),
    )
