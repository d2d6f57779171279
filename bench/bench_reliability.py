"""Benchmark what a crash costs ``contextree generate``, and what provider faults cost it.

Usage::

    .venv/bin/python bench/bench_reliability.py [--kills 50] [--seed S] [--packages P]
                                                [--files-per-package F] [--concurrency C]
                                                [--latency SECONDS] [--soak-runs R]
                                                [--out bench/results/reliability.json]

Everything runs through the real CLI (``python -m contextree``) against the fake provider server
from ``tests/fakes`` in a thread of this process, on a workspace of P packages of F files.

Kill run: ``--kills`` times, from an empty store, ``generate`` is started and SIGKILLed (its
whole process group) by the fake server when request N arrives, N uniform over the run's
requests (from ``--seed``); then ``generate`` is run again to finish. Per kill it records:

* lost frames: answers the server had sent before the kill with no frame stored after it (each
  must be asked for again; calls still in flight at the kill are counted apart);
* corrupt frames: heads whose frame is not exactly the answer sent for that node, plus every
  problem ``ContextApi.verify`` reports (frame ids, heads, history, artifacts, SQLite);
* duplicate provider calls: calls the rerun made for nodes that already had a frame (must be 0)
  and nodes it asked for more than once;
* resume time: wall time of the rerun (CLI start-up included) and its own ``duration_s``.

Fault soak: the same workspace generated from an empty store ``--soak-runs`` times without
faults and as often with the soak's fault schedule (20% of nodes get 1-3 retryable faults: a
429 with ``retry-after-ms``, 500, 529, a hang until the 0.5 s attempt timeout, a dropped
connection; 2% of the files get a non-retryable answer), alternating; the backoff is shortened
through ``CONTEXTREE_GENERATION__*`` as in the soak test. It reports the medians of
``duration_s`` and their ratio.

Results go to a table on stdout and to JSON with machine info and the arguments. Child
processes get a temporary HOME and XDG directories, so no user configuration is read.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the fake provider server lives in tests/fakes

# E402 below: these imports need the path set-up above.
from tests.fakes.provider_server import FakeProviderServer  # noqa: E402
from tests.fakes.replies import Reply  # noqa: E402
from tests.helpers.kills import (  # noqa: E402
    TASK_PATH,
    expected_content,
    generate_argv,
    generate_until_killed,
)

from common import machine_info, write_json  # noqa: E402
from contextree.agents.registry import AgentRegistry  # noqa: E402
from contextree.api import ContextApi  # noqa: E402
from contextree.core.frame import default_frame_type  # noqa: E402
from contextree.core.ids import FrameId  # noqa: E402
from contextree.store.db import Store  # noqa: E402
from contextree.store.ledger import LedgerRows  # noqa: E402
from contextree.store.tree import TreeRows  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "reliability.json"
AGENT = "docs-writer"
FRAME_TYPE = default_frame_type(AGENT)
SOAK_ENV = {
    "CONTEXTREE_GENERATION__MAX_ATTEMPTS": "4",
    "CONTEXTREE_GENERATION__BACKOFF_BASE_S": "0.01",
    "CONTEXTREE_GENERATION__BACKOFF_CAP_S": "0.05",
    "CONTEXTREE_GENERATION__ATTEMPT_TIMEOUT_S": "0.5",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Args:
    kills: int
    seed: int
    packages: int
    files_per_package: int
    concurrency: int
    latency: float
    soak_runs: int
    out: Path


def parse_args(argv: Sequence[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--packages", type=int, default=8)
    parser.add_argument("--files-per-package", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.02, help="fake server, per call")
    parser.add_argument("--soak-runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ns = parser.parse_args(argv)
    return Args(
        kills=ns.kills,
        seed=ns.seed,
        packages=ns.packages,
        files_per_package=ns.files_per_package,
        concurrency=ns.concurrency,
        latency=ns.latency,
        soak_runs=ns.soak_runs,
        out=ns.out,
    )


# ---- the workspace ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Bench:
    """One benchmark workspace, its node paths, and the environment children run with."""

    root: Path
    files: tuple[str, ...]
    nodes: frozenset[str]
    env: dict[str, str]

    def reset_store(self) -> None:
        data = self.root / ".contextree"
        for name in ("store.db", "store.db-wal", "store.db-shm"):
            (data / name).unlink(missing_ok=True)


def _write_profile(bench: Bench, base_url: str) -> None:
    """The ``fake`` profile in the children's user config directory: a user profile is
    trusted, a workspace one would need ``contextree trust`` first."""
    providers = Path(bench.env["XDG_CONFIG_HOME"]) / "contextree" / "providers"
    providers.mkdir(parents=True, exist_ok=True)
    (providers / "fake.toml").write_text(
        f'name = "fake"\ntype = "openai"\nmodel = "fake-model"\n'
        f'base_url = "{base_url}"\napi_key_env = ""\n'
    )


def make_bench(tmp: Path, args: Args) -> Bench:
    root = tmp / "ws"
    files = tuple(
        f"pkg{j:02}/mod{i:02}.py"
        for j in range(args.packages)
        for i in range(args.files_per_package)
    )
    for index, rel in enumerate(files):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"def f{index}(x):\n    return x * {index}\n")
        os.utime(path, ns=(1_600_000_000 * 10**9,) * 2)  # old: never "racy" for the scan
    nodes = frozenset({*files, *(f"pkg{j:02}" for j in range(args.packages)), "."})
    home = tmp / "home"
    env = dict(os.environ)
    env.update({"HOME": str(home), "COLUMNS": "200"})
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    for name in [n for n in env if n.startswith("CONTEXTREE_")]:
        del env[name]
    return Bench(root=root, files=files, nodes=nodes, env=env)


def stored_heads(bench: Bench) -> tuple[dict[str, bytes], int]:
    """path -> head frame content, and the number of problems ``verify`` reports."""
    with Store.open(bench.root / ".contextree" / "store.db") as store:
        paths = {
            row[1]: path.decode() or "."
            for path, row in TreeRows(store.conn).load_entries().items()
        }
        api = ContextApi(store, AgentRegistry.builtin())
        heads = {}
        for node_id, (frame_id, _) in api.head_keys(AGENT, FRAME_TYPE).items():
            frame = api.get_frame(FrameId(frame_id))
            heads[paths[node_id]] = frame.content if frame is not None else b""
        problems = api.verify().problem_count
    return heads, problems


def interrupted_runs(bench: Bench) -> int:
    with Store.open(bench.root / ".contextree" / "store.db") as store:
        return len(LedgerRows(store.conn).runs_with_status("interrupted"))


# ---- the kill run ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Kill:
    kill_at: int
    killed: bool
    heads_at_kill: int
    answered_at_kill: int
    in_flight_at_kill: int
    lost_frames: int
    corrupt_frames: int
    verify_problems: int
    rerun_calls: int
    duplicate_calls: int
    reconciled: bool
    rerun_ok: bool
    complete_after_rerun: bool
    resume_wall_s: float
    resume_duration_s: float


def kill_once(bench: Bench, server: FakeProviderServer, *, kill_at: int, concurrency: int) -> Kill:
    bench.reset_store()
    snap = generate_until_killed(
        server, generate_argv(bench.root, concurrency), kill_at=kill_at, env=bench.env
    )
    arrived = frozenset(snap.sent_before)
    heads, problems = stored_heads(bench)
    corrupt = sum(content != expected_content(path) for path, content in heads.items())
    offset = len(server.requests)
    started_at = time.perf_counter()
    rerun = subprocess.run(
        generate_argv(bench.root, concurrency),
        env=bench.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    wall = time.perf_counter() - started_at
    calls = [str(r.node_path) for r in server.completion_requests()[offset:]]
    duration = json.loads(rerun.stdout)["duration_s"] if rerun.returncode == 0 else float("nan")
    after, _ = stored_heads(bench)
    return Kill(
        kill_at=kill_at,
        killed=snap.killed,
        heads_at_kill=len(heads),
        answered_at_kill=len(snap.answered),
        in_flight_at_kill=len(arrived - snap.answered),
        lost_frames=len(snap.answered - set(heads)),
        corrupt_frames=corrupt,
        verify_problems=problems,
        rerun_calls=len(calls),
        duplicate_calls=len(set(calls) & set(heads)) + len(calls) - len(set(calls)),
        reconciled=interrupted_runs(bench) == 1,
        rerun_ok=rerun.returncode == 0,
        complete_after_rerun=after == {path: expected_content(path) for path in bench.nodes},
        resume_wall_s=wall,
        resume_duration_s=duration,
    )


def kill_run(bench: Bench, args: Args) -> list[Kill]:
    rng = random.Random(args.seed)
    server = FakeProviderServer(path_pattern=TASK_PATH, latency=args.latency)
    url = server.start_in_thread()
    try:
        _write_profile(bench, f"{url}/v1")
        kills = []
        for number in range(1, args.kills + 1):
            kill_at = rng.randint(1, len(bench.nodes))
            kill = kill_once(bench, server, kill_at=kill_at, concurrency=args.concurrency)
            kills.append(kill)
            print(
                f"  kill {number:>3}/{args.kills} at request {kill_at:>3}: "
                f"{kill.heads_at_kill:>3} frames kept, {kill.lost_frames} lost, "
                f"{kill.in_flight_at_kill} in flight, {kill.duplicate_calls} duplicate calls, "
                f"resume {kill.resume_wall_s:.2f} s",
                flush=True,
            )
    finally:
        server.stop()
    return kills


# ---- the fault soak --------------------------------------------------------------------------


def script_faults(server: FakeProviderServer, bench: Bench, rng: random.Random) -> None:
    retryable = (
        lambda: Reply.rate_limited(retry_after_ms=str(rng.randint(5, 40))),
        lambda: Reply.error(500, "internal error"),
        lambda: Reply.error(529, "Overloaded", type="overloaded_error"),
        Reply.hang,
        Reply.close,
    )
    fatal = (
        lambda: Reply.error(400, "Invalid request"),
        lambda: Reply.error(401, "Incorrect API key provided.", code="invalid_api_key"),
        lambda: Reply.error(429, "You exceeded your current quota.", code="insufficient_quota"),
    )
    nodes = sorted(bench.nodes)
    faulty = rng.sample(nodes, k=round(0.2 * len(nodes)))
    doomed = rng.sample(sorted(set(bench.files) - set(faulty)), k=round(0.02 * len(nodes)))
    for path in faulty:
        server.script_path(path, *(rng.choice(retryable)() for _ in range(rng.randint(1, 3))))
    for path in doomed:
        server.script_path(path, rng.choice(fatal)())


@dataclass(frozen=True, slots=True, kw_only=True)
class SoakRun:
    faults: bool
    duration_s: float
    wall_s: float
    calls: int
    done: int
    failed: int
    blocked: int


def soak_once(bench: Bench, args: Args, *, faults: bool, seed: int) -> SoakRun:
    bench.reset_store()
    server = FakeProviderServer(path_pattern=TASK_PATH, latency=args.latency)
    if faults:
        script_faults(server, bench, random.Random(seed))
    url = server.start_in_thread()
    try:
        _write_profile(bench, f"{url}/v1")
        started = time.perf_counter()
        result = subprocess.run(
            generate_argv(bench.root, args.concurrency),
            env=bench.env | SOAK_ENV,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        wall = time.perf_counter() - started
    finally:
        server.stop()
    doc = json.loads(result.stdout)
    totals = doc["totals"]
    return SoakRun(
        faults=faults,
        duration_s=doc["duration_s"],
        wall_s=wall,
        calls=len(server.completion_requests()),
        done=totals["done"],
        failed=totals["failed"],
        blocked=totals["blocked"],
    )


def soak(bench: Bench, args: Args) -> list[SoakRun]:
    runs = []
    for number in range(args.soak_runs):
        for faults in (False, True):
            run = soak_once(bench, args, faults=faults, seed=args.seed + number)
            runs.append(run)
            label = "faults" if faults else "clean "
            print(
                f"  soak {number + 1}/{args.soak_runs} {label}: {run.duration_s:.2f} s, "
                f"{run.calls} calls, {run.done} done, {run.failed} failed, "
                f"{run.blocked} blocked",
                flush=True,
            )
    return runs


# ---- report ----------------------------------------------------------------------------------


def quantiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }


def summarise(kills: list[Kill], runs: list[SoakRun]) -> dict[str, object]:
    clean = [r.duration_s for r in runs if not r.faults]
    faulted = [r.duration_s for r in runs if r.faults]
    return {
        "kills": len(kills),
        "killed": sum(k.killed for k in kills),
        "reconciled_as_interrupted": sum(k.reconciled for k in kills),
        "reruns_ok": sum(k.rerun_ok for k in kills),
        "complete_after_rerun": sum(k.complete_after_rerun for k in kills),
        "lost_frames_total": sum(k.lost_frames for k in kills),
        "lost_frames_max_per_kill": max(k.lost_frames for k in kills),
        "in_flight_at_kill_total": sum(k.in_flight_at_kill for k in kills),
        "corrupt_frames_total": sum(k.corrupt_frames for k in kills),
        "verify_problems_total": sum(k.verify_problems for k in kills),
        "duplicate_calls_per_kill_max": max(k.duplicate_calls for k in kills),
        "duplicate_calls_total": sum(k.duplicate_calls for k in kills),
        "resume_wall_s": quantiles([k.resume_wall_s for k in kills]),
        "resume_duration_s": quantiles([k.resume_duration_s for k in kills]),
        # --soak-runs 0 skips the soak: its figures are then None, not a crash.
        "soak_clean_duration_s_median": statistics.median(clean) if clean else None,
        "soak_faults_duration_s_median": statistics.median(faulted) if faulted else None,
        "soak_makespan_ratio": (
            statistics.median(faulted) / statistics.median(clean) if clean and faulted else None
        ),
    }


def print_table(summary: dict[str, object]) -> None:
    wall = summary["resume_wall_s"]
    own = summary["resume_duration_s"]
    assert isinstance(wall, dict) and isinstance(own, dict)
    rows = [
        ("kills (SIGKILL delivered)", f"{summary['kills']} ({summary['killed']})"),
        ("killed run reconciled as interrupted", str(summary["reconciled_as_interrupted"])),
        (
            "reruns exit 0 / store complete after",
            f"{summary['reruns_ok']} / {summary['complete_after_rerun']}",
        ),
        (
            "lost frames (total, max per kill)",
            f"{summary['lost_frames_total']}, {summary['lost_frames_max_per_kill']}",
        ),
        ("calls in flight at the kill (total)", str(summary["in_flight_at_kill_total"])),
        (
            "corrupt frames / verify problems",
            f"{summary['corrupt_frames_total']} / {summary['verify_problems_total']}",
        ),
        ("duplicate provider calls (max per kill)", str(summary["duplicate_calls_per_kill_max"])),
        (
            "resume wall s (median, p90, max)",
            f"{wall['median']:.2f}, {wall['p90']:.2f}, {wall['max']:.2f}",
        ),
        (
            "resume duration_s (median, p90, max)",
            f"{own['median']:.2f}, {own['p90']:.2f}, {own['max']:.2f}",
        ),
    ]
    if summary["soak_makespan_ratio"] is not None:
        rows += [
            (
                "soak makespan clean / faults (median s)",
                f"{summary['soak_clean_duration_s_median']:.2f}"
                f" / {summary['soak_faults_duration_s_median']:.2f}",
            ),
            ("soak makespan ratio", f"{summary['soak_makespan_ratio']:.2f}x"),
        ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) / 2:
        print(f"warning: load average {load:.2f}: other processes will skew the timings")
    with tempfile.TemporaryDirectory(prefix="ct-reliability-") as tmp:
        bench = make_bench(Path(tmp), args)
        print(
            f"contextree reliability benchmark: {len(bench.nodes)} nodes, "
            f"{args.kills} kills, concurrency {args.concurrency}, latency {args.latency} s, "
            f"seed {args.seed}",
            flush=True,
        )
        kills = kill_run(bench, args)
        runs = soak(bench, args)
        summary = summarise(kills, runs)
        nodes = len(bench.nodes)
    print_table(summary)
    write_json(
        args.out,
        {
            "machine": machine_info(),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(args).items()},
            "nodes": nodes,
            "summary": summary,
            "kills": [asdict(k) for k in kills],
            "soak_runs": [asdict(r) for r in runs],
        },
    )
    print(f"results written to {args.out}")
    bad = (
        summary["corrupt_frames_total"],
        summary["verify_problems_total"],
        summary["duplicate_calls_total"],
    )
    return 0 if bad == (0, 0, 0) and summary["complete_after_rerun"] == len(kills) else 1


if __name__ == "__main__":
    sys.exit(main())
