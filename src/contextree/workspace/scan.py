"""Scanning: turn the workspace on disk into the Merkle tree in the store, incrementally.

Owns one scan from start to commit: the walk, the hasher, the write transaction, the scan row
and the ``ScanReport``. What changed (which files must be read: new, stat signature changed, or
"racy": modified so close to the previous scan that an equal signature proves nothing; file
ids; directory ids recomputed only along changed paths; the changed rows) is computed by
``scan_delta.TreeDelta`` as the walk and the hashes come; only those rows are written, all in
one transaction. It is a pipeline: files go to the hasher (worker processes when it pays) as
each directory is listed, and rows are written while later files are still being hashed. A
first scan (nothing stored) does not stat files during the walk and gives each directory its id
as soon as its children have theirs. The caller holds the workspace writer lock.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from contextree.core.ids import file_node_id
from contextree.core.tree import display_path
from contextree.store.db import Store
from contextree.store.tree import ScanRow, TreeRows
from contextree.workspace.fs import REAL_FS, FileSystem
from contextree.workspace.hashing import ChunkHook, Hasher
from contextree.workspace.layout import O_NOFOLLOW, symlink_refused
from contextree.workspace.scan_delta import TreeDelta
from contextree.workspace.walk import FilesHook, Walker, WalkResult

#: Files modified within this window before the previous scan started are re-read even when
#: their stat signature is unchanged (coarse filesystem timestamps, as git's racy-clean rule).
RACY_WINDOW_NS = 2_000_000_000
#: How many examples of each kind of oddity the stored report keeps.
REPORT_CAP = 200
#: SQLite page cache while a scan writes into a non-empty tree: the entry indexes of ~100k
#: files fit, so updating them at random places does not spill pages to the WAL and read them
#: back. (Into an empty tree the indexes are built at the end, and the default cache is enough.)
WRITE_CACHE_KIB = 16 << 10

#: Computed by whichever process hashed a file, next to its content hash.
FILE_NODE_ID = f"{file_node_id.__module__}:{file_node_id.__name__}"

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

#: progress(phase, done, total); total is 0 while unknown.
ScanProgress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOptions:
    hash_processes: int = 1
    extra_ignores: tuple[bytes, ...] = ()
    skip_virtualenvs: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanReport:
    """What one scan found and changed."""

    scan_id: int
    root_id: bytes
    files: int
    dirs: int
    total_bytes: int
    hashed: int
    added: tuple[bytes, ...]
    modified: tuple[bytes, ...]
    removed: tuple[bytes, ...]
    rows_written: int
    duration_s: float
    walk: WalkResult = field(repr=False)
    unstable: tuple[bytes, ...] = ()
    unreadable: tuple[tuple[bytes, str], ...] = ()

    def issues(self) -> dict[str, Any]:
        """The odd things this scan saw, capped, as JSON-ready data."""
        walk = self.walk
        return {
            "symlinks": [
                {"path": display_path(p), "target": os.fsdecode(t)}
                for p, t in walk.symlinks[:REPORT_CAP]
            ],
            "symlink_count": len(walk.symlinks),
            "special_files": [
                {"path": display_path(p), "kind": k} for p, k in walk.specials[:REPORT_CAP]
            ],
            "special_file_count": len(walk.specials),
            "unreadable": [
                {"path": display_path(p), "error": e} for p, e in self.unreadable[:REPORT_CAP]
            ],
            "unreadable_count": len(self.unreadable),
            "unstable": [display_path(p) for p in self.unstable[:REPORT_CAP]],
            "nfc_twins": [
                [display_path(p) for p in twins] for twins in walk.nfc_twins[:REPORT_CAP]
            ],
            "virtualenvs": [display_path(p) for p in walk.virtualenvs[:REPORT_CAP]],
            "non_utf8_names": [display_path(p) for p in walk.non_utf8[:REPORT_CAP]],
        }


def filesystem_now(data_dir: Path) -> int:
    """The filesystem's own clock, read by touching a stamp file (it may differ from ours).
    The stamp is never touched through a symlink (that is refused); our clock stands in when
    it cannot be written."""
    stamp = data_dir / "scan-stamp"
    try:
        fd = os.open(stamp, os.O_WRONLY | os.O_CREAT | O_NOFOLLOW | _CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise symlink_refused(stamp) from exc
        return time.time_ns()
    try:
        os.utime(fd)
        return os.fstat(fd).st_mtime_ns
    except OSError:
        return time.time_ns()
    finally:
        os.close(fd)


class Scanner:
    """Scans one workspace into one store."""

    def __init__(
        self,
        root: Path,
        store: Store,
        *,
        options: ScanOptions | None = None,
        fs: FileSystem = REAL_FS,
        on_chunk: ChunkHook | None = None,
        progress: ScanProgress | None = None,
    ) -> None:
        self.root = root
        self.store = store
        self.rows = TreeRows(store.conn)
        self.options = options or ScanOptions()
        self.fs = fs
        self.on_chunk = on_chunk
        self.progress = progress

    def _tick(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)

    def scan(self, *, commit: bool = True) -> ScanReport:
        """Scan and write the changes; with ``commit=False`` only report what would change."""
        started = time.perf_counter()
        started_at_ns = time.time_ns()
        fs_time_ns = filesystem_now(self.store.path.parent) if commit else started_at_ns
        last = self.rows.last_scan()
        racy_after = (last.fs_time_ns - RACY_WINDOW_NS) if last else -1

        self._tick("walking", 0, 0)
        with Hasher(
            root=os.fsencode(self.root) + b"/",
            processes=self.options.hash_processes,
            derive=FILE_NODE_ID,
            fs=self.fs,
            on_chunk=self.on_chunk,
        ) as hasher:
            delta = TreeDelta(self.rows.scan_index(), racy_after, hasher)
            # With nothing stored to compare with, the walk need not stat files.
            delta.walk = self._walk(delta.walked, stat_files=bool(delta.prev))
            delta.start_directories()
            with self._writing(commit) as scan_id:
                rows = self.rows if commit else None
                self._hash(delta, rows, scan_id)
                report = self._finish(delta, rows, scan_id, started_at_ns, fs_time_ns)
        duration = time.perf_counter() - started
        if commit:
            self._tick("done", report.files, report.files)
        return replace(report, scan_id=scan_id if commit else 0, duration_s=duration)

    def _finish(
        self,
        delta: TreeDelta,
        rows: TreeRows | None,
        scan_id: int,
        started_at_ns: int,
        fs_time_ns: int,
    ) -> ScanReport:
        """Directory ids, the last rows, deletions and the scan row; the report."""
        delta.directories()
        delta.flush(rows, scan_id)
        deletes = delta.deletes()
        walk = delta.walk
        report = ScanReport(
            scan_id=scan_id,
            root_id=delta.ids[b""],
            files=len(walk.files) - len(delta.failed),
            dirs=len(walk.dirs),
            total_bytes=delta.total_bytes,
            hashed=len(delta.to_hash),
            added=tuple(sorted(delta.added)),
            modified=tuple(sorted(delta.modified)),
            removed=tuple(sorted(deletes)),
            rows_written=delta.rows_written + len(deletes),
            duration_s=0.0,
            walk=walk,
            unstable=tuple(sorted(delta.unstable)),
            unreadable=tuple(walk.unreadable) + tuple(sorted(delta.failed.items())),
        )
        if rows is not None:
            rows.delete_entries(deletes)
            rows.insert_scan(self._scan_row(report, started_at_ns, fs_time_ns))
        return report

    def _walk(self, on_files: FilesHook, *, stat_files: bool) -> WalkResult:
        return Walker(
            os.fsencode(self.root),
            fs=self.fs,
            extra_ignores=self.options.extra_ignores,
            skip_virtualenvs=self.options.skip_virtualenvs,
            on_files=on_files,
            stat_files=stat_files,
        ).walk()

    @contextlib.contextmanager
    def _writing(self, commit: bool) -> Iterator[int]:
        """The write transaction and the id of the scan it writes; a preview writes nothing
        and gets 0. Into an empty tree, rows go in without secondary indexes (built once at
        the end); otherwise with a page cache that holds them."""
        if not commit:
            yield 0
            return
        with (
            self.store.transaction(),
            self.rows.bulk_load() as bulk,
            contextlib.nullcontext() if bulk else self.store.cache_size(WRITE_CACHE_KIB),
        ):
            yield self.rows.next_scan_id()

    def _hash(self, delta: TreeDelta, rows: TreeRows | None, scan_id: int) -> None:
        """Take the outcomes as they come, writing each batch's rows meanwhile."""
        to_hash = delta.to_hash
        total = len(to_hash)
        done = 0
        for outcomes in delta.hasher.outcomes():
            for path, outcome in zip(to_hash[done : done + len(outcomes)], outcomes, strict=True):
                delta.file_hashed(path, outcome)
            done += len(outcomes)
            delta.flush(rows, scan_id)
            self._tick("hashing", done, total)

    @staticmethod
    def _scan_row(report: ScanReport, started_at_ns: int, fs_time_ns: int) -> ScanRow:
        return ScanRow(
            scan_id=report.scan_id,
            started_at_ns=started_at_ns,
            fs_time_ns=fs_time_ns,
            finished_at_ns=time.time_ns(),
            root_id=report.root_id,
            files=report.files,
            dirs=report.dirs,
            total_bytes=report.total_bytes,
            added=len(report.added),
            modified=len(report.modified),
            removed=len(report.removed),
            hashed=report.hashed,
            report=report.issues(),
        )
