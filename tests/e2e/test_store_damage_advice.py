""" "Damaged" only after a check found damage, and writers refuse what verify found damaged
(issue 13, item 12)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

FILES = {"src/a.py": "def a():\n    return 1\n", "README.md": "# hi\n"}


def _damage_frames_page(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root_page,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'frames'"
        ).fetchone()
    with db.open("r+b") as handle:
        handle.seek((root_page - 1) * page_size)
        handle.write(b"\xff" * page_size)


def test_a_missing_wal_is_not_damage(workspace: Path) -> None:
    write_tree(workspace, FILES)
    assert run_cli("-w", str(workspace), "generate", "-q").returncode == 0
    data = workspace / ".contextree"
    for suffix in ("-wal", "-shm"):
        (data / f"store.db{suffix}").unlink(missing_ok=True)
    for args in (["status"], ["get", "src/a.py"], ["verify"]):
        result = run_cli("-w", str(workspace), *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "damaged" not in result.stderr.lower()
        assert "aside" not in result.stderr.lower()


def test_writers_refuse_a_store_verify_found_damaged_until_verify_passes(
    workspace: Path, tmp_path: Path
) -> None:
    write_tree(workspace, FILES)
    assert run_cli("-w", str(workspace), "generate", "-q").returncode == 0
    db = workspace / ".contextree" / "store.db"
    healthy = tmp_path / "healthy.db"
    shutil.copyfile(db, healthy)
    _damage_frames_page(db)
    assert run_cli("-w", str(workspace), "verify").returncode == 1
    damaged = db.read_bytes()
    for args in (["scan"], ["generate"], ["gc"]):
        result = run_cli("-w", str(workspace), *args)
        assert result.returncode != 0, args
        assert "verify" in result.stderr and "found damage" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert db.read_bytes() == damaged  # nothing wrote into it
    shutil.copyfile(healthy, db)  # the user restored a good copy
    assert run_cli("-w", str(workspace), "verify").returncode == 0
    assert run_cli("-w", str(workspace), "scan", "-q").returncode == 0
