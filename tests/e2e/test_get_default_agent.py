"""``get`` chooses its agent by the same rule as ``generate``: ``--agent``, else the default
agent when it can write, else the only writer. (Before, ``get`` used ``default_agent`` even
when it was a reader, and found nothing that ``generate`` had just written.)"""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cli import run_cli

from contextree.config.paths import user_config_dir


def _only_docs_writer_can_write(workspace: Path) -> None:
    """The user turns the built-in code-analyzer into a reader and makes a reader the
    workspace's default agent: docs-writer is the only writer left."""
    agents = user_config_dir() / "agents"
    agents.mkdir(parents=True, exist_ok=True)
    (agents / "code-analyzer.toml").write_text('role = "reader"\n')
    (workspace / "src").mkdir()
    (workspace / "src" / "a.py").write_text("def f():\n    return 1\n")
    (workspace / ".contextree").mkdir()
    (workspace / ".contextree" / "config.toml").write_text('default_agent = "reader"\n')


def test_get_without_agent_reads_what_generate_wrote(workspace: Path) -> None:
    _only_docs_writer_can_write(workspace)
    generated = run_cli("--workspace", str(workspace), "generate", "--json")
    assert generated.returncode == 0, generated.stderr
    assert json.loads(generated.stdout)["agent"] == "docs-writer"

    got = run_cli("--workspace", str(workspace), "get", "src/a.py", "--json")

    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    assert doc["agent"] == "docs-writer"
    assert [f["agent_id"] for f in doc["frames"]] == ["docs-writer"]


def test_an_asked_agent_still_wins(workspace: Path) -> None:
    _only_docs_writer_can_write(workspace)
    assert run_cli("--workspace", str(workspace), "generate").returncode == 0

    got = run_cli("--workspace", str(workspace), "get", "src/a.py", "--agent", "reader")

    assert got.returncode == 2
    assert "Agent reader is a reader and never writes frames" in got.stderr
