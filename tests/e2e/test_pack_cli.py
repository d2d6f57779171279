"""``contextree pack``: a generated workspace (offline structural provider) packed in each
format, under a budget, below the minimum, and twice (byte-identical)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

import contextree
from contextree.core.tokens import estimate_tokens

FILES = {
    "README.md": "# Demo\n\nA demo project. It has code.\n",
    "src/app.py": 'def main():\n    """Run the app."""\n    return 1\n',
    "src/util.py": "def helper(x):\n    return x + 1\n",
    "src/pkg/thing.py": "class Thing:\n    pass\n",
    "src/pkg/other.py": "VALUE = 2\n",
}


def _generated(workspace: Path) -> Path:
    write_tree(workspace, FILES)
    done = run_cli("generate", "-q", cwd=workspace)
    assert done.returncode == 0, done.stderr
    return workspace


def test_pack_of_a_file_in_each_format(workspace: Path) -> None:
    ws = _generated(workspace)
    md = run_cli("pack", "src/app.py", cwd=ws)
    assert md.returncode == 0, md.stderr
    heads = [line for line in md.stdout.splitlines() if line.startswith("## ") and ": " in line]
    assert heads == [
        "## target: src/app.py",
        "## ancestor: src",
        "## ancestor: .",
        "## sibling: src/pkg",  # 3 nodes in its subtree: before the file
        "## sibling: src/util.py",
    ]
    assert "`def main()`: Run the app." in md.stdout
    assert "· current · on disk: unchanged" in md.stdout
    assert "pack: 5 blocks, about " in md.stderr

    doc = json.loads(run_cli("pack", "src/app.py", "--format", "json", cwd=ws).stdout)
    assert doc["format"] == "contextree.pack/1" and doc["agent"] == "docs-writer"
    assert [b["role"] for b in doc["blocks"]] == ["target", "ancestor", "ancestor", "sibling",
                                                  "sibling"]  # fmt: skip
    with contextree.open_workspace(ws) as opened:
        node = opened.get("src/app.py")
    assert doc["blocks"][0]["node_id"] == node.node_id
    assert doc["blocks"][0]["frame_id"] == node.frame.frame_id  # type: ignore[union-attr]
    assert doc["blocks"][3]["text"] == "Directory with 2 files and 0 subdirectories."

    xml = run_cli("pack", "src", "--format", "xml", cwd=ws)
    root = ET.fromstring(xml.stdout)
    assert [b.get("path") for b in root.findall("block")] == [
        "src",
        ".",
        "src/pkg",
        "src/app.py",
        "src/util.py",
    ]
    assert {b.get("role") for b in root.findall("block")[2:]} == {"child"}


def test_budget_cut_minimum_and_determinism(workspace: Path) -> None:
    ws = _generated(workspace)
    whole = run_cli("pack", ".", cwd=ws).stdout
    first = run_cli("pack", ".", "--budget", "300", cwd=ws)
    again = run_cli("pack", ".", "--budget", "300", cwd=ws)
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    assert estimate_tokens(first.stdout) <= 300 < estimate_tokens(whole)
    assert "_Left out — budget: " in first.stdout

    low = run_cli("pack", ".", "--budget", "5", cwd=ws)
    assert low.returncode == 2
    assert "below the smallest pack of ." in low.stderr
    minimum = int(low.stderr.split("Pass --budget ")[1].split()[0])
    at_min = run_cli("pack", ".", "--budget", str(minimum), cwd=ws)
    assert at_min.returncode == 0, at_min.stderr
    assert estimate_tokens(at_min.stdout) <= minimum


def test_pack_from_python_reports_the_estimate_of_its_rendering(workspace: Path) -> None:
    ws = _generated(workspace)
    with contextree.open_workspace(ws) as opened:
        for fmt in ("md", "json", "xml"):
            pack = opened.pack("src", budget=400, fmt=fmt)
            assert pack.estimate == estimate_tokens(pack.render()) <= 400
        (ws / "src/util.py").write_text("changed\n", encoding="utf-8")
        pack = opened.pack("src/util.py")
    assert pack.blocks[0].on_disk == "changed"
    assert pack.blocks[0].current is True


def test_bad_format_and_unknown_path_are_usage_errors(workspace: Path) -> None:
    ws = _generated(workspace)
    bad = run_cli("pack", "src", "--format", "yaml", cwd=ws)
    assert bad.returncode == 2 and "unknown --format 'yaml'" in bad.stderr
    missing = run_cli("pack", "nope.py", cwd=ws)
    assert missing.returncode == 2 and "nope.py does not exist" in missing.stderr
