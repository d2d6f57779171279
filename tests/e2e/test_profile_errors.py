"""A broken provider or agent profile breaks only the runs that use it, with one clean error.

A profile file that is not UTF-8, not TOML or not a valid profile is reported naming the file
(no traceback) when a run uses its name; ``status``, ``get``, ``scan`` and runs with other
profiles keep working. A broken workspace file never lets the user profile of the same name
stand in silently.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

FILES = {"src/a.py": "def a():\n    return 1\n"}
AGENT = (
    'role = "writer"\nsystem_prompt = "You document code."\n'
    'file_template = "Document {path}."\ndirectory_template = "Document {path}."\n'
)
BROKEN = {
    "not-utf8": b'role = "writer"\ndescription = "caf\xe9"\n',
    "invalid": b'role = "nobody"\n',
}


def clean_refusal(proc: subprocess.CompletedProcess[str], path: Path) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    text = " ".join(proc.stderr.split())
    assert str(path) in text, text
    return text


def still_works(workspace: Path) -> None:
    ws = ("-w", str(workspace))
    for args in (("scan",), ("status",), ("generate",), ("get", "src/a.py")):
        result = run_cli(*ws, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_agent_profile_breaks_only_its_agent(workspace: Path, kind: str) -> None:
    write_tree(workspace, FILES)
    agents = workspace / ".contextree" / "agents"
    agents.mkdir(parents=True)
    path = agents / "bad.toml"
    path.write_bytes(BROKEN[kind])
    (agents / "good.toml").write_text(AGENT)

    still_works(workspace)
    good = run_cli("-w", str(workspace), "generate", "--agent", "good")
    assert good.returncode == 0, good.stderr
    text = clean_refusal(run_cli("-w", str(workspace), "generate", "--agent", "bad"), path)
    if kind == "not-utf8":
        assert "UTF-8" in text


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_provider_profile_breaks_only_its_provider(workspace: Path, kind: str) -> None:
    write_tree(workspace, FILES)
    providers = workspace / ".contextree" / "providers"
    providers.mkdir(parents=True)
    path = providers / "bad.toml"
    path.write_bytes(BROKEN[kind].replace(b'role = "writer"', b'type = "openai"'))

    still_works(workspace)
    text = clean_refusal(run_cli("-w", str(workspace), "generate", "--provider", "bad"), path)
    if kind == "not-utf8":
        assert "UTF-8" in text
    listed = run_cli("-w", str(workspace), "provider", "list")
    assert listed.returncode == 0, listed.stderr
    assert "bad" in listed.stdout + listed.stderr


def test_a_broken_workspace_provider_never_lets_the_user_profile_stand_in(
    workspace: Path,
) -> None:
    write_tree(workspace, FILES)
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "contextree" / "providers"
    user.mkdir(parents=True)
    (user / "x.toml").write_text(
        'type = "openai"\nmodel = "m"\nbase_url = "http://127.0.0.1:9/v1"\napi_key_env = ""\n'
    )
    providers = workspace / ".contextree" / "providers"
    providers.mkdir(parents=True)
    path = providers / "x.toml"
    path.write_bytes(b'type = "openai"\nmodel = "\xff"\n')

    clean_refusal(run_cli("-w", str(workspace), "generate", "--provider", "x"), path)
    still_works(workspace)


def test_agent_list_shows_the_broken_profiles_and_trust(workspace: Path) -> None:
    write_tree(workspace, FILES)
    agents = workspace / ".contextree" / "agents"
    agents.mkdir(parents=True)
    (agents / "bad.toml").write_bytes(BROKEN["not-utf8"])
    (agents / "good.toml").write_text(AGENT)

    text = run_cli("-w", str(workspace), "agent", "list")
    assert text.returncode == 0, text.stderr
    assert str(agents / "bad.toml") in " ".join(text.stderr.split())
    assert "UTF-8" in text.stderr

    doc = json.loads(run_cli("-w", str(workspace), "agent", "list", "--json").stdout)
    assert [p["path"] for p in doc["problems"]] == [str(agents / "bad.toml")]
    assert "UTF-8" in doc["problems"][0]["error"]
    trusted = {a["id"]: a["trusted"] for a in doc["agents"]}
    assert trusted["good"] is False and trusted["docs-writer"] is True


def test_status_works_when_the_default_agent_profile_is_broken(workspace: Path) -> None:
    """A broken profile breaks the runs that use it; ``status`` only counts frames for the
    default agent, so it says why it cannot count them and still reports the tree."""
    (workspace / "a.py").write_text("A = 1\n")
    agents = workspace / ".contextree" / "agents"
    agents.mkdir(parents=True)
    (agents / "docs-writer.toml").write_text('id = "docs-writer"\nrole = [broken\n')
    assert run_cli("scan", cwd=workspace).returncode == 0

    text = run_cli("status", cwd=workspace)
    doc = run_cli("status", "--json", cwd=workspace)

    assert text.returncode == 0, text.stderr
    assert "Traceback" not in text.stderr + doc.stderr
    assert "Frames      not counted:" in text.stdout and "docs-writer.toml" in text.stdout
    frames = json.loads(doc.stdout)["frames"]
    assert frames["coverage"] is None and "docs-writer.toml" in frames["coverage_error"]
