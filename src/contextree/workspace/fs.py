"""The filesystem seam used by the walker and the hasher.

Owns every call that reads the workspace from disk, so tests can inject failures (a
``PermissionError`` on one directory, a file that changes between two reads) without relying on
``chmod`` (which denies nothing to root). Paths are raw bytes, so names that are not valid UTF-8
survive unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator


class FileSystem:
    """Real filesystem access. Subclass in tests to inject faults."""

    def scandir(self, path: bytes) -> Iterator[os.DirEntry[bytes]]:
        with os.scandir(path) as it:
            yield from it

    def read_small(self, path: bytes) -> bytes:
        with open(path, "rb") as handle:
            return handle.read()

    def open_fd(self, path: bytes) -> int:
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
        return os.open(path, flags)

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
