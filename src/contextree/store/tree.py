"""Row access for the scanned tree: ``entries`` (the current tree by path), ``nodes`` and ``scans``.

Owns reading and writing those three tables (reads come back as ``core.tree.TreeNode``);
nothing else issues SQL against them. A scan writes
inside one transaction (made by the caller): changed entry rows as it goes, then deleted paths
and the scan row. A node id that leaves the tree (its row is replaced by another id, or
deleted) is kept in ``nodes``. Values are plain tuples on the hot path (100k rows).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
import struct
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from contextree.core.ids import NodeKind
from contextree.core.tree import TreeNode

#: (kind, node_id, content_hash, size, mtime_ns, ctime_ns, ino, dev); files have all of them,
#: directories only kind and node_id.
EntryRow = tuple[
    str, bytes, bytes | None, int | None, int | None, int | None, int | None, int | None
]
#: A file's stat signature as stored: (size, mtime_ns, ctime_ns, inode, device) packed into
#: 40 bytes, so "unchanged" is one bytes comparison and 100k of them stay small.
Sig = bytes
_SIG = struct.Struct("<qqqQQ")
SIG_BYTES = _SIG.size


#: pack_sig(size, mtime_ns, ctime_ns, ino, dev) -> Sig (the struct's own method: no Python frame).
pack_sig: Callable[[int, int, int, int, int], Sig] = _SIG.pack


def unpack_sig(sig: Sig) -> tuple[int, int, int, int, int]:
    """(size, mtime_ns, ctime_ns, inode, device) of a packed signature."""
    fields: tuple[int, int, int, int, int] = _SIG.unpack(sig)
    return fields


#: What a scan compares against: (path, node_id, signature); the signature is None for a
#: directory (and only for a directory).
IndexRow = tuple[bytes, bytes, Sig | None]
#: One entry as a scan writes it: (path, kind, node_id, size, content_hash, signature).
NewRow = tuple[bytes, NodeKind, bytes, int | None, bytes | None, Sig | None]


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


def lookup_key(rel_path: bytes) -> str:
    """The key typed paths are matched on: NFC of the decoded path."""
    return unicodedata.normalize("NFC", rel_path.decode("utf-8", "backslashreplace"))


_SELECT_ENTRY = "SELECT path, kind, node_id, size, content_hash FROM entries "
#: Rows per INSERT statement when writing many: one statement for many rows saves a sixth of
#: the time per row that Python's sqlite3 spends binding, stepping and resetting.
_ROWS_PER_INSERT = 32
#: Node ids per ``IN (...)`` lookup (SQLite allows 32,766 parameters; this stays far below).
_IDS_PER_QUERY = 500


_UPSERT_HEAD = (
    "INSERT INTO entries (path, parent, kind, node_id, size, content_hash, sig, lookup, "
    "first_scan) VALUES "
)
_UPSERT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
_UPSERT_TAIL = (
    " ON CONFLICT (path) DO UPDATE SET kind = excluded.kind, node_id = excluded.node_id, "
    "size = excluded.size, content_hash = excluded.content_hash, sig = excluded.sig, "
    "first_scan = CASE WHEN node_id = excluded.node_id THEN first_scan "
    "ELSE excluded.first_scan END"
)


def _upsert(rows: int) -> str:
    return _UPSERT_HEAD + ", ".join([_UPSERT_ROW] * rows) + _UPSERT_TAIL


_UPSERT_ONE = _upsert(1)
_UPSERT_MANY = _upsert(_ROWS_PER_INSERT)
_RETIRE_REPLACED = (
    "INSERT OR IGNORE INTO nodes (node_id, kind, path, first_scan) "
    "SELECT node_id, kind, path, first_scan FROM entries WHERE path = ? AND node_id != ?"
)
_RETIRE_DELETED = (
    "INSERT OR IGNORE INTO nodes (node_id, kind, path, first_scan) "
    "SELECT node_id, kind, path, first_scan FROM entries WHERE path = ?"
)


def _entry_values(rows: Iterable[NewRow], scan_id: int) -> Iterator[tuple[Any, ...]]:
    """The values of ``_UPSERT`` for each row (one generator frame: 100k rows per scan)."""
    for path, kind, node_id, size, content_hash, sig in rows:
        cut = path.rfind(b"/")
        parent = path[:cut] if cut >= 0 else (b"" if path else None)  # the root has none
        # An ASCII path is its own key (decoding and NFC change nothing), so only the others
        # are stored and indexed; ``entries_by_lookup`` finds an ASCII one by its primary key.
        lookup = None if path.isascii() else lookup_key(path)
        yield (path, parent, kind, node_id, size, content_hash, sig, lookup, scan_id)


def _entry(r: Sequence[Any]) -> TreeNode:
    return TreeNode(path=r[0], kind=NodeKind(r[1]), node_id=r[2], size=r[3], content_hash=r[4])


class TreeRows:
    """Queries and writes for the tree tables over one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def load_entries(self) -> dict[bytes, EntryRow]:
        out: dict[bytes, EntryRow] = {}
        for path, kind, node_id, content_hash, size, sig in self.conn.execute(
            "SELECT path, kind, node_id, content_hash, size, sig FROM entries"
        ):
            if sig is None:
                out[path] = (kind, node_id, content_hash, size, None, None, None, None)
            else:
                _, mtime_ns, ctime_ns, ino, dev = unpack_sig(sig)
                out[path] = (kind, node_id, content_hash, size, mtime_ns, ctime_ns, ino, dev)
        return out

    def scan_index(self) -> dict[bytes, IndexRow]:
        """Every entry as a scan compares it, by path (the row tuples themselves: no copies)."""
        return {row[0]: row for row in self.conn.execute("SELECT path, node_id, sig FROM entries")}

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

    def next_scan_id(self) -> int:
        """The id ``insert_scan`` will give the next scan (call it inside the transaction)."""
        row = self.conn.execute("SELECT COALESCE(MAX(scan_id), 0) + 1 FROM scans").fetchone()
        return int(row[0])

    def insert_scan(self, row: ScanRow) -> int:
        """Insert the scan row; with ``row.scan_id`` 0 it gets the next id, else that one."""
        cur = self.conn.execute(
            "INSERT INTO scans (scan_id, started_at_ns, fs_time_ns, finished_at_ns, root_id, "
            "files, dirs, total_bytes, added, modified, removed, hashed, report) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.scan_id or None,
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

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[bool]:
        """Inside a write transaction: if ``entries`` is empty, drop its secondary indexes for
        the block and rebuild them from their stored definitions after it (one sort per index
        instead of ~100k inserts at random places). Yields whether it did; an error inside
        the block must roll the transaction back (the indexes come back with it)."""
        if self.conn.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is not None:
            yield False
            return
        indexes = self.conn.execute(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = 'entries' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            self.conn.execute(f'DROP INDEX "{name}"')
        yield True
        for _, sql in indexes:
            self.conn.execute(sql)

    def write_entries(self, *, scan_id: int, rows: Sequence[NewRow], replacing: bool) -> None:
        """Insert or update ``rows``. With ``replacing`` (some paths may already have a row),
        a node id that a row loses is kept in ``nodes`` first."""
        if replacing:
            self.conn.executemany(_RETIRE_REPLACED, ((r[0], r[2]) for r in rows))
        values = list(_entry_values(rows, scan_id))
        whole = len(values) - len(values) % _ROWS_PER_INSERT
        if whole:
            self.conn.executemany(
                _UPSERT_MANY,
                (
                    tuple(itertools.chain.from_iterable(values[start : start + _ROWS_PER_INSERT]))
                    for start in range(0, whole, _ROWS_PER_INSERT)
                ),
            )
        self.conn.executemany(_UPSERT_ONE, values[whole:])

    def delete_entries(self, paths: Iterable[bytes]) -> None:
        """Delete the rows of ``paths``, keeping their node ids in ``nodes``."""
        paths = list(paths)
        self.conn.executemany(_RETIRE_DELETED, ((p,) for p in paths))
        self.conn.executemany("DELETE FROM entries WHERE path = ?", ((p,) for p in paths))

    def entry(self, path: bytes) -> TreeNode | None:
        row = self.conn.execute(
            _SELECT_ENTRY + "WHERE path = ?",
            (path,),
        ).fetchone()
        return None if row is None else _entry(row)

    def entries_by_lookup(self, key: str) -> list[TreeNode]:
        """Entries whose ``lookup_key`` is ``key``."""
        rows = self.conn.execute(
            _SELECT_ENTRY + "WHERE lookup = ?",
            (key,),
        ).fetchall()
        if key.isascii():
            found = self.entry(key.encode("ascii"))
            if found is not None:
                rows.append((found.path, found.kind, found.node_id, found.size, found.content_hash))
        return sorted((_entry(r) for r in rows), key=lambda e: e.path)

    def entry_by_node(self, node_id: bytes) -> TreeNode | None:
        row = self.conn.execute(
            _SELECT_ENTRY + "WHERE node_id = ? LIMIT 1",
            (node_id,),
        ).fetchone()
        return None if row is None else _entry(row)

    def entries_by_nodes(self, node_ids: Iterable[bytes]) -> dict[bytes, TreeNode]:
        """node id -> entry for those of ``node_ids`` that are in the tree."""
        wanted = list(dict.fromkeys(node_ids))
        out: dict[bytes, TreeNode] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            for row in self.conn.execute(
                _SELECT_ENTRY + f"WHERE node_id IN ({marks})",  # placeholders only
                chunk,
            ):
                out[row[2]] = _entry(row)
        return out

    def signatures(self, paths: Iterable[bytes]) -> dict[bytes, Sig | None]:
        """path -> stored stat signature (None for a directory) of those of ``paths`` that are
        in the tree."""
        wanted = list(dict.fromkeys(paths))
        out: dict[bytes, Sig | None] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT path, sig FROM entries WHERE path IN ({marks})"  # noqa: S608  # only ?s
            out.update(self.conn.execute(sql, chunk))
        return out

    def children(self, path: bytes) -> list[TreeNode]:
        """Direct children of a directory, sorted by raw name bytes."""
        rows = self.conn.execute(
            _SELECT_ENTRY + "WHERE parent = ? ORDER BY path",
            (path,),
        ).fetchall()
        return [_entry(r) for r in rows]

    def subtree_size(self, path: bytes) -> int:
        """How many entries the subtree at ``path`` holds, itself included (one indexed range
        count: no row is read into Python)."""
        if not path:
            return int(self.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
        row = self.conn.execute(
            "SELECT COUNT(*) FROM entries WHERE path = ? OR (path >= ? AND path < ?)",
            (path, path + b"/", path + b"0"),
        ).fetchone()
        return int(row[0])

    def subtree(self, path: bytes) -> list[TreeNode]:
        """The entry at ``path`` and every entry below it (all of them for the root)."""
        if not path:
            rows = self.conn.execute(_SELECT_ENTRY).fetchall()
        else:
            # Children of p sort between p + b"/" and p + b"0" ("0" is the byte after "/").
            rows = self.conn.execute(
                _SELECT_ENTRY + "WHERE path = ? OR (path >= ? AND path < ?)",
                (path, path + b"/", path + b"0"),
            ).fetchall()
        return [_entry(r) for r in rows]

    def counts(self) -> tuple[int, int]:
        """(files, directories) in the current tree."""
        rows = dict(self.conn.execute("SELECT kind, COUNT(*) FROM entries GROUP BY kind"))
        return int(rows.get(NodeKind.FILE, 0)), int(rows.get(NodeKind.DIR, 0))
