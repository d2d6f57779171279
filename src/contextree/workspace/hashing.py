"""Hashing file contents with BLAKE3, in bounded memory, noticing files that change meanwhile.

Owns reading file bytes for the scan. A file is read in chunks (memory stays at one chunk
whatever its size); its stat signature is taken from the open descriptor before and after the
read, and if size, mtime or ctime moved (or fewer/more bytes arrived than the size says), the
file was modified while hashed and is read again, up to a few attempts, then reported as
unstable. Many small files can be hashed in worker processes (not threads: the work is
interpreter-bound). Nothing here knows about the store or the Merkle tree.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import blake3

from contextree.workspace.fs import REAL_FS, FileSystem

CHUNK_SIZE = 1 << 20
ATTEMPTS = 3
#: Below this many files (and bytes) a process pool costs more than it saves.
POOL_MIN_FILES = 4096
POOL_MIN_BYTES = 256 << 20
_BATCH = 512

#: Called after each chunk is read: (absolute path, chunk index). A test seam, never used for I/O.
ChunkHook = Callable[[bytes, int], None]
Sig = tuple[int, int, int, int, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hashed:
    """Outcome of hashing one file."""

    path: bytes
    content_hash: bytes | None = None
    sig: Sig | None = None
    error: str | None = None
    #: The file kept changing while it was read; ``content_hash`` is the last read's.
    unstable: bool = False


def _sig(st: os.stat_result) -> Sig:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _read_once(
    fs: FileSystem, path: bytes, chunk_size: int, on_chunk: ChunkHook | None
) -> tuple[bytes, Sig, bool]:
    """One read of the whole file: (hash, signature after reading, whether it stayed still)."""
    fd = fs.open_fd(path)
    try:
        before = fs.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise IsADirectoryError(0, "no longer a regular file")
        hasher = blake3.blake3()
        total = 0
        index = 0
        while True:
            data = fs.read_chunk(fd, chunk_size)
            if not data:
                break
            hasher.update(data)
            total += len(data)
            if on_chunk is not None:
                on_chunk(path, index)
            index += 1
        after = fs.fstat(fd)
    finally:
        fs.close(fd)
    still = _sig(before)[:3] == _sig(after)[:3] and total == after.st_size == before.st_size
    return hasher.digest(), _sig(after), still


def hash_file(
    path: bytes,
    *,
    fs: FileSystem = REAL_FS,
    chunk_size: int = CHUNK_SIZE,
    attempts: int = ATTEMPTS,
    on_chunk: ChunkHook | None = None,
) -> Hashed:
    """Hash one file; never raises for I/O problems (they come back in ``error``)."""
    digest = b""
    sig: Sig | None = None
    for _ in range(attempts):
        try:
            digest, sig, still = _read_once(fs, path, chunk_size, on_chunk)
        except OSError as exc:
            return Hashed(path=path, error=exc.strerror or type(exc).__name__)
        if still:
            return Hashed(path=path, content_hash=digest, sig=sig)
    assert sig is not None
    # Smudge the mtime so the next scan reads the file again instead of trusting this hash.
    smudged = (sig[0], 0, sig[2], sig[3], sig[4])
    return Hashed(path=path, content_hash=digest, sig=smudged, unstable=True)


def _hash_batch(paths: Sequence[bytes]) -> list[Hashed]:
    return [hash_file(p) for p in paths]


def hash_many(
    paths: Sequence[bytes],
    *,
    total_bytes: int,
    processes: int,
    fs: FileSystem = REAL_FS,
    on_chunk: ChunkHook | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Hashed]:
    """Hash many files, in worker processes when it pays; results in input order."""
    use_pool = (
        processes > 1
        and fs is REAL_FS
        and on_chunk is None
        and (len(paths) >= POOL_MIN_FILES or total_bytes >= POOL_MIN_BYTES)
    )
    if not use_pool:
        out = []
        for i, p in enumerate(paths, 1):
            out.append(hash_file(p, fs=fs, on_chunk=on_chunk))
            if progress is not None and i % _BATCH == 0:
                progress(_BATCH)
        if progress is not None:
            progress(len(paths) % _BATCH)
        return out
    batches = [paths[i : i + _BATCH] for i in range(0, len(paths), _BATCH)]
    results: list[Hashed] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as pool:
        for batch_result in pool.map(_hash_batch, batches):
            results.extend(batch_result)
            if progress is not None:
                progress(len(batch_result))
    return results


def default_processes() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
