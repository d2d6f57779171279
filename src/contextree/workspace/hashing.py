"""Hashing file contents with BLAKE3, in bounded memory, noticing files that change meanwhile.

Owns reading file bytes for the scan. A file is read in chunks (memory stays at one chunk
whatever its size) and at most one byte past the size it had before the read, so a small file
costs one read. Its stat signature is compared before and after the read (before: the walk's
lstat when the caller has one, else an fstat of the open descriptor; after: an fstat), and if
anything moved, or fewer/more bytes arrived than the size says, the file was modified while
hashed and is read again (each later attempt takes its own "before"), up to a few attempts,
then reported as unstable. A file named ``AGENTS.md`` or ``CLAUDE.md`` (``marked_blocks``) of at
most ``MARKED_FILE_CAP`` bytes is read whole and hashed without its marked blocks, so that
``contextree export`` writing them changes no node id; every other file's hash is BLAKE3 over
its bytes exactly. Many files are hashed in worker processes too (``hash_pool``): the
work is interpreter-bound, so threads would not help. Nothing here knows about the store or the
Merkle tree.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

import blake3

from contextree.workspace.fs import (
    REAL_FS,
    FileSystem,
    Sig,
    regular_sig,
    sig_size_mtime,
    smudged,
    stat_sig,
)
from contextree.workspace.hash_pool import Derive, HashPool, Item, Outcome, Read, load_derive
from contextree.workspace.marked_blocks import is_marked_name
from contextree.workspace.marked_hash import hash_marked

CHUNK_SIZE = 1 << 20
ATTEMPTS = 3
#: Worker processes start once this many files (or bytes) wait to be hashed: below that,
#: starting one costs more than it can take over.
POOL_MIN_FILES = 2048
POOL_MIN_BYTES = 64 << 20
#: A batch (one hand-over to a worker, one progress tick) ends at this many files or bytes.
BATCH = 256
BATCH_BYTES = 16 << 20
#: Batches each worker is given ahead of what it has finished.
AHEAD = 4

_open = REAL_FS.file_ops.open_fd

#: Called after each chunk is read: (absolute path, chunk index). A test seam, never used for I/O.
ChunkHook = Callable[[bytes, int], None]

__all__ = [
    "ATTEMPTS",
    "CHUNK_SIZE",
    "ChunkHook",
    "Hashed",
    "Hasher",
    "Item",
    "Outcome",
    "Read",
    "default_processes",
    "hash_file",
    "hash_many",
    "hash_path",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hashed:
    """Outcome of hashing one file."""

    path: bytes
    content_hash: bytes | None = None
    #: The packed stat signature the content hash belongs to (``fs.stat_sig``).
    sig: Sig | None = None
    error: str | None = None
    #: The file kept changing while it was read; ``content_hash`` is the last read's and the
    #: signature's mtime is smudged to 0, so the next scan reads the file again.
    unstable: bool = False


def _read_once(
    fs: FileSystem, path: bytes, before: Sig | None, chunk_size: int, on_chunk: ChunkHook | None
) -> tuple[bytes, Sig, bool]:
    """One read of the file: (hash, signature after reading, whether it stayed still)."""
    ops = fs.file_ops
    fd = ops.open_fd(path)
    try:
        if before is None:
            before = regular_sig(ops.fstat(fd))
        size = sig_size_mtime(before)[0]
        hasher = blake3.blake3()
        total = 0
        index = 0
        while True:
            # One byte more than expected, so a file that grew is noticed without reading on.
            want = min(chunk_size, size - total + 1)
            data = ops.read_chunk(fd, want)
            if not data:
                break
            hasher.update(data)
            total += len(data)
            if on_chunk is not None:
                on_chunk(path, index)
            index += 1
            if total > size or (total == size and len(data) < want):
                break  # it grew (no need to read on), or a short read at the expected end
        after = ops.fstat(fd)
    finally:
        ops.close(fd)
    now = regular_sig(after)
    return hasher.digest(), now, now == before and total == size


def _unchanged_small_file(path: bytes, before: Sig) -> bytes | None:
    """The hash of a file smaller than a chunk, on the real filesystem, that is exactly as
    ``before`` says, in one frame (the common case: it saves a quarter of the time per
    file). None when anything is unusual, including an error: the general path then reads
    the file again and reports what it finds."""
    size = sig_size_mtime(before)[0]
    if size >= CHUNK_SIZE:
        return None
    try:
        fd = _open(path)
        try:
            data = os.read(fd, size + 1)
            st = os.fstat(fd)
        finally:
            os.close(fd)
    except OSError:
        return None
    if len(data) != size or not stat.S_ISREG(st.st_mode) or stat_sig(st) != before:
        return None
    return blake3.blake3(data).digest()


def hash_path(
    path: bytes,
    before: Sig | None = None,
    *,
    fs: FileSystem = REAL_FS,
    chunk_size: int = CHUNK_SIZE,
    attempts: int = ATTEMPTS,
    on_chunk: ChunkHook | None = None,
) -> Read:
    """``hash_file`` in compact form: (content hash, signature, error, unstable)."""
    if is_marked_name(path):
        marked = hash_marked(fs, path, before, attempts)
        if marked is not None:
            return marked
    if before is not None and fs is REAL_FS and on_chunk is None and chunk_size == CHUNK_SIZE:
        quick = _unchanged_small_file(path, before)
        if quick is not None:
            return quick, before, None, False
    digest = b""
    sig = before
    now: Sig | None = None
    for _ in range(attempts):
        try:
            digest, now, still = _read_once(fs, path, sig, chunk_size, on_chunk)
        except OSError as exc:
            return None, None, exc.strerror or type(exc).__name__, False
        if still:
            # Equal signatures: keep the caller's object rather than hold a second copy.
            return digest, (sig if sig is not None else now), None, False
        sig = None
    assert now is not None
    return digest, smudged(now), None, True


def outcome(
    root: bytes,
    path: bytes,
    before: Sig | None,
    derive: Derive | None,
    *,
    fs: FileSystem = REAL_FS,
    on_chunk: ChunkHook | None = None,
) -> Outcome:
    """Hash ``root + path`` and apply ``derive`` to ``path`` and the hash."""
    content_hash, sig, error, unstable = hash_path(root + path, before, fs=fs, on_chunk=on_chunk)
    derived = None if derive is None or content_hash is None else derive(path, content_hash)
    return content_hash, sig, error, unstable, derived


def hash_file(
    path: bytes,
    *,
    before: Sig | None = None,
    fs: FileSystem = REAL_FS,
    chunk_size: int = CHUNK_SIZE,
    attempts: int = ATTEMPTS,
    on_chunk: ChunkHook | None = None,
) -> Hashed:
    """Hash one file; never raises for I/O problems (they come back in ``error``).

    ``before`` is the file's signature from a recent lstat (the walk's): the first read trusts
    it as the "before" signature instead of taking one more.
    """
    content_hash, sig, error, unstable = hash_path(
        path, before, fs=fs, chunk_size=chunk_size, attempts=attempts, on_chunk=on_chunk
    )
    return Hashed(path=path, content_hash=content_hash, sig=sig, error=error, unstable=unstable)


class Hasher:
    """Hashes files handed in while the caller is still finding more; outcomes come back in the
    order the files were handed in, a batch at a time.

    Once enough work has come in, worker processes take batches from the front of the queue
    while the caller goes on (only the real filesystem, with no chunk hook, can be read from
    another process). Whenever the caller would wait for a worker, it hashes a batch from the
    back of the queue itself instead, so no process idles while work is left, and a small job
    never waits for a worker to start. ``derive`` (``"module:function"``, see ``hash_pool``)
    is applied to each path and hash by whichever process hashed the file.
    """

    def __init__(
        self,
        *,
        root: bytes = b"",
        processes: int,
        derive: str | None = None,
        fs: FileSystem = REAL_FS,
        on_chunk: ChunkHook | None = None,
    ) -> None:
        self._root = root
        self._derive_spec = derive
        self._derive = load_derive(derive)
        self._fs = fs
        self._on_chunk = on_chunk
        self._workers = pool_workers(processes)
        self._can_pool = processes > 1 and fs is REAL_FS and on_chunk is None
        self._pool: HashPool | None = None
        self._open: list[Item] = []  # the batch being filled
        self._open_bytes = 0
        self._batches: list[list[Item]] = []
        self._unsent: deque[int] = deque()  # whole batches nobody hashes yet, by index
        self._local: dict[int, list[Outcome]] = {}  # hashed here ahead of their turn
        self._files = 0
        self._bytes = 0
        #: Batches hashed by worker processes and by the caller (for tests and telemetry).
        self.remote_batches = 0
        self.local_batches = 0

    def add(self, items: Sequence[Item]) -> None:
        """Queue ``(path, signature before or None, size in bytes or 0)`` items; the file read
        is ``root + path``."""
        nbytes = sum(item[2] for item in items)
        self._files += len(items)
        self._bytes += nbytes
        if len(self._open) + len(items) < BATCH and self._open_bytes + nbytes < BATCH_BYTES:
            self._open.extend(items)
            self._open_bytes += nbytes
        else:
            for item in items:
                self._open.append(item)
                self._open_bytes += item[2]
                if len(self._open) >= BATCH or self._open_bytes >= BATCH_BYTES:
                    self._close_batch()
        if (
            self._pool is None
            and self._can_pool
            and (self._files >= POOL_MIN_FILES or self._bytes >= POOL_MIN_BYTES)
        ):
            self._pool = HashPool(workers=self._workers, root=self._root, derive=self._derive_spec)
        self._feed()

    def _close_batch(self) -> None:
        if self._open:
            self._unsent.append(len(self._batches))
            self._batches.append(self._open)
            self._open = []
            self._open_bytes = 0

    def _feed(self) -> None:
        """Keep each worker a few batches ahead, from the front of the queue."""
        pool = self._pool
        if pool is None:
            return
        while self._unsent and pool.busy() < AHEAD * self._workers:
            index = self._unsent.popleft()
            pool.send(index, self._batches[index])

    def _hash_here(self, index: int) -> list[Outcome]:
        root, derive, fs, on_chunk = self._root, self._derive, self._fs, self._on_chunk
        self.local_batches += 1
        return [
            outcome(root, path, before, derive, fs=fs, on_chunk=on_chunk)
            for path, before, _ in self._batches[index]
        ]

    def outcomes(self) -> Iterator[list[Outcome]]:
        """After the last ``add``: every outcome, in order, one batch at a time."""
        self._close_batch()
        self._feed()
        pool = self._pool
        for index in range(len(self._batches)):
            if index in self._local:
                done = self._local.pop(index)
            elif pool is not None and pool.holds(index):
                while self._unsent and not pool.ready(index):
                    last = self._unsent.pop()  # the back: far from what the workers take
                    self._local[last] = self._hash_here(last)
                if pool.ready(index) or pool.warm(index):
                    done = pool.receive(index)
                    self.remote_batches += 1
                else:  # never wait for a worker that is still starting up
                    pool.take_back(index)
                    done = self._hash_here(index)
            else:
                self._unsent.remove(index)
                done = self._hash_here(index)
            self._batches[index] = []  # let the paths go
            self._feed()
            yield done

    def close(self) -> None:
        """Stop the workers (they hold nothing worth waiting for)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> Hasher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


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
    out: list[Hashed] = []
    each = total_bytes // max(1, len(paths))
    with Hasher(processes=processes, fs=fs, on_chunk=on_chunk) as hasher:
        hasher.add([(p, None, each) for p in paths])
        for batch in hasher.outcomes():
            for path, (content_hash, sig, error, unstable, _) in zip(
                paths[len(out) : len(out) + len(batch)], batch, strict=True
            ):
                out.append(
                    Hashed(
                        path=path,
                        content_hash=content_hash,
                        sig=sig,
                        error=error,
                        unstable=unstable,
                    )
                )
            if progress is not None:
                progress(len(batch))
    return out


def pool_workers(processes: int) -> int:
    """Worker processes for a scan allowed ``processes`` processes: the main process walks,
    writes the store and hashes whatever the workers have not taken, so it is one of them."""
    return max(1, processes - 1)


def default_processes() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
