"""Prompt and context collection (C1): everything a provider is shown for one node.

Owns gathering a node's inputs and shaping them into an ``AssembledPrompt``: the agent's
templates rendered for the node, a file's bytes exactly as scanned (a file that changed since
the scan is reported, not summarised), a directory's children's current frames of the same
agent and frame type in child-name order, and the generation scope (secret files are never
read; lockfiles and the like go to the structural provider; empty files need no call). Files
are read in a worker thread, small ones many per hand-off (``batched_reads``). The text itself
is shaped by ``prompt_text``, and fitted to a provider's context ``Window`` by ``window_fit``
(a file cut further at a line, a directory's budget lowered). It calls no provider and writes
nothing.

Everything a provider is shown passes the ``Redactor`` first (unless redaction is off): a
file's bytes before they are cut to ``prompt_file_cap`` (a little more than the cap is read, so
a key across the cut is still seen whole), each child's frame, the task and the system prompt;
key-shaped strings become ``[redacted:KIND]`` and are counted by kind in ``redactions``. A JSON
file holding a private key (a service-account file) is withheld once read, like a secret file.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import blake3

from contextree.agents.profile import AgentProfile
from contextree.api import ContextApi, Head
from contextree.config.generation import GenerationSettings
from contextree.context.generation.batched_reads import BatchedReads
from contextree.context.generation.contracts import (
    AssembledPrompt,
    GenerationRequest,
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
from contextree.context.generation.window_fit import (
    Window,
    fit_budget,
    fit_file_block,
    message_tokens,
)
from contextree.core.ids import NodeId, NodeKind, digest_text
from contextree.core.messages import ChatMessage, Role
from contextree.core.tree import TreeNode, display_path
from contextree.errors import FileChangedSinceScanError
from contextree.providers.types import ChildFrame, DirectorySubject, FileSubject, Subject
from contextree.redaction import Redactor, holds_private_key_json
from contextree.sniff import binary_kind
from contextree.store.tree import TreeRows
from contextree.workspace.marked_blocks import MARKED_FILE_CAP, is_marked_name
from contextree.workspace.marked_hash import marked_content
from contextree.workspace.scope import Scope, ScopeRules

_DEFAULTS = GenerationSettings()

_READ_CHUNK = 1 << 20
#: Bytes of a file handed to the structural provider (it reads structure, not every byte).
STRUCTURAL_KEEP = 4 << 20
#: Files up to this size (as scanned) are read in shared batches; bigger ones get a thread
#: hand-off of their own, so that one large read never delays many small ones.
BATCHED_READ_MAX = 64 << 10
#: Bytes read past ``prompt_file_cap`` so that redaction sees a key that the cap cuts whole.
REDACTION_MARGIN = 1 << 10

#: Why a file was withheld: its name matched ``secret_patterns``, or what it holds.
WITHHELD_BY_NAME = "name"
WITHHELD_BY_CONTENT = "content"


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectedPrompt:
    prompt: AssembledPrompt
    scope: Scope
    subject: Subject | None
    context_text: str
    #: Key-shaped strings replaced in what the provider is shown, by kind (never the values).
    redactions: Mapping[str, int] = field(default_factory=dict)
    #: For a withheld file: ``WITHHELD_BY_NAME`` or ``WITHHELD_BY_CONTENT``.
    withheld_by: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildHeads:
    """A directory's children (sorted by raw name bytes) and the head each has now for one
    agent and frame type (a child without one is absent). Read once per ``prepare``: the
    directory's input key and its context both come from this one read."""

    children: tuple[TreeNode, ...]
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
    """Bytes of a file, and of a directory's children's frames, one prompt carries; the
    defaults are the settings' own (``bootstrap.generation.collection_limits``)."""

    prompt_file_cap: int = _DEFAULTS.prompt_file_cap
    directory_context_budget: int = _DEFAULTS.directory_context_budget


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
        redactor: Redactor | None = None,
    ) -> None:
        self._root = os.fsencode(root)
        self._api = api
        self._tree = tree
        self._scope = scope
        self._limits = limits or CollectionLimits()
        self._redactor = redactor if redactor is not None else Redactor()
        self._reads = BatchedReads()
        #: System prompt -> its redacted text and counts: one agent's is redacted once.
        self._systems: dict[str, tuple[str, Counter[str]]] = {}

    def file_scope(self, entry: TreeNode) -> Scope:
        return self._scope.classify_file(entry.path, entry.size or 0)

    def child_heads(self, request: GenerationRequest, entry: TreeNode) -> ChildHeads:
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
        entry: TreeNode,
        agent: AgentProfile,
        child_heads: ChildHeads | None = None,
        *,
        window: Window | None = None,
    ) -> CollectedPrompt:
        """The prompt for one node, fitted to ``window`` when one is given. For a directory,
        ``child_heads`` is what ``child_heads`` returned for it (read here when not given)."""
        if entry.kind == NodeKind.FILE:
            return await self._file(request, entry, agent, window)
        if child_heads is None:
            child_heads = self.child_heads(request, entry)
        return self._directory(entry, agent, child_heads, window)

    def _tokens(self, agent: AgentProfile, task: str) -> Callable[[str | None], int]:
        """The prompt's estimated tokens for a context text, with this agent and task."""
        fixed, task = [self._system(agent)[0]], self._redactor.redact(task)[0]
        return lambda context: message_tokens([*filter(None, fixed), user_message(context, task)])

    async def _file(
        self,
        request: GenerationRequest,
        entry: TreeNode,
        agent: AgentProfile,
        window: Window | None = None,
    ) -> CollectedPrompt:
        path = display_path(entry.path)
        size = entry.size or 0
        scope = self.file_scope(entry)
        task = render_template(agent.file_template, path=path, node_type="File", file_size=size)
        if scope in (Scope.WITHHELD, Scope.EMPTY):
            # Withheld files are never read at all; empty ones have nothing to read.
            return self._unread(agent, task, scope, WITHHELD_BY_NAME)
        cap = self._limits.prompt_file_cap
        keep = STRUCTURAL_KEEP if scope is Scope.STRUCTURAL else cap + 1 + REDACTION_MARGIN
        if is_marked_name(entry.path):
            # AGENTS.md / CLAUDE.md: the bytes their node id names, without export's blocks.
            data, size = await asyncio.to_thread(self._read_marked, entry, keep)
        elif size <= BATCHED_READ_MAX:
            data = await self._reads.read(functools.partial(self._read_scanned, entry, keep))
        else:
            data = await asyncio.to_thread(self._read_scanned, entry, keep)
        if _json_like(entry.path, data) and holds_private_key_json(data):
            return self._unread(agent, task, Scope.WITHHELD, WITHHELD_BY_CONTENT)
        whole = len(data) >= size
        counts: Counter[str] = Counter()
        if binary_kind(data) is None:  # binary bytes never reach a prompt anyway
            data, counts = self._redactor.redact_bytes(data)
        if scope is Scope.LLM and len(data) > cap + 1:  # the margin was for redaction only
            data, whole = data[: cap + 1], False
        text = file_text(data, cap, total_size=len(data) if whole else size)
        context = block(path, "File", text.text)
        file_truncated, kept_bytes = text.truncated, text.kept_bytes
        if window is not None and scope is Scope.LLM and text.binary is None:
            fitted = fit_file_block(
                data[: text.kept_bytes], context, size=size, window=window, path=path,
                tokens_of=self._tokens(agent, task),
            )  # fmt: skip
            if fitted is not None:
                (context, kept_bytes), file_truncated = fitted, True
        truncation = TruncationFacts(
            file_truncated=file_truncated,
            original_bytes=size,
            kept_bytes=kept_bytes,
        )
        prompt = self._assemble(agent, task, counts, context=context, truncation=truncation)
        return CollectedPrompt(
            prompt=prompt,
            scope=scope,
            # Redaction may shorten a file read whole: it is still whole.
            subject=FileSubject(path=path, data=data, size=len(data) if whole else size),
            context_text=context,
            redactions=counts,
        )

    def _unread(self, agent: AgentProfile, task: str, scope: Scope, why: str) -> CollectedPrompt:
        """A withheld or empty file's prompt: the task alone, nothing of the file."""
        counts: Counter[str] = Counter()
        return CollectedPrompt(
            prompt=self._assemble(agent, task, counts, context=None),
            scope=scope,
            subject=None,
            context_text="",
            redactions=counts,
            withheld_by=why if scope is Scope.WITHHELD else "",
        )

    def _read_scanned(self, entry: TreeNode, keep: int) -> bytes:
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

    def _read_marked(self, entry: TreeNode, keep: int) -> tuple[bytes, int]:
        """A marked file's first ``keep`` bytes without its marked blocks, and how many such
        bytes it holds, after checking they hash as scanned (one over the cap: as any file)."""
        try:
            with open(self._root + b"/" + entry.path, "rb", buffering=0) as handle:
                data = handle.read(MARKED_FILE_CAP + 1)
        except OSError as exc:
            raise FileChangedSinceScanError(
                f"cannot read {display_path(entry.path)}: {exc.strerror}",
                hint="Run `contextree scan` to refresh the tree, then generate again.",
            ) from exc
        if len(data) > MARKED_FILE_CAP:
            return self._read_scanned(entry, keep), entry.size or 0
        content = marked_content(data)
        if blake3.blake3(content).digest() != entry.content_hash:
            raise FileChangedSinceScanError(
                f"{display_path(entry.path)} changed since the last scan",
                hint="Run `contextree scan` (or `contextree generate` without --no-scan) so the "
                "frame describes the bytes the tree names.",
            )
        return content[:keep], len(content)

    def _directory(
        self,
        entry: TreeNode,
        agent: AgentProfile,
        child_heads: ChildHeads,
        window: Window | None = None,
    ) -> CollectedPrompt:
        path = display_path(entry.path)
        heads = child_heads.heads
        contents = self._api.frame_contents(head.frame_id for head in heads.values())
        blocks: list[ChildBlock] = []
        frames: list[ChildFrame] = []
        counts: Counter[str] = Counter()
        for child in child_heads.children:
            head = heads.get(NodeId(child.node_id))
            raw = contents.get(head.frame_id) if head is not None else None
            if raw is None:
                continue
            # Frames are redacted when written; one stored before that may still hold a key.
            content, found = self._redactor.redact(raw.decode("utf-8", "replace"))
            counts.update(found)
            child_path = display_path(child.path)
            kind = "Directory" if child.kind == NodeKind.DIR else "File"
            blocks.append(ChildBlock(path=child_path, node_type=kind, content=content))
            frames.append(
                ChildFrame(
                    name=display_path(child.path.rpartition(b"/")[2]),
                    path=child_path,
                    kind=child.kind,
                    content=content,
                )
            )
        budget = self._limits.directory_context_budget
        task = render_template(
            agent.directory_template, path=path, node_type="Directory", file_size=None
        )
        if window is not None:  # lowered until the prompt leaves the reply its reserve
            tokens = self._tokens(agent, task)
            budget = fit_budget(blocks, budget, window=window, path=path, tokens_of=tokens)
        ctx = directory_context(blocks, budget)
        prompt = self._assemble(
            agent,
            task,
            counts,
            context=ctx.text or None,
            included=ctx.included,
            truncation=TruncationFacts(children_cut=ctx.cut),
        )
        return CollectedPrompt(
            prompt=prompt,
            scope=Scope.LLM,
            subject=DirectorySubject(path=path, children=tuple(frames)),
            context_text=ctx.text,
            redactions=counts,
        )

    def _assemble(
        self,
        agent: AgentProfile,
        task: str,
        counts: Counter[str],
        *,
        context: str | None,
        included: tuple[str, ...] = (),
        truncation: TruncationFacts | None = None,
    ) -> AssembledPrompt:
        """The prompt; the task and the system prompt are redacted here (into ``counts``),
        the context already was."""
        task, found = self._redactor.redact(task)
        counts.update(found)
        system, found = self._system(agent)
        counts.update(found)
        messages: list[ChatMessage] = []
        if system:
            messages.append(ChatMessage(role=Role.SYSTEM, content=system))
        messages.append(ChatMessage(role=Role.USER, content=user_message(context, task)))
        return AssembledPrompt(
            user_prompt=task,
            system_prompt=system,
            messages=tuple(messages),
            prompt_digest=digest_text(task),
            context_digest=digest_text(context or ""),
            included_children=included,
            truncation=truncation or TruncationFacts(),
        )

    def _system(self, agent: AgentProfile) -> tuple[str, Counter[str]]:
        """The agent's system prompt, redacted (once per agent), and what was redacted."""
        system = agent.system_prompt
        if not system:
            return "", Counter()
        cached = self._systems.get(system)
        if cached is None:
            cached = self._systems[system] = self._redactor.redact(system)
        return cached


def _json_like(rel_path: bytes, data: bytes) -> bool:
    """A ``.json`` file, or one whose text starts as a JSON object does."""
    return rel_path.lower().endswith(b".json") or data[:256].lstrip()[:1] == b"{"
