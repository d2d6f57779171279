"""Scanning: turn the workspace on disk into the Merkle tree in the store, incrementally.

Owns one scan from start to commit: walk, decide which files must be read (new, stat signature
changed, or "racy": modified so close to the previous scan that an equal signature proves
nothing), hash them, compute file ids, recompute directory ids only along changed paths, and
write only the changed rows in one transaction. The caller holds the workspace writer lock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from contextree.store.db import Store
from contextree.store.tree import EntryRow, EntryWrite, ScanRow, TreeRows
from contextree.workspace.fs import REAL_FS, FileSystem
from contextree.workspace.hashing import ChunkHook, Hashed, hash_many
from contextree.workspace.merkle import dir_node_id, file_node_id, join_path, parent_path
from contextree.workspace.walk import StatSig, Walker, WalkResult, display_path

#: Files modified within this window before the previous scan started are re-read even when
#: their stat signature is unchanged (coarse filesystem timestamps, as git's racy-clean rule).
RACY_WINDOW_NS = 2_000_000_000
#: How many examples of each kind of oddity the stored report keeps.
REPORT_CAP = 200

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
    """The filesystem's own clock, read by touching a stamp file (it may differ from ours)."""
    stamp = data_dir / "scan-stamp"
    try:
        stamp.touch()
        os.utime(stamp)
        return stamp.stat().st_mtime_ns
    except OSError:
        return time.time_ns()


class _Plan:
    """Which files to read, given the previous entries and the walk."""

    def __init__(self, prev: dict[bytes, EntryRow], walk: WalkResult, racy_after_ns: int) -> None:
        self.reuse: dict[bytes, EntryRow] = {}
        self.to_hash: list[bytes] = []
        self.bytes_to_hash = 0
        for path, sig in walk.files.items():
            old = prev.get(path)
            if old is not None and old[0] == "file" and old[3:] == sig and sig[1] < racy_after_ns:
                self.reuse[path] = old
            else:
                self.to_hash.append(path)
                self.bytes_to_hash += sig[0]


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
        root_bytes = os.fsencode(self.root)

        self._tick("walking", 0, 0)
        walk = Walker(
            root_bytes,
            fs=self.fs,
            extra_ignores=self.options.extra_ignores,
            skip_virtualenvs=self.options.skip_virtualenvs,
        ).walk()
        prev = self.rows.load_entries()
        plan = _Plan(prev, walk, racy_after)
        hashed = self._hash(root_bytes, plan)
        delta = _Delta(prev, walk, plan.reuse, hashed)
        delta.files()
        delta.directories()
        deletes = [p for p in prev if p not in delta.ids]
        report = ScanReport(
            scan_id=0,
            root_id=delta.ids[b""],
            files=len(walk.files) - len(delta.failed),
            dirs=len(walk.dirs),
            total_bytes=delta.total_bytes,
            hashed=len(plan.to_hash),
            added=tuple(sorted(delta.added)),
            modified=tuple(sorted(delta.modified)),
            removed=tuple(sorted(deletes)),
            rows_written=len(delta.upserts) + len(deletes),
            duration_s=0.0,
            walk=walk,
            unstable=tuple(sorted(delta.unstable)),
            unreadable=tuple(walk.unreadable) + tuple(sorted(delta.failed.items())),
        )
        if not commit:
            return replace(report, duration_s=time.perf_counter() - started)
        with self.store.transaction():
            scan_id = self.rows.insert_scan(
                ScanRow(
                    scan_id=0,
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
            )
            self.rows.apply_changes(scan_id=scan_id, upserts=delta.upserts, deletes=deletes)
        duration = time.perf_counter() - started
        self._tick("done", report.files, report.files)
        return replace(report, scan_id=scan_id, duration_s=duration)

    def _hash(self, root_bytes: bytes, plan: _Plan) -> dict[bytes, Hashed]:
        total = len(plan.to_hash)
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            self._tick("hashing", done, total)

        abs_paths = [root_bytes + b"/" + p for p in plan.to_hash]
        results = hash_many(
            abs_paths,
            total_bytes=plan.bytes_to_hash,
            processes=self.options.hash_processes,
            fs=self.fs,
            on_chunk=self.on_chunk,
            progress=advance,
        )
        return dict(zip(plan.to_hash, results, strict=True))


class _Delta:
    """Node ids for the new tree and the rows that changed, computed from the walk."""

    def __init__(
        self,
        prev: dict[bytes, EntryRow],
        walk: WalkResult,
        reuse: dict[bytes, EntryRow],
        hashed: dict[bytes, Hashed],
    ) -> None:
        self.prev = prev
        self.walk = walk
        self.reuse = reuse
        self.hashed = hashed
        self.ids: dict[bytes, bytes] = {}
        self.upserts: list[EntryWrite] = []
        self.added: list[bytes] = []
        self.modified: list[bytes] = []
        self.unstable: list[bytes] = []
        self.failed: dict[bytes, str] = {}
        self.dirty: set[bytes] = set()
        self.total_bytes = 0

    def files(self) -> None:
        ids = self.ids
        for path, sig in self.walk.files.items():
            old = self.reuse.get(path)
            if old is not None:
                ids[path] = old[1]
                self.total_bytes += sig[0]
                continue
            result = self.hashed[path]
            if result.content_hash is None or result.sig is None:
                self.failed[path] = result.error or "unreadable"
                self.dirty.add(parent_path(path))
                continue
            if result.unstable:
                self.unstable.append(path)
            self._file_changed(path, result.content_hash, result.sig)

    def _file_changed(self, path: bytes, content_hash: bytes, sig: StatSig) -> None:
        old = self.prev.get(path)
        same_content = old is not None and old[0] == "file" and old[2] == content_hash
        node_id = old[1] if same_content and old is not None else file_node_id(path, content_hash)
        self.ids[path] = node_id
        self.total_bytes += sig[0]
        if old is None:
            self.added.append(path)
        elif not same_content:
            self.modified.append(path)
        if old is None or not same_content:
            self.dirty.add(parent_path(path))
        if old is None or old[1:] != (node_id, content_hash, *sig):
            self.upserts.append(
                EntryWrite(
                    path=path,
                    kind="file",
                    node_id=node_id,
                    content_hash=content_hash,
                    size=sig[0],
                    mtime_ns=sig[1],
                    ctime_ns=sig[2],
                    ino=sig[3],
                    dev=sig[4],
                )
            )

    def directories(self) -> None:
        walk = self.walk
        for path in self.prev:
            if path not in walk.files and path not in walk.dirs and path:
                self.dirty.add(parent_path(path))
        failed = self.failed
        # Deepest first, so every child's id exists before its parent's is computed.
        for path in sorted(walk.dirs, key=_depth, reverse=True):
            old = self.prev.get(path)
            if old is not None and old[0] == "dir" and path not in self.dirty:
                self.ids[path] = old[1]
                continue
            children = [
                (name, self.ids[join_path(path, name)])
                for name, _ in walk.dirs[path]
                if join_path(path, name) not in failed
            ]
            node_id = dir_node_id(path, children)
            self.ids[path] = node_id
            if old is None or old[0] != "dir" or old[1] != node_id:
                if old is None:
                    self.added.append(path)
                if path:
                    self.dirty.add(parent_path(path))
                self.upserts.append(EntryWrite(path=path, kind="dir", node_id=node_id))


def _depth(path: bytes) -> int:
    return path.count(b"/") + 1 if path else 0
