"""Row access for the scanned tree: ``entries`` (the current tree by path), ``nodes`` and ``scans``.

Owns reading and writing those three tables; nothing else issues SQL against them. Writing a
scan is one call (one transaction, made by the caller): the scan row, the changed entry rows,
the deleted paths and the new node ids. Values are plain tuples on the hot path (100k rows).
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: (kind, node_id, content_hash, size, mtime_ns, ctime_ns, ino, dev); files have all of them,
#: directories only kind and node_id.
EntryRow = tuple[
    str, bytes, bytes | None, int | None, int | None, int | None, int | None, int | None
]


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryWrite:
    path: bytes
    kind: str
    node_id: bytes
    content_hash: bytes | None = None
    size: int | None = None
    mtime_ns: int | None = None
    ctime_ns: int | None = None
    ino: int | None = None
    dev: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanRow:
    scan_id: int
    started_at_ns: int
    fs_time_ns: int
    finished_at_ns: int
    root_id: bytes
    files: int
    dirs: int
    total_bytes: int
    added: int
    modified: int
    removed: int
    hashed: int
    report: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One node of the current tree."""

    path: bytes
    kind: str
    node_id: bytes
    size: int | None
    content_hash: bytes | None


def lookup_key(rel_path: bytes) -> str:
    """The key typed paths are matched on: NFC of the decoded path."""
    return unicodedata.normalize("NFC", rel_path.decode("utf-8", "backslashreplace"))


def _parent(path: bytes) -> bytes | None:
    if not path:
        return None
    cut = path.rfind(b"/")
    return b"" if cut < 0 else path[:cut]


class TreeRows:
    """Queries and writes for the tree tables over one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def load_entries(self) -> dict[bytes, EntryRow]:
        rows = self.conn.execute(
            "SELECT path, kind, node_id, content_hash, size, mtime_ns, ctime_ns, ino, dev "
            "FROM entries"
        )
        return {row[0]: row[1:] for row in rows}

    def last_scan(self) -> ScanRow | None:
        row = self.conn.execute(
            "SELECT scan_id, started_at_ns, fs_time_ns, finished_at_ns, root_id, files, dirs, "
            "total_bytes, added, modified, removed, hashed, report "
            "FROM scans ORDER BY scan_id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return ScanRow(
            scan_id=row[0],
            started_at_ns=row[1],
            fs_time_ns=row[2],
            finished_at_ns=row[3],
            root_id=row[4],
            files=row[5],
            dirs=row[6],
            total_bytes=row[7],
            added=row[8],
            modified=row[9],
            removed=row[10],
            hashed=row[11],
            report=json.loads(row[12]),
        )

    def insert_scan(self, row: ScanRow) -> int:
        cur = self.conn.execute(
            "INSERT INTO scans (started_at_ns, fs_time_ns, finished_at_ns, root_id, files, dirs, "
            "total_bytes, added, modified, removed, hashed, report) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.started_at_ns,
                row.fs_time_ns,
                row.finished_at_ns,
                row.root_id,
                row.files,
                row.dirs,
                row.total_bytes,
                row.added,
                row.modified,
                row.removed,
                row.hashed,
                json.dumps(row.report, sort_keys=True),
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def apply_changes(
        self, *, scan_id: int, upserts: Sequence[EntryWrite], deletes: Iterable[bytes]
    ) -> None:
        """Write changed entries, delete vanished paths, record new node ids."""
        self.conn.executemany("DELETE FROM entries WHERE path = ?", ((path,) for path in deletes))
        self.conn.executemany(
            "INSERT OR REPLACE INTO entries (path, parent, lookup, kind, node_id, content_hash, "
            "size, mtime_ns, ctime_ns, ino, dev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    e.path,
                    _parent(e.path),
                    lookup_key(e.path),
                    e.kind,
                    e.node_id,
                    e.content_hash,
                    e.size,
                    e.mtime_ns,
                    e.ctime_ns,
                    e.ino,
                    e.dev,
                )
                for e in upserts
            ),
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO nodes (node_id, kind, path, size, content_hash, first_scan) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((e.node_id, e.kind, e.path, e.size, e.content_hash, scan_id) for e in upserts),
        )

    def entry(self, path: bytes) -> Entry | None:
        row = self.conn.execute(
            "SELECT path, kind, node_id, size, content_hash FROM entries WHERE path = ?", (path,)
        ).fetchone()
        return (
            None
            if row is None
            else Entry(path=row[0], kind=row[1], node_id=row[2], size=row[3], content_hash=row[4])
        )

    def entries_by_lookup(self, key: str) -> list[Entry]:
        rows = self.conn.execute(
            "SELECT path, kind, node_id, size, content_hash FROM entries WHERE lookup = ?", (key,)
        ).fetchall()
        return [
            Entry(path=r[0], kind=r[1], node_id=r[2], size=r[3], content_hash=r[4]) for r in rows
        ]

    def entry_by_node(self, node_id: bytes) -> Entry | None:
        row = self.conn.execute(
            "SELECT path, kind, node_id, size, content_hash FROM entries WHERE node_id = ? LIMIT 1",
            (node_id,),
        ).fetchone()
        return (
            None
            if row is None
            else Entry(path=row[0], kind=row[1], node_id=row[2], size=row[3], content_hash=row[4])
        )

    def children(self, path: bytes) -> list[Entry]:
        """Direct children of a directory, sorted by raw name bytes."""
        rows = self.conn.execute(
            "SELECT path, kind, node_id, size, content_hash FROM entries WHERE parent = ? "
            "ORDER BY path",
            (path,),
        ).fetchall()
        return [
            Entry(path=r[0], kind=r[1], node_id=r[2], size=r[3], content_hash=r[4]) for r in rows
        ]

    def subtree(self, path: bytes) -> list[Entry]:
        """The entry at ``path`` and every entry below it (all of them for the root)."""
        if not path:
            rows = self.conn.execute(
                "SELECT path, kind, node_id, size, content_hash FROM entries"
            ).fetchall()
        else:
            # Children of p sort between p + b"/" and p + b"0" ("0" is the byte after "/").
            rows = self.conn.execute(
                "SELECT path, kind, node_id, size, content_hash FROM entries "
                "WHERE path = ? OR (path >= ? AND path < ?)",
                (path, path + b"/", path + b"0"),
            ).fetchall()
        return [
            Entry(path=r[0], kind=r[1], node_id=r[2], size=r[3], content_hash=r[4]) for r in rows
        ]

    def counts(self) -> tuple[int, int]:
        """(files, directories) in the current tree."""
        rows = dict(self.conn.execute("SELECT kind, COUNT(*) FROM entries GROUP BY kind"))
        return int(rows.get("file", 0)), int(rows.get("dir", 0))
