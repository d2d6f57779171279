"""``contextree get PATH --recursive`` (text, ``--json``, ``--jsonl``), ``contextree search`` and
``contextree verify --repair`` as a user runs them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

FILES = {
    "src/app.py": "def parse_config(path):\n    return path\n",
    "src/util.py": "def helper():\n    return 1\n",
    "README.md": "# Demo\n\nThe wombat project.\n",
}


@pytest.fixture
def generated(workspace: Path) -> Path:
    write_tree(workspace, FILES)
    done = run_cli("generate", cwd=workspace)
    assert done.returncode == 0, done.stderr
    return workspace


def test_get_recursive_json_lists_every_node_in_pre_order(generated: Path) -> None:
    done = run_cli("get", ".", "--recursive", "--json", "--max-frames", "1", cwd=generated)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema_version"] == 1 and doc["agent"] == "docs-writer"
    assert doc["node_count"] == 5
    assert [n["path"] for n in doc["nodes"]] == [
        ".",
        "README.md",
        "src",
        "src/app.py",
        "src/util.py",
    ]
    app = doc["nodes"][3]
    assert app["kind"] == "file" and app["on_disk"] == "unchanged"
    (frame,) = app["frames"]
    assert frame["is_head"] and "parse_config" in frame["content"]
    single = json.loads(run_cli("get", "src/app.py", "--json", cwd=generated).stdout)
    assert single["frames"][0]["frame_id"] == frame["frame_id"]
    assert "on_disk" not in single  # the non-recursive document is unchanged


def test_get_recursive_jsonl_is_one_object_per_node(generated: Path) -> None:
    done = run_cli("get", "src", "-r", "--jsonl", cwd=generated)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    docs = [json.loads(line) for line in lines]
    assert [d["path"] for d in docs] == ["src", "src/app.py", "src/util.py"]
    assert all(d["schema_version"] == 1 and len(d["frames"]) == 1 for d in docs)


def test_get_recursive_text_shows_each_path_and_its_text(generated: Path) -> None:
    done = run_cli("get", "src", "--recursive", cwd=generated)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.index("==> src (directory) <==") < out.index("==> src/app.py (file, ")
    assert out.index("==> src/app.py (file, ") < out.index("==> src/util.py (file, ")
    assert "def parse_config(path)" in out and "def helper()" in out
    refused = run_cli("get", "src", "--recursive", "--history", cwd=generated)
    assert refused.returncode == 2 and "--history" in refused.stderr


def test_search_prints_ranked_hits_and_json(generated: Path) -> None:
    done = run_cli("search", "parse", "config", cwd=generated)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1. src/app.py  (docs-writer · context-docs-writer)\n")
    assert "«parse»_«config»" in done.stdout
    doc = json.loads(run_cli("search", "wombat", "--json", "--limit", "5", cwd=generated).stdout)
    assert doc["hits"][0]["path"] == "README.md"
    assert doc["hits"][0]["on_disk"] == "unchanged" and doc["limit"] == 5
    scoped = json.loads(run_cli("search", "def", "--path", "src", "--json", cwd=generated).stdout)
    assert {h["path"] for h in scoped["hits"]} <= {"src", "src/app.py", "src/util.py"}
    assert scoped["hits"]
    odd = run_cli("search", "--", 'NEAR("x', "AND", "-", "-y", cwd=generated)
    assert odd.returncode == 0 and "No match" in odd.stdout
    empty = run_cli("search", " ", cwd=generated)
    assert empty.returncode == 2 and "empty" in empty.stderr


def test_verify_repair_rebuilds_a_tampered_index(generated: Path) -> None:
    with sqlite3.connect(generated / ".contextree" / "store.db") as conn:
        conn.execute("DELETE FROM frame_search")
    broken = run_cli("verify", cwd=generated)
    assert broken.returncode == 1
    assert "search_index_out_of_step (5)" in broken.stdout
    assert "verify --repair" in broken.stderr
    fixed = run_cli("verify", "--repair", "--json", cwd=generated)
    assert fixed.returncode == 0, fixed.stderr
    doc = json.loads(fixed.stdout)
    assert doc["ok"] and doc["repair"]["indexed"] == 5
    assert doc["repair"]["problems_before"][0]["kind"] == "search_index_out_of_step"
    assert run_cli("verify", cwd=generated).returncode == 0
    assert "src/app.py" in run_cli("search", "parse_config", cwd=generated).stdout


def test_search_is_listed_in_help() -> None:
    done = run_cli("--help")
    assert done.returncode == 0
    assert "search" in done.stdout.split()
