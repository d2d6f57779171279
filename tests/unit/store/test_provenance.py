"""Store provenance: a created store gets a random id; records are per real path and id;
head and history reads of a distrusted store carry no input key; schema SQL is untrusted."""

from __future__ import annotations

import json
from pathlib import Path

from contextree.store.db import Store
from contextree.store.frames import FrameRows
from contextree.store.provenance import StoreRecords


def test_a_created_store_has_a_random_id_and_trusted_schema_off(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.db") as a, Store.open(tmp_path / "b.db") as b:
        assert a.created and b.created
        assert a.store_id and b.store_id and a.store_id != b.store_id
        assert a.conn.execute("PRAGMA trusted_schema").fetchone()[0] == 0
        first = a.store_id
    with Store.open(tmp_path / "a.db") as again:
        assert not again.created
        assert again.store_id == first


def test_records_match_real_path_and_id_only(tmp_path: Path) -> None:
    records = StoreRecords(tmp_path / "state" / "stores.json")
    store = tmp_path / "ws" / "store.db"
    assert not records.adopted(store, "abc")
    records.record(store, "abc")
    assert records.adopted(store, "abc")
    assert not records.adopted(store, "other")
    assert not records.adopted(store, None)
    assert not records.adopted(tmp_path / "moved" / "store.db", "abc")
    (tmp_path / "state" / "stores.json").write_text(json.dumps({"version": 99}))
    assert not records.adopted(store, "abc")


def test_records_are_never_read_through_a_symlink(tmp_path: Path) -> None:
    real = StoreRecords(tmp_path / "real.json")
    real.record(tmp_path / "store.db", "abc")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    assert not StoreRecords(tmp_path / "link.json").adopted(tmp_path / "store.db", "abc")


def test_a_distrusted_store_reads_heads_without_input_keys(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        store.conn.execute("PRAGMA foreign_keys = OFF")
        store.conn.execute(
            "INSERT INTO heads (node_id, agent_id, frame_type, frame_id, input_key, "
            "generation_id, updated_at_ns) VALUES (x'01', 'a', 't', x'02', 'key', 1, 0)"
        )
        rows = FrameRows(store.conn)
        assert rows.head_keys("a", "t") == {b"\x01": (b"\x02", "key")}
        store.distrust_input_keys()
        assert not store.input_keys_trusted
        assert rows.head_keys("a", "t") == {b"\x01": (b"\x02", None)}
