"""The generation plan: which nodes to generate, and which must wait for which.

Owns deciding, from the tree and the heads alone (no file contents), what is *current* and so
what a ``generate`` must do: a node is planned when its head's input key differs from the one
``currency`` computes now, or when one of its children is planned (or always, with force).
Current nodes are skipped (reason ``head_reuse``). A directory target is recursive unless asked
otherwise; a non-recursive directory target needs its descendants to be current. The plan
records each planned node's planned children, so an executor can run it leaf to root, either
by dependency or by level. Plans are validated before they run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import NamedTuple

from contextree.context.generation.contracts import GenerationRequest
from contextree.context.generation.currency import (
    DEFAULT_DIRECTORY_CONTEXT_BUDGET,
    MISSING_CHILD,
    CurrencyKeys,
)
from contextree.core.ids import NodeId, NodeKind
from contextree.core.tree import TreeNode, display_path, parent_path
from contextree.errors import DescendantsNotCurrentError, PlanValidationError

HEAD_REUSE = "head_reuse"
_MISSING_LIST_CAP = 20
_plan_counter = itertools.count(1)


class HeadInfo(NamedTuple):
    """What planning needs from a head: its frame and the input key it was made from.
    (A named tuple: a plan reads one per node, 100k of them for a big workspace.)"""

    frame_id: bytes
    input_key: str | None


#: node id -> (frame id, input key); plain tuples and ``HeadInfo`` both fit.
HeadMap = Mapping[bytes, tuple[bytes, str | None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanItem:
    """A node to generate. ``waits_for`` are the planned children it needs first."""

    request: GenerationRequest
    parent: bytes | None
    waits_for: tuple[bytes, ...]
    input_key: str


class SkippedNode(NamedTuple):
    path: bytes
    node_id: NodeId
    kind: str
    reason: str
    frame_id: bytes | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSpec:
    """What to plan: the target and the generation identity."""

    target: TreeNode
    agent_id: str
    provider_name: str
    model: str
    prompt_digest: str
    frame_type: str
    force: bool = False
    recursive: bool = True
    #: Part of a directory's input key when it is not the default.
    directory_context_budget: int = DEFAULT_DIRECTORY_CONTEXT_BUDGET
    #: Part of every input key when False (redaction off).
    redact: bool = True
    #: The provider profile's window settings; part of every input key when set.
    context_window: int | None = None
    reply_reserve: int | None = None


@dataclass(frozen=True, kw_only=True)
class GenerationPlan:
    plan_id: str
    spec: PlanSpec
    #: Planned nodes by path, deepest first.
    items: Mapping[bytes, PlanItem]
    skipped: tuple[SkippedNode, ...] = ()
    total_in_scope: int = 0
    levels: tuple[tuple[bytes, ...], ...] = field(init=False)

    def __post_init__(self) -> None:
        by_depth: dict[int, list[bytes]] = {}
        for path, item in self.items.items():
            by_depth.setdefault(item.request.depth, []).append(path)
        levels = tuple(tuple(by_depth[d]) for d in sorted(by_depth, reverse=True))
        object.__setattr__(self, "levels", levels)

    def validate(self) -> None:
        """Check the plan is a forest whose dependencies all point at planned children."""
        if not self.plan_id.strip():
            raise PlanValidationError("a generation plan needs a non-empty id")
        for path, item in self.items.items():
            if item.request.path != path:
                raise PlanValidationError(f"plan item {display_path(path)} names another path")
            for child in item.waits_for:
                dep = self.items.get(child)
                if dep is None:
                    raise PlanValidationError(
                        f"{display_path(path)} waits for {display_path(child)}, which is not "
                        "planned"
                    )
                if dep.parent != path or dep.request.depth != item.request.depth + 1:
                    raise PlanValidationError(
                        f"{display_path(child)} is not a child of {display_path(path)}"
                    )
            if item.parent is not None and item.parent in self.items:
                parent = self.items[item.parent]
                if path not in parent.waits_for:
                    raise PlanValidationError(
                        f"{display_path(item.parent)} does not wait for its planned child "
                        f"{display_path(path)}"
                    )
        if sum(len(level) for level in self.levels) != len(self.items):
            raise PlanValidationError("plan levels do not cover every planned node")


def _depth(path: bytes) -> int:
    return path.count(b"/") + 1 if path else 0


def build_plan(
    spec: PlanSpec,
    entries: Sequence[TreeNode],
    heads: HeadMap,
    *,
    plan_id: str | None = None,
) -> GenerationPlan:
    """Plan generation of ``spec.target`` from its subtree ``entries`` and their heads.

    ``entries`` holds the target and every entry below it; ``heads`` maps node ids to the
    heads of (agent, frame type). Reads nothing else.
    """
    target = spec.target
    keys = CurrencyKeys(
        prompt_digest=spec.prompt_digest,
        provider_name=spec.provider_name,
        model=spec.model,
        directory_context_budget=spec.directory_context_budget,
        redact=spec.redact,
        context_window=spec.context_window,
        reply_reserve=spec.reply_reserve,
    )
    children = _children(entries, target.path)
    current, input_keys = _currency(entries, children, heads, keys)
    plan_id = plan_id or f"plan-{next(_plan_counter)}-{target.node_id.hex()[:8]}"

    if target.kind == NodeKind.DIR and not spec.recursive:
        in_scope: Iterable[TreeNode] = [target]
        if not spec.force:
            _require_current_descendants(entries, target.path, current)
    else:
        in_scope = entries

    items: dict[bytes, PlanItem] = {}
    skipped: list[SkippedNode] = []
    recursive = spec.recursive or target.kind == NodeKind.FILE
    planned: list[TreeNode] = []
    for entry in in_scope:
        if spec.force or not current[entry.path]:
            planned.append(entry)
            continue
        head = heads.get(entry.node_id)
        skipped.append(
            SkippedNode(
                entry.path, NodeId(entry.node_id), entry.kind, HEAD_REUSE, head[0] if head else None
            )
        )
    skipped.sort(key=attrgetter("path"))
    # Only what runs needs the deepest-first order (a no-op rerun sorts nothing big).
    depth = {e.path: _depth(e.path) for e in planned}
    for entry in sorted(planned, key=lambda e: (-depth[e.path], e.path)):
        waits_for: tuple[bytes, ...] = ()
        if recursive and entry.kind == NodeKind.DIR:
            waits_for = tuple(c.path for c in children.get(entry.path, ()) if c.path in items)
        items[entry.path] = PlanItem(
            request=GenerationRequest(
                node_id=NodeId(entry.node_id),
                path=entry.path,
                node_kind=entry.kind,
                depth=depth[entry.path],
                agent_id=spec.agent_id,
                provider_name=spec.provider_name,
                frame_type=spec.frame_type,
                force=spec.force,
                plan_id=plan_id,
            ),
            parent=None if entry.path == target.path else parent_path(entry.path),
            waits_for=waits_for,
            input_key=input_keys[entry.path],
        )
    plan = GenerationPlan(
        plan_id=plan_id,
        spec=spec,
        items=items,
        skipped=tuple(skipped),
        total_in_scope=len(items) + len(skipped),
    )
    plan.validate()
    return plan


def _children(entries: Sequence[TreeNode], target: bytes) -> dict[bytes, list[TreeNode]]:
    """Children by parent path (in name order), for every directory of the subtree."""
    out: dict[bytes, list[TreeNode]] = {}
    for entry in entries:
        if entry.path != target:
            out.setdefault(parent_path(entry.path), []).append(entry)
    for siblings in out.values():
        siblings.sort(key=lambda e: e.path)
    return out


def _currency(
    entries: Sequence[TreeNode],
    children: Mapping[bytes, list[TreeNode]],
    heads: HeadMap,
    keys: CurrencyKeys,
) -> tuple[dict[bytes, bool], dict[bytes, str]]:
    """Whether each node is current now, and its input key (provisional for directories
    whose children will change: the run re-checks those when the children are done)."""
    current: dict[bytes, bool] = {}
    input_keys: dict[bytes, str] = {}
    dirs = []
    for entry in entries:
        if entry.kind != NodeKind.FILE:
            dirs.append(entry)
            continue
        key = keys.file_key(entry.node_id)
        head = heads.get(entry.node_id)
        input_keys[entry.path] = key
        current[entry.path] = head is not None and head[1] == key
    # Directories deepest first, so their children are decided before them.
    for entry in sorted(dirs, key=lambda e: -_depth(e.path)):
        kids = children.get(entry.path, [])
        fresh = all(current[k.path] for k in kids)
        frame_ids = [heads[k.node_id][0] if k.node_id in heads else MISSING_CHILD for k in kids]
        key = keys.dir_key(entry.node_id, frame_ids)
        head = heads.get(entry.node_id)
        input_keys[entry.path] = key
        current[entry.path] = fresh and head is not None and head[1] == key
    return current, input_keys


def _require_current_descendants(
    entries: Sequence[TreeNode], target: bytes, current: Mapping[bytes, bool]
) -> None:
    missing = sorted(e.path for e in entries if e.path != target and not current[e.path])
    if not missing:
        return
    shown = "\n".join(f"  {display_path(p)}" for p in missing[:_MISSING_LIST_CAP])
    more = len(missing) - _MISSING_LIST_CAP
    if more > 0:
        shown += f"\n  ... and {more:,} more"
    raise DescendantsNotCurrentError(
        f"{len(missing):,} nodes under {display_path(target)} have no current frame:\n{shown}",
        hint="Generate recursively (drop --no-recursive), or use --force to generate the "
        "directory from whatever its children have now.",
    )


def restrict_plan(plan: GenerationPlan, paths: set[bytes]) -> GenerationPlan:
    """The part of ``plan`` whose nodes are in ``paths`` (e.g. the last run's failures)."""
    items = {
        path: replace(item, waits_for=tuple(c for c in item.waits_for if c in paths))
        for path, item in plan.items.items()
        if path in paths
    }
    restricted = GenerationPlan(
        plan_id=plan.plan_id,
        spec=plan.spec,
        items=items,
        skipped=plan.skipped,
        total_in_scope=plan.total_in_scope,
    )
    restricted.validate()
    return restricted
