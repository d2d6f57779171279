"""Row access for the frame tables: ``frames``, ``heads``, ``generations`` and ``artifacts``.

Owns every SQL statement that touches those four tables; nothing else issues SQL against them.
Only ``contextree.api`` may import this module (an import-linter contract enforces it), and
only ``ContextApi.put_frame`` calls the write methods, inside one transaction that the caller
opens. Rows are plain values here: turning them into ``Frame`` objects is the API's job, so
this module knows nothing about frames beyond their columns.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Version of the stored frame record (the row layout and its metadata encoding).
FRAME_RECORD_VERSION = 1


def _encode_metadata(metadata: Mapping[str, str]) -> str:
    return json.dumps(dict(metadata), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _decode_metadata(text: str) -> dict[str, str]:
    data = json.loads(text)
    return {str(k): str(v) for k, v in data.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameRow:
    frame_id: bytes
    basis_kind: str
    node_id: bytes | None
    basis_frame: bytes | None
    agent_id: str
    frame_type: str
    content: bytes
    metadata: Mapping[str, str]
    created_at_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationRow:
    id: int  # 0 when not yet inserted
    path: bytes
    node_id: bytes
    agent_id: str
    frame_type: str
    frame_id: bytes
    input_key: str | None
    prompt_digest: str | None
    context_digest: str | None
    request_digest: str | None
    metadata: Mapping[str, str]
    created_at_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HeadRow:
    node_id: bytes
    agent_id: str
    frame_type: str
    frame_id: bytes
    input_key: str | None
    generation_id: int
    updated_at_ns: int


_FRAME_COLUMNS = (
    "frame_id, basis_kind, node_id, basis_frame, agent_id, frame_type, content, metadata, "
    "created_at_ns"
)
_GENERATION_COLUMNS = (
    "id, path, node_id, agent_id, frame_type, frame_id, input_key, prompt_digest, "
    "context_digest, request_digest, metadata, created_at_ns"
)
_HEAD_COLUMNS = "node_id, agent_id, frame_type, frame_id, input_key, generation_id, updated_at_ns"


# Rows come from the fixed schema above: each column has the type its field expects.
def _frame_row(r: Sequence[Any]) -> FrameRow:
    return FrameRow(
        frame_id=r[0],
        basis_kind=r[1],
        node_id=r[2],
        basis_frame=r[3],
        agent_id=r[4],
        frame_type=r[5],
        content=r[6],
        metadata=_decode_metadata(r[7]),
        created_at_ns=r[8],
    )


def _generation_row(r: Sequence[Any]) -> GenerationRow:
    return GenerationRow(
        id=r[0],
        path=r[1],
        node_id=r[2],
        agent_id=r[3],
        frame_type=r[4],
        frame_id=r[5],
        input_key=r[6],
        prompt_digest=r[7],
        context_digest=r[8],
        request_digest=r[9],
        metadata=_decode_metadata(r[10]),
        created_at_ns=r[11],
    )


def _head_row(r: Sequence[Any]) -> HeadRow:
    return HeadRow(
        node_id=r[0],
        agent_id=r[1],
        frame_type=r[2],
        frame_id=r[3],
        input_key=r[4],
        generation_id=r[5],
        updated_at_ns=r[6],
    )


class FrameRows:
    """Queries and writes for the frame tables over one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- writes: only ContextApi.put_frame calls these, inside its transaction --------------

    def insert_frame(self, row: FrameRow) -> bool:
        """Store a frame unless one with the same id exists; True when it was new."""
        cur = self.conn.execute(
            f"INSERT OR IGNORE INTO frames (schema_version, {_FRAME_COLUMNS}) "  # noqa: S608  # fixed column list
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                FRAME_RECORD_VERSION,
                row.frame_id,
                row.basis_kind,
                row.node_id,
                row.basis_frame,
                row.agent_id,
                row.frame_type,
                row.content,
                _encode_metadata(row.metadata),
                row.created_at_ns,
            ),
        )
        return cur.rowcount == 1

    def insert_artifact(self, digest: str, kind: str, body: bytes) -> None:
        """Store an artifact under its digest (a second copy is ignored)."""
        self.conn.execute(
            "INSERT OR IGNORE INTO artifacts (digest, kind, size, body) VALUES (?, ?, ?, ?)",
            (digest, kind, len(body), body),
        )

    def insert_generation(self, row: GenerationRow) -> int:
        """Append one generation row; returns its id."""
        cur = self.conn.execute(
            "INSERT INTO generations (path, node_id, agent_id, frame_type, frame_id, input_key, "
            "prompt_digest, context_digest, request_digest, metadata, created_at_ns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.path,
                row.node_id,
                row.agent_id,
                row.frame_type,
                row.frame_id,
                row.input_key,
                row.prompt_digest,
                row.context_digest,
                row.request_digest,
                _encode_metadata(row.metadata),
                row.created_at_ns,
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def set_head(self, row: HeadRow) -> None:
        """Point the head of (node, agent, frame type) at a frame: last write wins."""
        self.conn.execute(
            f"INSERT OR REPLACE INTO heads ({_HEAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608  # fixed column list
            (
                row.node_id,
                row.agent_id,
                row.frame_type,
                row.frame_id,
                row.input_key,
                row.generation_id,
                row.updated_at_ns,
            ),
        )

    # -- reads ------------------------------------------------------------------------------

    def frame(self, frame_id: bytes) -> FrameRow | None:
        r = self.conn.execute(
            f"SELECT {_FRAME_COLUMNS} FROM frames WHERE frame_id = ?",  # noqa: S608  # fixed column list
            (frame_id,),
        ).fetchone()
        return None if r is None else _frame_row(r)

    def head(self, node_id: bytes, agent_id: str, frame_type: str) -> HeadRow | None:
        r = self.conn.execute(
            f"SELECT {_HEAD_COLUMNS} FROM heads "  # noqa: S608  # fixed column list
            "WHERE node_id = ? AND agent_id = ? AND frame_type = ?",
            (node_id, agent_id, frame_type),
        ).fetchone()
        return None if r is None else _head_row(r)

    def heads_for_node(self, node_id: bytes) -> list[HeadRow]:
        rows = self.conn.execute(
            f"SELECT {_HEAD_COLUMNS} FROM heads WHERE node_id = ? "  # noqa: S608  # fixed column list
            "ORDER BY agent_id, frame_type",
            (node_id,),
        ).fetchall()
        return [_head_row(r) for r in rows]

    def heads_for_nodes(
        self, node_ids: Iterable[bytes], agent_id: str, frame_type: str
    ) -> dict[bytes, HeadRow]:
        """Heads of many nodes for one agent and frame type (missing nodes are left out)."""
        out: dict[bytes, HeadRow] = {}
        query = (
            f"SELECT {_HEAD_COLUMNS} FROM heads "  # noqa: S608  # fixed column list
            "WHERE node_id = ? AND agent_id = ? AND frame_type = ?"
        )
        for node_id in node_ids:
            r = self.conn.execute(query, (node_id, agent_id, frame_type)).fetchone()
            if r is not None:
                out[node_id] = _head_row(r)
        return out

    def generation(self, generation_id: int) -> GenerationRow | None:
        r = self.conn.execute(
            f"SELECT {_GENERATION_COLUMNS} FROM generations WHERE id = ?",  # noqa: S608  # fixed column list
            (generation_id,),
        ).fetchone()
        return None if r is None else _generation_row(r)

    def generations_for_path(
        self,
        path: bytes,
        *,
        agent_id: str | None = None,
        frame_type: str | None = None,
        limit: int,
    ) -> list[GenerationRow]:
        """Writes recorded for a path, newest first, optionally for one agent / frame type."""
        clauses = ["path = ?"]
        params: list[object] = [path]
        if agent_id is not None:
            clauses.append("agent_id = ?")
            params.append(agent_id)
        if frame_type is not None:
            clauses.append("frame_type = ?")
            params.append(frame_type)
        params.append(limit)
        rows = self.conn.execute(
            f"SELECT {_GENERATION_COLUMNS} FROM generations "  # noqa: S608  # clauses are fixed strings
            f"WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
            params,
        ).fetchall()
        return [_generation_row(r) for r in rows]

    def artifact(self, digest: str) -> tuple[str, bytes] | None:
        """(kind, body) of a stored artifact."""
        r = self.conn.execute(
            "SELECT kind, body FROM artifacts WHERE digest = ?", (digest,)
        ).fetchone()
        return None if r is None else (str(r[0]), bytes(r[1]))

    def counts(self) -> dict[str, int]:
        """Row counts of the four tables (for status and tests)."""
        return {
            table: int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608  # fixed table names
            for table in ("frames", "heads", "generations", "artifacts")
        }

    def heads_in_tree(self) -> list[tuple[str, str, int]]:
        """(agent, frame type, heads on nodes of the current tree), for status."""
        rows = self.conn.execute(
            "SELECT h.agent_id, h.frame_type, COUNT(*) FROM heads AS h "
            "JOIN entries AS e ON e.node_id = h.node_id "
            "GROUP BY h.agent_id, h.frame_type ORDER BY h.agent_id, h.frame_type"
        ).fetchall()
        return [(str(a), str(t), int(n)) for a, t, n in rows]
