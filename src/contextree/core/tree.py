"""Tree nodes and workspace-relative paths: the ``TreeNode`` type and the path helpers.

Owns the one shape of a node of the scanned tree (what ``store.tree`` reads back), the states
a node can be in on disk against the last scan (``DiskState``), and how a
raw relative path is joined, cut to its parent and shown. Paths are raw bytes, ``/``-separated,
relative to the workspace root (the root itself is the empty path). Nothing here touches the
filesystem or the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contextree.core.ids import NodeId, NodeKind


class DiskState(StrEnum):
    """A node on disk now, against the last scan (a stat, never a read or a hash)."""

    UNCHANGED = "unchanged"  # a file whose stat matches the last scan: its frames describe it
    CHANGED = "changed"  # a file whose stat differs (or that is no longer a regular file)
    MISSING = "missing"  # a file the last scan saw that is gone
    DIRECTORY = "directory"  # a directory: not checked (that would walk its subtree)
    UNKNOWN = "unknown"  # not checked


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeNode:
    """One node of the current tree."""

    path: bytes
    kind: NodeKind
    node_id: NodeId
    size: int | None
    content_hash: bytes | None


def parent_path(rel_path: bytes) -> bytes:
    """Relative path of the directory holding ``rel_path`` (the root's children have the root)."""
    cut = rel_path.rfind(b"/")
    return b"" if cut < 0 else rel_path[:cut]


def display_path(rel_path: bytes) -> str:
    """A printable form of a raw relative path (undecodable bytes shown as ``\\xNN``)."""
    return rel_path.decode("utf-8", "backslashreplace") if rel_path else "."
