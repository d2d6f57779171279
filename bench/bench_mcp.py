"""The MCP server's two figures: tool round trip over stdio (p95 target < 100 ms) and server
start-up (target < 1 s).

Usage::

    .venv/bin/python bench/bench_mcp.py [--files N] [--calls N] [--starts N]
                                        [--out bench/results/mcp.json]

A workspace of ``--files`` Python files (20 per directory, two levels) is written to a
temporary directory with a temporary ``HOME`` and XDG directories, and ``contextree generate``
runs once with the offline ``structural`` provider. Then:

* start-up, ``--starts`` times: from spawning ``python -m contextree mcp`` to the end of the
  SDK client's connection (``server/discover`` or ``initialize`` answered); the interpreter's
  bare start (``python -c pass``) and the SDK's own import (``python -c "import mcp.server"``)
  are reported beside it for scale;
* round trip: one server, the SDK's own client over stdio, ``--calls`` calls of each tool
  (``get_frame`` and ``get_context`` on files picked at random with a fixed seed,
  ``list_children`` on directories, ``search`` on symbol names, ``workspace_status``), each
  timed from ``call_tool`` to its result; p50, p95 and max per tool and over all calls.

The load average is stored with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import machine_info, median, write_json

REPO = Path(__file__).resolve().parents[1]
PER_DIR = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def make_workspace(root: Path, files: int) -> list[str]:
    paths = []
    for i in range(files):
        rel = f"pkg_{i // (PER_DIR * PER_DIR):02d}/sub_{(i // PER_DIR) % PER_DIR:02d}/mod_{i}.py"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f'"""Module {i}."""\n\n\ndef handler_{i}(request):\n    return request\n\n\n'
            f"class Model{i}:\n    size = {i}\n"
        )
        paths.append(rel)
    return paths


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTEXTREE_")}
    env["HOME"] = str(home)
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    return env


async def time_starts(workspace: Path, env: dict[str, str], starts: int) -> list[float]:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "contextree", "-w", str(workspace), "mcp"], env=env
    )
    times = []
    for _ in range(starts):
        began = time.perf_counter()
        async with Client(params) as client:
            times.append(time.perf_counter() - began)
            await client.list_tools()
    return times


async def time_calls(
    workspace: Path, env: dict[str, str], files: list[str], calls: int
) -> dict[str, list[float]]:
    from mcp import Client, StdioServerParameters

    rng = random.Random(7)
    dirs = sorted({f.rsplit("/", 1)[0] for f in files})
    plan: dict[str, Any] = {
        "get_frame": lambda: {"path": rng.choice(files)},
        "get_context": lambda: {"path": rng.choice(files), "budget": 4000},
        "list_children": lambda: {"path": rng.choice(dirs)},
        "search": lambda: {"query": f"handler_{rng.randrange(len(files))}", "limit": 10},
        "workspace_status": dict,
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "contextree", "-w", str(workspace), "mcp"], env=env
    )
    times: dict[str, list[float]] = {name: [] for name in plan}
    async with Client(params, read_timeout_seconds=120) as client:
        await client.list_tools()
        for name, args in plan.items():  # one warm-up call each
            assert not (await client.call_tool(name, args())).is_error
        for _ in range(calls):
            for name, args in plan.items():
                arguments = args()
                began = time.perf_counter()
                result = await client.call_tool(name, arguments)
                times[name].append(time.perf_counter() - began)
                assert not result.is_error, result.content[0]
    return times


def bare_python(env: dict[str, str], repeat: int, code: str = "pass") -> list[float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        times.append(time.perf_counter() - began)
    return times


def summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(median(ms), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "max_ms": round(max(ms), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=100, help="calls of each tool")
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "mcp.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
        base = Path(tmp)
        env = environment(base / "home")
        workspace = base / "ws"
        files = make_workspace(workspace, args.files)
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "contextree", "-w", str(workspace), "-q", "generate"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        generate_s = time.perf_counter() - began
        starts = asyncio.run(time_starts(workspace, env, args.starts))
        bare = bare_python(env, args.starts)
        sdk = bare_python(env, args.starts, "import mcp.server")
        calls = asyncio.run(time_calls(workspace, env, files, args.calls))

    every = [t for ts in calls.values() for t in ts]
    result = {
        "files": args.files,
        "generate_s": round(generate_s, 2),
        "startup": summary(starts),
        "python_bare_start": summary(bare),
        "python_import_mcp_server": summary(sdk),
        "round_trip_all": summary(every),
        "round_trip": {name: summary(ts) for name, ts in calls.items()},
        "load_average": os.getloadavg(),
        "machine": machine_info(),
    }
    write_json(args.out, result)
    print(f"workspace: {args.files:,} files (generate {generate_s:.1f} s)")
    print(
        f"start-up (spawn to connected): p50 {result['startup']['p50_ms']} ms, "
        f"p95 {result['startup']['p95_ms']} ms (bare python: "
        f"{result['python_bare_start']['p50_ms']} ms; python -c 'import mcp.server': "
        f"{result['python_import_mcp_server']['p50_ms']} ms)"
    )
    print(
        f"round trip, all tools: p50 {result['round_trip_all']['p50_ms']} ms, "
        f"p95 {result['round_trip_all']['p95_ms']} ms"
    )
    for name, figures in result["round_trip"].items():
        print(f"  {name:17} p50 {figures['p50_ms']:7} ms  p95 {figures['p95_ms']:7} ms")
    print(f"load average {os.getloadavg()}; written to {args.out}")


if __name__ == "__main__":
    main()
