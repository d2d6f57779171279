"""Where a store came from: made here by this user, or shipped with a cloned repository.

A store contextree creates gets a random store id in its ``meta`` table, and the pair (real
path of the store, store id) is recorded in this user's state directory, which a repository
cannot write. A store without a matching record (a clone's ``.contextree/store.db``, or one
made by a contextree older than this rule) is *unadopted*: its heads' input keys can be
forged, so none of its frames is reused by generation or served as current (``Store``'s head
reads then carry no input key) until the user adopts it (``contextree verify --adopt``), which
records its id. The records file is never read or written through a symlink and a malformed
one adopts nothing. This module takes the records file's path from its caller: the user state
directory is configuration, a layer this one does not import.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from pathlib import Path

from contextree.errors import StoreError
from contextree.state_file import read_state, write_state

RECORDS_FILE_NAME = "stores.json"
STORE_ID_KEY = "store_id"
FORMAT_VERSION = 1
_MAX_RECORDS_BYTES = 4 << 20


def new_store_id() -> str:
    return secrets.token_hex(16)


def store_id(conn: sqlite3.Connection) -> str | None:
    """The store id in ``meta``; None when there is none (or it cannot be read)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (STORE_ID_KEY,)).fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row is not None and row[0] else None


def write_store_id(conn: sqlite3.Connection, value: str, *, replace: bool = True) -> None:
    """Set the store id in its own transaction (the caller holds none); with ``replace``
    False, keep an id already there (two processes creating the store at once agree)."""
    conflict = "DO UPDATE SET value = excluded.value" if replace else "DO NOTHING"
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f"INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) {conflict}",  # noqa: S608  # fixed fragment
            (STORE_ID_KEY, value),
        )
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def store_key(store_path: Path) -> str:
    """The record's key: the store's real path (a moved workspace is a new place)."""
    return os.path.realpath(store_path)


class StoreRecords:
    """This user's records of the stores contextree created or the user adopted."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def adopted(self, store_path: Path, value: str | None) -> bool:
        return value is not None and self._read().get(store_key(store_path)) == value

    def record(self, store_path: Path, value: str) -> None:
        records = self._read()
        records[store_key(store_path)] = value
        self._write(records)

    def _read(self) -> dict[str, str]:
        # Missing, a symlink, unreadable or malformed: nothing is adopted.
        doc = read_state(self.path, version=FORMAT_VERSION, max_bytes=_MAX_RECORDS_BYTES)
        stores = doc.get("stores") if doc is not None else None
        if not isinstance(stores, dict):
            return {}
        return {str(k): v for k, v in stores.items() if isinstance(v, str)}

    def _write(self, records: dict[str, str]) -> None:
        doc = {"version": FORMAT_VERSION, "stores": dict(sorted(records.items()))}
        try:
            write_state(self.path, doc)
        except OSError as exc:
            raise StoreError(
                f"cannot record the store in {self.path}: {exc.strerror or exc}",
                hint="Check that the user state directory is a writable real directory (not "
                "a symlink), then rerun.",
            ) from None
