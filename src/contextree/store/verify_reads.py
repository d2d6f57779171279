"""The reads behind ``contextree verify``: every frame's hashed fields and the rows that break
the store's invariants (heads without their frame or generation, history rows without their
frame, artifact bodies to re-hash).

Owns those read-only queries over the frame tables, used only by ``contextree.store.upkeep``;
every write of those tables stays in ``contextree.store.frames``. Rows are plain values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from contextree.store.frames import FrameIdentity


@dataclass(frozen=True, slots=True, kw_only=True)
class HeadFrameMismatch:
    """A head whose frame is missing (``found`` False) or names another node, agent or type."""

    node_id: bytes
    agent_id: str
    frame_type: str
    frame_id: bytes
    found: bool
    frame_node_id: bytes | None
    frame_agent_id: str | None
    frame_frame_type: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrphanHead:
    """A head whose generation row is missing."""

    node_id: bytes
    agent_id: str
    frame_type: str
    generation_id: int


class VerifyReads:
    """The checks' queries over one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def frame_identities(self, *, batch: int = 500) -> Iterator[FrameIdentity]:
        """The hashed fields of every frame, streamed in batches."""
        cur = self.conn.execute(
            "SELECT frame_id, basis_kind, node_id, basis_frame, agent_id, frame_type, content "
            "FROM frames"
        )
        while rows := cur.fetchmany(batch):
            for r in rows:
                yield FrameIdentity(
                    frame_id=r[0],
                    basis_kind=r[1],
                    node_id=r[2],
                    basis_frame=r[3],
                    agent_id=r[4],
                    frame_type=r[5],
                    content=r[6],
                )

    def heads_not_matching_their_frame(self) -> list[HeadFrameMismatch]:
        """Heads whose frame is missing, or whose frame's basis node (when it has one), agent
        or frame type differs from the head's."""
        rows = self.conn.execute(
            "SELECT h.node_id, h.agent_id, h.frame_type, h.frame_id, f.frame_id IS NOT NULL, "
            "f.node_id, f.agent_id, f.frame_type "
            "FROM heads AS h LEFT JOIN frames AS f ON f.frame_id = h.frame_id "
            "WHERE f.frame_id IS NULL OR f.agent_id != h.agent_id "
            "OR f.frame_type != h.frame_type "
            "OR (f.node_id IS NOT NULL AND f.node_id != h.node_id)"
        ).fetchall()
        return [
            HeadFrameMismatch(
                node_id=r[0],
                agent_id=r[1],
                frame_type=r[2],
                frame_id=r[3],
                found=bool(r[4]),
                frame_node_id=r[5],
                frame_agent_id=r[6],
                frame_frame_type=r[7],
            )
            for r in rows
        ]

    def heads_without_generation(self) -> list[OrphanHead]:
        """Heads whose generation row is missing."""
        rows = self.conn.execute(
            "SELECT h.node_id, h.agent_id, h.frame_type, h.generation_id "
            "FROM heads AS h LEFT JOIN generations AS g ON g.id = h.generation_id "
            "WHERE g.id IS NULL"
        ).fetchall()
        return [
            OrphanHead(node_id=r[0], agent_id=r[1], frame_type=r[2], generation_id=r[3])
            for r in rows
        ]

    def generations_without_frame(self) -> list[tuple[int, bytes, bytes]]:
        """(id, path, frame id) of generations whose frame is missing."""
        rows = self.conn.execute(
            "SELECT g.id, g.path, g.frame_id FROM generations AS g "
            "LEFT JOIN frames AS f ON f.frame_id = g.frame_id WHERE f.frame_id IS NULL"
        ).fetchall()
        return [(int(r[0]), r[1], r[2]) for r in rows]

    def artifact_bodies(self, *, batch: int = 100) -> Iterator[tuple[str, int, bytes]]:
        """(digest, recorded size, body) of every artifact, streamed in batches."""
        cur = self.conn.execute("SELECT digest, size, body FROM artifacts")
        while rows := cur.fetchmany(batch):
            for r in rows:
                yield str(r[0]), int(r[1]), r[2]
