"""Planning from the tree and the heads alone."""

from __future__ import annotations

import pytest
from tests.helpers.plans import entries_of, spec_for

from contextree.context.generation.currency import CurrencyKeys
from contextree.context.generation.plan import (
    HEAD_REUSE,
    HeadInfo,
    PlanSpec,
    build_plan,
)
from contextree.core.tree import TreeNode
from contextree.errors import DescendantsNotCurrentError

TREE = {
    b"": "dir",
    b"a": "dir",
    b"a/x.py": "file",
    b"a/y.py": "file",
    b"b": "dir",
    b"b/z.py": "file",
    b"top.md": "file",
}


def _entries(
    tree: dict[bytes, str] = TREE, version: dict[bytes, int] | None = None
) -> list[TreeNode]:
    return entries_of(tree, version)


def _spec(entries: list[TreeNode], target: bytes = b"", **kw: object) -> PlanSpec:
    return spec_for(entries, target, **kw)


def _all_current(entries: list[TreeNode], spec: PlanSpec) -> dict[bytes, HeadInfo]:
    """Heads that make every node current, as a completed run would leave them."""
    keys = CurrencyKeys(
        prompt_digest=spec.prompt_digest, provider_name=spec.provider_name, model=spec.model
    )
    heads: dict[bytes, HeadInfo] = {}
    by_parent: dict[bytes, list[TreeNode]] = {}
    for e in entries:
        if e.path:
            parent = e.path.rpartition(b"/")[0]
            by_parent.setdefault(parent, []).append(e)
    for e in sorted(entries, key=lambda e: -(e.path.count(b"/") + (1 if e.path else 0))):
        if e.kind == "file":
            key = keys.file_key(e.node_id)
        else:
            kids = sorted(by_parent.get(e.path, []), key=lambda k: k.path)
            key = keys.dir_key(e.node_id, [heads[k.node_id].frame_id for k in kids])
        heads[e.node_id] = HeadInfo(frame_id=b"F" + e.node_id[:31], input_key=key)
    return heads


def test_a_fresh_workspace_plans_every_node_leaf_to_root() -> None:
    entries = _entries()
    plan = build_plan(_spec(entries), entries, {})
    assert set(plan.items) == set(TREE)
    assert plan.levels == ((b"a/x.py", b"a/y.py", b"b/z.py"), (b"a", b"b", b"top.md"), (b"",))
    assert plan.items[b""].waits_for == (b"a", b"b", b"top.md")
    assert plan.items[b"a"].waits_for == (b"a/x.py", b"a/y.py")
    assert plan.skipped == ()


def test_a_no_op_rerun_plans_nothing_and_skips_everything_as_head_reuse() -> None:
    entries = _entries()
    spec = _spec(entries)
    plan = build_plan(spec, entries, _all_current(entries, spec))
    assert plan.items == {}
    assert {s.path for s in plan.skipped} == set(TREE)
    assert {s.reason for s in plan.skipped} == {HEAD_REUSE}


def test_editing_one_file_plans_it_and_its_ancestors_only() -> None:
    old = _entries()
    spec = _spec(old)
    heads = _all_current(old, spec)
    new = _entries(version={b"a/x.py": 1, b"a": 1, b"": 1})
    plan = build_plan(_spec(new), new, heads)
    assert set(plan.items) == {b"a/x.py", b"a", b""}
    assert plan.items[b"a"].waits_for == (b"a/x.py",)
    assert plan.items[b""].waits_for == (b"a",)


def test_a_provider_or_prompt_change_plans_every_node() -> None:
    entries = _entries()
    heads = _all_current(entries, _spec(entries))
    assert len(build_plan(_spec(entries, provider_name="openai"), entries, heads).items) == 7
    assert len(build_plan(_spec(entries, prompt_digest="e" * 64), entries, heads).items) == 7


def test_a_head_without_input_key_is_never_current() -> None:
    entries = _entries()
    spec = _spec(entries)
    heads = _all_current(entries, spec)
    x = next(e for e in entries if e.path == b"top.md")
    heads[x.node_id] = HeadInfo(frame_id=heads[x.node_id].frame_id, input_key=None)
    assert set(build_plan(spec, entries, heads).items) == {b"top.md", b""}


def test_a_directory_whose_child_frame_changed_is_planned() -> None:
    entries = _entries()
    spec = _spec(entries)
    heads = _all_current(entries, spec)
    z = next(e for e in entries if e.path == b"b/z.py")
    heads[z.node_id] = HeadInfo(frame_id=b"G" * 32, input_key=heads[z.node_id].input_key)
    assert set(build_plan(spec, entries, heads).items) == {b"b", b""}


def test_force_plans_everything() -> None:
    entries = _entries()
    spec = _spec(entries, force=True)
    plan = build_plan(spec, entries, _all_current(entries, spec))
    assert len(plan.items) == 7
    assert all(i.request.force for i in plan.items.values())


def test_subdirectory_target_covers_its_subtree_only() -> None:
    entries = [e for e in _entries() if e.path == b"a" or e.path.startswith(b"a/")]
    plan = build_plan(_spec(entries, target=b"a"), entries, {})
    assert set(plan.items) == {b"a", b"a/x.py", b"a/y.py"}
    assert plan.items[b"a"].parent is None


def test_non_recursive_directory_needs_current_descendants() -> None:
    entries = _entries()
    with pytest.raises(DescendantsNotCurrentError) as info:
        build_plan(_spec(entries, recursive=False), entries, {})
    assert "6 nodes under . have no current frame" in info.value.message
    assert "  a/x.py" in info.value.message
    forced = build_plan(_spec(entries, recursive=False, force=True), entries, {})
    assert set(forced.items) == {b""}
    assert forced.items[b""].waits_for == ()


def test_non_recursive_directory_with_current_descendants_plans_only_itself() -> None:
    entries = _entries()
    spec = _spec(entries, recursive=False)
    heads = _all_current(entries, spec)
    root = next(e for e in entries if e.path == b"")
    heads[root.node_id] = HeadInfo(frame_id=b"R" * 32, input_key="stale")
    plan = build_plan(spec, entries, heads)
    assert set(plan.items) == {b""}
    assert len(plan.skipped) == 0


def test_plan_validation_rejects_a_dependency_on_an_unplanned_node() -> None:
    from dataclasses import replace

    from contextree.context.generation.plan import GenerationPlan
    from contextree.errors import PlanValidationError

    entries = _entries()
    plan = build_plan(_spec(entries), entries, {})
    broken = dict(plan.items)
    broken[b"a"] = replace(broken[b"a"], waits_for=(b"a/x.py", b"a/y.py", b"nope"))
    with pytest.raises(PlanValidationError, match="not planned"):
        GenerationPlan(plan_id="p", spec=plan.spec, items=broken).validate()
