"""What ``prepare`` reads: a directory's children and their heads once, for both its input key
and its context, and the same key and prompt as reading them separately would give."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from tests.helpers.generation import TEST_AGENT, World, registry_of, scanned_world

from contextree.api import ContextApi, Head
from contextree.context.generation.contracts import PreparedCall
from contextree.context.generation.orchestration import Orchestrator
from contextree.context.generation.prompt_collection import PromptCollector
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.core.ids import NodeId
from contextree.telemetry import NullObserver
from contextree.workspace.scope import ScopeRules

FILES = {"src/a.py": "A = 1\n", "src/b.py": "B = 2\n", "src/sub/c.py": "C = 3\n"}


class CountingApi(ContextApi):
    """The real API, counting the bulk head reads it serves."""

    heads_calls = 0

    def heads(
        self, node_ids: Iterable[NodeId], *, agent_id: str, frame_type: str
    ) -> dict[NodeId, Head]:
        self.heads_calls += 1
        return super().heads(node_ids, agent_id=agent_id, frame_type=frame_type)


@pytest.fixture
def world(workspace: Path) -> Iterator[World]:
    with scanned_world(workspace, FILES) as scanned:
        yield scanned


def _units(world: World, api: ContextApi) -> tuple[Orchestrator, PromptCollector]:
    collector = PromptCollector(root=world.root, api=api, tree=world.tree, scope=ScopeRules.build())
    orchestrator = Orchestrator(
        api=api,
        tree=world.tree,
        agents=world.agents,
        providers=ProviderExecution(registry_of(), None, NullObserver()),
        collector=collector,
    )
    return orchestrator, collector


async def test_preparing_a_directory_reads_its_childrens_heads_once(world: World) -> None:
    api = CountingApi(world.store, world.agents)
    orchestrator, collector = _units(world, api)
    for path in ("src/sub/c.py", "src/sub", "src/a.py", "src/b.py"):
        prepared = await orchestrator.prepare(world.request(path))
        assert isinstance(prepared, PreparedCall)
        await orchestrator.commit(await orchestrator.execute(prepared))
    request, entry = world.request("src"), world.entry("src")
    api.heads_calls = 0
    prepared = await orchestrator.prepare(request)
    assert isinstance(prepared, PreparedCall)
    assert api.heads_calls == 1
    # The one read gives the key and the prompt that separate reads give.
    assert orchestrator.input_key(request, entry, TEST_AGENT) == prepared.input_key
    kids = collector.child_heads(request, entry)
    assert [c.path for c in kids.children] == [b"src/a.py", b"src/b.py", b"src/sub"]
    assert set(kids.heads) == {NodeId(c.node_id) for c in kids.children}
    together = await collector.collect(request, entry, TEST_AGENT, kids)
    assert together == await collector.collect(request, entry, TEST_AGENT)
    paths = [line for line in together.context_text.splitlines() if line.startswith("Path: ")]
    assert paths == ["Path: src/a.py", "Path: src/b.py", "Path: src/sub"]
