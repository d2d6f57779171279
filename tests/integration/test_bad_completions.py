"""Truncated (finish reason ``length``) and malformed completions are never stored.

``run_generate`` runs in process against the fake server in each wire format. Each bad answer
fails its node at once (these classes are not retried) with its own error class; the node gets
no frame and no head, its ancestors are blocked, and the one good file is stored. (An empty
completion is retried: ``test_empty_completion_retry.py``.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.profiles import write_fake_profile
from tests.helpers.trees import write_tree

from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi
from contextree.bootstrap import load_workspace, open_store
from contextree.bootstrap.generation import generation_environment
from contextree.context.generation.inputs import GenerateOptions
from contextree.context.generation.run import GenerateOutcome, run_generate
from contextree.core.ids import NodeId
from contextree.store.db import Store
from contextree.store.ledger import LedgerRows
from contextree.store.tree import TreeRows
from contextree.telemetry import NullObserver

TASK_PATH = r"the (?:file|directory) at (\S+) \("
FILES = {
    "src/good.py": "GOOD = 1\n",
    "src/cut.py": "CUT = 2\n",
    "src/broken.py": "BROKEN = 4\n",
}
BAD = {
    "src/cut.py": (Reply.truncated(), "truncated"),
    "src/broken.py": (Reply.malformed(), "malformed_response"),
}


@pytest.fixture
async def server() -> AsyncIterator[FakeProviderServer]:
    async with FakeProviderServer(path_pattern=TASK_PATH) as fake:
        for path, (reply, _) in BAD.items():
            fake.script_path(path, reply)
        yield fake


async def generate(workspace: Path, wire: str, server: FakeProviderServer) -> GenerateOutcome:
    base_url = server.openai_url if wire == "openai" else server.base_url
    write_fake_profile(workspace, base_url, wire=wire)
    ws = load_workspace(str(workspace))
    with open_store(ws.layout, ws.settings) as store:
        env = generation_environment(ws, store)
        return await run_generate(env, GenerateOptions(provider="fake"), observer=NullObserver())


@pytest.mark.parametrize("wire", ["openai", "anthropic", "ollama"])
async def test_truncated_and_malformed_answers_fail_their_nodes_and_store_nothing(
    workspace: Path, server: FakeProviderServer, wire: str
) -> None:
    write_tree(workspace, FILES)
    outcome = await generate(workspace, wire, server)

    ended = {
        path.decode() or ".": (node.status.value, node.error_class, node.attempts)
        for path, node in outcome.result.nodes.items()
    }
    assert ended == {
        "src/good.py": ("done", None, 1),
        **{path: ("failed", cls, 1) for path, (_, cls) in BAD.items()},
        "src": ("blocked", None, 0),
        ".": ("blocked", None, 0),
    }
    # One call per file, no retries, nothing for the blocked directories.
    assert sorted(str(r.node_path) for r in server.completion_requests()) == sorted(FILES)

    with Store.open(workspace / ".contextree" / "store.db") as store:
        api = ContextApi(store, AgentRegistry.builtin())
        tree = TreeRows(store.conn)
        frame_counts = {}
        for path in [*FILES, "src", ""]:
            entry = tree.entry(path.encode())
            assert entry is not None
            frame_counts[path or "."] = api.get_node(NodeId(entry.node_id)).frame_count
        stored = store.conn.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
        ledger = LedgerRows(store.conn)
        run = ledger.last_run()
        assert run is not None
        failed = {n.path.decode(): n.error_class for n in ledger.nodes(run.run_id, ["failed"])}
    assert frame_counts == {path: int(path == "src/good.py") for path in [*FILES, "src", "."]}
    assert stored == 1
    assert failed == {path: cls for path, (_, cls) in BAD.items()}
