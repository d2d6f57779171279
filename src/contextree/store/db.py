"""The SQLite connection: opening, pragmas, transactions and error translation.

Owns how contextree talks to ``.contextree/store.db``: WAL journal, ``synchronous`` level, busy
timeout, explicit transactions, and turning ``sqlite3`` exceptions into ``StoreError`` with a
message that says what to do. Row access per table lives in sibling modules; schema changes
live in ``migrations``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from contextree.errors import StoreError
from contextree.store.migrations import migrate

Synchronous = Literal["NORMAL", "FULL"]

BUSY_TIMEOUT_MS = 5000
_SQLITE_FULL = 13


class DiskFullError(StoreError):
    """The store could not grow: its disk is full (or its size limit reached). Nothing of the
    failed transaction was written; everything committed before is intact."""


def _is_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF == _SQLITE_FULL) or "disk is full" in str(exc)


class Store:
    """One open store file. Not thread-safe: use one ``Store`` per thread or task owner."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path, *, synchronous: Synchronous = "NORMAL", create: bool = True) -> Store:
        """Open (and if needed create and migrate) the store at ``path``."""
        if not create and not path.exists():
            raise StoreError(
                f"no store at {path}",
                hint="Run `contextree scan` in the workspace first.",
            )
        try:
            conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"{path} is not a usable contextree store ({exc})",
                hint=(
                    "The file is damaged or belongs to something else. Move it aside and run "
                    "`contextree scan` to build a new store."
                ),
            ) from exc
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
