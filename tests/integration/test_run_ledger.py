"""The run ledger: every planned node's end is recorded; killed runs are reconciled;
``--retry-failed`` re-attempts only what did not succeed."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.profiles import write_fake_profile
from tests.helpers.trees import write_tree

from contextree.api import ContextApi, Lineage
from contextree.bootstrap import load_workspace
from contextree.bootstrap.generation import generation_environment
from contextree.context.generation.inputs import GenerateOptions
from contextree.context.generation.ledger import RunLedger
from contextree.context.generation.run import run_generate
from contextree.core.frame import Basis, Frame
from contextree.core.ids import EMPTY_DIGEST, NodeId
from contextree.errors import UsageError
from contextree.metadata.contract import build_frame_metadata
from contextree.store.db import Store
from contextree.store.ledger import LedgerRows
from contextree.telemetry import RecordingObserver

#: Names the node of every request, directories included, from the built-in task line.
TASK_PATH = r"the (?:file|directory) at (\S+) \("
FILES = {"src/a.py": "a = 1\n", "src/b.py": "b = 2\n", "docs/readme.md": "# r\n"}


def _workspace(root: Path, base_url: str) -> None:
    write_tree(root, FILES)
    write_fake_profile(root, f"{base_url}/v1")


async def _generate(root: Path, **options: object) -> None:
    ws = load_workspace(str(root))
    with Store.open(ws.layout.store_path) as store:
        env = generation_environment(ws, store)
        opts = GenerateOptions(provider="fake", **options)  # type: ignore[arg-type]
        await run_generate(env, opts, observer=RecordingObserver())


def _ledger(root: Path) -> LedgerRows:
    return LedgerRows(Store.open(root / ".contextree" / "store.db").conn)


async def test_a_partial_failure_is_recorded_per_node_and_retried_alone(workspace: Path) -> None:
    async with FakeProviderServer(path_pattern=TASK_PATH) as server:
        _workspace(workspace, server.base_url)
        server.script_path("src/a.py", Reply.error(401, "bad key"))
        await _generate(workspace)
        rows = _ledger(workspace)
        run = rows.last_run()
        assert run is not None
        assert (run.status, run.planned, run.done, run.failed, run.blocked) == (
            "failed",
            6,
            3,
            1,
            2,
        )
        assert rows.failures_by_class(run.run_id) == {"auth_failed": 1}
        blocked = rows.nodes(run.run_id, ["blocked"])
        assert [n.path for n in blocked] == [b"", b"src"]
        before = len(server.completion_requests())

        await _generate(workspace, retry_failed=True)  # a.py now gets the default reply
        paths = [r.node_path for r in server.completion_requests()[before:]]
        assert sorted(p or "" for p in paths) == [".", "src", "src/a.py"]
        retry = rows.last_run()
        assert retry is not None and (retry.status, retry.planned, retry.done) == (
            "succeeded",
            3,
            3,
        )


async def test_retry_failed_without_an_earlier_run_is_a_usage_error(workspace: Path) -> None:
    async with FakeProviderServer(path_pattern=TASK_PATH) as server:
        _workspace(workspace, server.base_url)
        with pytest.raises(UsageError, match="no earlier generate run"):
            await _generate(workspace, retry_failed=True)
        assert server.completion_requests() == []


async def test_a_run_left_running_is_reconciled_against_the_heads(workspace: Path) -> None:
    async with FakeProviderServer(path_pattern=TASK_PATH) as server:
        _workspace(workspace, server.base_url)
        await _generate(workspace)  # scans and fills the tree
    ws = load_workspace(str(workspace))
    with Store.open(ws.layout.store_path) as store:
        env = generation_environment(ws, store)
        api = ContextApi(store, env.agents)
        rows = LedgerRows(store.conn)
        done_run = rows.last_run()
        assert done_run is not None
        # A second run that "was killed": begun, one node written, never finished.
        from contextree.context.generation.plan import HeadInfo, PlanSpec, build_plan
        from contextree.store.tree import TreeRows

        tree = TreeRows(store.conn)
        entries = tree.subtree(b"")
        agent = env.agents.get("docs-writer")
        spec = PlanSpec(
            target=tree.entry(b"") or entries[0],
            agent_id=agent.id,
            provider_name="fake",
            model="fake-model",
            prompt_digest=agent.prompt_digest,
            frame_type="context-docs-writer",
            force=True,
        )
        plan = build_plan(spec, entries, dict[bytes, HeadInfo]())
        killed = RunLedger(store)
        killed.begin(plan, schedule="dag", failure_policy="continue")
        written = tree.entry(b"docs/readme.md")
        assert written is not None
        frame = Frame(
            basis=Basis.node(NodeId(written.node_id)),
            agent_id="docs-writer",
            frame_type="context-docs-writer",
            content=b"rewritten",
            metadata=build_frame_metadata(
                agent_id="docs-writer",
                provider="structural",
                provider_type="structural",
                model="structural-1",
                prompt_digest=EMPTY_DIGEST,
                context_digest=EMPTY_DIGEST,
                prompt_link_id=EMPTY_DIGEST,
                tokens_in=0,
                tokens_out=0,
                finish_reason="stop",
            ),
        )
        lineage = Lineage(
            input_key=None,
            prompt_digest=EMPTY_DIGEST,
            context_digest=EMPTY_DIGEST,
            request_digest=EMPTY_DIGEST,
        )
        api.put_frame(NodeId(written.node_id), frame, "docs-writer", lineage)

        interrupted = RunLedger(store).reconcile(api)
        run = rows.last_run()
        assert run is not None and run.status == "interrupted"
        assert interrupted == len(plan.items) - 1
        done = rows.nodes(run.run_id, ["done"])
        assert [n.path for n in done] == [b"docs/readme.md"]
        assert RunLedger(store).retry_paths() == set(plan.items) - {b"docs/readme.md"}
