"""``contextree generate .`` on this repository's own code, with the offline structural provider.

The repository's ``src/`` and ``tests/`` (and its ``.gitignore``) are copied into a fresh
workspace, leaving out what git ignores (``__pycache__`` and the like) so the copy holds only
nodes; the count of files and directories on disk is the oracle.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.helpers.cli import run_cli

REPO = Path(__file__).parents[2]
IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"
)


def count_nodes(root: Path) -> tuple[int, int]:
    """Files and directories under ``root``, the root included, outside ``.contextree``."""
    files, dirs = 0, 0
    for _, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".contextree"]
        dirs += 1
        files += len(filenames)
    return files, dirs


def test_generate_on_this_repository_writes_a_frame_for_every_file_and_directory(
    workspace: Path,
) -> None:
    for folder in ("src", "tests"):
        shutil.copytree(REPO / folder, workspace / folder, ignore=IGNORED, symlinks=True)
    shutil.copy2(REPO / ".gitignore", workspace / ".gitignore")
    files, dirs = count_nodes(workspace)
    nodes = files + dirs
    assert files > 100  # the copy really holds the code base

    ran = run_cli("generate", ".", "--json", cwd=workspace)

    assert ran.returncode == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert (doc["status"], doc["provider"]) == ("succeeded", "structural")
    totals = doc["totals"]
    assert (totals["planned"], totals["done"], totals["failed"], totals["blocked"]) == (
        nodes,
        nodes,
        0,
        0,
    )
    status = run_cli("status", "--json", cwd=workspace)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert (report["files"], report["directories"]) == (files, dirs)
    coverage = report["frames"]["coverage"]
    assert (coverage["nodes"], coverage["current"], coverage["missing"]) == (nodes, nodes, 0)
