"""Whether what the store says about a file still holds on disk, by a stat alone.

Owns the read path's freshness check: a file's ``lstat`` now against the stat signature the last
scan stored (size, mtime, ctime, inode, device). It never reads or hashes a file and never walks
a directory, so a reader (``get``, a context pack, the MCP server) can say of every frame it
serves whether the file changed since it was scanned, at the cost of one ``lstat`` per file.
A directory is reported as such (checking it would mean walking its subtree). A signature the
scan left "smudged" (mtime 0: the file changed while it was hashed) is compared without its
mtime; its ctime still moves on any write.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from contextree.core.tree import DiskState
from contextree.store.tree import Sig, TreeRows, unpack_sig
from contextree.workspace.fs import stat_sig


def disk_states(root: Path, rows: TreeRows, paths: Iterable[bytes]) -> dict[bytes, DiskState]:
    """The state on disk of each of ``paths`` (workspace-relative, raw) that is in the last
    scan; paths not in it are left out."""
    base = os.fsencode(root)
    return {path: _state(base, path, sig) for path, sig in rows.signatures(paths).items()}


def disk_state(root: Path, path: bytes, sig: Sig | None) -> DiskState:
    """The state on disk of one path whose last-scan signature the caller read already
    (``sig`` None: a directory), e.g. with a whole subtree in one query."""
    return _state(os.fsencode(root), path, sig)


def _state(base: bytes, path: bytes, sig: Sig | None) -> DiskState:
    if sig is None:
        return DiskState.DIRECTORY
    try:
        st = os.lstat(os.path.join(base, path) if path else base)
    except FileNotFoundError:
        return DiskState.MISSING
    except OSError:
        return DiskState.UNKNOWN
    return DiskState.UNCHANGED if _same(st, sig) else DiskState.CHANGED


def _same(st: os.stat_result, sig: Sig) -> bool:
    if not stat.S_ISREG(st.st_mode):
        return False
    if stat_sig(st) == sig:
        return True
    size, mtime_ns, ctime_ns, ino, dev = unpack_sig(sig)
    smudged = mtime_ns == 0
    return smudged and (st.st_size, st.st_ctime_ns, st.st_ino, st.st_dev) == (
        size,
        ctime_ns,
        ino,
        dev,
    )
