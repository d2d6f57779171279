"""Workspace trust, the edges: what an approval covers and what ``trust`` shows.

An agent's approval covers the prompt files it names (editing one revokes it); a structural
run with an untrusted agent sends nothing and works; ``trust`` shows a provider's base URL and
key variable (never the key) and the user profile a workspace file replaces; with no terminal
on stdin it approves nothing. The workspace ``config.toml`` is not a trust subject: it can only
pick among profiles that are each checked, so picking one of the user's own (trusted) providers
works. Commands run with ``stdin=DEVNULL`` (no terminal), as in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.trees import write_tree

CANARY = "sk-canary-trust-0123456789abcdef"
FILES = {"src/a.py": "def a():\n    return 1\n", "src/b.py": "def b():\n    return 2\n"}
AGENT_TOML = """role = "writer"
system_prompt_file = "prompt.md"
file_template = "Document {path} ({node_type}, {file_size} bytes)."
directory_template = "Document the directory {path}."
"""


def cli(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``contextree -w WORKSPACE ARGS`` with no terminal on stdin (never raises)."""
    return subprocess.run(
        [sys.executable, "-m", "contextree", "-w", str(workspace), *args],
        env={**os.environ, "OPENAI_API_KEY": CANARY, "COLUMNS": "400"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def flat(text: str) -> str:
    return " ".join(text.split())


def provider_toml(url: str) -> str:
    return (
        f'type = "openai"\nmodel = "fake-model"\nbase_url = "{url}"\n'
        'api_key_env = "OPENAI_API_KEY"\n'
    )


def user_dir(kind: str) -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "contextree" / kind


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    fake = FakeProviderServer(api_key=CANARY)
    fake.start_in_thread()
    yield fake
    fake.stop()


def user_provider(server: FakeProviderServer, name: str = "mine") -> Path:
    path = user_dir("providers") / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(provider_toml(server.openai_url))
    return path


def workspace_agent(workspace: Path, agent_id: str, extra: str = "") -> Path:
    agents = workspace / ".contextree" / "agents"
    agents.mkdir(parents=True, exist_ok=True)
    (agents / "prompt.md").write_text("Reveal everything.\n")
    path = agents / f"{agent_id}.toml"
    path.write_text(AGENT_TOML + extra)
    return path


def test_an_agent_approval_covers_its_prompt_file(
    workspace: Path, server: FakeProviderServer
) -> None:
    write_tree(workspace, FILES)
    user_provider(server)
    agent = workspace_agent(workspace, "theirs", 'provider = "mine"\n')

    # A structural run with the untrusted agent sends nothing anywhere and works.
    offline = cli(workspace, "generate", "--agent", "theirs", "--provider", "structural")
    assert offline.returncode == 0, offline.stderr
    assert server.requests == []

    listed = json.loads(cli(workspace, "trust", "--list", "--json").stdout)
    files = {f["path"]: f for f in listed["files"]}
    assert files[".contextree/agents/theirs.toml"]["does"]["provider"] == "mine"
    assert (
        ".contextree/agents/prompt.md"
        in files[".contextree/agents/theirs.toml"]["does"]["prompt files"]
    )

    assert cli(workspace, "trust", "--yes").returncode == 0
    ran = cli(workspace, "generate", "--agent", "theirs")
    assert ran.returncode == 0, ran.stderr
    calls = server.completion_requests()
    assert calls
    assert all(b"Reveal everything." in r.raw for r in calls)

    # Editing the prompt file (not the profile) revokes the agent's approval.
    (agent.parent / "prompt.md").write_text("Reveal more.\n")
    sent = len(server.requests)
    edited = cli(workspace, "regenerate", "src/a.py", "--agent", "theirs")
    assert edited.returncode == 2, edited.stderr
    message = flat(edited.stderr)
    assert str(agent) in message
    assert "`contextree regenerate` refused" in message
    assert "contextree trust" in message
    assert len(server.requests) == sent


def test_trust_shows_what_a_file_does_and_what_it_replaces(
    workspace: Path, server: FakeProviderServer
) -> None:
    write_tree(workspace, FILES)
    mine = user_provider(server, "x")
    theirs = workspace / ".contextree" / "providers" / "x.toml"
    theirs.parent.mkdir(parents=True)
    theirs.write_text(provider_toml(server.openai_url))

    shown = cli(workspace, "trust")
    assert shown.returncode == 2  # no terminal, no --yes: listed, nothing approved
    out = flat(shown.stdout)
    assert ".contextree/providers/x.toml" in out
    assert server.openai_url in out
    assert "OPENAI_API_KEY" in out
    assert str(mine) in out  # the user profile it replaces
    assert CANARY not in shown.stdout + shown.stderr
    assert "contextree trust --yes" in flat(shown.stderr)

    refused = cli(workspace, "generate", "--provider", "x")
    assert refused.returncode == 2
    assert str(mine) in flat(refused.stderr) and str(theirs) in flat(refused.stderr)
    assert server.requests == []


def test_a_workspace_config_may_pick_a_user_provider(
    workspace: Path, server: FakeProviderServer
) -> None:
    write_tree(workspace, FILES)
    user_provider(server)
    (workspace / ".contextree").mkdir()
    (workspace / ".contextree" / "config.toml").write_text('default_provider = "mine"\n')

    ran = cli(workspace, "generate")
    assert ran.returncode == 0, ran.stderr
    assert {r.key for r in server.completion_requests()} == {CANARY}
    assert "contextree trust" not in ran.stderr


def test_an_untrusted_offline_profile_never_stands_in_for_a_user_profile(
    workspace: Path, server: FakeProviderServer
) -> None:
    # Even a workspace profile that sends nothing may not silently replace the user's.
    write_tree(workspace, FILES)
    mine = user_provider(server, "x")
    theirs = workspace / ".contextree" / "providers" / "x.toml"
    theirs.parent.mkdir(parents=True)
    theirs.write_text('type = "structural"\n')

    refused = cli(workspace, "generate", "--provider", "x")
    assert refused.returncode == 2, refused.stderr
    assert str(mine) in flat(refused.stderr) and str(theirs) in flat(refused.stderr)
    assert cli(workspace, "status", "--provider", "x").returncode == 0

    assert cli(workspace, "trust", "--yes").returncode == 0
    ran = cli(workspace, "generate", "--provider", "x")
    assert ran.returncode == 0, ran.stderr
    assert server.requests == []  # the approved workspace profile is the offline one
