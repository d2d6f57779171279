"""``Store.transaction``: a full store raises ``DiskFullError`` (not the error of a ROLLBACK
SQLite already did), the connection stays usable, and what was committed before is intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextree.errors import DiskFullError
from contextree.store.db import Store


def _full_store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "store.db")
    with store.transaction() as conn:
        conn.execute("CREATE TABLE t (v BLOB)")
        conn.execute("INSERT INTO t VALUES (x'00')")
    pages = int(store.conn.execute("PRAGMA page_count").fetchone()[0])
    store.conn.execute(f"PRAGMA max_page_count = {pages}")
    return store


def test_a_full_store_raises_disk_full_and_keeps_what_was_committed(tmp_path: Path) -> None:
    store = _full_store(tmp_path)
    with pytest.raises(DiskFullError, match="disk full writing"), store.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (?)", (b"x" * 1_000_000,))
    assert not store.conn.in_transaction
    assert store.conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1
    with store.transaction() as conn:  # still usable
        conn.execute("UPDATE t SET v = x'01'")
    store.close()


def test_an_error_in_the_block_is_the_error_raised(tmp_path: Path) -> None:
    store = _full_store(tmp_path)

    def write_then_fail() -> None:
        with store.transaction() as conn:
            conn.execute("UPDATE t SET v = x'02'")
            raise ValueError("mine")

    with pytest.raises(ValueError, match="mine"):
        write_then_fail()
    assert store.conn.execute("SELECT v FROM t").fetchone()[0] == b"\x00"
    store.close()
