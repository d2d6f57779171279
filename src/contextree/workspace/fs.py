"""The filesystem seam used by the walker and the hasher, and the stat signature of a file.

Owns every call that reads the workspace from disk, so tests can inject failures (a
``PermissionError`` on one directory, a file that changes between two reads) without relying on
``chmod`` (which denies nothing to root). Paths are raw bytes, so names that are not valid UTF-8
survive unchanged. Also owns taking a file's stat signature (what must stay equal for the file
to count as unchanged; its packed format belongs to the store, which keeps it).
"""

from __future__ import annotations

import functools
import os
import stat
import struct
from collections.abc import Callable, Iterator
from typing import NamedTuple

from contextree.store.tree import SIG_BYTES, Sig, pack_sig, unpack_sig

__all__ = [
    "REAL_FS",
    "SIG_BYTES",
    "FileSystem",
    "Sig",
    "regular_sig",
    "sig_size_mtime",
    "smudged",
    "stat_sig",
]

_SIZE_MTIME = struct.Struct("<qq")  # the first two fields of a packed signature


def stat_sig(st: os.stat_result) -> Sig:
    """A file's stat signature (the format is the store's: see ``store.tree.pack_sig``)."""
    return pack_sig(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def regular_sig(st: os.stat_result) -> Sig:
    """The signature of a file that must still be a regular file (``IsADirectoryError`` if it
    is not: a directory, FIFO or device took its place while it was being read)."""
    if not stat.S_ISREG(st.st_mode):
        raise IsADirectoryError(0, "no longer a regular file")
    return stat_sig(st)


def sig_size_mtime(sig: Sig) -> tuple[int, int]:
    """(size, mtime_ns) of a signature, without unpacking the rest."""
    size, mtime = _SIZE_MTIME.unpack_from(sig)
    return size, mtime


def smudged(sig: Sig) -> Sig:
    """The signature with mtime 0, which no later stat matches: the file will be read again."""
    size, _, ctime_ns, ino, dev = unpack_sig(sig)
    return pack_sig(size, 0, ctime_ns, ino, dev)


# O_NONBLOCK: if a FIFO took a file's place since the walk, opening it must not wait for a
# writer (reading then fails or ends at once, and fstat shows it is no regular file).
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
)


class FileOps(NamedTuple):
    """The four calls that read a file, as plain callables (see ``FileSystem.file_ops``)."""

    open_fd: Callable[[bytes], int]
    read_chunk: Callable[[int, int], bytes]
    fstat: Callable[[int], os.stat_result]
    close: Callable[[int], None]


class FileSystem:
    """Real filesystem access. Subclass in tests to inject faults."""

    @functools.cached_property
    def file_ops(self) -> FileOps:
        """``open_fd``, ``read_chunk``, ``fstat`` and ``close``: the ``os`` functions themselves
        where a subclass does not override them (hashing calls them 400k times per 100k
        files, and a method frame around each costs more than some of the calls)."""
        cls = type(self)
        base = FileSystem
        return FileOps(
            open_fd=functools.partial(os.open, flags=_OPEN_FLAGS)
            if cls.open_fd is base.open_fd
            else self.open_fd,
            read_chunk=os.read if cls.read_chunk is base.read_chunk else self.read_chunk,
            fstat=os.fstat if cls.fstat is base.fstat else self.fstat,
            close=os.close if cls.close is base.close else self.close,
        )

    def scandir(self, path: bytes) -> Iterator[os.DirEntry[bytes]]:
        with os.scandir(path) as it:
            yield from it

    def read_small(self, path: bytes) -> bytes:
        with open(path, "rb") as handle:
            return handle.read()

    def open_fd(self, path: bytes) -> int:
        return os.open(path, _OPEN_FLAGS)

    def read_chunk(self, fd: int, size: int) -> bytes:
        return os.read(fd, size)

    def fstat(self, fd: int) -> os.stat_result:
        return os.fstat(fd)

    def close(self, fd: int) -> None:
        os.close(fd)

    def readlink(self, path: bytes) -> bytes:
        return os.readlink(path)

    def exists(self, path: bytes) -> bool:
        return os.path.lexists(path)


REAL_FS = FileSystem()
