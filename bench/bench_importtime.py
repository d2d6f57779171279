"""Start-up cost of the CLI: import time, wall time of short commands, what they import.

Usage::

    .venv/bin/python bench/bench_importtime.py [--src PATH] [--repeat N] [--label NAME]
                                               [--out bench/results/importtime_NAME.json]

Everything runs against the source tree ``--src`` (default: this repository's ``src``): each
child is ``python -m contextree`` (or ``python -c``) with ``PYTHONPATH=<src>``, a temporary
``HOME`` and XDG directories, no ``CONTEXTREE_*`` variable, in a small prepared workspace
(``WORKSPACE_FILES`` Python files in a few packages, ``contextree generate`` run once with the
offline default provider, ``structural``). Comparing two trees (before and after a refactor)
means running the script twice with the same interpreter and the same ``--repeat``.

Measured, ``--repeat`` times each, round-robin so that a burst of load on this shared machine
hits every command alike (median and min reported):

* ``import contextree.cli.app``: the cumulative time of that line of ``-X importtime``;
* wall time of ``contextree --version``, ``contextree get <file>`` and
  ``contextree status --json`` (interpreter start-up included);
* for each of those commands, once, the heavy modules that end up in ``sys.modules`` (the
  command run in process by a tiny wrapper around ``contextree.cli.app.main``), and, from its
  ``-X importtime`` runs, the 10 modules with the largest cumulative import time (median over
  the repeats).

The load average is printed beside the figures and stored with them: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from common import machine_info, median, write_json

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SRC = REPO / "src"
DEFAULT_REPEAT = 15
WORKSPACE_FILES = 20
GET_TARGET = "pkg_d/mod_07.py"
#: Modules the short commands should not need; a name counts with its submodules.
HEAVY = ("aiohttp", "contextree.context.generation", "mcp", "pydantic", "rich")
TOP_N = 10
ENTRY_MODULE = "contextree.cli.app"
#: The commands measured, by label: arguments after ``python -m contextree``.
COMMANDS: dict[str, tuple[str, ...]] = {
    "--version": ("--version",),
    "get": ("get", GET_TARGET),
    "status --json": ("status", "--json"),
}
MARKER = "@@bench-importtime@@"
#: Runs ``contextree.cli.app.main`` with the given arguments, then reports ``sys.modules``.
WRAPPER = f"""\
import json, sys
sys.argv = ["contextree", *sys.argv[1:]]
from contextree.cli.app import main
code = 0
try:
    main()
except SystemExit as exit_:
    code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
import contextree
report = {{"modules": sorted(sys.modules), "contextree_file": contextree.__file__}}
sys.stderr.write("{MARKER}" + json.dumps(report) + "\\n")
sys.exit(code)
"""
IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)\s*$")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC, help="source tree to measure")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="runs per command")
    parser.add_argument("--label", default="current", help="name of this tree in the results")
    parser.add_argument(
        "--out", type=Path, help="JSON result file (default bench/results/importtime_LABEL.json)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.src = args.src.resolve()
    if not (args.src / "contextree" / "__init__.py").is_file():
        parser.error(f"{args.src} holds no contextree package")
    if args.out is None:
        args.out = REPO / "bench" / "results" / f"importtime_{args.label}.json"
    return args


def hermetic_env(src: Path, home: Path) -> dict[str, str]:
    """The environment minus any CONTEXTREE_* or PYTHON* setting, with ``src`` first on the
    path and every user directory in ``home``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONTEXTREE_", "PYTHON")) and not k.endswith("_API_KEY")
    }
    env["PYTHONPATH"] = str(src)
    env["HOME"] = str(home)
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(home / var.lower())
    return env


def run(args: Sequence[str], *, cwd: Path, env: Mapping[str, str], what: str) -> tuple[float, str]:
    """Run a child; its wall time in seconds and its stderr. Exits on a non-zero status."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{what} exited {proc.returncode}:\n{proc.stderr}")
    return wall, proc.stderr


def prepare_workspace(root: Path, env: Mapping[str, str]) -> None:
    """``WORKSPACE_FILES`` small Python files in four packages, generated once."""
    for i in range(WORKSPACE_FILES):
        package = root / f"pkg_{'abcd'[i % 4]}"
        package.mkdir(parents=True, exist_ok=True)
        (package / f"mod_{i:02d}.py").write_text(
            f'"""Module {i}."""\n\n\ndef f{i}(x):\n    return x * {i}\n', encoding="utf-8"
        )
    (root / "README.md").write_text("# bench workspace\n", encoding="utf-8")
    run(["-m", "contextree", "generate"], cwd=root, env=env, what="contextree generate")
    if not (root / GET_TARGET).is_file():
        sys.exit(f"the workspace has no {GET_TARGET}")


def parse_importtime(stderr: str) -> dict[str, int]:
    """Cumulative import time in microseconds by module, from ``-X importtime`` output."""
    out: dict[str, int] = {}
    for line in stderr.splitlines():
        m = IMPORTTIME_LINE.match(line)
        if m:
            out[m.group(4)] = int(m.group(2))
    return out


def summary(values_s: Sequence[float]) -> dict[str, float]:
    return {"median_ms": median(values_s) * 1e3, "min_ms": min(values_s) * 1e3}


def heavy_modules(modules: Sequence[str]) -> list[str]:
    return [h for h in HEAVY if any(m == h or m.startswith(h + ".") for m in modules)]


def modules_report(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], wrapper: Path, src: Path
) -> dict[str, Any]:
    _, stderr = run([str(wrapper), *command], cwd=cwd, env=env, what=f"wrapper {command}")
    lines = [line for line in stderr.splitlines() if line.startswith(MARKER)]
    if not lines:
        sys.exit(f"the wrapper reported nothing for {command}:\n{stderr}")
    report = json.loads(lines[-1][len(MARKER) :])
    if not Path(report["contextree_file"]).resolve().is_relative_to(src):
        sys.exit(f"contextree was imported from {report['contextree_file']}, not from {src}")
    modules: list[str] = report["modules"]
    return {
        "heavy_present": heavy_modules(modules),
        "modules_total": len(modules),
        "contextree_modules": sum(1 for m in modules if m.split(".")[0] == "contextree"),
        "top_level_packages": sorted({m.split(".")[0] for m in modules if not m.startswith("_")}),
    }


def top_cumulative(samples: Sequence[Mapping[str, int]]) -> list[dict[str, Any]]:
    """The ``TOP_N`` modules by median cumulative import time over the samples."""
    names = set().union(*samples)
    medians = {n: median([s[n] for s in samples if n in s]) for n in names}
    ranked = sorted(medians.items(), key=lambda kv: -kv[1])[:TOP_N]
    return [{"module": n, "cumulative_median_ms": us / 1e3} for n, us in ranked]


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    env = hermetic_env(args.src, tmp / "home")
    workspace = tmp / "ws"
    workspace.mkdir()
    wrapper = tmp / "run_cli.py"
    wrapper.write_text(WRAPPER, encoding="utf-8")
    print("preparing the workspace (contextree generate) ...", flush=True)
    prepare_workspace(workspace, env)
    # One unmeasured round: byte-compiles the tree under test and warms the page cache.
    for command in COMMANDS.values():
        run(["-m", "contextree", *command], cwd=workspace, env=env, what="warm-up")

    entry_us: list[int] = []
    walls: dict[str, list[float]] = {label: [] for label in COMMANDS}
    importtimes: dict[str, list[dict[str, int]]] = {label: [] for label in COMMANDS}
    load_per_round: list[list[float]] = []
    print(f"measuring, {args.repeat} rounds ...", flush=True)
    for _ in range(args.repeat):
        _, stderr = run(
            ["-X", "importtime", "-c", f"import {ENTRY_MODULE}"],
            cwd=workspace,
            env=env,
            what=f"import {ENTRY_MODULE}",
        )
        entry_us.append(parse_importtime(stderr)[ENTRY_MODULE])
        for label, command in COMMANDS.items():
            wall, _ = run(["-m", "contextree", *command], cwd=workspace, env=env, what=label)
            walls[label].append(wall)
        for label, command in COMMANDS.items():
            _, stderr = run(
                ["-X", "importtime", "-m", "contextree", *command],
                cwd=workspace,
                env=env,
                what=f"{label} (-X importtime)",
            )
            importtimes[label].append(parse_importtime(stderr))
        load_per_round.append(loadavg())

    commands: dict[str, Any] = {}
    for label, command in COMMANDS.items():
        commands[label] = {
            "argv": ["python", "-m", "contextree", *command],
            "wall": summary(walls[label]),
            "wall_ms_all": [w * 1e3 for w in walls[label]],
            "modules": modules_report(
                command, cwd=workspace, env=env, wrapper=wrapper, src=args.src
            ),
            "top_cumulative_import": top_cumulative(importtimes[label]),
        }
    return {
        "entry_import": {
            "module": ENTRY_MODULE,
            "cumulative_median_ms": median(entry_us) / 1e3,
            "cumulative_min_ms": min(entry_us) / 1e3,
            "cumulative_ms_all": [us / 1e3 for us in entry_us],
        },
        "commands": commands,
        "load_average_per_round": load_per_round,
    }


def git_head(src: Path) -> str | None:
    proc = subprocess.run(
        ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() or None


def print_report(label: str, src: Path, result: Mapping[str, Any], load: Mapping[str, Any]) -> None:
    print()
    print(f"contextree start-up: {label} ({src}), python {sys.version.split()[0]}")
    print(f"load average (1, 5, 15 min): start {load['start']}  end {load['end']}")
    print()
    entry = result["entry_import"]
    header = f"{'measurement':<34} {'median ms':>10} {'min ms':>8}  heavy modules present"
    print(header)
    print("-" * len(header))
    print(
        f"{'import ' + ENTRY_MODULE + ' (cumul.)':<34} {entry['cumulative_median_ms']:>10.1f} "
        f"{entry['cumulative_min_ms']:>8.1f}"
    )
    for name, c in result["commands"].items():
        heavy = ", ".join(c["modules"]["heavy_present"]) or "none"
        print(
            f"{'contextree ' + name + ' (wall)':<34} {c['wall']['median_ms']:>10.1f} "
            f"{c['wall']['min_ms']:>8.1f}  {heavy}"
        )
    for name, c in result["commands"].items():
        print()
        print(f"top {TOP_N} by cumulative import time, contextree {name} (median ms):")
        for row in c["top_cumulative_import"]:
            print(f"  {row['cumulative_median_ms']:>8.1f}  {row['module']}")
    print()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    start_load = loadavg()
    print(
        f"contextree start-up benchmark: {args.label}, src {args.src}, repeat {args.repeat}, "
        f"load average {start_load}"
    )
    if start_load[0] > 0.5:
        print(f"warning: load average {start_load[0]:.2f}: other processes will skew the timings")
    tmp = Path(tempfile.mkdtemp(prefix="contextree-bench-importtime-"))
    try:
        result = measure(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = {"start": start_load, "end": loadavg()}
    print_report(args.label, args.src, result, load)
    write_json(
        args.out,
        {
            "benchmark": "importtime",
            "label": args.label,
            "src": str(args.src),
            "git_head": git_head(args.src),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine_info(),
            "load_average": load,
            "params": {
                "repeat": args.repeat,
                "workspace_files": WORKSPACE_FILES,
                "get_target": GET_TARGET,
                "heavy_modules_checked": list(HEAVY),
            },
            **result,
        },
    )
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
