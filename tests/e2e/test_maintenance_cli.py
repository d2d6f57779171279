"""``contextree verify`` and ``contextree gc`` as a user runs them: after a real ``generate``,
an edit and a rescan, the JSON documents both commands print and the text summaries."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

FILES = {"src/a.py": "def a():\n    return 1\n", "src/b.py": "B = 2\n", "README.md": "# demo\n"}


@pytest.fixture
def edited(workspace: Path) -> Path:
    """A workspace generated once, then edited (a.py changed, README.md deleted) and rescanned."""
    write_tree(workspace, FILES)
    assert run_cli("--workspace", str(workspace), "generate", "-q").returncode == 0
    write_tree(workspace, {"src/a.py": "def a():\n    return 2\n"}, old=False)
    (workspace / "README.md").unlink()
    assert run_cli("--workspace", str(workspace), "scan", "-q").returncode == 0
    return workspace


def test_verify_json_lists_what_it_checked_and_no_problems(edited: Path) -> None:
    result = run_cli("--workspace", str(edited), "verify", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc == {
        "schema_version": 1,
        "workspace": str(edited),
        "ok": True,
        "checked": {
            "frames": 5,
            "heads": 5,
            "generations": 5,
            "artifacts": doc["checked"]["artifacts"],
        },
        "problem_count": 0,
        "problems": [],
    }
    assert doc["checked"]["artifacts"] > 0


def test_gc_dry_run_json_says_what_would_go_and_changes_nothing(edited: Path) -> None:
    args = ("--workspace", str(edited), "gc", "--dry-run", "--json")
    first = run_cli(*args)
    again = run_cli(*args)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert json.loads(again.stdout) == doc
    # The heads of README.md and of the old a.py, src and root nodes; README.md's history
    # (and its node row) goes too, the others' history stays.
    assert doc["removed"] == {
        "nodes": 1,
        "heads": 4,
        "generations": 1,
        "frames": 1,
        "artifacts": doc["removed"]["artifacts"],
    }
    assert doc["removed"]["artifacts"] >= 1
    assert doc["dry_run"] is True
    assert doc["keep_history"] is True
    assert doc["vacuumed"] is False
    assert doc["content_bytes"] > 0
    assert doc["store_bytes_before"] == doc["store_bytes_after"] > 0
    assert set(doc) == {
        "schema_version",
        "workspace",
        "dry_run",
        "keep_history",
        "removed",
        "content_bytes",
        "store_bytes_before",
        "store_bytes_after",
        "vacuumed",
    }


def test_gc_removes_what_the_dry_run_showed_then_verify_is_clean(edited: Path) -> None:
    base = ("--workspace", str(edited))
    dry = json.loads(run_cli(*base, "gc", "--dry-run", "--json").stdout)
    done = run_cli(*base, "gc", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["removed"] == dry["removed"]
    assert doc["dry_run"] is False
    assert doc["vacuumed"] is True
    text = run_cli(*base, "gc")
    assert text.returncode == 0, text.stderr
    assert "Removed 0 old nodes, 0 heads, 0 history rows, 0 frames and 0 artifacts" in text.stdout
    verify = run_cli(*base, "verify")
    assert verify.returncode == 0, verify.stderr
    # Only b.py kept its node; the other paths keep their one write as history.
    assert verify.stdout.startswith("Checked 4 frames, 1 head, 4 history rows")
    assert "no problems found" in verify.stdout


def test_verify_text_names_each_problem_kind_and_exits_1(edited: Path) -> None:
    with sqlite3.connect(edited / ".contextree" / "store.db", isolation_level=None) as conn:
        conn.execute("UPDATE frames SET content = CAST(content || x'0a' AS BLOB)")
    result = run_cli("--workspace", str(edited), "verify")
    assert result.returncode == 1
    assert "5 problems found" in result.stdout
    assert "frame_id_mismatch (5): frames whose fields no longer hash to their id" in result.stdout
    assert result.stdout.count("its fields hash to ") == 5
    assert "contextree regenerate" in result.stderr
