"""The SQLite connection: opening, pragmas, transactions and error translation.

Owns how contextree talks to ``.contextree/store.db``: WAL journal, ``synchronous`` level, busy
timeout, explicit transactions, and turning ``sqlite3`` exceptions into ``StoreError`` with a
message that says what to do. Row access per table lives in sibling modules; schema changes
live in ``migrations``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from contextree.errors import DiskFullError, StoreError
from contextree.store import provenance
from contextree.store.migrations import LATEST_VERSION, current_version, migrate

Synchronous = Literal["NORMAL", "FULL"]

BUSY_TIMEOUT_MS = 5000
_SQLITE_FULL = 13


def _is_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF == _SQLITE_FULL) or "disk is full" in str(exc)


_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_DAMAGED_SUFFIX = "-damaged"


def refuse_links(path: Path) -> None:
    """Raise ``StoreError`` when the store, its ``-wal``/``-shm`` or its directory is a
    symlink: SQLite would follow it (a cloned repository can ship ``store.db -> elsewhere``)."""
    for candidate in (path.parent, path, *(Path(str(path) + s) for s in ("-wal", "-shm"))):
        try:
            mode = os.lstat(candidate).st_mode
        except OSError:
            continue
        if stat.S_ISLNK(mode):
            raise StoreError(
                f"{candidate} is a symbolic link; contextree does not open its store through "
                "symlinks",
                hint=f"Remove the link (`rm {candidate}`) and rerun: contextree creates a real "
                "store.",
            )


def _non_empty(path: Path) -> bool:
    try:
        return os.stat(path).st_size > 0
    except OSError:
        return False


def damage_marker(path: Path) -> Path:
    """Where ``verify`` records that it found damage in the store at ``path``."""
    return Path(str(path) + _DAMAGED_SUFFIX)


def is_marked_damaged(path: Path) -> bool:
    return os.path.lexists(damage_marker(path))


def record_verify_result(path: Path, *, damaged: bool, detail: str = "") -> None:
    """Record (or clear) what ``verify`` found; best effort: on read-only media nothing can
    write the store anyway."""
    marker = damage_marker(path)
    with contextlib.suppress(OSError):
        if not damaged:
            if os.path.lexists(marker):
                marker.unlink()
            return
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(marker, flags, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(detail or "damaged\n")


def _open_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """Say "damaged" only when SQLite itself found the file corrupt or not a database."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code == _SQLITE_NOTADB:
        return StoreError(
            f"{path} is not a usable contextree store ({exc})",
            hint=(
                "The file is not an SQLite database (it belongs to something else). Move it "
                "aside and run `contextree scan` to build a new store."
            ),
        )
    if code == _SQLITE_CORRUPT:
        return StoreError(
            f"{path} looks damaged or is not a contextree store (SQLite: {exc})",
            hint="Run `contextree verify` to check it before doing anything with the file.",
        )
    why = str(exc)
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.R_OK)):
        why += f" ({os.strerror(errno.EACCES).lower()} or read-only)"
    return StoreError(
        f"cannot open the store at {path}: {why}",
        hint="Check the file's permissions; the store itself is not known to be damaged.",
    )


class StoreConnection(sqlite3.Connection):
    """A store's connection. ``input_keys_trusted`` is False for a store contextree did not
    create for this user and the user has not adopted (``store.provenance``): head and
    history reads then carry no input key, so none of its frames counts as current."""

    input_keys_trusted: bool = True


def _connect(path: Path, target: str, *, uri: bool = False) -> StoreConnection:
    """A connection to ``target`` (the store's path, or a ``file:`` URI for it) with the
    settings every open shares: autocommit, the busy timeout, and ``trusted_schema = OFF``
    (a store can come with a cloned repository: its schema's SQL never calls a function with
    side effects)."""
    try:
        conn = sqlite3.connect(
            target,
            uri=uri,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
            factory=StoreConnection,
        )
    except sqlite3.Error as exc:
        raise _open_error(path, exc) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA trusted_schema = OFF")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _open_error(path, exc) from exc
    return conn


class Store:
    """One open store file. Not thread-safe: use one ``Store`` per thread or task owner."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, created: bool = False) -> None:
        self.conn = conn
        self.path = path
        #: This ``open`` created the file (and wrote its store id).
        self.created = created

    @property
    def store_id(self) -> str | None:
        """The random id written when contextree created this store (None: none)."""
        return provenance.store_id(self.conn)

    @property
    def input_keys_trusted(self) -> bool:
        return getattr(self.conn, "input_keys_trusted", True) is not False

    def distrust_input_keys(self) -> None:
        """Treat every stored input key as absent (an unadopted store: keys can be forged)."""
        if isinstance(self.conn, StoreConnection):
            self.conn.input_keys_trusted = False

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        synchronous: Synchronous = "NORMAL",
        create: bool = True,
        read_only: bool = False,
    ) -> Store:
        """Open (and if needed create and migrate) the store at ``path``.

        Never through a symlink (the store, its ``-wal``/``-shm`` or their directory). With
        ``read_only`` the file is opened ``mode=ro`` (``immutable`` when its directory cannot be
        written and no ``-wal`` exists, so nothing could be changing it): readers work on
        read-only media. A writer refuses a store ``verify`` recorded as damaged."""
        refuse_links(path)
        if not create and not path.exists():
            raise StoreError(
                f"no store at {path}",
                hint="Run `contextree scan` in the workspace first.",
            )
        if read_only and path.exists():
            store = cls._open_read_only(path)
            if store is not None:
                return store
        if is_marked_damaged(path):
            raise StoreError(
                f"`contextree verify` found damage in {path}; contextree will not write to it",
                hint=(
                    "Run `contextree verify` for the details (it clears this once the store "
                    "checks out); reading commands still work."
                ),
            )
        created = not os.path.lexists(path)
        conn = _connect(path, str(path))
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
            if created:
                provenance.write_store_id(conn, provenance.new_store_id(), replace=False)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _open_error(path, exc) from exc
        return cls(conn, path, created=created)

    @classmethod
    def _open_read_only(cls, path: Path) -> Store | None:
        """A read-only connection, or None when the schema needs a migration first."""
        wal = Path(str(path) + "-wal")
        immutable = not os.access(path.parent, os.W_OK) and not _non_empty(wal)
        query = "immutable=1" if immutable else "mode=ro"
        uri = f"{path.resolve().as_uri()}?{query}"
        conn = _connect(path, uri, uri=True)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            found = current_version(conn)
            if found < LATEST_VERSION:
                conn.close()
                return None
            if found > LATEST_VERSION:
                migrate(conn)  # raises StoreVersionError
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _open_error(path, exc) from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error.

        The rollback runs only while a transaction is still open (SQLite rolls back by itself
        after some errors, ``SQLITE_FULL`` among them) and never replaces the error that caused
        it. A full disk or store (``SQLITE_FULL``) is raised as ``DiskFullError``."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._write_error("cannot start a write transaction", exc) from exc
        try:
            yield self.conn
        except sqlite3.Error as exc:
            self._rollback_quietly()
            if _is_full(exc):
                raise self._write_error("", exc) from exc
            raise
        except BaseException:
            self._rollback_quietly()
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback_quietly()
            raise self._write_error("cannot commit to the store", exc) from exc

    def _rollback_quietly(self) -> None:
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def _write_error(self, what: str, exc: sqlite3.Error) -> StoreError:
        if _is_full(exc):
            return DiskFullError(
                f"disk full writing {self.path}",
                hint="Free space on that disk and rerun: frames already written are kept.",
            )
        return StoreError(f"{what}: {exc}")

    @contextlib.contextmanager
    def cache_size(self, kib: int) -> Iterator[None]:
        """A page cache of ``kib`` KiB while the block runs (a bulk write whose indexes do not
        fit SQLite's default 2 MiB spills and rereads pages), then the previous size again."""
        previous = int(self.conn.execute("PRAGMA cache_size").fetchone()[0])
        self.conn.execute(f"PRAGMA cache_size = {-int(kib)}")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA cache_size = {previous}")

    def size_bytes(self) -> int:
        """Bytes on disk for the database and its WAL."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                total += Path(str(self.path) + suffix).stat().st_size
        return total
