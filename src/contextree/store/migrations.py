"""Numbered, append-only schema migrations.

Owns the store's schema. Each migration is a number and a script; the number applied last is
kept in ``PRAGMA user_version`` (the schema version). A migration, once released, is never
edited: a change is a new, higher number. ``migrate`` applies what is missing in one
transaction and refuses a store written by a newer contextree.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from contextree.errors import StoreVersionError
from contextree.store import search_index


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    version: int
    name: str
    script: str
    #: Run after the script, in the same transaction: fills what SQL alone cannot (the search
    #: index decodes frame texts, which SQLite cannot check for UTF-8).
    fill: Callable[[sqlite3.Connection], object] | None = None


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        name="tree",
        script="""
        -- One row per committed scan.
        CREATE TABLE scans (
            scan_id        INTEGER PRIMARY KEY,
            started_at_ns  INTEGER NOT NULL,  -- wall clock, for people
            fs_time_ns     INTEGER NOT NULL,  -- filesystem clock at scan start, for racy entries
            finished_at_ns INTEGER NOT NULL,
            root_id        BLOB NOT NULL,
            files          INTEGER NOT NULL,
            dirs           INTEGER NOT NULL,
            total_bytes    INTEGER NOT NULL,
            added          INTEGER NOT NULL,
            modified       INTEGER NOT NULL,
            removed        INTEGER NOT NULL,
            hashed         INTEGER NOT NULL,
            report         TEXT NOT NULL      -- JSON: symlinks, special files, unreadable, ...
        );

        -- The current tree, by path: what the latest scan saw. An edit rewrites only the rows
        -- on the changed path (the file and its ancestor directories).
        CREATE TABLE entries (
            path          BLOB PRIMARY KEY,   -- raw bytes, '/'-separated, root is b''
            parent        BLOB,               -- NULL for the root
            kind          TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
            node_id       BLOB NOT NULL,
            size          INTEGER,
            content_hash  BLOB,
            sig           BLOB,               -- files: packed (size, mtime_ns, ctime_ns, inode,
                                              -- device), compared whole to skip unchanged files
            lookup        TEXT,               -- NFC of the decoded path, to match typed paths;
                                              -- NULL for an ASCII path (it is its own key)
            first_scan    INTEGER NOT NULL    -- the scan that first saw this node id here
        ) WITHOUT ROWID;
        -- Each index entry also holds the path (the primary key), so children come sorted.
        CREATE INDEX entries_by_parent ON entries (parent);
        CREATE INDEX entries_by_node ON entries (node_id);
        CREATE INDEX entries_by_lookup ON entries (lookup) WHERE lookup IS NOT NULL;

        -- Node ids that left the current tree (an edit or a removal replaced them), so frames
        -- of earlier versions of a path can still be explained. With entries, every node id
        -- any scan produced; gc removes those no frame needs.
        CREATE TABLE nodes (
            node_id       BLOB PRIMARY KEY,
            kind          TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
            path          BLOB NOT NULL,
            first_scan    INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
    ),
    Migration(
        version=2,
        name="frames",
        script="""
        -- Frames: append-only and content-addressed. An identical frame is stored once; the
        -- first writer's metadata and time are kept (each write's own are in generations).
        CREATE TABLE frames (
            frame_id       BLOB PRIMARY KEY,
            schema_version INTEGER NOT NULL,
            basis_kind     TEXT NOT NULL CHECK (basis_kind IN ('node', 'frame', 'both')),
            node_id        BLOB,              -- the basis node; NULL for a frame-only basis
            basis_frame    BLOB,              -- the basis frame; NULL for a node-only basis
            agent_id       TEXT NOT NULL,
            frame_type     TEXT NOT NULL,
            content        BLOB NOT NULL,
            metadata       TEXT NOT NULL,     -- JSON object, keys sorted
            created_at_ns  INTEGER NOT NULL
        );

        -- One row per successful write, so history is per path and survives edits that
        -- change node ids. The digests name artifacts (prompt, context, request body).
        CREATE TABLE generations (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            path           BLOB NOT NULL,
            node_id        BLOB NOT NULL,
            agent_id       TEXT NOT NULL,
            frame_type     TEXT NOT NULL,
            frame_id       BLOB NOT NULL REFERENCES frames (frame_id),
            input_key      TEXT,
            prompt_digest  TEXT,
            context_digest TEXT,
            request_digest TEXT,
            metadata       TEXT NOT NULL,     -- this write's metadata, JSON, keys sorted
            created_at_ns  INTEGER NOT NULL
        );
        CREATE INDEX generations_by_path ON generations (path, agent_id, frame_type, id);

        -- The latest frame per (node, agent, frame type): last write wins. input_key is the
        -- digest of what the head was generated from (NULL: written without lineage, never
        -- current); generation_id is the write that set it.
        CREATE TABLE heads (
            node_id        BLOB NOT NULL,
            agent_id       TEXT NOT NULL,
            frame_type     TEXT NOT NULL,
            frame_id       BLOB NOT NULL REFERENCES frames (frame_id),
            input_key      TEXT,
            generation_id  INTEGER NOT NULL REFERENCES generations (id),
            updated_at_ns  INTEGER NOT NULL,
            PRIMARY KEY (node_id, agent_id, frame_type)
        ) WITHOUT ROWID;

        -- Content-addressed texts behind a frame: prompt, context and provider request body.
        CREATE TABLE artifacts (
            digest         TEXT PRIMARY KEY,
            kind           TEXT NOT NULL CHECK (kind IN ('prompt', 'context', 'request')),
            size           INTEGER NOT NULL,
            body           BLOB NOT NULL
        );
        """,
    ),
    Migration(
        version=3,
        name="run ledger",
        script="""
        -- One row per `generate` run, written as it starts and finished when it ends. A row
        -- still 'running' with no live process is reconciled at the next start.
        CREATE TABLE runs (
            run_id         INTEGER PRIMARY KEY,
            plan_id        TEXT NOT NULL,
            target         BLOB NOT NULL,
            agent_id       TEXT NOT NULL,
            provider       TEXT NOT NULL,
            frame_type     TEXT NOT NULL,
            schedule       TEXT NOT NULL,
            failure_policy TEXT NOT NULL,
            forced         INTEGER NOT NULL,
            pid            INTEGER NOT NULL,
            started_at_ns  INTEGER NOT NULL,
            finished_at_ns INTEGER,
            status         TEXT NOT NULL CHECK (status IN
                               ('running', 'succeeded', 'failed', 'interrupted', 'cancelled')),
            planned        INTEGER NOT NULL,
            skipped        INTEGER NOT NULL DEFAULT 0,
            done           INTEGER NOT NULL DEFAULT 0,
            failed         INTEGER NOT NULL DEFAULT 0,
            blocked        INTEGER NOT NULL DEFAULT 0,
            cancelled      INTEGER NOT NULL DEFAULT 0,
            interrupted    INTEGER NOT NULL DEFAULT 0,
            tokens_in      INTEGER NOT NULL DEFAULT 0,
            tokens_out     INTEGER NOT NULL DEFAULT 0
        );

        -- One row per planned node per run: 'pending' until it ends. Nodes skipped at plan
        -- time (already current) are counted on the run, not listed.
        CREATE TABLE run_nodes (
            run_id         INTEGER NOT NULL REFERENCES runs (run_id),
            path           BLOB NOT NULL,
            node_id        BLOB NOT NULL,
            status         TEXT NOT NULL CHECK (status IN ('pending', 'skipped', 'done',
                               'failed', 'blocked', 'cancelled', 'interrupted')),
            error_class    TEXT,
            message        TEXT,
            attempts       INTEGER NOT NULL DEFAULT 0,
            tokens_in      INTEGER NOT NULL DEFAULT 0,
            tokens_out     INTEGER NOT NULL DEFAULT 0,
            frame_id       BLOB,
            updated_at_ns  INTEGER NOT NULL,
            PRIMARY KEY (run_id, path)
        ) WITHOUT ROWID;
        CREATE INDEX run_nodes_by_status ON run_nodes (run_id, status);
        """,
    ),
    Migration(
        version=4,
        name="meta",
        script="""
        -- Facts about the store itself: store_id, the random id written when contextree
        -- creates the store (see store.provenance).
        CREATE TABLE meta (
            key            TEXT PRIMARY KEY,
            value          TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
    ),
    Migration(
        version=5,
        name="search index",
        # One FTS5 row per head (rowid = the head's generation id): its path and frame text,
        # kept in step with the heads by every statement that moves one (store.search_index).
        # Prefix indexes of 2 and 3 characters make short prefix queries (the last word of
        # every query is one) cheap.
        script="""
        CREATE VIRTUAL TABLE frame_search USING fts5(
            path, body, prefix = '2 3', tokenize = 'unicode61 remove_diacritics 2'
        );
        """,
        fill=search_index.rebuild,
    ),
    Migration(
        version=6,
        name="provider facts",
        # What a provider's server said about a model, asked once per (base URL, model):
        # its context window in tokens (NULL: the server answered but did not say one).
        script="""
        CREATE TABLE IF NOT EXISTS provider_facts (
            base_url       TEXT NOT NULL,
            model          TEXT NOT NULL,
            context_window INTEGER,
            probed_at_ns   INTEGER NOT NULL,
            PRIMARY KEY (base_url, model)
        ) WITHOUT ROWID;
        """,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def current_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to ``LATEST_VERSION``; return the version found before."""
    found = current_version(conn)
    if found > LATEST_VERSION:
        raise StoreVersionError(
            f"the store has schema version {found}, newer than this contextree knows "
            f"({LATEST_VERSION})",
            hint="Upgrade contextree (pip install -U contextree) to use this workspace.",
        )
    if found == LATEST_VERSION:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read inside the lock: another process may have migrated meanwhile.
        found = current_version(conn)
        for migration in MIGRATIONS:
            if migration.version > found:
                for statement in _statements(migration.script):
                    conn.execute(statement)
                if migration.fill is not None:
                    migration.fill(conn)
                conn.execute(f"PRAGMA user_version = {migration.version}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit our transaction)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]
