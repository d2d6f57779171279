"""Reading and replacing one file of the workspace without ever going through a symlink.

Owns the file I/O of ``contextree export``: reading a file that may exist (``O_NOFOLLOW``, so a
symlink is refused instead of followed: a cloned repository can ship ``AGENTS.md ->
~/.bashrc``), and replacing it atomically (a temporary file in the same directory, created
with ``O_EXCL | O_NOFOLLOW``, written, flushed to disk and renamed over the target, which
replaces a name and never writes through one). A file that is not a regular file, or larger
than the caller's cap, is refused too. Every refusal is a ``WorkspaceWriteError`` saying what
was found and what to do; nothing here decides *which* files may be written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from contextree.errors import WorkspaceWriteError
from contextree.workspace.layout import O_NOFOLLOW

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def symlink_target_refused(path: Path) -> WorkspaceWriteError:
    """The error for a symlink where contextree would read or write a workspace file."""
    return WorkspaceWriteError(
        f"{path} is a symbolic link; contextree never reads or writes a file through a symlink",
        hint="A repository can ship such a link to make contextree write somewhere else. "
        "Check where it points, remove it (or replace it with a regular file) and rerun.",
    )


def read_existing(path: Path, *, cap: int) -> tuple[bytes, int] | None:
    """The bytes and permission bits of the regular file at ``path``, or None when nothing is
    there. Refuses a symlink, anything but a regular file, and a file over ``cap`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | O_NOFOLLOW | _CLOEXEC | _NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise symlink_target_refused(path) from exc
        raise _io_refused(path, "read", exc) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise WorkspaceWriteError(
                f"{path} is not a regular file; contextree writes only regular files",
                hint="Move it aside (or drop its directory from [export] agents_md_dirs) and "
                "rerun.",
            )
        if st.st_size > cap:
            raise WorkspaceWriteError(
                f"{path} is larger than {cap} bytes; contextree export does not rewrite it",
                hint="Shorten the file, or drop its directory from [export] agents_md_dirs.",
            )
        chunks: list[bytes] = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks), stat.S_IMODE(st.st_mode)
    except OSError as exc:
        raise _io_refused(path, "read", exc) from exc
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Make ``path`` hold exactly ``data``, atomically: readers see the old bytes or the new,
    never a mix, and a symlink at ``path`` is refused (the rename would only replace the link,
    but nothing should be written where a link was planted)."""
    if os.path.islink(path):
        raise symlink_target_refused(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.contextree.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | _CLOEXEC
    try:
        fd = os.open(temp, flags, 0o600)
    except OSError as exc:
        raise _io_refused(path, "write", exc) from exc
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise _io_refused(path, "write", exc) from exc


def _io_refused(path: Path, verb: str, exc: OSError) -> WorkspaceWriteError:
    reason = (exc.strerror or type(exc).__name__).lower()
    return WorkspaceWriteError(
        f"cannot {verb} {path}: {reason}",
        hint="Make the file and its directory writable for this user and rerun.",
    )
