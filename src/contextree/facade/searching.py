"""Search: the use case behind ``Workspace.search`` and ``contextree search``, and the repair of
its index behind ``Workspace.repair`` (``contextree verify --repair``).

Owns ``SearchHit`` and turning a person's query, an optional path prefix (a file or directory
of the last scan, typed as ``get`` takes it) and agent into ``ContextApi.search`` over the
store's full-text index of the heads (``store.search_index``: paths and frame texts, ranked by
bm25, with snippets). Only heads of nodes in the last scan are found, so a file deleted and
scanned away gives no hit even before ``gc``. Searching is read-only and lock-free; a store that
came with a clone serves nothing until it is adopted. The repair rebuilds the index under the
writer lock and verifies the store again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi
from contextree.bootstrap import (
    WorkspaceSetup,
    context_api,
    ignore_options,
    load_agents,
    open_store_for_reading,
    tree_rows,
)
from contextree.core.tree import DiskState, display_path
from contextree.facade.reading import unadopted_store_error
from contextree.store.db import record_verify_result
from contextree.store.upkeep import DAMAGE_KINDS, DEFAULT_EXAMPLES, VerifyReport
from contextree.workspace.freshness import disk_state
from contextree.workspace.lock import writer_lock
from contextree.workspace.paths import resolve_typed_path


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchHit:
    """One frame ``Workspace.search`` found.

    ``path`` is the node's path as shown (``\\xNN`` for bytes that are not UTF-8), ids are
    lowercase hex. ``score`` is SQLite's bm25 rank: lower is better, hits come best first
    (a match in the path weighs double). ``snippet`` is a short excerpt of the path or frame
    text with the matched terms between ``«`` and ``»`` (``…`` where it is cut). ``current``
    is True when the frame is the head of a node of the last scan, which every hit is (search
    never serves history); it is there so a hit reads like a ``FrameRecord``."""

    path: str
    node_id: str
    frame_id: str
    agent_id: str
    frame_type: str
    score: float
    snippet: str
    current: bool = True
    #: The file on disk now against the last scan, by one ``lstat`` (as ``NodeFrames.on_disk``):
    #: ``unchanged`` means the frame describes the file as it is; ``directory`` is not checked.
    on_disk: DiskState = DiskState.UNKNOWN


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairReport:
    """What ``Workspace.repair`` did: the verify report before, the search index rows
    rebuilt from the heads, and the verify report after (``after.ok`` unless something other
    than the index is wrong: repair touches nothing else)."""

    before: VerifyReport
    indexed: int
    after: VerifyReport


def search(
    setup: WorkspaceSetup,
    query: str,
    *,
    path_prefix: str | None,
    limit: int,
    agent: str | None,
    cwd: Path | None,
) -> list[SearchHit]:
    """The best ``limit`` frames matching ``query``; see ``Workspace.search``."""
    ContextApi.check_search(query, limit=limit)  # before opening anything
    with open_store_for_reading(setup) as store:
        if not store.input_keys_trusted:
            raise unadopted_store_error(setup.layout.store_path, command="search")
        agents = load_agents(setup) if agent is not None else AgentRegistry.builtin()
        agent_id = agents.get(agent).id if agent is not None else None
        prefix = None
        if path_prefix is not None:
            prefix = resolve_typed_path(
                path_prefix,
                root=setup.layout.root,
                rows=tree_rows(store),
                cwd=cwd if cwd is not None else setup.layout.root,
                options=ignore_options(setup.settings),
            ).path
        matches = context_api(store, agents).search(
            query, path_prefix=prefix, agent_id=agent_id, limit=limit
        )
    return [
        SearchHit(
            path=display_path(m.path),
            node_id=m.node_id.hex(),
            frame_id=m.frame_id.hex(),
            agent_id=m.agent_id,
            frame_type=m.frame_type,
            score=m.score,
            snippet=m.snippet,
            on_disk=disk_state(setup.layout.root, m.path, m.sig),
        )
        for m in matches
    ]


def repair(setup: WorkspaceSetup, *, examples: int = DEFAULT_EXAMPLES, wait: bool) -> RepairReport:
    """Verify, rebuild the search index from the heads under the writer lock, verify again;
    the second result is recorded as ``verify`` records its own."""
    with (
        writer_lock(setup.layout.lock_path, wait=wait),
        open_store_for_reading(setup, writable=True) as store,
    ):
        api = context_api(store, AgentRegistry.builtin())
        before = api.verify(examples=examples)
        indexed = api.repair_search_index()
        after = api.verify(examples=examples)
    detail = "".join(
        f"{group.kind.value}: {problem.subject}: {problem.detail}\n"
        for group in after.problems
        if group.kind in DAMAGE_KINDS
        for problem in group.examples
    )
    record_verify_result(setup.layout.store_path, damaged=after.damaged, detail=detail)
    return RepairReport(before=before, indexed=indexed, after=after)
