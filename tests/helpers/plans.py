"""Synthetic trees and plan specs for planning and executor tests (no store needed)."""

from __future__ import annotations

from contextree.context.generation.plan import PlanSpec
from contextree.core.tree import TreeNode


def entries_of(tree: dict[bytes, str], version: dict[bytes, int] | None = None) -> list[TreeNode]:
    """Entries for ``tree`` (path -> "file"|"dir"); bumping a path's version changes its id."""
    version = version or {}
    out = []
    for path, kind in tree.items():
        node_id = (path + b"#" + str(version.get(path, 0)).encode()).ljust(32, b".")[:32]
        out.append(TreeNode(path=path, kind=kind, node_id=node_id, size=1, content_hash=None))
    return out


def spec_for(entries: list[TreeNode], target: bytes = b"", **overrides: object) -> PlanSpec:
    by_path = {e.path: e for e in entries}
    args: dict[str, object] = {
        "target": by_path[target],
        "agent_id": "docs-writer",
        "provider_name": "structural",
        "model": "structural-1",
        "prompt_digest": "d" * 64,
        "frame_type": "context-docs-writer",
    }
    args.update(overrides)
    return PlanSpec(**args)  # type: ignore[arg-type]
