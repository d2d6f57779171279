"""An empty completion is retried, a bounded number of times (``max_attempts``), instead of
failing its node (and blocking every ancestor) on the first empty answer.

``run_generate`` runs in process against the fake server in each wire format; backoff sleeps
run on the virtual clock.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tests.fakes.clock import FakeClock
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.trees import write_tree
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.bootstrap import load_workspace, open_store
from contextree.bootstrap.generation import generation_environment
from contextree.context.generation.inputs import GenerateOptions
from contextree.context.generation.run import GenerateOutcome, run_generate
from contextree.telemetry import NullObserver

TASK_PATH = r"the (?:file|directory) at (\S+) \("
FILES = {"src/a.py": "A = 1\n", "src/b.py": "B = 2\n"}
WIRES = ("openai", "anthropic", "ollama")


async def generate(workspace: Path, wire: str, server: FakeProviderServer) -> GenerateOutcome:
    base_url = server.openai_url if wire == "openai" else server.base_url
    write_user_fake_profile(base_url, wire=wire)
    ws = load_workspace(str(workspace))
    clock = FakeClock()
    with open_store(ws.layout, ws.settings) as store:
        env = dataclasses.replace(generation_environment(ws, store), clock=clock, retry_seed=0)
        return await clock.run(
            run_generate(env, GenerateOptions(provider="fake"), observer=NullObserver())
        )


def ended(outcome: GenerateOutcome) -> dict[str, tuple[str, str | None, int]]:
    return {
        path.decode() or ".": (node.status.value, node.error_class, node.attempts)
        for path, node in outcome.result.nodes.items()
    }


@pytest.mark.parametrize("wire", WIRES)
async def test_an_empty_answer_then_a_good_one_makes_the_frame(workspace: Path, wire: str) -> None:
    write_tree(workspace, FILES)
    async with FakeProviderServer(path_pattern=TASK_PATH) as server:
        server.script_path("src/a.py", Reply.empty())
        outcome = await generate(workspace, wire, server)
        asked = [r.node_path for r in server.completion_requests()]

    assert outcome.result.succeeded
    assert ended(outcome)["src/a.py"] == ("done", None, 2)
    assert asked.count("src/a.py") == 2
    assert ended(outcome)["."] == ("done", None, 1)


@pytest.mark.parametrize("wire", WIRES)
async def test_always_empty_fails_after_max_attempts(workspace: Path, wire: str) -> None:
    write_tree(workspace, FILES)
    async with FakeProviderServer(path_pattern=TASK_PATH) as server:
        server.script_path("src/a.py", *[Reply.empty()] * 10)
        outcome = await generate(workspace, wire, server)
        asked = [r.node_path for r in server.completion_requests()]

    assert ended(outcome) == {
        "src/a.py": ("failed", "empty_completion", 4),  # the default max_attempts
        "src/b.py": ("done", None, 1),
        "src": ("blocked", None, 0),
        ".": ("blocked", None, 0),
    }
    assert asked.count("src/a.py") == 4
    node = outcome.result.nodes[b"src/a.py"]
    assert node.message is not None
    assert "empty completion" in node.message
    assert node.hint is not None
    assert "max_attempts" in node.hint
