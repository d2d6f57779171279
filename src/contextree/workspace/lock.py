"""The workspace writer lock: one writer at a time, released by the kernel if the holder dies.

Owns the only platform-specific calls in contextree (``fcntl.flock`` on POSIX, ``msvcrt.locking``
on Windows). The lock is an advisory lock on ``.contextree/lock``; its holder writes its pid into
the file so a refused writer can say who holds it. The kernel drops the lock when the holder's
file descriptor closes, including on SIGKILL, so a crashed writer never leaves the workspace
locked. Readers never take this lock. The file is never opened through a symlink (a cloned
repository could point it at another file), and a directory contextree cannot write is a clear
``WorkspaceWriteError``, not an ``OSError``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from contextree.errors import WorkspaceBusyError
from contextree.workspace.layout import O_NOFOLLOW, symlink_refused, write_refused

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

if sys.platform == "win32":  # pragma: no cover - exercised only on Windows
    import msvcrt

    def _try_lock(fd: int, *, wait: bool) -> bool:
        mode = msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK
        try:
            msvcrt.locking(fd, mode, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int, *, wait: bool) -> bool:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            return False
        return True


def read_holder_pid(lock_path: Path) -> int | None:
    """The pid the current (or last) holder wrote, if readable."""
    try:
        text = lock_path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _say_waiting(pid: int | None) -> None:
    who = f"pid {pid}" if pid is not None else "another process"
    sys.stderr.write(f"waiting for {who} to release the workspace...\n")
    sys.stderr.flush()


def _open_lock_file(lock_path: Path) -> int:
    """Open (creating) the lock file, never through a symlink (the file or its directory): a
    read-only or denied directory, or a symlink, is a ``WorkspaceWriteError`` saying so."""
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        if lock_path.parent.is_symlink():
            raise symlink_refused(lock_path.parent)
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | O_NOFOLLOW | _CLOEXEC, 0o644)
    except OSError as exc:
        raise write_refused(lock_path, exc) from exc


@contextlib.contextmanager
def writer_lock(
    lock_path: Path,
    *,
    wait: bool = False,
    on_wait: Callable[[int | None], None] = _say_waiting,
) -> Iterator[None]:
    """Hold the workspace writer lock, or raise ``WorkspaceBusyError`` at once. With ``wait``,
    block until it is free instead, after telling ``on_wait`` who holds it."""
    fd = _open_lock_file(lock_path)
    try:
        if not _try_lock(fd, wait=False):
            holder = read_holder_pid(lock_path)
            if not wait:
                raise WorkspaceBusyError(holder, str(lock_path))
            on_wait(holder)
            _try_lock(fd, wait=True)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        os.close(fd)
