"""One scan's tree delta: the node ids of the new tree and the rows that change.

Owns the incremental part of a scan, fed by the walk and the hasher as they go: which files a
stat signature proves unchanged (unless "racy") and which must be hashed, each file's row once
its hash comes, directory ids recomputed only along changed paths (or, on a first scan, as soon
as a directory's children all have theirs), the rows to write and the paths to delete. It
neither walks, hashes nor opens a transaction: ``scan`` drives it and writes what it built.
"""

from __future__ import annotations

from contextree.core.ids import NodeKind, dir_node_id
from contextree.core.tree import parent_path
from contextree.store.tree import IndexRow, NewRow, TreeRows
from contextree.workspace.fs import Sig, sig_size_mtime
from contextree.workspace.hashing import Hasher, Outcome
from contextree.workspace.walk import WalkResult


class TreeDelta:
    """Node ids of the new tree and the rows that change, built from the walk as hashes come.

    ``prev`` holds the stored entries as ``(path, node_id, signature)``; the signature is None
    for directories only. New and replaced rows are kept apart until written, because only a
    replaced row can hand a node id over to ``nodes``.
    """

    def __init__(self, prev: dict[bytes, IndexRow], racy_after_ns: int, hasher: Hasher) -> None:
        self.prev = prev
        self.racy_after_ns = racy_after_ns
        self.hasher = hasher
        self.walk = WalkResult()
        self.ids: dict[bytes, bytes] = {}
        self.to_hash: list[bytes] = []
        self.new_rows: list[NewRow] = []
        self.replaced_rows: list[NewRow] = []
        self.rows_written = 0
        self.added: list[bytes] = []
        self.modified: list[bytes] = []
        self.unstable: list[bytes] = []
        self.failed: dict[bytes, str] = {}
        self.dirty: set[bytes] = set()
        self.total_bytes = 0
        #: First scan only: per directory, children whose ids are not known yet.
        self.waiting: dict[bytes, int] | None = None

    def walked(self, files: list[tuple[bytes, Sig | None, int]]) -> None:
        """For the files of one listed directory: take the ids of those whose signature proves
        them unchanged, and hand the others to the hasher (with the walk's signature)."""
        prev = self.prev
        if not prev:  # a first scan: every file is new
            self.to_hash.extend(path for path, _, _ in files)
            self.hasher.add(files)
            return
        ids = self.ids
        racy_after_ns = self.racy_after_ns
        send: list[tuple[bytes, Sig | None, int]] = []
        for item in files:
            path, sig, size = item
            old = prev.get(path)
            if (
                old is not None
                and sig is not None
                and old[2] == sig
                and sig_size_mtime(sig)[1] < racy_after_ns
            ):
                ids[path] = old[1]
                self.total_bytes += size
            else:
                send.append(item)
                self.to_hash.append(path)
        if send:
            self.hasher.add(send)

    def start_directories(self) -> None:
        """After the walk of a first scan (nothing stored: every directory is new), let each
        directory take its id as soon as all its children have theirs, while later files are
        still being hashed, rather than all at the end."""
        if self.prev:
            return
        self.waiting = {path: len(kids) for path, kids in self.walk.dirs.items()}
        for path in [path for path, left in self.waiting.items() if left == 0]:
            self._directory_done(path)

    def _child_done(self, path: bytes) -> None:
        if self.waiting is None:
            return
        parent = parent_path(path)
        left = self.waiting[parent] - 1
        self.waiting[parent] = left
        if left == 0:
            self._directory_done(parent)

    def _directory_done(self, path: bytes) -> None:
        self._new_directory(path)
        if path:
            self._child_done(path)

    def _new_directory(self, path: bytes) -> None:
        """The id of directory ``path`` from its children's (failed files are not nodes)."""
        failed = self.failed
        ids = self.ids
        cut = len(path) + 1 if path else 0
        node_id = dir_node_id(
            path, [(c[cut:], ids[c]) for c in self.walk.dirs[path] if c not in failed]
        )
        ids[path] = node_id
        old = self.prev.get(path)
        if old is None or old[2] is not None or old[1] != node_id:
            if path:
                self.dirty.add(parent_path(path))
            row: NewRow = (path, NodeKind.DIR, node_id, None, None, None)
            if old is None:
                self.added.append(path)
                self.new_rows.append(row)
            else:
                self.replaced_rows.append(row)

    def file_hashed(self, path: bytes, outcome: Outcome) -> None:
        content_hash, sig, error, unstable, node_id = outcome
        if content_hash is None or sig is None or node_id is None:
            self.failed[path] = error or "unreadable"
            self.dirty.add(parent_path(path))
            self._child_done(path)
            return
        if unstable:
            self.unstable.append(path)
        self.ids[path] = node_id
        size = sig_size_mtime(sig)[0]
        self.total_bytes += size
        row: NewRow = (path, NodeKind.FILE, node_id, size, content_hash, sig)
        old = self.prev.get(path)
        if old is None:
            self.added.append(path)
            self.dirty.add(parent_path(path))
            self.new_rows.append(row)
        elif old[1] != node_id:  # the same path with another content (or a directory before)
            self.modified.append(path)
            self.dirty.add(parent_path(path))
            self.replaced_rows.append(row)
        elif old[2] != sig:
            self.replaced_rows.append(row)  # same content, new signature (touched)
        self._child_done(path)

    def directories(self) -> None:
        """Ids of the directories that have none yet: reused where nothing below changed."""
        walk = self.walk
        prev = self.prev
        ids = self.ids
        dirty = self.dirty
        for path in prev:
            if path and path not in walk.files and path not in walk.dirs:
                dirty.add(parent_path(path))
        # Deepest first, so every child's id exists before its parent's is computed.
        for path in sorted(walk.dirs, key=_depth, reverse=True):
            if path in ids:
                continue  # a first scan's, computed as its children came in
            old = prev.get(path)
            if old is not None and old[2] is None and path not in dirty:
                ids[path] = old[1]
            else:
                self._new_directory(path)

    def deletes(self) -> list[bytes]:
        return [p for p in self.prev if p not in self.ids]

    def flush(self, rows: TreeRows | None, scan_id: int) -> None:
        """Write the rows built so far (or, previewing, only count them)."""
        for batch, replacing in ((self.new_rows, False), (self.replaced_rows, True)):
            if batch:
                if rows is not None:
                    rows.write_entries(scan_id=scan_id, rows=batch, replacing=replacing)
                self.rows_written += len(batch)
                batch.clear()


def _depth(path: bytes) -> int:
    return path.count(b"/") + 1 if path else 0
