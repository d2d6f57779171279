"""ContextApi: the one write boundary for frames, and the read side (heads, views, history).

Owns ``put_frame`` and its batch form ``put_frames``, the only code that inserts a frame or
moves a head. Each write is checked in this order, each failure with its own error: the agent
exists (``AgentNotFoundError``); it may write (``AgentCannotWriteError``); the node is in the
latest committed scan (``NodeNotInTreeError``); the basis names that node
(``BasisMismatchError``); the frame's agent is the writer (``AgentMismatchError``); the metadata
contract passes (a ``MetadataContractError``); the lineage fits the frame (a ``LineageError``).
Before the checks, key-shaped strings in a frame's text (API keys, tokens, private key blocks,
configured key values) are replaced with ``[redacted:KIND]`` and counted in its ``redactions``
metadata, so nothing key-shaped is stored (unless redaction is off: ``redact=False``).
Then the frame, the artifacts, a generation row and the head are committed in one transaction,
or nothing is; ``put_frames`` commits every write that passed its checks in one transaction
(a group commit: the generation path writes the frames finished in one event-loop turn
together). Both are synchronous and thread-safe (one lock around every use of the connection).
It must not render prompts, call providers or decide currency.

``gc`` is the only other writer: it removes what the current tree no longer reaches, in one
transaction, under the workspace writer lock its caller holds. ``verify`` only reads;
``repair_search_index`` rewrites the search index (derived from the heads, never a frame).
Reads include the bulk ones: ``heads_under`` (a whole subtree in one statement) and
``search`` (the full-text index over the heads, ``store.search_index``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence

from contextree.agents.registry import AgentRegistry
from contextree.api.checks import Artifact, check_write, not_in_tree, redacted
from contextree.api.rows import (
    frame_entry,
    frame_from_row,
    frame_row,
    generation_row,
    head_from_row,
    head_row,
    search_match,
    stored_frame_id,
    subtree_contexts,
)
from contextree.api.values import (
    SORT_KEYS,
    FrameWrite,
    Head,
    Lineage,
    NodeContext,
    NodeView,
    Ordering,
    SearchMatch,
    WrittenFrame,
)
from contextree.core.frame import Frame
from contextree.core.ids import Digest, FrameId, NodeId
from contextree.core.tree import TreeNode
from contextree.errors import AgentCannotWriteError, ContextreeError, StoreError, UsageError
from contextree.redaction import Redactor
from contextree.store import search_index
from contextree.store.db import Store
from contextree.store.frames import FrameRows, GenerationRow
from contextree.store.subtree_reads import subtree_heads
from contextree.store.sweep import GcReport, references_checked_by_sweep, sweep_preview
from contextree.store.tree import TreeRows
from contextree.store.upkeep import DEFAULT_EXAMPLES, VerifyReport, compact, verify_store

__all__ = [
    "ContextApi",
    "FrameWrite",
    "Head",
    "Lineage",
    "NodeContext",
    "NodeView",
    "Ordering",
    "SearchMatch",
    "WrittenFrame",
]


def _no_secrets() -> Iterable[str]:
    return ()


class ContextApi:
    """Frames of one workspace store. ``secret_values`` returns the configured API key
    values (asked on every write); ``_after_frame_insert`` is a test seam run between the
    frame insert and the rest of the write."""

    def __init__(
        self,
        store: Store,
        agents: AgentRegistry,
        *,
        secret_values: Callable[[], Iterable[str]] = _no_secrets,
        redact: bool = True,
        clock: Callable[[], int] = time.time_ns,
        _after_frame_insert: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._agents = agents
        self._secret_values = secret_values
        self._redactor = Redactor(secret_values, enabled=redact)
        self._clock = clock
        self._after_frame_insert = _after_frame_insert
        self._tree = TreeRows(store.conn)
        self._rows = FrameRows(store.conn)
        self._lock = threading.RLock()

    # -- the write boundary ---------------------------------------------------------------

    def put_frame(
        self, node_id: NodeId, frame: Frame, agent_id: str, lineage: Lineage | None = None
    ) -> FrameId:
        """Validate and store ``frame`` for ``node_id`` and make it the head of (node, agent,
        frame type). Returns the frame id. A frame with ``lineage`` is a generated frame and
        must carry the full generated metadata; without lineage the head gets no input key."""
        (result,) = self.put_frames(
            [FrameWrite(node_id=node_id, frame=frame, agent_id=agent_id, lineage=lineage)]
        )
        if isinstance(result, ContextreeError):
            raise result
        return result

    def put_frames(self, writes: Sequence[FrameWrite]) -> list[FrameId | ContextreeError]:
        """``put_frame`` for many frames at once: a group commit.

        Every write is checked exactly as ``put_frame`` checks it, in the same order. A write
        that fails a check gets its error in its place in the result and writes nothing; the
        others are committed together, in order, in one transaction (so a later write to the
        same head wins). A failure of the store itself (the transaction cannot begin or
        commit) writes nothing at all and is raised."""
        writes = [redacted(write, self._redactor) for write in writes]
        results: list[FrameId | ContextreeError] = []
        agents_ok: list[int] = []
        for i, write in enumerate(writes):
            try:
                self._check_writer(write.agent_id)
            except ContextreeError as exc:
                results.append(exc)
                continue
            results.append(write.frame.frame_id)
            agents_ok.append(i)
        if not agents_ok:
            return results
        secrets = tuple(self._secret_values())
        with self._lock, self._store.transaction():
            entries = self._tree.entries_by_nodes(writes[i].node_id for i in agents_ok)
            accepted: list[tuple[FrameWrite, TreeNode, list[Artifact]]] = []
            for i in agents_ok:
                write = writes[i]
                try:
                    artifacts = check_write(write, entries.get(write.node_id), secrets)
                except ContextreeError as exc:
                    results[i] = exc
                    continue
                accepted.append((write, entries[write.node_id], artifacts))
            if accepted:
                self._insert(accepted)
        return results

    def _check_writer(self, agent_id: str) -> None:
        agent = self._agents.get(agent_id)
        if not agent.can_write:
            raise AgentCannotWriteError(
                f"agent '{agent_id}' has role {agent.role.value} and cannot write frames",
                hint="Use a writer agent; `contextree agent list` shows the roles.",
            )

    def _insert(self, accepted: Sequence[tuple[FrameWrite, TreeNode, list[Artifact]]]) -> None:
        """The rows of checked writes, inside the caller's transaction."""
        now = self._clock()
        self._rows.insert_frames([frame_row(write.frame) for write, _, _ in accepted])
        if self._after_frame_insert is not None:
            self._after_frame_insert()
        self._rows.insert_artifacts(a for _, _, artifacts in accepted for a in artifacts)
        generation_ids = self._rows.insert_generations(
            [generation_row(write, entry.path, now) for write, entry, _ in accepted]
        )
        self._rows.set_heads(
            [
                head_row(write, generation_id, now)
                for (write, _, _), generation_id in zip(accepted, generation_ids, strict=True)
            ]
        )

    # -- the other writer: garbage collection ----------------------------------------------

    def gc(self, *, dry_run: bool, keep_history: bool, compact_store: bool = True) -> GcReport:
        """Remove nodes no longer in the tree, and the heads, frames, generations and artifacts
        only they reference. History rows of paths still in the tree (and what they name) stay
        when ``keep_history``. One transaction; the caller holds the writer lock. ``dry_run``
        reports the same counts and writes nothing. ``compact_store`` runs ``VACUUM`` after a
        sweep that removed something, to give the space back to the filesystem."""
        with self._lock:
            conn = self._store.conn
            before = self._store.size_bytes()
            if dry_run:
                counts = sweep_preview(conn, keep_history=keep_history)
            else:
                with references_checked_by_sweep(conn), self._store.transaction():
                    counts = self._rows.sweep(keep_history=keep_history)
            compacted = not dry_run and compact_store and counts.rows > 0
            if compacted:
                compact(conn)
            after = self._store.size_bytes()
        return GcReport.of(
            counts,
            dry_run=dry_run,
            keep_history=keep_history,
            store_bytes_before=before,
            store_bytes_after=after,
            compacted=compacted,
        )

    def repair_search_index(self) -> int:
        """Rebuild the search index from the heads, in one transaction (the caller holds the
        writer lock); returns the rows indexed."""
        with self._lock, self._store.transaction():
            return self._rows.rebuild_search_index()

    # -- reads ----------------------------------------------------------------------------

    def heads_under(
        self,
        path: bytes,
        *,
        agent_id: str,
        frame_type: str | None = None,
        children_only: bool = False,
    ) -> list[NodeContext]:
        """The node at ``path`` and every node below it (``children_only``: only its direct
        children), in pre-order (a directory, then its children by name), each with its heads
        of ``agent_id`` (and ``frame_type``), newest first; a node without one has no frames.
        One statement, whatever the size of the subtree."""
        with self._lock:
            rows = list(
                subtree_heads(
                    self._store.conn,
                    path,
                    agent_id=agent_id,
                    frame_type=frame_type,
                    children_only=children_only,
                )
            )
        return subtree_contexts(rows, keys_trusted=self._store.input_keys_trusted)

    @staticmethod
    def check_search(query: str, *, limit: int) -> None:
        """``UsageError`` for a query ``search`` refuses: empty, or a ``limit`` below 1."""
        if not query.strip():
            raise UsageError(
                "the search query is empty",
                hint="Give the words to look for, e.g. `contextree search parse config`.",
            )
        if limit < 1:
            raise UsageError(
                f"the search limit must be at least 1, not {limit}",
                hint="Pass --limit 1 or more (default 20).",
            )

    def search(
        self, query: str, *, path_prefix: bytes | None, agent_id: str | None, limit: int
    ) -> list[SearchMatch]:
        """Heads whose path or frame text match ``query`` (words, all required, the last
        also as a prefix; FTS syntax in it is taken as text), best first by bm25, only on
        nodes of the current tree, under ``path_prefix`` and of ``agent_id`` when given.
        ``UsageError`` for an empty query or a ``limit`` below 1."""
        self.check_search(query, limit=limit)
        expression = search_index.match_expression(query)
        if expression is None:
            return []
        with self._lock:
            rows = search_index.search(
                self._store.conn,
                expression,
                path_prefix=path_prefix,
                agent_id=agent_id,
                limit=limit,
            )
        return [search_match(r) for r in rows]

    def verify(self, *, examples: int = DEFAULT_EXAMPLES) -> VerifyReport:
        """Check every frame id, head, history row and artifact, and SQLite's integrity.
        Reads only; a damaged store gives problems in the report, not an exception."""
        with self._lock:
            return verify_store(self._store.conn, frame_id_of=stored_frame_id, examples=examples)

    def get_node(self, node_id: NodeId, view: NodeView | None = None) -> NodeContext:
        """The node's heads (and, if asked, its path's history) as ``view`` selects them."""
        view = view or NodeView()
        with self._lock:
            entry = self._entry(node_id)
            heads = self._rows.heads_for_node(node_id)
            head_generations = {h.generation_id for h in heads}
            selected = [
                self._frame_entry(h.generation_id, is_head=True)
                for h in heads
                if view.selects(h.agent_id, h.frame_type)
            ]
            selected.sort(key=SORT_KEYS[view.ordering])
            history: list[WrittenFrame] = []
            if view.history:
                for row in self._rows.generations_for_path(
                    entry.path,
                    agent_id=view.agent_id,
                    frame_type=view.frame_type,
                    limit=view.max_frames,
                ):
                    history.append(self._to_entry(row, is_head=row.id in head_generations))
        return NodeContext(
            node_id=node_id,
            path=entry.path,
            kind=entry.kind,
            size=entry.size,
            frames=tuple(selected[: view.max_frames]),
            frame_count=len(heads),
            history=tuple(history),
        )

    def head(self, node_id: NodeId, agent_id: str, frame_type: str) -> Head | None:
        with self._lock:
            row = self._rows.head(node_id, agent_id, frame_type)
        return None if row is None else head_from_row(row)

    def heads(
        self, node_ids: Iterable[NodeId], *, agent_id: str, frame_type: str
    ) -> dict[NodeId, Head]:
        """Heads of many nodes for one agent and frame type; nodes without one are absent."""
        with self._lock:
            rows = self._rows.heads_for_nodes(node_ids, agent_id, frame_type)
        return {NodeId(k): head_from_row(v) for k, v in rows.items()}

    def head_keys(self, agent_id: str, frame_type: str) -> dict[bytes, tuple[bytes, str | None]]:
        """node id -> (frame id, input key) for every head of one agent and frame type."""
        with self._lock:
            return self._rows.head_keys(agent_id, frame_type)

    def heads_in_tree(self) -> list[tuple[str, str, int]]:
        """(agent, frame type, number of current-tree nodes with a head), sorted."""
        with self._lock:
            return self._rows.heads_in_tree()

    def get_frame(self, frame_id: FrameId) -> Frame | None:
        with self._lock:
            row = self._rows.frame(frame_id)
        return None if row is None else frame_from_row(row)

    def frame_contents(self, frame_ids: Iterable[FrameId]) -> dict[FrameId, bytes]:
        """frame id -> content for the stored ones among ``frame_ids``, in one read. Unlike
        ``get_frame`` it neither decodes metadata nor re-hashes the frame (``verify`` finds
        damaged frames): it is what a directory's prompt needs of its children's frames."""
        with self._lock:
            found = self._rows.contents(frame_ids)
        return {FrameId(frame_id): content for frame_id, content in found.items()}

    def artifact(self, digest: Digest) -> bytes | None:
        """The stored prompt, context or request body named by ``digest``."""
        with self._lock:
            found = self._rows.artifact(digest)
        return None if found is None else found[1]

    # -- helpers --------------------------------------------------------------------------

    def _entry(self, node_id: NodeId) -> TreeNode:
        entry = self._tree.entry_by_node(node_id)
        if entry is None:
            raise not_in_tree(node_id)
        return entry

    def _frame_entry(self, generation_id: int, *, is_head: bool) -> WrittenFrame:
        row = self._rows.generation(generation_id)
        if row is None:
            raise StoreError(f"generation {generation_id} named by a head is missing")
        return self._to_entry(row, is_head=is_head)

    def _to_entry(self, row: GenerationRow, *, is_head: bool) -> WrittenFrame:
        stored = self._rows.frame(row.frame_id)
        if stored is None:
            raise StoreError(f"frame {row.frame_id.hex()} named by generation {row.id} is missing")
        return frame_entry(row, stored, is_head=is_head)
