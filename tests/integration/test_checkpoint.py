"""Background WAL checkpoints: while a ``BackgroundCheckpointer`` runs, commits on the store's
own connection never checkpoint (the log grows instead of being copied back inside a commit);
when it stops, the log is fully checkpointed and the connection's own setting is back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from contextree.store.checkpoint import BackgroundCheckpointer
from contextree.store.db import Store

MIB = 1024 * 1024


def _write(store: Store, mib: int) -> None:
    store.conn.execute("CREATE TABLE IF NOT EXISTS filler (body BLOB)")
    for _ in range(mib * 4):
        with store.transaction():
            store.conn.execute("INSERT INTO filler VALUES (?)", (bytes(256 * 1024),))


def _wal_bytes(store: Store) -> int:
    return Path(f"{store.path}-wal").stat().st_size


def test_the_writer_does_not_checkpoint_while_the_thread_owns_checkpoints(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.db") as store:
        # An interval far longer than the test: only the final checkpoint runs.
        with BackgroundCheckpointer(store, interval_s=3600) as checkpointer:
            assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
            _write(store, 12)
            # SQLite's default would have copied the log back every 1,000 pages (4 MiB) and
            # reused it; here all 12 MiB are still in it.
            assert _wal_bytes(store) > 12 * MIB
        assert checkpointer.checkpoints == 1 and checkpointer.error is None
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        # Everything the block wrote was copied back: a new checkpoint finds nothing to do.
        other = sqlite3.connect(store.path)
        try:
            busy, log, done = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            other.close()
        assert (busy, log) == (0, done)


def test_without_it_the_writer_checkpoints_inside_its_commits(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.db") as store:
        _write(store, 12)
        assert _wal_bytes(store) < 6 * MIB  # the log was reused after each checkpoint
