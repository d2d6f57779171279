"""Row access for the frame tables: ``frames``, ``heads``, ``generations`` and ``artifacts``.

Owns every SQL statement that writes those four tables and the reads the API serves; nothing
else writes them. The rules of what gc keeps, and its preview, are ``store.sweep``; the reads
behind verify are ``store.verify_reads``. Only ``contextree.api`` (and the store's own
``upkeep`` checks, which only read) may import this module (an import-linter contract enforces
it). Only ``ContextApi.put_frames`` calls the insert methods and only ``ContextApi.gc`` calls
``sweep``, each inside one transaction that the caller opens. ``sweep`` also prunes the
``nodes`` rows (node ids that left the tree) that nothing kept names any more, so that
reachability is decided in one place. ``set_heads`` and ``sweep`` keep the search index
(``store.search_index``) in step with the heads in the same transaction. Rows are plain
values here: turning them into ``Frame`` objects is the API's job, so this module knows
nothing about frames beyond their columns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from contextree.store import search_index
from contextree.store.frame_records import (
    FRAME_COLUMNS,
    FRAME_RECORD_VERSION,
    GENERATION_COLUMNS,
    HEAD_COLUMNS,
    FrameIdentity,
    FrameRow,
    GenerationRow,
    HeadRow,
    encode_metadata,
    frame_row,
    generation_row,
    head_row,
)
from contextree.store.sweep import (
    DEAD_ARTIFACT,
    DEAD_FRAME,
    DEAD_NODE,
    KEPT_GENERATION,
    OUTSIDE_TREE,
    REACHABLE,
    SweepCounts,
    check_references,
    sweep_preview,
    translated,
)

#: The row values, defined with their decoders in ``frame_records``, as this module's callers
#: have always imported them.
__all__ = [
    "FRAME_RECORD_VERSION",
    "FrameIdentity",
    "FrameRow",
    "FrameRows",
    "GenerationRow",
    "HeadRow",
]

#: Above this many nodes, heads are read in one pass instead of one query per node.
_BULK_HEADS = 256
#: Frame ids per ``IN (...)`` lookup (SQLite allows 32,766 parameters; this stays far below).
_IDS_PER_QUERY = 500


class FrameRows:
    """Queries and writes for the frame tables over one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- writes: only ContextApi.put_frames calls these, inside its transaction -------------
    # Each takes every row of one group commit, so a batch of frames costs one statement per
    # table, not one per row.

    def insert_frames(self, rows: Sequence[FrameRow]) -> None:
        """Store frames; one whose id is already stored is left as it is (first writer wins)."""
        self.conn.executemany(
            f"INSERT OR IGNORE INTO frames (schema_version, {FRAME_COLUMNS}) "  # noqa: S608  # fixed column list
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    FRAME_RECORD_VERSION,
                    row.frame_id,
                    row.basis_kind,
                    row.node_id,
                    row.basis_frame,
                    row.agent_id,
                    row.frame_type,
                    row.content,
                    encode_metadata(row.metadata),
                    row.created_at_ns,
                )
                for row in rows
            ],
        )

    def insert_artifacts(self, rows: Iterable[tuple[str, str, bytes]]) -> None:
        """Store (digest, kind, body) artifacts; a second copy of a digest is ignored."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO artifacts (digest, kind, size, body) VALUES (?, ?, ?, ?)",
            [(digest, kind, len(body), body) for digest, kind, body in rows],
        )

    def insert_generations(self, rows: Sequence[GenerationRow]) -> list[int]:
        """Append generation rows in order; returns their ids (consecutive, increasing).

        The ids are chosen here, after every id the table ever handed out (AUTOINCREMENT's
        counter), which is safe because the caller holds the write transaction."""
        (last,) = self.conn.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'generations'), 0),"
            " coalesce((SELECT max(id) FROM generations), 0))"
        ).fetchone()
        ids = list(range(int(last) + 1, int(last) + 1 + len(rows)))
        self.conn.executemany(
            "INSERT INTO generations (id, path, node_id, agent_id, frame_type, frame_id, "
            "input_key, prompt_digest, context_digest, request_digest, metadata, created_at_ns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    gid,
                    row.path,
                    row.node_id,
                    row.agent_id,
                    row.frame_type,
                    row.frame_id,
                    row.input_key,
                    row.prompt_digest,
                    row.context_digest,
                    row.request_digest,
                    encode_metadata(row.metadata),
                    row.created_at_ns,
                )
                for gid, row in zip(ids, rows, strict=True)
            ],
        )
        return ids

    def set_heads(self, rows: Sequence[HeadRow]) -> None:
        """Point heads at frames, in order: last write wins, also within one batch. The
        search index moves with them: the rows of the heads replaced go, the final heads'
        rows come (their frames and generations are written already)."""
        search_index.unindex_heads(
            self.conn, {(r.node_id, r.agent_id, r.frame_type): None for r in rows}
        )
        self.conn.executemany(
            f"INSERT OR REPLACE INTO heads ({HEAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608  # fixed column list
            [
                (
                    row.node_id,
                    row.agent_id,
                    row.frame_type,
                    row.frame_id,
                    row.input_key,
                    row.generation_id,
                    row.updated_at_ns,
                )
                for row in rows
            ],
        )
        final = {(r.node_id, r.agent_id, r.frame_type): r.generation_id for r in rows}
        search_index.index_generations(self.conn, list(final.values()))

    def rebuild_search_index(self) -> int:
        """Refill the search index from the heads (``verify --repair``); returns the rows
        indexed. Only ``ContextApi.repair_search_index`` calls it, inside its transaction."""
        return search_index.rebuild(self.conn)

    # -- gc: only ContextApi.gc calls this, inside its transaction ----------------------------

    def sweep(self, *, keep_history: bool) -> SweepCounts:
        """Remove what the current tree no longer reaches (``contextree.store.sweep`` says
        what that is): heads of nodes outside it, generations neither a remaining head's nor
        (with ``keep_history``) of a path still in the tree, then the frames, artifacts and
        ``nodes`` rows nothing kept refers to. The caller switches the per-row reference
        checks off (``references_checked_by_sweep``); the sweep checks them all at the end."""
        params = {"keep_history": int(keep_history)}
        with translated("collect garbage"):
            preview = sweep_preview(self.conn, keep_history=keep_history)
            search_index.unindex_where(self.conn, OUTSIDE_TREE)
            heads = self._changes(f"DELETE FROM heads WHERE {OUTSIDE_TREE}")  # noqa: S608  # fixed fragment
            generations = self._changes(
                f"DELETE FROM generations WHERE NOT {KEPT_GENERATION}",  # noqa: S608  # fixed fragment
                params,
            )
            frames = self._changes(
                f"{REACHABLE} DELETE FROM frames WHERE {DEAD_FRAME}",  # noqa: S608  # fixed fragments
                params,
            )
            artifacts = self._changes(
                f"{REACHABLE} DELETE FROM artifacts WHERE {DEAD_ARTIFACT}",  # noqa: S608  # fixed fragments
                params,
            )
            nodes = self._changes(
                f"{REACHABLE} DELETE FROM nodes WHERE {DEAD_NODE}",  # noqa: S608  # fixed fragments
                params,
            )
            check_references(self.conn)
        return SweepCounts(
            nodes=nodes,
            heads=heads,
            generations=generations,
            frames=frames,
            artifacts=artifacts,
            content_bytes=preview.content_bytes,
        )

    def _changes(self, statement: str, params: Mapping[str, int] | None = None) -> int:
        # ``Cursor.rowcount`` is -1 for a DELETE that starts with a WITH clause.
        before = self.conn.total_changes
        self.conn.execute(statement, params or {})
        return self.conn.total_changes - before

    # -- reads ------------------------------------------------------------------------------

    def frame(self, frame_id: bytes) -> FrameRow | None:
        r = self.conn.execute(
            f"SELECT {FRAME_COLUMNS} FROM frames WHERE frame_id = ?",  # noqa: S608  # fixed column list
            (frame_id,),
        ).fetchone()
        return None if r is None else frame_row(r)

    def contents(self, frame_ids: Iterable[bytes]) -> dict[bytes, bytes]:
        """frame id -> content, for those of ``frame_ids`` that are stored; nothing else is
        read (no metadata, no id check)."""
        wanted = list(dict.fromkeys(frame_ids))
        out: dict[bytes, bytes] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            out.update(
                self.conn.execute(
                    f"SELECT frame_id, content FROM frames WHERE frame_id IN ({marks})",  # noqa: S608  # placeholders only
                    chunk,
                )
            )
        return out

    def head(self, node_id: bytes, agent_id: str, frame_type: str) -> HeadRow | None:
        r = self.conn.execute(
            f"SELECT {HEAD_COLUMNS} FROM heads "  # noqa: S608  # fixed column list
            "WHERE node_id = ? AND agent_id = ? AND frame_type = ?",
            (node_id, agent_id, frame_type),
        ).fetchone()
        return None if r is None else self._head_row(r)

    def heads_for_node(self, node_id: bytes) -> list[HeadRow]:
        rows = self.conn.execute(
            f"SELECT {HEAD_COLUMNS} FROM heads WHERE node_id = ? "  # noqa: S608  # fixed column list
            "ORDER BY agent_id, frame_type",
            (node_id,),
        ).fetchall()
        return [self._head_row(r) for r in rows]

    def heads_for_nodes(
        self, node_ids: Iterable[bytes], agent_id: str, frame_type: str
    ) -> dict[bytes, HeadRow]:
        """Heads of many nodes for one agent and frame type (missing nodes are left out)."""
        wanted = node_ids if isinstance(node_ids, (list, tuple, set)) else list(node_ids)
        out: dict[bytes, HeadRow] = {}
        if len(wanted) > _BULK_HEADS:
            # One pass over the agent's heads beats one lookup per node for big subtrees.
            keep = set(wanted)
            rows = self.conn.execute(
                f"SELECT {HEAD_COLUMNS} FROM heads "  # noqa: S608  # fixed column list
                "WHERE agent_id = ? AND frame_type = ?",
                (agent_id, frame_type),
            )
            for r in rows:
                if r[0] in keep:
                    out[r[0]] = self._head_row(r)
            return out
        query = (
            f"SELECT {HEAD_COLUMNS} FROM heads "  # noqa: S608  # fixed column list
            "WHERE node_id = ? AND agent_id = ? AND frame_type = ?"
        )
        for node_id in wanted:
            r = self.conn.execute(query, (node_id, agent_id, frame_type)).fetchone()
            if r is not None:
                out[node_id] = self._head_row(r)
        return out

    def generation(self, generation_id: int) -> GenerationRow | None:
        r = self.conn.execute(
            f"SELECT {GENERATION_COLUMNS} FROM generations WHERE id = ?",  # noqa: S608  # fixed column list
            (generation_id,),
        ).fetchone()
        return None if r is None else self._generation_row(r)

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
            f"SELECT {GENERATION_COLUMNS} FROM generations "  # noqa: S608  # clauses are fixed strings
            f"WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
            params,
        ).fetchall()
        return [self._generation_row(r) for r in rows]

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

    def head_keys(self, agent_id: str, frame_type: str) -> dict[bytes, tuple[bytes, str | None]]:
        """node id -> (frame id, input key) of every head of one agent and frame type: what
        planning needs, in one pass and without building a row object per head."""
        rows = self.conn.execute(
            "SELECT node_id, frame_id, input_key FROM heads WHERE agent_id = ? AND frame_type = ?",
            (agent_id, frame_type),
        )
        if not self._keys_trusted():
            return {r[0]: (r[1], None) for r in rows}
        return {r[0]: (r[1], r[2]) for r in rows}

    # --- an unadopted store's input keys are never trusted (store.provenance) ---------

    def _keys_trusted(self) -> bool:
        return getattr(self.conn, "input_keys_trusted", True) is not False

    def _head_row(self, r: Sequence[Any]) -> HeadRow:
        row = head_row(r)
        return row if self._keys_trusted() else replace(row, input_key=None)

    def _generation_row(self, r: Sequence[Any]) -> GenerationRow:
        row = generation_row(r)
        return row if self._keys_trusted() else replace(row, input_key=None)
