"""What gc keeps and what it removes: the reachability rules, the preview and the report.

Owns the predicates that name the rows ``gc`` removes (what the current tree, and with
``keep_history`` the history of its paths, still reaches), the one-statement preview of what a
sweep would remove, the switch around a sweep's transaction and the reference check that
stands in for SQLite's per-row one, and ``GcReport``. It only reads: the ``DELETE``
statements themselves stay with every other write of the frame tables in
``contextree.store.frames`` (``FrameRows.sweep``), which builds them from these predicates.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from contextree.errors import StoreError

# Each predicate names the rows gc removes. Evaluated again after the tables before it in
# the sweep were swept, it selects the same rows, so the preview and the sweep agree.
# Subqueries filter NULLs out: ``x NOT IN (... NULL ...)`` would match nothing.
OUTSIDE_TREE = "node_id NOT IN (SELECT node_id FROM entries)"
KEPT_GENERATION = (
    "(id IN (SELECT generation_id FROM heads WHERE node_id IN (SELECT node_id FROM entries)) "
    "OR (:keep_history AND path IN (SELECT path FROM entries)))"
)
REACHABLE = f"""
    WITH RECURSIVE
    kept_generations AS (SELECT * FROM generations WHERE {KEPT_GENERATION}),
    live_frames (frame_id) AS (
        SELECT frame_id FROM heads WHERE node_id IN (SELECT node_id FROM entries)
        UNION SELECT frame_id FROM kept_generations
        UNION SELECT f.basis_frame FROM frames AS f JOIN live_frames AS l USING (frame_id)
            WHERE f.basis_frame IS NOT NULL
    ),
    live_artifacts (digest) AS (
        SELECT prompt_digest FROM kept_generations WHERE prompt_digest IS NOT NULL
        UNION SELECT context_digest FROM kept_generations WHERE context_digest IS NOT NULL
        UNION SELECT request_digest FROM kept_generations WHERE request_digest IS NOT NULL
    )
"""  # noqa: S608  # fixed fragments, no user input
DEAD_FRAME = "frame_id NOT IN (SELECT frame_id FROM live_frames)"
# A node id that left the tree stays while a kept history row or a live frame still names it.
DEAD_NODE = (
    "node_id NOT IN (SELECT node_id FROM entries) "
    "AND node_id NOT IN (SELECT node_id FROM kept_generations) "
    "AND node_id NOT IN (SELECT node_id FROM frames WHERE node_id IS NOT NULL "
    "AND frame_id IN (SELECT frame_id FROM live_frames))"
)
DEAD_ARTIFACT = "digest NOT IN (SELECT digest FROM live_artifacts)"
_SWEEP_PREVIEW = f"""{REACHABLE}
    SELECT
        (SELECT COUNT(*) FROM nodes WHERE {DEAD_NODE}),
        (SELECT COUNT(*) FROM heads WHERE {OUTSIDE_TREE}),
        (SELECT COUNT(*) FROM generations WHERE NOT {KEPT_GENERATION}),
        (SELECT COUNT(*) FROM frames WHERE {DEAD_FRAME}),
        (SELECT COUNT(*) FROM artifacts WHERE {DEAD_ARTIFACT}),
        (SELECT TOTAL(length(CAST(metadata AS BLOB))) FROM generations
            WHERE NOT {KEPT_GENERATION})
        + (SELECT TOTAL(length(content) + length(CAST(metadata AS BLOB))) FROM frames
            WHERE {DEAD_FRAME})
        + (SELECT TOTAL(length(body)) FROM artifacts WHERE {DEAD_ARTIFACT})
"""  # noqa: S608  # fixed fragments, no user input


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepCounts:
    """Rows gc removes (or would remove) per table, and the bytes of frame content, metadata
    and artifact bodies they hold (approximate: row overhead is not counted)."""

    nodes: int
    heads: int
    generations: int
    frames: int
    artifacts: int
    content_bytes: int

    @property
    def rows(self) -> int:
        return self.nodes + self.heads + self.generations + self.frames + self.artifacts


@dataclass(frozen=True, slots=True, kw_only=True)
class GcReport:
    """Rows ``gc`` removed (on a dry run: would remove) per table, the bytes of frame content,
    metadata and artifact bodies they held, and the store file's size before and after."""

    dry_run: bool
    keep_history: bool
    nodes: int
    heads: int
    generations: int
    frames: int
    artifacts: int
    content_bytes: int
    store_bytes_before: int
    store_bytes_after: int
    compacted: bool

    @classmethod
    def of(
        cls,
        counts: SweepCounts,
        *,
        dry_run: bool,
        keep_history: bool,
        store_bytes_before: int,
        store_bytes_after: int,
        compacted: bool,
    ) -> GcReport:
        return cls(
            dry_run=dry_run,
            keep_history=keep_history,
            nodes=counts.nodes,
            heads=counts.heads,
            generations=counts.generations,
            frames=counts.frames,
            artifacts=counts.artifacts,
            content_bytes=counts.content_bytes,
            store_bytes_before=store_bytes_before,
            store_bytes_after=store_bytes_after,
            compacted=compacted,
        )


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """SQLite's errors while sweeping as a ``StoreError`` saying what could not be done."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"cannot {action}: {exc}",
            hint="Run `contextree verify` to see what is wrong with the store.",
        ) from exc


def sweep_preview(conn: sqlite3.Connection, *, keep_history: bool) -> SweepCounts:
    """What a sweep would remove now, read in one statement (one consistent snapshot)."""
    with translated("work out what gc would remove"):
        row = conn.execute(_SWEEP_PREVIEW, {"keep_history": int(keep_history)}).fetchone()
    return SweepCounts(
        nodes=int(row[0]),
        heads=int(row[1]),
        generations=int(row[2]),
        frames=int(row[3]),
        artifacts=int(row[4]),
        content_bytes=int(row[5]),
    )


@contextlib.contextmanager
def references_checked_by_sweep(conn: sqlite3.Connection) -> Iterator[None]:
    """Switch SQLite's per-row foreign-key enforcement off around a gc transaction (it must
    be switched outside one). Removing a frame would otherwise scan every generation for
    references, since ``generations.frame_id`` has no index: quadratic in the store size.
    The sweep checks the references itself, all at once (``check_references``)."""
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


def check_references(conn: sqlite3.Connection) -> None:
    """Inside the sweep's transaction: a ``StoreError`` (and so a rollback) when a head or
    history row would be left naming a missing row."""
    broken = [
        row
        for table in ("heads", "generations")
        for row in conn.execute(f"PRAGMA foreign_key_check({table})").fetchall()
    ]
    if broken:
        table, rowid, parent, _ = broken[0]
        where = f"{table} row {rowid}" if rowid is not None else f"a {table} row"
        raise StoreError(
            f"gc stopped: {len(broken)} rows would be left naming missing rows (first: "
            f"{where} names a missing {parent} row); nothing was removed",
            hint="Run `contextree verify` to see what is damaged in the store.",
        )
