"""The serving methods of ``Workspace``: what agents and people read out in bulk (context
packs, every frame under a path, search, export).

Owns nothing but their signatures and documentation: each delegates to the use-case module
that owns it (``packs``, ``bulk_reads``, ``searching``, ``exporting``). They live in this mixin
so that ``workspace.py`` stays one screenful per area; ``Workspace`` is the only class that
inherits it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from contextree.bootstrap import WorkspaceSetup

if TYPE_CHECKING:
    from contextree.facade.export_values import ExportCheck, ExportResult
    from contextree.facade.pack_render import ContextPack
    from contextree.facade.searching import RepairReport, SearchHit
    from contextree.facade.values import NodeFrames


class ServingMethods:
    """Mixed into ``Workspace``: reading context out for agents and people."""

    _setup: WorkspaceSetup
    _cwd: Path | None

    def withheld(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` (relative to the workspace root, or absolute inside it) names a
        file whose content contextree never reads or sends (``.env``, keys, credentials: the
        secret patterns of ``[generation]``). Decided by the path alone; never raises for a
        path outside the workspace (that is not withheld, it is not in the workspace). Servers
        that hand frames to agents refuse such a path instead of serving its placeholder."""
        from contextree.facade.withholding import is_withheld

        return is_withheld(self._setup, os.fspath(path))

    def pack(
        self,
        path: str | os.PathLike[str],
        *,
        budget: int | None = None,
        agent: str | None = None,
        fmt: str = "md",
    ) -> ContextPack:
        """A context pack of ``path``: what an agent needs to work on it, in one answer. The
        target's frame, its ancestors' frames up to the root (nearest first), its children's
        frames (largest subtree first) or, for a file, the first sentence of each sibling's;
        each block with its path, node id, frame id, agent, whether the frame is current and
        whether the file still matches the last scan. With ``budget`` (tokens, by
        ``contextree.core.tokens.estimate_tokens`` of ``pack.render(fmt)``) blocks are cut in
        that priority order, the first that does not fit at a line boundary, and the pack
        says what it left out; ``pack.estimate`` is never above the budget. Deterministic:
        the same store gives byte-identical renderings. Read-only and lock-free.

        Raises ``UsageError`` when the budget is below the smallest pack (the message names
        it) or ``fmt`` is not md, json or xml, ``FrameNotFoundError`` when ``path`` has no
        frame for the agent, ``PathNotFoundError`` when it is not in the last scan."""
        from contextree.facade.packs import build_pack
        from contextree.facade.reading import typed_path

        return build_pack(
            self._setup, typed_path(path), budget=budget, agent=agent, cwd=self._cwd, fmt=fmt
        )

    # -- bulk reads and search (bulk_reads, searching) ----------------------------------------

    def get_tree(
        self,
        path: str | os.PathLike[str] = "",
        *,
        agent: str | None = None,
        frame_type: str | None = None,
    ) -> list[NodeFrames]:
        """Every node under ``path`` (a directory, or a file: then only itself; ``""`` is the
        whole workspace), ``path`` first, in pre-order (a directory, then each child and its
        subtree, by name), each a ``NodeFrames`` as ``get`` returns it with all of its heads
        for ``agent`` (default as in ``get``) and ``frame_type``, newest first; no history and
        no ``max_frames`` cap. A node without a frame is included with empty ``frames``. One
        store query whatever the subtree's size. Read-only and lock-free. Raises
        ``PathNotFoundError`` when ``path`` is not in the last scan, ``AgentNotFoundError``
        for an unknown agent, ``UsageError`` for a store that came with a clone."""
        from contextree.facade.bulk_reads import BulkRequest, read_tree
        from contextree.facade.reading import typed_path

        request = BulkRequest(path=typed_path(path), agent=agent, frame_type=frame_type)
        return read_tree(self._setup, request, cwd=self._cwd)

    def children(
        self, path: str | os.PathLike[str] = "", *, agent: str | None = None
    ) -> list[NodeFrames]:
        """The direct children of the directory ``path`` (``""``: the workspace root), sorted
        by name, each a ``NodeFrames`` with its heads for ``agent`` (default as in ``get``),
        newest first, empty ``frames`` when it has none; a file has no children (``[]``).
        Read-only and lock-free; raises as ``get_tree``."""
        from contextree.facade.bulk_reads import BulkRequest, read_tree
        from contextree.facade.reading import typed_path

        request = BulkRequest(path=typed_path(path), agent=agent, children_only=True)
        return read_tree(self._setup, request, cwd=self._cwd)

    def search(
        self,
        query: str,
        *,
        path_prefix: str | os.PathLike[str] | None = None,
        limit: int = 20,
        agent: str | None = None,
    ) -> list[SearchHit]:
        """The frames whose path or text match ``query``, best first (bm25), at most
        ``limit``, each a ``SearchHit`` with a snippet. Every word of the query must match
        (the last one also as a prefix: ``pars`` finds ``parser``); quotes, ``*``, ``:``,
        ``-``, ``AND``/``OR``/``NOT`` are searched as text, never as query syntax. Only heads of
        nodes in the last scan are searched (a file deleted and scanned away gives no hit);
        ``path_prefix`` keeps that file or directory and what is below it; ``agent`` keeps one
        agent's frames (default: every agent's). A query with no letter or digit finds
        nothing. Read-only and lock-free. Raises ``UsageError`` for an empty query or a
        ``limit`` below 1, ``PathNotFoundError`` when ``path_prefix`` is not in the last scan
        (or nothing was scanned), ``AgentNotFoundError`` for an unknown agent."""
        from contextree.facade.reading import typed_path
        from contextree.facade.searching import search

        return search(
            self._setup,
            query,
            path_prefix=None if path_prefix is None else typed_path(path_prefix),
            limit=limit,
            agent=agent,
            cwd=self._cwd,
        )

    def repair(self, *, examples: int = 5, wait: bool = False) -> RepairReport:
        """``verify``, rebuild the search index from the heads (what ``verify`` reports as
        ``search_index_out_of_step``), then ``verify`` again; the second result is recorded
        as ``verify`` records its own. Only the index is rewritten, never a frame or a head.
        Runs under the writer lock (``wait`` waits for another writer instead of raising
        ``WorkspaceBusyError``). Raises ``PathNotFoundError`` when the workspace was never
        scanned, ``StoreError`` when the store is recorded as damaged."""
        from contextree.facade.searching import repair

        return repair(self._setup, examples=examples, wait=wait)

    # -- export (exporting, agents_md) ----------------------------------------------------------

    def export(
        self,
        fmt: str,
        path: str | os.PathLike[str] | None = None,
        *,
        out: str | os.PathLike[str] | None = None,
        budget: int | None = None,
        agent: str | None = None,
    ) -> ExportResult:
        """Export the frames of ``agent`` (default as in ``get``) under ``path`` (default:
        the whole workspace) as ``fmt``:

        * ``"markdown"``: one document, its sections level by level from ``path`` down; with
          ``budget`` (tokens, by ``contextree.core.tokens.estimate_tokens``) it stops where
          the next section would not fit and says how many it left out.
        * ``"jsonl"``: one JSON record per node in pre-order (path, kind, node_id, size,
          agent_id, frame_type, frame_id, text, metadata, written_at, current), one read of
          the store whatever the size of the tree.
        * ``"agents-md"``: each directory of ``[export] agents_md_dirs`` (those at or under
          ``path`` when given) gets its frame in the marked block of each
          ``[export] agents_md_files`` file, created when missing; text outside the block is
          kept byte for byte and a file whose bytes would not change is not written. The
          blocks are left out of those files' content hashes, so this changes no node id
          (except where a file is created: ``ExportedFile.tree_changed``).

        ``out`` (markdown and jsonl) is a file, or a directory to write ``context.md`` /
        ``context.jsonl`` into, written atomically; the document is in ``result.text`` either
        way. Read-only on the store. Raises ``UsageError`` for an unknown format, a budget
        with another format or ``out`` with ``agents-md``; ``ConfigError`` for an
        ``agents_md_dirs`` entry that is not a directory inside the workspace reached without
        a symlink; ``WorkspaceWriteError`` for a target that is a symlink, not a regular
        file, withheld or ignored (nothing is written then); ``FrameNotFoundError`` when a
        directory to write has no frame; ``PathNotFoundError`` as ``get``."""
        from contextree.facade.exporting import export
        from contextree.facade.reading import typed_path

        return export(
            self._setup,
            fmt,
            None if path is None else typed_path(path),
            out=None if out is None else Path(out),
            budget=budget,
            agent=agent,
            cwd=self._cwd,
        )

    def export_check(self) -> ExportCheck:
        """Whether every marked block ``export --format agents-md`` keeps is up to date: scans
        the workspace now into a throwaway store (the workspace's own store is neither needed
        nor touched, so it works in a fresh clone) and compares each block's node id with its
        directory's id. ``result.ok`` is False when a block is stale, missing or unreadable
        (``result.problems`` names them). Writes nothing. Raises ``ConfigError`` for an
        ``agents_md_dirs`` entry that is not a directory inside the workspace."""
        from contextree.facade.agents_md import export_check

        return export_check(self._setup)
