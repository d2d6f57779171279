"""Changing ``directory_context_budget`` regenerates the directories (their prompts depend on
it) and no file; the default budget, written out or not, keeps every head current."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.trees import write_tree
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.bootstrap import load_workspace, open_store
from contextree.bootstrap.generation import generation_environment
from contextree.context.generation.inputs import GenerateOptions
from contextree.context.generation.run import run_generate
from contextree.telemetry import NullObserver

TASK_PATH = r"the (?:file|directory) at (\S+) \("
FILES = {"a.py": "A = 1\n", "src/b.py": "B = 2\n", "src/c.py": "C = 3\n"}


async def generate(workspace: Path, server: FakeProviderServer, budget: int | None) -> list[str]:
    """One run; the node paths the provider was asked about."""
    config = workspace / ".contextree" / "config.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(
        "" if budget is None else f"[generation]\ndirectory_context_budget = {budget}\n"
    )
    before = len(server.completion_requests())
    ws = load_workspace(str(workspace))
    with open_store(ws.layout, ws.settings) as store:
        env = generation_environment(ws, store)
        outcome = await run_generate(env, GenerateOptions(provider="fake"), observer=NullObserver())
    assert outcome.result.succeeded
    return sorted(str(r.node_path) for r in server.completion_requests()[before:])


async def test_only_a_budget_other_than_the_default_makes_directories_stale(
    workspace: Path,
) -> None:
    write_tree(workspace, FILES)
    async with FakeProviderServer(path_pattern=TASK_PATH) as server:
        write_user_fake_profile(server.openai_url)
        assert await generate(workspace, server, None) == [
            ".",
            "a.py",
            "src",
            "src/b.py",
            "src/c.py",
        ]
        assert await generate(workspace, server, 64 << 10) == []  # the default, written out
        assert await generate(workspace, server, 8192) == [".", "src"]
        assert await generate(workspace, server, 8192) == []
