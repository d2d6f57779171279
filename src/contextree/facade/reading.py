"""Reading frames back: the use case behind ``Workspace.get`` and ``contextree get``.

Owns turning a path (absolute, or relative to the workspace) into the node of the last scan,
choosing the agent by the one rule (``AgentRegistry.choose``), the frames of that node through
``ContextApi.get_node``, and the errors that say why there is nothing to show. Opens the store
read-only; never takes the writer lock, scans, hashes or calls a provider: whether the file
changed since the last scan is one ``lstat`` (``workspace.freshness``). A store contextree did not
create for this user here serves nothing: a cloned repository can ship frames that say anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from contextree.api import NodeView, Ordering
from contextree.bootstrap import (
    WorkspaceSetup,
    context_api,
    ignore_options,
    load_agents,
    open_store_for_reading,
    tree_rows,
)
from contextree.core.tree import DiskState
from contextree.errors import FrameNotFoundError, UsageError
from contextree.facade.values import NodeFrames, node_frames, scan_time
from contextree.workspace.freshness import disk_states
from contextree.workspace.paths import resolve_typed_path

if TYPE_CHECKING:
    from contextree.agents.profile import AgentProfile
    from contextree.agents.registry import AgentRegistry
    from contextree.api import ContextApi
    from contextree.core.tree import TreeNode
    from contextree.store.db import Store
    from contextree.store.tree import TreeRows


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadRequest:
    path: str
    agent: str | None = None
    frame_type: str | None = None
    history: bool = False
    max_frames: int = 10
    ordering: Ordering = Ordering.RECENCY


@dataclass(frozen=True, slots=True)
class ReadScope:
    """One short read of the store by a reader command: the open store (refused when it came
    with a clone), the agents and the one chosen by ``AgentRegistry.choose``, the tree rows,
    and the typed-path rules of this workspace."""

    setup: WorkspaceSetup
    store: Store
    agents: AgentRegistry
    agent: AgentProfile
    rows: TreeRows
    cwd: Path | None

    def resolve(self, typed: str) -> TreeNode:
        """The node of the last scan that ``typed`` names, or a ``PathNotFoundError`` saying
        why there is none."""
        setup = self.setup
        return resolve_typed_path(
            typed,
            root=setup.layout.root,
            rows=self.rows,
            cwd=self.cwd if self.cwd is not None else setup.layout.root,
            options=ignore_options(setup.settings),
        )

    def api(self) -> ContextApi:
        return context_api(self.store, self.agents)


@contextmanager
def read_scope(
    setup: WorkspaceSetup, *, command: str, agent: str | None, cwd: Path | None
) -> Iterator[ReadScope]:
    """Open the store for one read (no lock, nothing created) and choose the agent; the store
    is closed when the block ends, so no read transaction outlives the call."""
    with open_store_for_reading(setup) as store:
        if not store.input_keys_trusted:
            raise unadopted_store_error(setup.layout.store_path, command=command)
        agents = load_agents(setup)
        chosen = agents.choose(agent, setup.settings.default_agent)
        yield ReadScope(
            setup=setup, store=store, agents=agents, agent=chosen, rows=tree_rows(store), cwd=cwd
        )


def read_node(setup: WorkspaceSetup, request: ReadRequest, *, cwd: Path | None) -> NodeFrames:
    """The frames of one path for one agent; ``FrameNotFoundError`` when it has none."""
    if request.max_frames < 1:
        raise UsageError(f"max_frames must be at least 1, not {request.max_frames}")
    with read_scope(setup, command="get", agent=request.agent, cwd=cwd) as scope:
        agent, rows = scope.agent, scope.rows
        entry = scope.resolve(request.path)
        on_disk = disk_states(setup.layout.root, rows, [entry.path]).get(entry.path)
        last = rows.last_scan()
        api = scope.api()
        view = NodeView(
            max_frames=request.max_frames,
            ordering=request.ordering,
            frame_type=request.frame_type,
            agent_id=agent.id,
            history=request.history,
        )
        node = api.get_node(entry.node_id, view)
        if not node.frames and not node.history:
            earlier = api.get_node(
                entry.node_id,
                NodeView(
                    max_frames=1, frame_type=request.frame_type, agent_id=agent.id, history=True
                ),
            ).history
            raise _no_frame(
                request.path,
                agent.id,
                request.frame_type,
                changed=bool(earlier),
                can_write=agent.can_write,
            )
    return node_frames(
        node,
        agent_id=agent.id,
        frame_type=request.frame_type,
        on_disk=on_disk or DiskState.UNKNOWN,
        scanned_at=scan_time(last.finished_at_ns if last is not None else None),
    )


def typed_path(path: str | os.PathLike[str]) -> str:
    """A path argument as the text the path rules take."""
    text = os.fspath(path)
    if not isinstance(text, str):  # bytes paths are not part of the surface
        raise UsageError(f"a path must be a str or os.PathLike[str], not {type(text).__name__}")
    return text


def unadopted_store_error(store_path: Path, *, command: str) -> UsageError:
    """``get`` never serves a frame of a store contextree did not create for this user here:
    a cloned repository can ship one whose frames say anything."""
    return UsageError(
        f"`contextree {command}` refused: {store_path} came with the workspace (contextree did "
        "not create it for you here), so its frames are not served as current",
        hint="If you trust where it came from (or you moved the workspace), run `contextree "
        "verify --adopt`; otherwise move it aside and run `contextree generate`.",
    )


def _no_frame(
    path: str, agent_id: str, frame_type: str | None, *, changed: bool, can_write: bool
) -> FrameNotFoundError:
    of_type = f" of type {frame_type}" if frame_type else ""
    why = " (it changed since its last frame was written)" if changed else ""
    hint = (
        f"Run `contextree generate {path} --agent {agent_id}`; add --history to see earlier frames."
        if can_write
        else f"Agent {agent_id} is a reader and never writes frames; pick a writer with "
        "--agent (`contextree agent list` shows them)."
    )
    return FrameNotFoundError(
        f"no frame{of_type} yet for agent {agent_id} on {path}{why}", hint=hint
    )
