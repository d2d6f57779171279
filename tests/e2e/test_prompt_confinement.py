"""Agent prompt files are confined to the directory of the profile that names them.

A profile's ``system_prompt_file`` that is absolute, climbs out with ``..``, leaves through a
symlink, or names a file the scope rules withhold (``.env``) is a clear error naming the
profile and the path, and the file is never read: the fake provider server receives no
request carrying the canary secret (none at all). User-level profiles are trusted, so for them
this confinement is the only guard; a workspace profile is refused the same way even once the
user trusted it. A prompt file inside the profile's directory is read and sent as usual.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

TEMPLATES = (
    'file_template = "Document the file at {path} ({node_type})."\n'
    'directory_template = "Document the directory at {path} ({node_type})."\n'
)


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    fake = FakeProviderServer()
    fake.start_in_thread()
    yield fake
    fake.stop()


@pytest.fixture
def canary() -> str:
    return f"canary-{secrets.token_hex(12)}"


def user_config() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "contextree"


def setup(workspace: Path, server: FakeProviderServer, canary: str) -> None:
    """Files with a ``.env`` secret, and a user-level (trusted) provider ``fake``."""
    write_tree(workspace, {"src/a.py": "def a():\n    return 1\n", ".env": f"SECRET={canary}\n"})
    providers = user_config() / "providers"
    providers.mkdir(parents=True, exist_ok=True)
    (providers / "fake.toml").write_text(
        f'type = "openai"\nmodel = "fake-model"\nbase_url = "{server.openai_url}"\n'
        'api_key_env = ""\n'
    )


def agent(directory: Path, prompt_file: str, agent_id: str = "leak") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{agent_id}.toml"
    path.write_text(f'role = "writer"\nsystem_prompt_file = {prompt_file!r}\n' + TEMPLATES)
    return path


def nothing_leaked(
    server: FakeProviderServer, canary: str, *procs: subprocess.CompletedProcess[str]
) -> None:
    assert [r for r in server.requests if canary.encode() in r.raw] == []
    for proc in procs:
        assert canary not in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr


def refused(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    text = " ".join(proc.stderr.split())
    for needle in needles:
        assert needle in text, text


def test_workspace_prompt_file_climbing_out_is_refused_even_when_trusted(
    workspace: Path, server: FakeProviderServer, canary: str
) -> None:
    setup(workspace, server, canary)
    profile = agent(workspace / ".contextree" / "agents", "../../.env")
    trusted = run_cli("-w", str(workspace), "trust", "--yes")
    assert trusted.returncode == 0, trusted.stderr

    result = run_cli("-w", str(workspace), "generate", "--agent", "leak", "--provider", "fake")
    refused(result, str(profile), "../../.env", "system_prompt_file")
    assert server.requests == []
    nothing_leaked(server, canary, trusted, result)


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "withheld", "home"])
def test_user_prompt_file_outside_its_directory_or_withheld_is_refused(
    workspace: Path, server: FakeProviderServer, canary: str, kind: str
) -> None:
    setup(workspace, server, canary)
    agents = user_config() / "agents"
    agents.mkdir(parents=True, exist_ok=True)
    secret = workspace / ".env"
    if kind == "absolute":
        name = str(secret)
    elif kind == "dotdot":
        name = os.path.relpath(secret, agents)
    elif kind == "symlink":
        (agents / "prompt.md").symlink_to(secret)
        name = "prompt.md"
    elif kind == "withheld":
        (agents / ".env").write_text(f"SECRET={canary}\n")
        name = ".env"
    else:
        name = "~/.env"
        Path(os.environ["HOME"], ".env").write_text(f"SECRET={canary}\n")
    profile = agent(agents, name)

    result = run_cli("-w", str(workspace), "generate", "--agent", "leak", "--provider", "fake")
    refused(result, str(profile), name)
    assert server.requests == []
    nothing_leaked(server, canary, result)

    # Only the runs that use the broken agent fail: status and the default agent still work.
    status = run_cli("-w", str(workspace), "status")
    assert status.returncode == 0, status.stderr
    ran = run_cli("-w", str(workspace), "generate", "--provider", "fake")
    assert ran.returncode == 0, ran.stderr
    nothing_leaked(server, canary, status, ran)


def test_prompt_file_inside_the_profile_directory_is_sent(
    workspace: Path, server: FakeProviderServer, canary: str
) -> None:
    setup(workspace, server, canary)
    agents = user_config() / "agents"
    (agents / "prompts").mkdir(parents=True)
    (agents / "prompts" / "mine.md").write_text("You are the house style guide.\n")
    agent(agents, "prompts/mine.md", agent_id="mine")

    result = run_cli("-w", str(workspace), "generate", "--agent", "mine", "--provider", "fake")
    assert result.returncode == 0, result.stderr
    calls = server.completion_requests()
    assert calls
    assert all(b"You are the house style guide." in r.raw for r in calls)
    nothing_leaked(server, canary, result)
