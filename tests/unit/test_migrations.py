"""Numbered migrations, applied from an empty database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from contextree.errors import StoreError, StoreVersionError
from contextree.store.db import Store
from contextree.store.migrations import LATEST_VERSION, MIGRATIONS, current_version, migrate


def test_migrations_are_numbered_consecutively_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


def test_migrating_an_empty_database_reaches_the_latest_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    assert current_version(conn) == 0
    assert migrate(conn) == 0
    assert current_version(conn) == LATEST_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"scans", "entries", "nodes"} <= tables


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    migrate(conn)
    schema = conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    assert migrate(conn) == LATEST_VERSION
    assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema


@pytest.mark.parametrize("stop", range(1, LATEST_VERSION + 1))
def test_each_intermediate_version_upgrades_to_latest(tmp_path: Path, stop: int) -> None:
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    for migration in MIGRATIONS[:stop]:
        conn.executescript(migration.script)
    conn.execute(f"PRAGMA user_version = {stop}")
    migrate(conn)
    assert current_version(conn) == LATEST_VERSION


def test_a_store_from_a_newer_contextree_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreVersionError, match="newer"):
        Store.open(tmp_path / "s.db")


def test_store_uses_wal_and_normal_sync(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    with Store.open(tmp_path / "s.db", synchronous="FULL") as store:
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_foreign_file_in_place_of_the_store_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not a usable contextree store"):
        Store.open(path)


def test_a_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    def insert_then_fail(store: Store) -> None:
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO nodes (node_id, kind, path, first_scan) VALUES (x'01', 'dir', x'', 1)"
            )
            raise RuntimeError("boom")

    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(RuntimeError):
            insert_then_fail(store)
        assert store.conn.execute("SELECT COUNT(*) FROM nodes").fetchone()[0] == 0


def test_tree_lookups_are_served_by_indexes(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    migrate(conn)

    def plan(sql: str, *params: object) -> str:
        return " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    select = "SELECT path, kind, node_id, size, content_hash FROM entries "
    assert "entries_by_lookup" in plan(select + "WHERE lookup = ?", "é")
    assert "entries_by_node" in plan(select + "WHERE node_id = ? LIMIT 1", b"\0" * 32)
    children = plan(select + "WHERE parent = ? ORDER BY path", b"src")
    assert "entries_by_parent" in children
    assert "TEMP B-TREE" not in children  # the index hands children over already sorted
