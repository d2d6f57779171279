"""Where a workspace keeps its files, and how a workspace root is found.

Owns the names under ``.contextree/`` (store, lock, config, its ``.gitignore``) and the starter
``.contextreeignore``, and how contextree creates files there: never through a symlink (a cloned
repository can ship ``.contextree/store.db -> ~/elsewhere``), never over an existing file, and
with a clear error when the directory cannot be written. A workspace root is the
``--workspace`` directory, or else the nearest directory at or above the current one that
already has ``.contextree/``, or else the current directory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from contextree.errors import WorkspaceError, WorkspaceWriteError

DATA_DIR_NAME = ".contextree"
GITIGNORE_NAME = ".gitignore"
#: ``O_NOFOLLOW`` where the platform has it: opening a symlink then fails with ``ELOOP``.
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DENIED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})

GITIGNORE = """\
# Written by contextree (once; edit freely, it is never rewritten). Runtime files stay out of
# git; config.toml, agents/ and providers/ are meant to be committed.
/store.db
/store.db-*
/lock
/scan-stamp
/*.tmp
"""


@dataclass(frozen=True, slots=True)
class WorkspaceLayout:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / DATA_DIR_NAME

    @property
    def store_path(self) -> Path:
        return self.data_dir / "store.db"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "lock"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "config.toml"

    @property
    def gitignore_path(self) -> Path:
        return self.data_dir / GITIGNORE_NAME

    @property
    def ignore_path(self) -> Path:
        return self.root / ".contextreeignore"

    def ensure_data_dir(self) -> None:
        """Create ``.contextree/`` (and its ``.gitignore``) if missing; refuse a symlink or a
        directory contextree cannot write, with a message saying what to do."""
        try:
            os.mkdir(self.data_dir)
        except FileExistsError:
            pass
        except OSError as exc:
            raise write_refused(self.data_dir, exc) from exc
        check_data_dir(self.data_dir)
        with contextlib.suppress(OSError):  # a read-only directory is reported by the lock
            create_file(self.gitignore_path, GITIGNORE)

    @classmethod
    def at(cls, path: Path) -> WorkspaceLayout:
        """The workspace rooted exactly at ``path``."""
        try:
            root = path.expanduser().resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise WorkspaceError(
                f"workspace directory {path} does not exist",
                hint="Pass an existing directory with --workspace DIR.",
            ) from exc
        if not root.is_dir():
            raise WorkspaceError(
                f"workspace {path} is not a directory",
                hint="Pass a directory with --workspace DIR.",
            )
        return cls(root)

    @classmethod
    def discover(cls, start: Path) -> WorkspaceLayout:
        """The nearest initialised workspace at or above ``start``, else ``start`` itself."""
        here = cls.at(start)
        for candidate in (here.root, *here.root.parents):
            if (candidate / DATA_DIR_NAME).is_dir():
                return cls(candidate)
        return here


def _workspace_of(path: Path) -> Path | None:
    for candidate in (path, path.parent):
        if candidate.name == DATA_DIR_NAME:
            return candidate.parent
    return None


def write_refused(path: Path, exc: OSError) -> WorkspaceWriteError:
    """The error for a failed write at ``path`` in (or of) ``.contextree/``: a symlink
    (``ELOOP`` from ``O_NOFOLLOW``), a denied or read-only directory, or another failure."""
    if exc.errno == errno.ELOOP:
        return symlink_refused(path)
    reason = "permission denied" if exc.errno in _DENIED else (exc.strerror or str(exc)).lower()
    if exc.errno == errno.EROFS:
        reason = "read-only file system"
    ws = _workspace_of(path)
    where = f".contextree/ in {ws}" if ws is not None else str(path)
    return WorkspaceWriteError(
        f"cannot write {where}: {reason}",
        hint=(
            "Commands that write (init, scan, generate, regenerate, gc) need a writable "
            ".contextree/: make the workspace writable for this user or work in a writable "
            "copy. status, get and verify read an existing store without writing."
        ),
    )


def symlink_refused(path: Path) -> WorkspaceWriteError:
    return WorkspaceWriteError(
        f"{path} is a symlink; contextree never reads or writes its files through a symlink",
        hint=(
            "A repository can ship such a link to make contextree write somewhere else. "
            f"Remove {path} (check where it points first) and rerun: contextree creates what "
            "it needs."
        ),
    )


def check_data_dir(path: Path) -> None:
    """Refuse a ``.contextree`` that is a symlink or not a directory (it must exist)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        raise write_refused(path, exc) from exc
    if stat.S_ISLNK(mode):
        raise symlink_refused(path)
    if not stat.S_ISDIR(mode):
        raise WorkspaceWriteError(
            f"{path} is not a directory",
            hint="contextree keeps its store and settings in that directory: move the file "
            "aside and rerun.",
        )


def create_file(path: Path, text: str) -> bool:
    """Write ``text`` to a new file at ``path``; False (nothing written) when anything is
    already there, a symlink included (never followed). Other ``OSError``s propagate."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | _CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return True


STARTER_IGNORE = """\
# Paths contextree should not scan, in .gitignore syntax, on top of your .gitignore files.
# Built in and always skipped: .git, .contextree, node_modules, __pycache__, .venv and any
# directory holding a pyvenv.cfg (a Python virtual environment).
#
# Examples:
# dist/
# *.min.js
# docs/generated/
"""
