"""Bulk reads of the frame tables: every node under a path, or a directory's children, with
their heads for one agent, in one statement.

Owns the one query behind ``Workspace.get_tree`` and ``Workspace.children`` (and the MCP
server's ``list_children``): the entries of the current tree joined with their heads, the
generation rows that set them and the frames they name, so a subtree of any size costs one
statement, not one per node. Read-only; rows are plain values (decoded by ``frame_records``)
and only ``contextree.api`` may import this module (an import-linter contract).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from contextree.store.frame_records import (
    FRAME_COLUMNS,
    GENERATION_COLUMNS,
    FrameRow,
    GenerationRow,
    frame_row,
    generation_row,
)


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


_GENERATION_WIDTH = len(GENERATION_COLUMNS.split(","))
_SELECT = (
    "SELECT e.path, e.kind, e.node_id, e.size, e.sig, "  # noqa: S608  # fixed column lists
    "(SELECT COUNT(*) FROM heads AS c WHERE c.node_id = e.node_id), "
    f"{_prefixed('g', GENERATION_COLUMNS)}, {_prefixed('f', FRAME_COLUMNS)} "
    "FROM entries AS e "
    "LEFT JOIN heads AS h ON h.node_id = e.node_id AND h.agent_id = :agent "
    "AND (:frame_type IS NULL OR h.frame_type = :frame_type) "
    "LEFT JOIN generations AS g ON g.id = h.generation_id "
    "LEFT JOIN frames AS f ON f.frame_id = h.frame_id "
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubtreeRow:
    """One node of the tree and, when it has one that passed the filters, one of its heads
    (as the generation row that set it and the frame it names). A node with several matching
    heads comes once per head; ``head_count`` counts all of its heads, unfiltered."""

    path: bytes
    kind: str
    node_id: bytes
    size: int | None
    #: The file's stat signature at the last scan (None for a directory).
    sig: bytes | None
    head_count: int
    generation: GenerationRow | None
    frame: FrameRow | None


def subtree_heads(
    conn: sqlite3.Connection,
    path: bytes,
    *,
    agent_id: str,
    frame_type: str | None,
    children_only: bool = False,
) -> Iterator[SubtreeRow]:
    """The node at ``path`` and every node below it (``children_only``: its direct children
    only), each with its heads of ``agent_id`` (and ``frame_type``), in one statement. A
    generation or frame row missing under a head (a damaged store) reads as no head."""
    params: dict[str, object] = {"agent": agent_id, "frame_type": frame_type}
    if children_only:
        where = "WHERE e.parent = :p"
        params["p"] = path
    elif path:
        # Paths below p sort between p + "/" and p + "0" ("0" is the byte after "/").
        where = "WHERE e.path = :p OR (e.path >= :lo AND e.path < :hi)"
        params |= {"p": path, "lo": path + b"/", "hi": path + b"0"}
    else:
        where = ""
    cur = conn.execute(_SELECT + where, params)
    split = 6 + _GENERATION_WIDTH
    while rows := cur.fetchmany(1000):
        for r in rows:
            complete = r[6] is not None and r[split] is not None
            yield SubtreeRow(
                path=bytes(r[0]),
                kind=str(r[1]),
                node_id=bytes(r[2]),
                size=r[3],
                sig=r[4],
                head_count=int(r[5]),
                generation=generation_row(r[6:split]) if complete else None,
                frame=frame_row(r[split:]) if complete else None,
            )
