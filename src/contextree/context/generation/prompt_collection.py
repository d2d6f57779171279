"""Prompt and context collection (C1): everything a provider is shown for one node.

Owns gathering a node's inputs and shaping them into an ``AssembledPrompt``: the agent's
templates rendered for the node, a file's bytes exactly as scanned (a file that changed since
the scan is reported, not summarised), a directory's children's current frames of the same
agent and frame type in child-name order, and the generation scope (secret files are never
read; lockfiles and the like go to the structural provider; empty files need no call). The
text itself is shaped by ``prompt_text``. It calls no provider and writes nothing.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import blake3

from contextree.agents.profile import AgentProfile
from contextree.api import ContextApi
from contextree.context.generation.contracts import (
    AssembledPrompt,
    GenerationRequest,
    PromptMessage,
    TruncationFacts,
)
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


class FileChangedSinceScanError(RuntimeFailure):
    """The file's bytes are no longer those the scan hashed; summarising them would lie."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectedPrompt:
    prompt: AssembledPrompt
    scope: Scope
    subject: Subject | None
    context_text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionLimits:
    prompt_file_cap: int = 128 << 10
    directory_context_budget: int = 64 << 10


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

    def file_scope(self, entry: Entry) -> Scope:
        return self._scope.classify_file(entry.path, entry.size or 0)

    async def collect(
        self, request: GenerationRequest, entry: Entry, agent: AgentProfile
    ) -> CollectedPrompt:
        if entry.kind == "file":
            return await self._file(request, entry, agent)
        return self._directory(request, entry, agent)

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
        try:
            with open(abs_path, "rb") as handle:
                while chunk := handle.read(_READ_CHUNK):
                    hasher.update(chunk)
                    if len(kept) < keep:
                        kept += chunk[: keep - len(kept)]
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
        self, request: GenerationRequest, entry: Entry, agent: AgentProfile
    ) -> CollectedPrompt:
        path = display_path(entry.path)
        children = self._tree.children(entry.path)
        heads = self._api.heads(
            [NodeId(c.node_id) for c in children],
            agent_id=request.agent_id,
            frame_type=request.frame_type,
        )
        blocks: list[ChildBlock] = []
        frames: list[ChildFrame] = []
        for child in children:
            head = heads.get(NodeId(child.node_id))
            frame = self._api.get_frame(head.frame_id) if head is not None else None
            if frame is None:
                continue
            content = frame.content.decode("utf-8", "replace")
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
