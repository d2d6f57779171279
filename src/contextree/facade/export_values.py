"""The values ``Workspace.export`` and ``Workspace.export_check`` hand out: frozen, documented.

Owns ``ExportFormat`` (the three formats), ``ExportResult`` (what one export produced or
wrote), ``ExportedFile`` (one ``AGENTS.md``/``CLAUDE.md`` written, or left alone) and
``ExportCheck`` with its ``BlockCheck`` items (whether each marked block still describes its
directory). Paths are workspace-relative text (``"."`` is the root), ids lowercase hex.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

#: ``markdown``: one document for the tree; ``jsonl``: one JSON record per node;
#: ``agents-md``: directory frames written into marked blocks of ``AGENTS.md``/``CLAUDE.md``.
ExportFormat = Literal["markdown", "jsonl", "agents-md"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("markdown", "jsonl", "agents-md")

#: What happened to one marked file: written new, its block replaced, or left byte for byte.
FileAction = Literal["created", "updated", "unchanged"]
#: A block's state against the tree on disk now: it names the directory's current node id;
#: it names another (the directory changed since it was written); the file or its block is
#: not there; the file cannot be read (a symlink, not a regular file, unreadable).
BlockStatus = Literal["current", "stale", "missing", "unreadable"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportedFile:
    """One marked file ``agents-md`` looked after.

    ``tree_changed`` is True when the write changed what the file's content hash covers (it
    was created, or a newline had to be added before the block): its directory then has a
    new node id, so its block goes stale until ``contextree generate`` and another export."""

    path: str
    directory: str
    node_id: str
    frame_id: str
    action: FileAction
    tree_changed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportResult:
    """What one ``export`` produced.

    For ``markdown`` and ``jsonl``, ``text`` is the document (also when it was written to
    ``out``); ``nodes`` counts the nodes in it, ``without_frame`` those of the subtree that
    have no frame for the agent (left out of markdown; records with ``frame_id`` null in
    jsonl), ``omitted`` the nodes a ``budget`` left out (markdown only). For ``agents-md``,
    ``files`` lists every marked file, written or not, and ``text`` is empty."""

    format: ExportFormat
    path: str
    node_id: str
    agent_id: str
    frame_type: str
    nodes: int
    without_frame: int = 0
    omitted: int = 0
    budget: int | None = None
    text: str = ""
    out: Path | None = None
    files: tuple[ExportedFile, ...] = ()

    @property
    def written(self) -> tuple[ExportedFile, ...]:
        """The marked files that were created or updated (``agents-md``)."""
        return tuple(f for f in self.files if f.action != "unchanged")


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockCheck:
    """One expected marked block: ``path`` (the file), the ``directory`` it describes, the
    node id its begin marker names (None when there is no block) and the directory's node id
    now (None when the directory is not in the tree), and the verdict."""

    path: str
    directory: str
    status: BlockStatus
    block_node_id: str | None
    current_node_id: str | None
    block_frame_id: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportCheck:
    """What ``export_check`` found: ``ok`` when every configured block names its directory's
    current node id; ``problems`` are the blocks that do not (stale, missing, unreadable)."""

    root_id: str
    blocks: tuple[BlockCheck, ...]

    @property
    def ok(self) -> bool:
        return all(b.status == "current" for b in self.blocks)

    @property
    def problems(self) -> tuple[BlockCheck, ...]:
        return tuple(b for b in self.blocks if b.status != "current")
