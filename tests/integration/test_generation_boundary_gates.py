"""Boundary gates of the generation split, as tests.

- The queue performs no provider call and no prompt assembly: it drives an ``Orchestration``
  through ``prepare`` and ``execute`` only, hands a prepared call's payload back untouched, and
  importing it loads no provider, prompt, metadata or HTTP code (the import-linter contract in
  ``pyproject.toml`` says the same statically; ``.ci/run`` runs ``lint-imports``).
- Every frame write goes through ``ContextApi.put_frame``: a real ``run_generate`` (LLM, withheld,
  empty and structural frames, files and directories) leaves exactly as many frames, generation
  rows and heads as ``put_frame`` calls account for. ``tests/unit/test_write_boundary.py`` checks
  the same statically (only the rows module holds the SQL, only ``put_frame`` calls it).
- Metadata built by one function for the queue path and direct ``put_frame`` callers is pinned
  by ``tests/integration/test_generation_boundaries.py``; it is not repeated here.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.clock import FakeClock
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.trees import write_tree
from tests.helpers.trust import trust_workspace

import contextree
from contextree.api import ContextApi, FrameWrite
from contextree.bootstrap import configured_secret_values, load_workspace, open_store
from contextree.bootstrap.generation import RunWiring, generation_environment
from contextree.context.generation.contracts import (
    ExecutedCall,
    FrameResult,
    GenerationRequest,
    PreparedCall,
    Skip,
)
from contextree.context.generation.inputs import GenerateOptions, GenerationEnvironment
from contextree.context.generation.results import NodeStatus
from contextree.context.generation.run import run_generate
from contextree.context.limits import ProviderLimits
from contextree.context.queue import FrameGenerationQueue, OutcomeStatus, QueueConfig
from contextree.core.ids import FrameId, NodeId
from contextree.errors import AuthFailedError, ServerError
from contextree.telemetry import RecordingObserver

PYPROJECT = Path(contextree.__file__).resolve().parent.parent.parent / "pyproject.toml"
QUEUE = "contextree.context.queue"
#: What the queue must never reach: the units that assemble prompts, call providers and build
#: metadata, the provider adapters, the metadata contract, and HTTP.
KEPT_OUT = (
    "contextree.providers",
    "contextree.metadata",
    "contextree.context.generation.prompt_collection",
    "contextree.context.generation.prompt_text",
    "contextree.context.generation.provider_execution",
    "contextree.context.generation.metadata_construction",
    "contextree.context.generation.orchestration",
    "aiohttp",
)


# --- the queue only calls the Orchestration contract ----------------------------------------


class Untouchable:
    """A payload that records any attribute the queue reads from it."""

    def __init__(self, name: str, reads: list[str]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_reads", reads)

    def __getattribute__(self, attr: str) -> Any:
        object.__getattribute__(self, "_reads").append(attr)
        return object.__getattribute__(self, attr)


@dataclass
class RecordingOrchestration:
    """Implements nothing but the ``Orchestration`` contract and logs each call.

    Per path: ``fail_first`` raises a retryable error from the first ``execute``; ``skip``
    makes ``prepare`` return a ``Skip``; ``refuse`` makes ``execute`` fail for good.
    """

    fail_first: set[str] = field(default_factory=set)
    skip: set[str] = field(default_factory=set)
    refuse: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)
    prepared: list[PreparedCall] = field(default_factory=list)
    executed: list[PreparedCall] = field(default_factory=list)
    payload_reads: list[str] = field(default_factory=list)

    async def prepare(self, request: GenerationRequest) -> PreparedCall | Skip:
        path = request.path.decode()
        self.calls.append(("prepare", path))
        if path in self.skip:
            return Skip(request=request, frame_id=FrameId(b"\x02" * 32), reason="head_reuse")
        prepared = PreparedCall(
            request=request,
            provider_name="recorded",
            token_estimate=10,
            input_key="k" * 64,
            payload=Untouchable(path, self.payload_reads),
        )
        self.prepared.append(prepared)
        return prepared

    async def execute(self, prepared: PreparedCall) -> ExecutedCall:
        path = prepared.request.path.decode()
        self.calls.append(("execute", path))
        self.executed.append(prepared)
        if path in self.refuse:
            raise AuthFailedError("refused", status=401)
        if path in self.fail_first and self.calls.count(("execute", path)) == 1:
            raise ServerError("try again", status=500)
        return ExecutedCall(
            prepared=prepared,
            tokens_in=3,
            tokens_out=2,
            payload=Untouchable(path, self.payload_reads),
        )

    async def commit(self, executed: ExecutedCall) -> FrameResult:
        path = executed.prepared.request.path.decode()
        self.calls.append(("commit", path))
        return FrameResult(
            frame_id=FrameId(hashlib.sha256(path.encode()).digest()),
            tokens_in=executed.tokens_in,
            tokens_out=executed.tokens_out,
            served_model="recorded-model",
            provider_name=executed.prepared.provider_name,
        )


class AttributeLog:
    """Stands in front of an object and logs every attribute looked up on it."""

    def __init__(self, target: object) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_looked_up", [])

    def __getattribute__(self, attr: str) -> Any:
        object.__getattribute__(self, "_looked_up").append(attr)
        return getattr(object.__getattribute__(self, "_target"), attr)

    @staticmethod
    def looked_up(log: AttributeLog) -> list[str]:
        return list(object.__getattribute__(log, "_looked_up"))


def _request(path: str) -> GenerationRequest:
    return GenerationRequest(
        node_id=NodeId(hashlib.sha256(path.encode()).digest()),
        path=path.encode(),
        node_kind="file",
        depth=path.count("/"),
        agent_id="docs-writer",
        provider_name="recorded",
        frame_type="context-docs-writer",
    )


async def _drive(orchestration: RecordingOrchestration, paths: list[str]) -> dict[str, Any]:
    clock = FakeClock()
    front = AttributeLog(orchestration)
    queue = FrameGenerationQueue(
        front,  # stands in for the orchestration, logging every lookup
        config=QueueConfig(max_concurrency=2, max_attempts=3),
        clock=clock,
        observer=RecordingObserver(),
        limits_for=lambda _name: ProviderLimits(),
        rng=random.Random(5),
    )
    async with clock.auto_advance(), queue:
        outcomes = [await h.wait() for h in [await queue.enqueue(_request(p)) for p in paths]]
    return {
        "outcomes": {o.request.path.decode(): o for o in outcomes},
        "looked_up": AttributeLog.looked_up(front),
    }


async def test_the_queue_drives_its_orchestration_only_through_its_contract() -> None:
    orchestration = RecordingOrchestration(
        fail_first={"src/flaky.py"}, skip={"src/current.py"}, refuse={"src/denied.py"}
    )
    paths = ["src/ok.py", "src/flaky.py", "src/current.py", "src/denied.py"]
    driven = await _drive(orchestration, paths)
    # Nothing but the contract was looked up on the orchestration, ever.
    assert set(driven["looked_up"]) == {"prepare", "execute", "commit"}
    assert Counter(orchestration.calls) == Counter(
        {
            ("prepare", "src/ok.py"): 1,
            ("execute", "src/ok.py"): 1,
            ("commit", "src/ok.py"): 1,
            # A retry goes through prepare again (currency may have changed meanwhile).
            ("prepare", "src/flaky.py"): 2,
            ("execute", "src/flaky.py"): 2,
            ("commit", "src/flaky.py"): 1,
            ("prepare", "src/current.py"): 1,
            ("prepare", "src/denied.py"): 1,
            ("execute", "src/denied.py"): 1,
        }
    )
    for path in paths:
        mine = [c for c in orchestration.calls if c[1] == path]
        assert mine[0][0] == "prepare"
        # Each execute follows a prepare of the same attempt, and each commit an execute.
        assert all(a[0] == "prepare" for a, b in itertools.pairwise(mine) if b[0] == "execute")
        assert all(a[0] == "execute" for a, b in itertools.pairwise(mine) if b[0] == "commit")
    statuses = {p: o.status for p, o in driven["outcomes"].items()}
    assert statuses == {
        "src/ok.py": OutcomeStatus.DONE,
        "src/flaky.py": OutcomeStatus.DONE,
        "src/current.py": OutcomeStatus.SKIPPED,
        "src/denied.py": OutcomeStatus.FAILED,
    }


async def test_the_queue_hands_a_prepared_payload_back_untouched() -> None:
    orchestration = RecordingOrchestration(fail_first={"src/flaky.py"})
    await _drive(orchestration, ["src/a.py", "src/flaky.py"])
    assert len(orchestration.executed) == 3
    # The very PreparedCall prepare returned is what execute receives, and the queue never
    # looked inside its payload.
    assert [id(p) for p in orchestration.executed] == [id(p) for p in orchestration.prepared]
    assert orchestration.payload_reads == []


def test_importing_the_queue_loads_no_prompt_provider_metadata_or_http_code() -> None:
    probe = (
        "import json, sys; import contextree.context.queue; print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    assert QUEUE in loaded
    reached = sorted(m for m in loaded if m.startswith(KEPT_OUT))
    assert reached == []


def test_the_import_contract_keeps_the_queue_away_from_the_generation_units() -> None:
    contracts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"][
        "contracts"
    ]
    (contract,) = [c for c in contracts if QUEUE in c.get("source_modules", [])]
    assert contract["type"] == "forbidden"
    assert contract["allow_indirect_imports"] is False
    required = {m for m in KEPT_OUT if not m.endswith(("prompt_text", "orchestration"))}
    assert required <= set(contract["forbidden_modules"])


# --- every frame write goes through ContextApi.put_frames (put_frame is one write of it) ----

FILES = {
    "src/app.py": "def app():\n    return 1\n",  # LLM
    "src/empty.py": "",  # empty: no call
    "src/.env": "TOKEN=withheld\n",  # withheld: never read
    "poetry.lock": "[[package]]\nname = 'x'\n",  # structural: no LLM
    "docs/guide.md": "# Guide\n",  # LLM
}
KEY_ENV = "GATE_PROVIDER_KEY"
KEY = "sk-gate-0123456789abcdef"


class _SpyingApi(ContextApi):
    """The real API, recording every frame written through ``put_frames`` (which
    ``put_frame`` calls too) as (node id, frame id)."""

    calls: list[tuple[bytes, bytes]]

    def put_frames(self, writes: Sequence[FrameWrite]) -> Any:
        results = super().put_frames(writes)
        for write, result in zip(writes, results, strict=True):
            assert not isinstance(result, Exception), result
            self.calls.append((bytes(write.node_id), bytes(result)))
        return results


class _SpyWiring(RunWiring):
    """The composition root's parts with the spying API in place of the real one."""

    def __init__(self, calls: list[tuple[bytes, bytes]]) -> None:
        self.calls = calls

    def api(self, env: GenerationEnvironment, *, redact: bool) -> ContextApi:
        api = _SpyingApi(env.store, env.agents, secret_values=env.secret_values, redact=redact)
        api.calls = self.calls
        return api


@pytest.fixture
def put_frame_calls() -> list[tuple[bytes, bytes]]:
    return []


async def test_every_frame_a_generation_writes_goes_through_put_frame(
    workspace: Path, put_frame_calls: list[tuple[bytes, bytes]]
) -> None:
    async with FakeProviderServer(api_key=KEY, default=Reply(content="A summary.\n")) as server:
        write_tree(workspace, FILES)
        providers = workspace / ".contextree" / "providers"
        providers.mkdir(parents=True)
        (providers / "fake.toml").write_text(
            f'type = "openai"\nmodel = "fake-model"\nbase_url = "{server.openai_url}"\n'
            f'api_key_env = "{KEY_ENV}"\n',
            encoding="utf-8",
        )
        trust_workspace(workspace)  # the user approved it (contextree trust --yes)
        ws = load_workspace(str(workspace))
        environ = {KEY_ENV: KEY}
        with open_store(ws.layout, ws.settings) as store:
            env = replace(generation_environment(ws, store), environ=environ, cwd=workspace)
            env = replace(
                env,
                secret_values=configured_secret_values(env.providers, environ),
                parts=_SpyWiring(put_frame_calls),  # the seam, not a patched class
            )
            outcome = await run_generate(
                env, GenerateOptions(provider="fake"), observer=RecordingObserver()
            )
            count = {
                table: store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("frames", "generations", "heads")
            }
            providers_used = Counter(
                json.loads(row[0])["provider"]
                for row in store.conn.execute("SELECT metadata FROM generations")
            )
        llm_calls = len(server.completion_requests())
    assert outcome.result.succeeded
    done = outcome.result.count(NodeStatus.DONE)
    # Files (5) and directories (src, docs, the root): one frame each, each one put_frame call.
    assert done == len(put_frame_calls) == 8
    assert count["generations"] == len(put_frame_calls)
    assert count["frames"] == len({frame for _, frame in put_frame_calls})
    assert count["heads"] == len({node for node, _ in put_frame_calls})
    # Every way of making a frame was exercised: LLM calls, and frames made without one.
    assert providers_used == Counter({"fake": 5, "structural": 3})
    assert llm_calls == 5  # two files and three directories
