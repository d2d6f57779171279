"""Context packs: the use case behind ``Workspace.pack`` and ``contextree pack``.

Owns gathering what an agent needs to work on one path, in priority order: the target's
frame, its ancestors' frames up to the root (nearest first), its children's frames (largest
subtree first, then by path) or, for a file, the first sentence of each sibling's frame
(ordered the same way). Each frame is the agent's head for the node as last scanned
(``current``) or, when there is none, the last frame written for the path (not current); a
path with neither is left out as ``no frame`` (the target then raises ``FrameNotFoundError``).
The cut to a budget and the renderings live in ``pack_render``. One short read of the store,
opened read-only, never locked; an unadopted store serves nothing, as for ``get``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from contextree.api import ContextApi, NodeView, WrittenFrame
from contextree.bootstrap import (
    WorkspaceSetup,
)
from contextree.core.frame import default_frame_type
from contextree.core.ids import NodeId, NodeKind
from contextree.core.tree import DiskState, TreeNode, display_path, parent_path
from contextree.errors import FrameNotFoundError, UsageError
from contextree.facade.pack_render import (
    ContextPack,
    PackBlock,
    PackOmission,
    PackRole,
    check_format,
    fit_blocks,
)
from contextree.facade.reading import read_scope
from contextree.store.tree import TreeRows
from contextree.workspace.freshness import disk_states

#: The end of a first sentence: a full stop, question or exclamation mark before whitespace.
_SENTENCE_END = re.compile(r"[.!?](?=\s)")


def build_pack(
    setup: WorkspaceSetup,
    path: str,
    *,
    budget: int | None,
    agent: str | None,
    cwd: Path | None,
    fmt: str = "md",
) -> ContextPack:
    """The context pack of ``path`` for ``agent``, cut to ``budget`` tokens of ``fmt``."""
    form = check_format(fmt)
    if budget is not None and budget < 1:
        raise UsageError(
            f"a budget must be at least 1 token, not {budget}", hint="Pass --budget 1 or more."
        )
    with read_scope(setup, command="pack", agent=agent, cwd=cwd) as scope:
        chosen, rows = scope.agent, scope.rows
        target = scope.resolve(path)
        related = _related(target, rows)
        states = disk_states(setup.layout.root, rows, [node.path for node, _ in related])
        reader = _FrameReader(scope.api(), chosen.id)
        frames = reader.frames([node for node, _ in related])
    candidates: list[PackBlock] = []
    no_frame: list[PackOmission] = []
    for node, role in related:
        found = frames.get(node.path)
        if found is None:
            no_frame.append(
                PackOmission(role=role, path=display_path(node.path), reason="no frame")
            )
            continue
        state = states.get(node.path, DiskState.UNKNOWN)
        candidates.append(_block(node, role, found, state, agent_id=chosen.id))
    if not candidates or candidates[0].role != "target":
        raise FrameNotFoundError(
            f"no frame yet for agent {chosen.id} on {path}",
            hint=f"Run `contextree generate {path} --agent {chosen.id}`, then pack it.",
        )
    return fit_blocks(
        display_path(target.path), chosen.id, candidates, no_frame, budget=budget, fmt=form
    )


def _related(target: TreeNode, rows: TreeRows) -> list[tuple[TreeNode, PackRole]]:
    """(node, role) in priority order: the target, its ancestors nearest first, then the
    children of a directory (or the siblings of a file), largest subtree first, then by path.
    Subtree sizes are counted by the store, one indexed range count per child directory, so
    a pack of the root reads its children, not the whole tree."""
    out: list[tuple[TreeNode, PackRole]] = [(target, "target")]
    ancestors = _ancestor_paths(target.path)
    found = {p: rows.entry(p) for p in ancestors}
    out.extend((node, "ancestor") for p in ancestors if (node := found[p]) is not None)
    if target.kind == NodeKind.DIR:
        base, role, skip = target.path, "child", None
    elif target.path:
        base, role, skip = parent_path(target.path), "sibling", target.path
    else:
        return out
    near = [n for n in rows.children(base) if n.path != skip]
    sizes = {n.path: rows.subtree_size(n.path) if n.kind == NodeKind.DIR else 1 for n in near}
    near.sort(key=lambda n: (-sizes[n.path], n.path))
    out.extend((n, "child" if role == "child" else "sibling") for n in near)
    return out


def _ancestor_paths(path: bytes) -> list[bytes]:
    """The directories above ``path``, nearest first, the root last (none for the root)."""
    out: list[bytes] = []
    while path:
        path = parent_path(path)
        out.append(path)
    return out


class _FrameReader:
    """The agent's frame of each node: its head, else the last frame written for the path."""

    def __init__(self, api: ContextApi, agent_id: str) -> None:
        self._api = api
        self._agent_id = agent_id
        self._frame_type = default_frame_type(agent_id)

    def frames(self, nodes: Sequence[TreeNode]) -> dict[bytes, tuple[str, str, bool]]:
        """path -> (frame id hex, text, current) for the nodes that have a frame."""
        heads = self._api.heads(
            [NodeId(n.node_id) for n in nodes], agent_id=self._agent_id, frame_type=self._frame_type
        )
        contents = self._api.frame_contents(h.frame_id for h in heads.values())
        out: dict[bytes, tuple[str, str, bool]] = {}
        for node in nodes:
            head = heads.get(NodeId(node.node_id))
            if head is not None and head.frame_id in contents:
                out[node.path] = (head.frame_id.hex(), _text(contents[head.frame_id]), True)
                continue
            earlier = self._last_written(node)
            if earlier is not None:
                content = earlier.frame.content
                out[node.path] = (earlier.frame.frame_id.hex(), _text(content), False)
        return out

    def _last_written(self, node: TreeNode) -> WrittenFrame | None:
        view = NodeView(
            max_frames=1, agent_id=self._agent_id, frame_type=self._frame_type, history=True
        )
        history = self._api.get_node(NodeId(node.node_id), view).history
        return history[0] if history else None


def _text(content: bytes) -> str:
    return content.decode("utf-8", "replace")


def _block(
    node: TreeNode,
    role: PackRole,
    found: tuple[str, str, bool],
    on_disk: DiskState,
    *,
    agent_id: str,
) -> PackBlock:
    frame_id, text, current = found
    return PackBlock(
        role=role,
        path=display_path(node.path),
        node_id=node.node_id.hex(),
        frame_id=frame_id,
        agent_id=agent_id,
        current=current,
        on_disk=on_disk,
        text=first_sentence(text) if role == "sibling" else text,
    )


def first_sentence(text: str) -> str:
    """The first sentence of a frame: its first line that is not a heading or blank, up to
    the first full stop (or the whole line)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        end = _SENTENCE_END.search(stripped + " ")
        return stripped[: end.end()] if end else stripped
    return ""
