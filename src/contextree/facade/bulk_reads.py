"""Bulk reads: the use cases behind ``Workspace.get_tree`` (``contextree get PATH --recursive``)
and ``Workspace.children`` (the MCP server's ``list_children``).

Owns reading every node under a path, or a directory's direct children, with each node's head
frames for one agent, in one store query whatever the size of the subtree
(``ContextApi.heads_under``), and handing them out as the same ``NodeFrames`` ``get`` returns
(built by ``values.node_frames``), with each file's state on disk against the last scan (one
``lstat`` per file, no read or hash). A node without a frame is included with no frames: a
bulk read lists the tree, it does not fail on a gap. Read-only and lock-free, like ``get``; a
store that came with a clone serves nothing until it is adopted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contextree.bootstrap import (
    WorkspaceSetup,
)
from contextree.facade.reading import read_scope
from contextree.facade.values import NodeFrames, node_frames, scan_time
from contextree.workspace.freshness import disk_state


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkRequest:
    path: str
    agent: str | None = None
    frame_type: str | None = None
    children_only: bool = False


def read_tree(setup: WorkspaceSetup, request: BulkRequest, *, cwd: Path | None) -> list[NodeFrames]:
    """Every node under ``request.path`` (itself first; ``children_only``: its direct children
    only), in pre-order by path, each with its heads for the chosen agent."""
    command = "get --recursive" if not request.children_only else "children"
    with read_scope(setup, command=command, agent=request.agent, cwd=cwd) as scope:
        agent, rows = scope.agent, scope.rows
        entry = scope.resolve(request.path)
        last = rows.last_scan()
        nodes = scope.api().heads_under(
            entry.path,
            agent_id=agent.id,
            frame_type=request.frame_type,
            children_only=request.children_only,
        )
    scanned_at = scan_time(last.finished_at_ns if last is not None else None)
    root = setup.layout.root
    return [
        node_frames(
            node,
            agent_id=agent.id,
            frame_type=request.frame_type,
            on_disk=disk_state(root, node.path, node.sig),
            scanned_at=scanned_at,
        )
        for node in nodes
    ]
