"""Benchmark the generation queue over real HTTP: requests/s, client CPU per request, and the
peak concurrency the provider saw, at concurrency 1, 64 and 512.

Usage::

    .venv/bin/python bench/bench_queue.py [--quick] [--levels 1,64,512] [--scale 1.0]
                                          [--out bench/results/queue.json]

The provider is the fake provider server (``tests/fakes/provider_server.py``) running in a
separate process (this script started again with ``--serve``), answering every request at once
in the OpenAI wire format. Each measurement starts a fresh server process so the peak it
reports belongs to that measurement alone; the server also reports its own CPU time.

Client paths measured:

* ``queue+http``: the real ``FrameGenerationQueue`` (ordering, dedupe, limits, telemetry to a
  null observer) driving a thin orchestration whose ``prepare`` returns a fixed prepared call
  and whose ``execute`` calls the real ``ProviderExecution`` (the registry-built OpenAI
  adapter on one shared aiohttp session) with a fixed small prompt. No store, no prompt
  collection, no ``put_frame``: this isolates queue + provider execution + HTTP.
* ``full``: the real ``Orchestrator`` over a scanned workspace of small files (currency check
  and head lookup, reading and hash-checking each file in a thread, prompt assembly with the
  built-in ``docs-writer`` agent, provider call, metadata construction, ``put_frame`` with
  lineage into SQLite). File nodes only, so every request is independent.

For each run: wall time and requests/s over the measured requests (after a warm-up at the same
concurrency that opens the connections), client CPU per request (``time.process_time()``
delta over the measured requests, all threads of this process, divided by their number), the
server's CPU per request, and the largest number of requests the server had in flight at once
next to the limit that should bound it (the queue's concurrency; the connector limit is set to
match unless the row says otherwise). Target: client CPU < 0.5 ms per request at concurrency 64.

The open-file limit is raised to its hard limit in both processes (512 connections need 512
descriptors on each side). Results go to a table on stdout and JSON (with machine info).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any

from common import machine_info, write_json
from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi
from contextree.config.settings import ProviderSettings
from contextree.context.clock import MonotonicClock
from contextree.context.generation.contracts import (
    ExecutedCall,
    FrameResult,
    GenerationRequest,
    Orchestration,
    PreparedCall,
    Priority,
)
from contextree.context.generation.orchestration import Orchestrator
from contextree.context.generation.prompt_collection import PromptCollector
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.context.limits import ProviderLimits
from contextree.context.queue import FrameGenerationQueue, OutcomeStatus, QueueConfig
from contextree.core.frame import default_frame_type
from contextree.core.ids import FrameId, NodeId
from contextree.core.messages import ChatMessage, Role
from contextree.providers import LoadedProfile, ProfileSource, ProviderHttp, ProviderProfile
from contextree.providers.registry import ProviderRegistry
from contextree.store.db import Store
from contextree.store.tree import TreeRows
from contextree.telemetry import NullObserver
from contextree.workspace.scan import Scanner
from contextree.workspace.scope import ScopeRules

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "queue.json"
DEFAULT_LEVELS = (1, 64, 512)
#: Measured requests per concurrency level (scaled by --scale); a few seconds each.
REQUESTS = {1: 2_000, 64: 20_000, 512: 20_000}
FULL_PATH_FILES = 5_000
FULL_PATH_CONCURRENCY = 64
QUICK_SCALE = 0.2
TARGET_CPU_MS = 0.5
TARGET_CONCURRENCY = 64
#: The shipped default of ``[providers] connector_limit``.
DEFAULT_CONNECTOR_LIMIT = ProviderSettings().connector_limit

AGENT = "docs-writer"
FRAME_TYPE = default_frame_type(AGENT)
THIN_MESSAGES = (
    ChatMessage(role=Role.SYSTEM, content="You write one-line summaries."),
    ChatMessage(
        role=Role.USER,
        content="Context:\nPath: src/a.py\nType: File\nContent:\nA = 1\n\n\n"
        "Task: Summarise src/a.py (File, 6 bytes).",
    ),
)
NO_FRAME = FrameId(bytes(32))


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---- the server process ----------------------------------------------------------------------


async def _serve(latency: float) -> None:
    """``--serve [LATENCY]``: run the fake provider (answering after ``latency`` seconds), print
    ``READY <url>``, answer ``stats`` on stdin; stop at end of stdin."""
    if str(REPO) not in sys.path:  # the fake provider server lives in tests/fakes
        sys.path.insert(0, str(REPO))
    from tests.fakes.provider_server import FakeProviderServer
    from tests.fakes.replies import Reply

    raise_open_file_limit()
    server = FakeProviderServer(
        default=Reply(content="A one-line summary.", tokens_out=5), latency=latency
    )
    await server.start()
    print(f"READY {server.base_url}", flush=True)
    try:
        while line := await asyncio.to_thread(sys.stdin.readline):
            if line.strip() == "stats":
                stats = {
                    "requests": len(server.requests),
                    "peak_concurrency": server.peak_concurrency,
                    "cpu_s": time.process_time(),
                }
                print(json.dumps(stats), flush=True)
    finally:
        await server.aclose()


class ServerProcess:
    """The fake provider in a child process; stops when its stdin closes."""

    def __init__(self, latency: float = 0.0) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", repr(latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
            text=True,
        )
        line = self._stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.close()
            raise RuntimeError(f"the fake provider did not start (said {line!r})")
        self.base_url = line[1]

    @property
    def _stdout(self) -> IO[str]:
        assert self._proc.stdout is not None
        return self._proc.stdout

    def stats(self) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write("stats\n")
        self._proc.stdin.flush()
        data: dict[str, Any] = json.loads(self._stdout.readline())
        return data

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=60)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ---- the client ------------------------------------------------------------------------------


class ThinOrchestration:
    """A fixed prepared call per request, executed by the real provider execution unit."""

    def __init__(self, providers: ProviderExecution) -> None:
        self._providers = providers

    async def prepare(self, request: GenerationRequest) -> PreparedCall:
        return PreparedCall(
            request=request, provider_name="fake", token_estimate=0, input_key="", payload=None
        )

    async def execute(self, prepared: PreparedCall) -> ExecutedCall:
        result = await self._providers.call("fake", THIN_MESSAGES, None, event_data={})
        return ExecutedCall(
            prepared=prepared,
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            payload=result.served_model,
        )

    async def commit(self, executed: ExecutedCall) -> FrameResult:
        assert isinstance(executed.payload, str)
        return FrameResult(
            frame_id=NO_FRAME,
            tokens_in=executed.tokens_in,
            tokens_out=executed.tokens_out,
            served_model=executed.payload,
            provider_name="fake",
        )


def fake_registry(base_url: str) -> ProviderRegistry:
    profile = ProviderProfile.model_validate(
        {
            "name": "fake",
            "type": "openai",
            "model": "fake-model",
            "base_url": base_url + "/v1",
            "api_key_env": "",
        }
    )
    entry = LoadedProfile(profile=profile, source=ProfileSource.WORKSPACE, path=None)
    return ProviderRegistry({"fake": entry})


def make_queue(
    orchestration: Orchestration, concurrency: int, pending: int
) -> FrameGenerationQueue:
    return FrameGenerationQueue(
        orchestration,
        config=QueueConfig(max_pending=pending, max_concurrency=concurrency, max_attempts=1),
        clock=MonotonicClock(),
        observer=NullObserver(),
        limits_for=lambda _name: ProviderLimits(),
        rng=random.Random(0),
    )


def synthetic_request(i: int) -> GenerationRequest:
    return GenerationRequest(
        node_id=NodeId(i.to_bytes(32, "big")),
        path=b"src/f%d.py" % i,
        node_kind="file",
        depth=2,
        agent_id=AGENT,
        provider_name="fake",
        frame_type=FRAME_TYPE,
    )


async def drive(queue: FrameGenerationQueue, requests: Sequence[GenerationRequest]) -> None:
    """Enqueue all of ``requests`` and wait for every outcome; any failure aborts the run."""
    handles = await queue.enqueue_batch([(r, Priority.NORMAL) for r in requests])
    for handle in handles:
        outcome = await handle.wait()
        if outcome.status is not OutcomeStatus.DONE:
            raise RuntimeError(f"request {handle.request.path!r} ended {outcome.status}: {outcome}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    path: str
    concurrency: int
    connector_limit: int
    #: What should bound the requests in flight: min(queue concurrency, connector limit).
    limit: int
    requests: int
    warmup: int
    wall_s: float
    requests_per_s: float
    client_cpu_ms_per_request: float
    server_cpu_ms_per_request: float
    server_requests: int
    #: Most requests the instantly answering server was handling at once.
    instant_peak: int
    #: The same with the server holding each request ``held_latency_s`` (None: not measured).
    held_latency_s: float | None = None
    held_requests: int | None = None
    held_peak: int | None = None


async def _measured(
    server: ServerProcess,
    queue: FrameGenerationQueue,
    warmup: Sequence[GenerationRequest],
    measured: Sequence[GenerationRequest],
) -> tuple[float, float, float]:
    """(wall s, client CPU s, server CPU s) of the measured requests, after the warm-up."""
    await drive(queue, warmup)
    server_before = server.stats()["cpu_s"]
    cpu, wall = time.process_time(), time.perf_counter()
    await drive(queue, measured)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, server.stats()["cpu_s"] - server_before


def _result(
    *,
    path: str,
    concurrency: int,
    connector_limit: int,
    warmup: int,
    n: int,
    timing: tuple[float, float, float],
    stats: dict[str, Any],
) -> RunResult:
    wall, cpu, server_cpu = timing
    return RunResult(
        path=path,
        concurrency=concurrency,
        connector_limit=connector_limit,
        limit=min(concurrency, connector_limit),
        requests=n,
        warmup=warmup,
        wall_s=round(wall, 3),
        requests_per_s=round(n / wall, 1),
        client_cpu_ms_per_request=round(cpu * 1000 / n, 4),
        server_cpu_ms_per_request=round(server_cpu * 1000 / n, 4),
        server_requests=int(stats["requests"]),
        instant_peak=int(stats["peak_concurrency"]),
    )


async def _thin_run(
    server: ServerProcess, concurrency: int, limit: int, warmup: int, n: int
) -> tuple[float, float, float]:
    async with ProviderHttp(ProviderSettings(connector_limit=limit), environ={}) as http:
        providers = ProviderExecution(
            fake_registry(server.base_url), http, NullObserver(), environ={}
        )
        queue = make_queue(ThinOrchestration(providers), concurrency, warmup + n)
        async with queue:
            return await _measured(
                server,
                queue,
                [synthetic_request(i) for i in range(warmup)],
                [synthetic_request(i) for i in range(warmup, warmup + n)],
            )


def held_latency(concurrency: int) -> float:
    """Long enough that the client can put ``concurrency`` requests in flight at ~1k req/s."""
    return max(0.05, concurrency / 500)


async def run_thin(concurrency: int, n: int, *, connector_limit: int | None = None) -> RunResult:
    limit = connector_limit or concurrency
    warmup = min(max(2 * concurrency, 100), n)
    with ServerProcess() as server:
        timing = await _thin_run(server, concurrency, limit, warmup, n)
        stats = server.stats()
    result = _result(
        path="queue+http",
        concurrency=concurrency,
        connector_limit=limit,
        warmup=warmup,
        n=n,
        timing=timing,
        stats=stats,
    )
    # An instant answer never overlaps another in the server's handler, so the limit is
    # checked again with every answer held back long enough for all slots to fill.
    latency = held_latency(concurrency)
    held_n = max(2 * concurrency, 10)
    with ServerProcess(latency) as server:
        await _thin_run(server, concurrency, limit, 0, held_n)
        held = server.stats()
    return replace(
        result,
        held_latency_s=latency,
        held_requests=held_n,
        held_peak=int(held["peak_concurrency"]),
    )


def _write_workspace(root: Path, files: int) -> None:
    rng = random.Random(7)
    words = ("alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta")
    for i in range(files):
        folder = root / "src" / f"pkg{i // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(
            f"def {rng.choice(words)}_{j}(x: int) -> int:\n    return x * {rng.randint(2, 99)}\n\n"
            for j in range(20)
        )
        (folder / f"mod{i:05d}.py").write_text(f'"""Module {i}."""\n\n{body}')


async def run_full(concurrency: int, files: int) -> RunResult:
    warmup = min(max(2 * concurrency, 100), files // 5)
    with tempfile.TemporaryDirectory(prefix="ct-bench-queue-") as tmp, ServerProcess() as server:
        root = Path(tmp)
        _write_workspace(root, files)
        (root / ".contextree").mkdir()
        with Store.open(root / ".contextree" / "store.db") as store:
            Scanner(root, store).scan()
            tree = TreeRows(store.conn)
            entries = [e for e in tree.subtree(b"") if e.kind == "file"]
            agents = AgentRegistry.builtin()
            api = ContextApi(store, agents)
            requests = [
                GenerationRequest(
                    node_id=NodeId(e.node_id),
                    path=e.path,
                    node_kind="file",
                    depth=e.path.count(b"/") + 1,
                    agent_id=AGENT,
                    provider_name="fake",
                    frame_type=FRAME_TYPE,
                )
                for e in sorted(entries, key=lambda e: e.path)
            ]
            settings = ProviderSettings(connector_limit=concurrency)
            async with ProviderHttp(settings, environ={}) as http:
                providers = ProviderExecution(
                    fake_registry(server.base_url), http, NullObserver(), environ={}
                )
                orchestrator = Orchestrator(
                    api=api,
                    tree=tree,
                    agents=agents,
                    providers=providers,
                    collector=PromptCollector(
                        root=root, api=api, tree=tree, scope=ScopeRules.build()
                    ),
                )
                async with make_queue(orchestrator, concurrency, len(requests)) as queue:
                    timing = await _measured(server, queue, requests[:warmup], requests[warmup:])
            heads = len(
                api.heads([r.node_id for r in requests], agent_id=AGENT, frame_type=FRAME_TYPE)
            )
            if heads != len(requests):
                raise RuntimeError(f"{len(requests)} files generated but {heads} heads written")
        stats = server.stats()
    return _result(
        path="full",
        concurrency=concurrency,
        connector_limit=concurrency,
        warmup=warmup,
        n=len(requests) - warmup,
        timing=timing,
        stats=stats,
    )


# ---- report ----------------------------------------------------------------------------------


def table(results: Sequence[RunResult]) -> str:
    head = (
        f"{'path':<11} {'conc':>5} {'conn':>5} {'requests':>9} {'wall s':>7} {'req/s':>8} "
        f"{'client ms/req':>13} {'server ms/req':>13} {'peak inst':>9} {'peak held/limit':>15}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        held = "-" if r.held_peak is None else f"{r.held_peak}/{r.limit}"
        lines.append(
            f"{r.path:<11} {r.concurrency:>5} {r.connector_limit:>5} {r.requests:>9,} "
            f"{r.wall_s:>7.2f} {r.requests_per_s:>8,.0f} {r.client_cpu_ms_per_request:>13.3f} "
            f"{r.server_cpu_ms_per_request:>13.3f} {r.instant_peak:>9} {held:>15}"
        )
    return "\n".join(lines)


def verdict(results: Sequence[RunResult]) -> dict[str, Any]:
    at_target = [
        r for r in results if r.concurrency == TARGET_CONCURRENCY and r.path == "queue+http"
    ]
    cpu = at_target[0].client_cpu_ms_per_request if at_target else None
    held = [r for r in results if r.held_peak is not None]
    return {
        "target_client_cpu_ms_at_c64": TARGET_CPU_MS,
        "client_cpu_ms_at_c64": cpu,
        "met": cpu is not None and cpu < TARGET_CPU_MS,
        "peak_never_above_limit": all(
            r.instant_peak <= r.limit and (r.held_peak or 0) <= r.limit for r in results
        ),
        "held_peak_reached_limit": all(r.held_peak == r.limit for r in held),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Args:
    levels: tuple[int, ...]
    scale: float
    full: bool
    out: Path


def parse_args(argv: Sequence[str] | None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--levels", default=",".join(map(str, DEFAULT_LEVELS)))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply request counts")
    parser.add_argument("--quick", action="store_true", help=f"--scale {QUICK_SCALE}")
    parser.add_argument("--no-full", action="store_true", help="skip the full-path run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ns = parser.parse_args(argv)
    levels = tuple(int(x) for x in ns.levels.split(",") if x.strip())
    if not levels or min(levels) < 1:
        parser.error("--levels takes positive integers, e.g. 1,64,512")
    return Args(
        levels=levels,
        scale=QUICK_SCALE if ns.quick else ns.scale,
        full=not ns.no_full,
        out=ns.out,
    )


async def run_all(args: Args) -> list[RunResult]:
    results = []
    for level in args.levels:
        n = max(100, round(REQUESTS.get(level, 20_000) * args.scale))
        results.append(await run_thin(level, n))
        print(table(results[-1:]).splitlines()[-1], flush=True)
    if max(args.levels) > DEFAULT_CONNECTOR_LIMIT:
        # What a user gets at that concurrency without raising [providers] connector_limit.
        level = max(args.levels)
        n = max(100, round(REQUESTS.get(level, 20_000) * args.scale))
        results.append(await run_thin(level, n, connector_limit=DEFAULT_CONNECTOR_LIMIT))
        print(table(results[-1:]).splitlines()[-1], flush=True)
    if args.full:
        files = max(500, round(FULL_PATH_FILES * args.scale))
        results.append(await run_full(FULL_PATH_CONCURRENCY, files))
        print(table(results[-1:]).splitlines()[-1], flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["--serve"]:
        asyncio.run(_serve(float(sys.argv[2])))
        return 0
    args = parse_args(argv)
    nofile = raise_open_file_limit()
    print(f"open-file limit {nofile}; levels {args.levels}; scale {args.scale}", flush=True)
    print(table([]), flush=True)
    results = asyncio.run(run_all(args))
    print()
    print(table(results))
    summary = verdict(results)
    print(
        f"\nclient CPU at c={TARGET_CONCURRENCY}: {summary['client_cpu_ms_at_c64']} ms/request "
        f"(target < {TARGET_CPU_MS} ms: {'met' if summary['met'] else 'NOT met'}); "
        f"server peak never above its limit: {summary['peak_never_above_limit']}; "
        f"held peak reached the limit: {summary['held_peak_reached_limit']}"
    )
    write_json(
        args.out,
        {
            "benchmark": "queue",
            "machine": machine_info(),
            "open_file_limit": nofile,
            "notes": [
                "queue+http: real queue, ProviderExecution and OpenAI adapter; thin "
                "orchestration with a fixed small prompt (no store, prompt collection or "
                "put_frame)",
                "full: real Orchestrator over a scanned workspace of small .py files "
                "(docs-writer agent), frames written through put_frame",
                "the fake provider server runs in a separate process and answers at once",
                "observers are null observers",
            ],
            "results": [asdict(r) for r in results],
            "summary": summary,
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
