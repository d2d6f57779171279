"""Serving figures on a ~100k-node store: pack, search, get_tree, export jsonl, get, the CLI.

Usage::

    .venv/bin/python bench/bench_serve.py [--files N | --quick] [--seed S]
                                          [--cache /tmp/ct-bench-serve] [--rebuild]
                                          [--out bench/results/serve.json]

The workspace: ``--files`` (default 90,000; ``--quick``: 3,000) small source files in a
source-repository-shaped tree (directories of 10-60 entries, a few subdirectories each, depth
mostly 3-7, each directory with a dominant language among Python, TypeScript, JavaScript, Go,
Rust, Java, C, Markdown, JSON, YAML and shell). Every file defines a handful of symbols named
from a small vocabulary (snake_case parts are common words, CamelCase names medium, names with
a number rare), so the structural frames hold words of every frequency. It is written once
under ``<cache>-<N>f-s<seed>-v<format>/ws`` with a hermetic ``HOME`` and XDG directories beside
it, scanned and generated with the offline ``structural`` provider (minutes at 100k; progress is
printed), and reused by later runs with the same parameters (``--rebuild`` starts over).

Measured in one run, in process through ``contextree.open_workspace`` unless marked, after a
few untimed warm-up calls of each method, ``time.perf_counter()`` around each call:

* ``get``: single-path latency over ~200 random files and directories;
* ``get_tree``: the root (every node) and the directory whose subtree is closest to 3,000
  nodes, nodes/s (median of several reads);
* ``export("jsonl", out=<temp file>)`` of the whole workspace, nodes/s;
* ``pack``: ~200 targets (files and directories, depth drawn uniformly among the depths the
  tree has), the default budget and a 2,000-token budget; the call alone and the call plus
  ``render()``;
* ``search``: ~200 queries built from the words of the exported frames (rare: in 1-3 frames;
  medium: 20-500; common: the most frequent; two-word queries), half with a ``path_prefix``
  (for rare words, an ancestor of a frame that holds the word);
* the CLI (``contextree --workspace WS pack PATH`` and ``contextree --workspace WS search
  WORD``, ~20 runs each, and ``contextree --version`` for scale), wall time from spawn to exit
  through ``common.run_measured``, with a fresh temporary ``HOME`` and XDG directories.

Targets: pack p95 < 50 ms; search p95 < 100 ms; get_tree of 3,000 nodes well under a second.
The load average is printed and stored before and after each section: the 2-core machine is
shared, so compare figures within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import machine_info, run_measured, write_json

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILES = 90_000
QUICK_FILES = 3_000
DEFAULT_SEED = 1
DEFAULT_CACHE = Path("/tmp/ct-bench-serve")
DEFAULT_OUT = REPO / "bench" / "results" / "serve.json"
#: Bump when the generator changes, so a cached workspace from an older one is rebuilt.
FORMAT = 1
MANIFEST = "manifest.json"

TARGET_PACK_P95_MS = 50.0
TARGET_SEARCH_P95_MS = 100.0
TARGET_SUBTREE_NODES = 3_000
TARGET_SUBTREE_S = 1.0
PACK_BUDGET = 2_000

WORDS = (
    "user", "account", "order", "invoice", "token", "cache", "parse", "render", "stream",
    "buffer", "config", "handler", "request", "response", "client", "server", "session",
    "worker", "queue", "index", "node", "tree", "frame", "digest", "retry", "limit", "budget",
    "report", "export", "import", "format", "encode", "decode", "schema", "value", "route",
    "event", "metric", "ledger", "payment", "search", "shard", "widget", "layout", "theme",
    "upload", "archive", "policy", "tenant", "quota", "cursor", "batch", "signal", "socket",
    "plugin", "filter", "mapper", "vector", "matrix", "graph",
)  # fmt: skip
DIR_WORDS = (
    "core", "utils", "api", "models", "views", "handlers", "internal", "pkg", "cmd", "common",
    "config", "db", "auth", "http", "client", "server", "storage", "io", "net", "parser",
    "compiler", "runtime", "plugins", "widgets", "components", "hooks", "types", "schemas",
    "fixtures", "data", "jobs", "workers", "events", "metrics", "logging", "cli", "ui", "admin",
    "billing", "search", "index", "media", "mail", "sync", "proto", "graph", "services",
)  # fmt: skip
TOP_DIRS = ("src", "lib", "tests", "docs", "tools", "packages", "services", "web", "cmd", "infra")
LANGS = (
    ("py", 25), ("ts", 14), ("js", 10), ("go", 10), ("rs", 7), ("java", 6), ("c", 4),
    ("h", 3), ("md", 8), ("json", 5), ("yaml", 4), ("sh", 2),
)  # fmt: skip
FILE_STEMS = (
    "main", "index", "util", "helpers", "client", "server", "model", "view", "routes",
    "handler", "service", "store", "reader", "writer", "parser", "lexer", "config", "errors",
    "types", "schema", "factory", "adapter", "cache", "queue", "worker", "session", "user",
    "account", "order", "invoice", "report", "export", "format", "encode", "decode", "test_api",
)  # fmt: skip
#: Weight of a new directory's depth.
DEPTH_WEIGHTS = {2: 8, 3: 14, 4: 16, 5: 14, 6: 10, 7: 6, 8: 3, 9: 1}
MAX_SUBDIRS = 8
MIN_ENTRIES, MAX_ENTRIES = 10, 60


# ---- the tree ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Dir:
    path: str
    depth: int
    lang: str
    subdirs: list[str] = field(default_factory=list)
    files: int = 0


def plan_tree(files: int, seed: int) -> list[Dir]:
    """Directories (pre-sorted by depth) with their file counts; the root is ``dirs[0]``."""
    rng = random.Random(seed)
    langs, weights = zip(*LANGS, strict=True)
    dirs = [Dir(path="", depth=0, lang="md")]
    by_depth: dict[int, list[tuple[Dir, float]]] = {0: [(dirs[0], 1.0)]}

    def add(parent: Dir, name: str) -> None:
        taken = set(parent.subdirs)
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}{n}"
        parent.subdirs.append(candidate)
        path = f"{parent.path}/{candidate}" if parent.path else candidate
        lang = parent.lang if parent.depth > 1 and rng.random() < 0.6 else ""
        d = Dir(path=path, depth=parent.depth + 1, lang=lang or rng.choices(langs, weights)[0])
        dirs.append(d)
        by_depth.setdefault(d.depth, []).append((d, rng.lognormvariate(0, 1.0)))

    for top in TOP_DIRS:
        add(dirs[0], top)
    # Files per directory average about 16 (entries 10 + 50 * Beta(1, 6), minus subdirectories).
    wanted = max(len(TOP_DIRS) + 1, round(files / 15.5))
    depths, depth_weights = zip(*DEPTH_WEIGHTS.items(), strict=True)
    while len(dirs) < wanted:
        depth = rng.choices(depths, depth_weights)[0]
        while depth - 1 not in by_depth:
            depth -= 1
        open_parents = [(d, w) for d, w in by_depth[depth - 1] if len(d.subdirs) < MAX_SUBDIRS]
        if not open_parents:
            continue
        parent = rng.choices([d for d, _ in open_parents], [w for _, w in open_parents])[0]
        add(parent, rng.choice(DIR_WORDS))
    for d in dirs:
        entries = MIN_ENTRIES + int((MAX_ENTRIES - MIN_ENTRIES) * rng.betavariate(1, 6))
        d.files = max(1, entries - len(d.subdirs))
    dirs[0].files = 4
    total = sum(d.files for d in dirs)
    while total != files:
        d = rng.choice(dirs[1:])
        if total < files and d.files + len(d.subdirs) < MAX_ENTRIES:
            d.files += 1
            total += 1
        elif total > files and d.files > 1 and d.files + len(d.subdirs) > MIN_ENTRIES:
            d.files -= 1
            total -= 1
    return dirs


class Source:
    """File texts with symbols of every frequency, a pure function of the rng."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def parts(self, k: int) -> list[str]:
        out = self.rng.sample(WORDS, k)
        if self.rng.random() < 0.15:  # a rare token: in a handful of files at most
            out.append(f"{self.rng.choice('kqvxz')}{self.rng.randrange(100_000)}")
        return out

    def snake(self) -> str:
        return "_".join(self.parts(self.rng.randint(1, 3)))

    def pascal(self) -> str:
        return "".join(p.title() for p in self.parts(self.rng.randint(2, 3)))

    def camel(self) -> str:
        p = self.parts(self.rng.randint(2, 3))
        return p[0] + "".join(x.title() for x in p[1:])

    def sentence(self) -> str:
        return " ".join(self.rng.sample(WORDS, 5)).capitalize() + "."

    def text(self, lang: str) -> str:
        n = self.rng.randint(2, 9)
        return getattr(self, f"_{_MAKER.get(lang, lang)}")(n, lang)

    def _py(self, n: int, _lang: str) -> str:
        rng = self.rng
        out = [f'"""{self.sentence()}"""', "", "import os", f"from . import {self.snake()}"]
        for _ in range(n):
            if rng.random() < 0.4:
                out += ["", "", f"class {self.pascal()}:", f'    """{self.sentence()}"""']
                for _ in range(rng.randint(1, 3)):
                    out += ["", f"    def {self.snake()}(self, {self.snake()}):",
                            f"        return {rng.randint(0, 999)}"]  # fmt: skip
            else:
                out += ["", "", f"def {self.snake()}({self.snake()}, limit=10):",
                        f"    return [{self.snake()} for _ in range(limit)]"]  # fmt: skip
        return "\n".join(out) + "\n"

    def _js(self, n: int, lang: str) -> str:
        out = [f"// {self.sentence()}", "import { readFile } from 'node:fs/promises';", ""]
        for _ in range(n):
            if self.rng.random() < 0.3:
                out += [f"export class {self.pascal()} {{", f"  {self.camel()} = 0;", "}", ""]
            else:
                sig = f"({self.camel()}: string): number" if lang == "ts" else "(x)"
                out += [f"export function {self.camel()}{sig} {{",
                        f"  return {self.rng.randint(0, 99)};", "}", ""]  # fmt: skip
        return "\n".join(out)

    def _go(self, n: int, _lang: str) -> str:
        rng = self.rng
        out = [f"// Package {self.snake()} {self.sentence()}", f"package {rng.choice(WORDS)}"]
        for _ in range(n):
            if rng.random() < 0.3:
                out += ["", f"type {self.pascal()} struct {{", "\tID int", "}"]
            else:
                out += ["", f"func {self.pascal()}(n int) (int, error) {{",
                        f"\treturn n * {rng.randint(1, 99)}, nil", "}"]  # fmt: skip
        return "\n".join(out) + "\n"

    def _rs(self, n: int, _lang: str) -> str:
        out = [f"//! {self.sentence()}", "use std::collections::HashMap;"]
        for _ in range(n):
            if self.rng.random() < 0.3:
                out += ["", f"pub struct {self.pascal()} {{ id: u64 }}"]
            else:
                out += ["", f"pub fn {self.snake()}(key: &str) -> Option<u64> {{",
                        f"    key.len().checked_sub({self.rng.randint(0, 9)}).map(|v| v as u64)",
                        "}"]  # fmt: skip
        return "\n".join(out) + "\n"

    def _java(self, n: int, _lang: str) -> str:
        cls = self.pascal()
        out = [f"/** {self.sentence()} */", f"public class {cls} {{"]
        for _ in range(n):
            out += [f"    public int {self.camel()}(int x) {{", "        return x;", "    }"]
        return "\n".join([*out, "}"]) + "\n"

    def _c(self, n: int, lang: str) -> str:
        out = [f"/* {self.sentence()} */", "#include <stddef.h>", ""]
        for _ in range(n):
            if lang == "h":
                out.append(f"int {self.snake()}(const char *s, size_t n);")
            else:
                out += [f"int {self.snake()}(const char *s, size_t n) {{",
                        f"    return (int)n + {self.rng.randint(0, 9)};", "}", ""]  # fmt: skip
        return "\n".join(out) + "\n"

    def _md(self, n: int, _lang: str) -> str:
        out = [f"# {self.pascal()}", "", self.sentence(), ""]
        for _ in range(n):
            out += [f"## {self.snake().replace('_', ' ')}", "", self.sentence(), ""]
        return "\n".join(out)

    def _json(self, n: int, _lang: str) -> str:
        data = {"name": self.snake(), "description": self.sentence(),
                **{self.camel(): self.rng.randint(0, 999) for _ in range(n)}}  # fmt: skip
        return json.dumps(data, indent=2) + "\n"

    def _yaml(self, n: int, _lang: str) -> str:
        out = [f"# {self.sentence()}"]
        for _ in range(n):
            out += [f"{self.snake()}:", f"  {self.snake()}: {self.rng.randint(0, 99)}"]
        return "\n".join(out) + "\n"

    def _sh(self, n: int, _lang: str) -> str:
        out = ["#!/bin/sh", f"# {self.sentence()}", "set -eu", ""]
        for _ in range(n):
            out += [f"{self.snake()}() {{", f"  echo {self.rng.choice(WORDS)}", "}", ""]
        return "\n".join(out)


#: Extensions that share a maker.
_MAKER = {"ts": "js", "h": "c"}


def write_tree(root: Path, dirs: list[Dir], seed: int) -> list[tuple[str, int]]:
    """Write the planned tree; returns (file path, depth) for every file."""
    rng = random.Random(seed + 1)
    src = Source(rng)
    langs, weights = zip(*LANGS, strict=True)
    out: list[tuple[str, int]] = []
    for d in dirs:
        base = root / d.path
        base.mkdir(parents=True, exist_ok=True)
        taken: set[str] = set(d.subdirs)
        for _ in range(d.files):
            lang = d.lang if rng.random() < 0.7 else rng.choices(langs, weights)[0]
            stem = rng.choice(FILE_STEMS)
            name, n = f"{stem}.{lang}", 1
            while name in taken:
                n += 1
                name = f"{stem}_{n}.{lang}"
            taken.add(name)
            (base / name).write_text(src.text(lang), encoding="utf-8")
            out.append((f"{d.path}/{name}" if d.path else name, d.depth + 1))
    return out


# ---- building the cached store -----------------------------------------------------------------


def hermetic_env(home: Path) -> dict[str, str]:
    """The environment minus CONTEXTREE_* settings, with HOME and XDG under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTEXTREE_")}
    env["HOME"] = str(home)
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                     ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state")):  # fmt: skip
        env[var] = str(home / sub)
        (home / sub).mkdir(parents=True, exist_ok=True)
    return env


def use_env(env: dict[str, str]) -> None:
    for key in [k for k in os.environ if k.startswith("CONTEXTREE_")]:
        del os.environ[key]
    os.environ.update(env)


def build(cache: Path, files: int, seed: int) -> dict[str, Any]:
    """Write, scan and generate the workspace under ``cache`` (emptied first)."""
    import contextree

    if cache.exists():
        shutil.rmtree(cache)
    ws_root = cache / "ws"
    use_env(hermetic_env(cache / "home"))
    print(f"building {ws_root}: planning and writing {files:,} files ...", flush=True)
    started = time.perf_counter()
    dirs = plan_tree(files, seed)
    written = write_tree(ws_root, dirs, seed)
    write_s = time.perf_counter() - started
    print(f"  wrote {len(written):,} files in {len(dirs):,} dirs in {write_s:.1f} s", flush=True)
    time.sleep(2.5)  # files written in the last two seconds are "racy": let them settle

    ws = contextree.open_workspace(ws_root, discover=False)
    total = [0]
    done = [0]
    last = [time.perf_counter()]
    gen_started = time.perf_counter()

    def on_plan(plan: Any) -> None:
        total[0] = len(plan.items)
        print(f"  plan: {total[0]:,} nodes to generate", flush=True)

    def on_result(_result: Any) -> None:
        done[0] += 1
        now = time.perf_counter()
        if now - last[0] >= 10 or done[0] == total[0]:
            last[0] = now
            rate = done[0] / (now - gen_started)
            left = (total[0] - done[0]) / rate if rate else 0
            print(f"  generated {done[0]:,}/{total[0]:,} ({rate:,.0f}/s, ~{left:.0f} s left)"
                  f"  load {fmt_load(os.getloadavg())}", flush=True)  # fmt: skip

    outcome = asyncio.run(ws.generate(on_plan=on_plan, on_result=on_result))
    generate_s = time.perf_counter() - gen_started
    if not outcome.result.succeeded:
        raise SystemExit("generate failed for some nodes: " + repr(outcome.result)[:2000])
    manifest = {
        "format": FORMAT,
        "files": files,
        "seed": seed,
        "dirs_written": len(dirs),
        "files_written": len(written),
        "nodes_generated": done[0],
        "write_s": write_s,
        "scan_and_generate_s": generate_s,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_after_build": list(os.getloadavg()),
    }
    (cache / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"  scan + generate: {generate_s:.1f} s ({done[0] / generate_s:,.0f} nodes/s)")
    return manifest


def cached_manifest(cache: Path, files: int, seed: int) -> dict[str, Any] | None:
    try:
        data = json.loads((cache / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (data.get("format"), data.get("files"), data.get("seed")) != (FORMAT, files, seed):
        return None
    return data if (cache / "ws" / ".contextree" / "store.db").exists() else None


# ---- measuring ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1e3 for s in seconds]
    return {"n": len(ms), "p50_ms": percentile(ms, 0.5), "p95_ms": percentile(ms, 0.95),
            "max_ms": max(ms), "mean_ms": sum(ms) / len(ms)}  # fmt: skip


def fmt_load(load: Sequence[float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def fmt_summary(label: str, s: dict[str, float]) -> str:
    return (f"  {label:44} n={s['n']:4}  p50 {s['p50_ms']:8.2f} ms  p95 {s['p95_ms']:8.2f} ms"
            f"  max {s['max_ms']:8.2f} ms")  # fmt: skip


class Sections:
    """Runs named sections, printing and recording the load average before and after each."""

    def __init__(self) -> None:
        self.loads: dict[str, dict[str, list[float]]] = {}

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        before = list(os.getloadavg())
        print(f"\n== {name}  (load before: {fmt_load(before)})", flush=True)
        result = fn()
        after = list(os.getloadavg())
        print(f"   load after: {fmt_load(after)}", flush=True)
        self.loads[name] = {"before": before, "after": after}
        return result


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


@dataclass(frozen=True, slots=True)
class Node:
    path: str
    kind: str
    depth: int


def nodes_of(dirs: list[Dir], files: list[tuple[str, int]]) -> list[Node]:
    return [Node(d.path, "dir", d.depth) for d in dirs] + [Node(p, "file", k) for p, k in files]


def subtree_sizes(dirs: list[Dir], files: list[tuple[str, int]]) -> dict[str, int]:
    """Nodes under each directory, itself included."""
    sizes = {d.path: 1 for d in dirs}
    for path in [d.path for d in dirs[1:]] + [p for p, _ in files]:
        parent = path
        while parent:
            parent = parent.rpartition("/")[0]
            sizes[parent] += 1
    return sizes


def by_depth_sample(rng: random.Random, nodes: list[Node], count: int) -> list[Node]:
    """``count`` nodes, the depth of each drawn uniformly among the depths present, the root
    and the files beside it left out (drawn that way the root would be one dir target in ten
    and its handful of files one file target in ten; each is added once instead)."""
    groups: dict[int, list[Node]] = {}
    for n in nodes:
        if n.depth > (1 if n.kind == "file" else 0):
            groups.setdefault(n.depth, []).append(n)
    depths = sorted(groups)
    return [rng.choice(groups[rng.choice(depths)]) for _ in range(count)]


def measure_get(ws: Any, targets: list[Node]) -> dict[str, Any]:
    for n in targets[:5]:
        ws.get(n.path)
    times = [timed(lambda n=n: ws.get(n.path))[0] for n in targets]
    s = summary_ms(times)
    print(fmt_summary("get(path)", s))
    return s


def measure_get_tree(ws: Any, subtree: str, subtree_nodes: int, repeats: int) -> dict[str, Any]:
    ws.get_tree(subtree)  # warm-up
    out: dict[str, Any] = {}
    for label, path, runs in (("root", "", max(2, repeats // 2)), ("subtree", subtree, repeats)):
        times, count = [], 0
        for _ in range(runs):
            t, tree = timed(lambda path=path: ws.get_tree(path))
            times.append(t)
            count = len(tree)
            del tree
        best, mid = min(times), sorted(times)[len(times) // 2]
        out[label] = {"path": path, "nodes": count, "runs": runs, "median_s": mid, "min_s": best,
                      "nodes_per_s": count / mid}  # fmt: skip
        print(f"  get_tree({path or '<root>'!r}): {count:,} nodes, median {mid * 1e3:,.1f} ms"
              f" (min {best * 1e3:,.1f}) = {count / mid:,.0f} nodes/s")  # fmt: skip
    out["subtree"]["planned_nodes"] = subtree_nodes
    return out


def measure_export(ws: Any, tmp: Path, repeats: int) -> tuple[dict[str, Any], list[dict]]:
    target = tmp / "export.jsonl"
    times, nodes, size = [], 0, 0
    for _ in range(repeats):
        t, result = timed(lambda: ws.export("jsonl", out=target))
        times.append(t)
        nodes, size = result.nodes, target.stat().st_size
        del result
    mid = sorted(times)[len(times) // 2]
    print(f"  export jsonl (whole workspace, to a file): {nodes:,} nodes, {size / 1e6:,.1f} MB,"
          f" median {mid:,.2f} s (min {min(times):,.2f}) = {nodes / mid:,.0f} nodes/s")  # fmt: skip
    with target.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    return {"nodes": nodes, "bytes": size, "runs": repeats, "median_s": mid,
            "min_s": min(times), "nodes_per_s": nodes / mid}, records  # fmt: skip


def measure_pack(ws: Any, targets: list[Node]) -> dict[str, Any]:
    from contextree.errors import UsageError

    for n in targets[:5]:
        ws.pack(n.path).render()
    series: dict[str, list[float]] = {"default": [], "default+render": [],
                                      "budget": [], "budget+render": []}  # fmt: skip
    refused, estimates = 0, {"default": [], "budget": []}
    per_target: list[tuple[Node, float]] = []  # (target, slower of the two packs + render)
    for n in targets:
        slowest = 0.0
        for key, budget in (("default", None), ("budget", PACK_BUDGET)):
            try:
                started = time.perf_counter()
                pack = ws.pack(n.path, budget=budget)
                built = time.perf_counter()
                pack.render()
                rendered = time.perf_counter()
            except UsageError:
                refused += 1
                continue
            series[key].append(built - started)
            series[f"{key}+render"].append(rendered - started)
            estimates[key].append(pack.estimate)
            slowest = max(slowest, rendered - started)
        per_target.append((n, slowest))
    out: dict[str, Any] = {"targets": len(targets), "budget": PACK_BUDGET, "refused": refused}
    for key, values in series.items():
        out[key] = summary_ms(values)
        label = key.replace("budget", f"budget={PACK_BUDGET}").replace("default", "budget=None")
        print(fmt_summary(f"pack {label}", out[key]))
    for key, est in estimates.items():
        out[f"{key}_estimate_tokens"] = {"p50": percentile(est, 0.5), "max": max(est)}
    print(f"  pack token estimates: default p50 {out['default_estimate_tokens']['p50']:,},"
          f" max {out['default_estimate_tokens']['max']:,}; budget {PACK_BUDGET:,}:"
          f" p50 {out['budget_estimate_tokens']['p50']:,}; refused {refused}")  # fmt: skip
    # Where the slow ones are: by kind, without the root, and the slowest targets.
    for label, keep in (("files", lambda x: x.kind == "file"), ("dirs", lambda x: x.kind == "dir"),
                        ("without the root", lambda x: x.path != "")):  # fmt: skip
        values = [t for x, t in per_target if keep(x)]
        out[f"slower of the two, {label}"] = s = summary_ms(values)
        print(fmt_summary(f"pack (slower of the two) {label}", s))
    out["slowest"] = [{"path": x.path, "kind": x.kind, "depth": x.depth, "ms": t * 1e3}
                      for x, t in sorted(per_target, key=lambda r: -r[1])[:8]]  # fmt: skip
    for row in out["slowest"]:
        print(f"    slow pack: {row['ms']:8.1f} ms  {row['kind']:4} depth {row['depth']:2}"
              f"  {row['path'] or '<root>'}")  # fmt: skip
    return out


_TOKEN = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    kind: str
    prefix: str | None


def build_queries(rng: random.Random, records: list[dict], dirs: list[Dir], count: int) -> list:
    """Queries from the words of the frames: rare, medium, common, two words; half prefixed."""
    df: Counter[str] = Counter()
    where: dict[str, str] = {}
    for rec in records:
        words = {w.lower() for w in _TOKEN.findall(rec.get("text") or "")}
        for w in words:
            df[w] += 1
            where.setdefault(w, rec["path"])
    ok = [w for w in df if len(w) >= 4 and not w.isdigit()]
    rare = [w for w in ok if df[w] <= 3]
    medium = [w for w in ok if 20 <= df[w] <= 500]
    common = sorted(ok, key=lambda w: -df[w])[:30]
    shallow = [d.path for d in dirs if 1 <= d.depth <= 3]
    queries: list[Query] = []
    plan = (("rare", 0.30), ("medium", 0.30), ("common", 0.20), ("two words", 0.20))
    for kind, share in plan:
        for i in range(round(count * share)):
            if kind == "rare":
                word = rng.choice(rare)
            elif kind == "medium":
                word = rng.choice(medium)
            elif kind == "common":
                word = rng.choice(common)
            else:
                word = f"{rng.choice(common)} {rng.choice(medium)}"
            prefix = None
            if i % 2:
                if kind == "rare":  # an ancestor of a frame holding it, so there is a hit
                    parts = where[word].split("/")[:-1]
                    prefix = "/".join(parts[: rng.randint(1, max(1, len(parts)))]) or None
                else:
                    prefix = rng.choice(shallow)
            queries.append(Query(word, kind, prefix))
    rng.shuffle(queries)
    return queries


def measure_search(ws: Any, queries: list[Query]) -> dict[str, Any]:
    for q in queries[:5]:
        ws.search(q.text, path_prefix=q.prefix)
    rows: list[tuple[Query, float, int]] = []
    for q in queries:
        t, hits = timed(lambda q=q: ws.search(q.text, path_prefix=q.prefix))
        rows.append((q, t, len(hits)))
    out: dict[str, Any] = {"queries": len(queries), "all": summary_ms([t for _, t, _ in rows])}
    print(fmt_summary("search (all)", out["all"]))
    groups: dict[str, list[tuple[Query, float, int]]] = {}
    for row in rows:
        groups.setdefault(row[0].kind, []).append(row)
        groups.setdefault("with path_prefix" if row[0].prefix else "no prefix", []).append(row)
    for label, group in groups.items():
        s = summary_ms([t for _, t, _ in group])
        s["mean_hits"] = sum(h for _, _, h in group) / len(group)
        s["zero_hits"] = sum(1 for _, _, h in group if h == 0)
        out[label] = s
        print(fmt_summary(f"search {label}", s) + f"  hits/query {s['mean_hits']:.1f}")
    slowest = sorted(rows, key=lambda r: -r[1])[:5]
    out["slowest"] = [{"query": q.text, "kind": q.kind, "prefix": q.prefix, "ms": t * 1e3,
                       "hits": h} for q, t, h in slowest]  # fmt: skip
    for row in out["slowest"]:
        print(f"    slow search: {row['ms']:8.1f} ms  {row['kind']:9} {row['query']!r}"
              f" prefix={row['prefix']!r} hits={row['hits']}")  # fmt: skip
    return out


def measure_cli(cache: Path, tmp: Path, packs: list[Node], words: list[str]) -> dict:
    """The CLI with a fresh HOME and XDG dirs, holding a copy of the builder's state directory
    (the list of stores this user created: without it the store "came with the workspace")."""
    script = Path(sys.executable).parent / "contextree"
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "contextree"]
    env = hermetic_env(tmp / "cli-home")
    shutil.copytree(cache / "home" / "state", tmp / "cli-home" / "state", dirs_exist_ok=True)
    ws_root = cache / "ws"
    base = [*cli, "--workspace", str(ws_root)]
    out: dict[str, Any] = {}
    commands = {
        "--version": [[*cli, "--version"] for _ in range(10)],
        "pack PATH": [[*base, "pack", str(ws_root / n.path)] for n in packs],
        "search WORD": [[*base, "search", w] for w in words],
    }
    run_measured(commands["pack PATH"][0], env=env)  # warm-up (bytecode, page cache)
    for label, argvs in commands.items():
        walls = []
        for argv in argvs:
            run = run_measured(argv, env=env)
            if run.returncode != 0:
                raise SystemExit(f"{argv} exited {run.returncode}: {run.stderr.decode()[-2000:]}")
            walls.append(run.wall_s)
        out[label] = summary_ms(walls)
        print(fmt_summary(f"CLI contextree {label}", out[label]))
    return out


def store_bytes(ws_root: Path) -> int:
    state = ws_root / ".contextree"
    return sum(p.stat().st_size for p in state.glob("store.db*") if p.is_file())


# ---- main --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--files", type=int, default=DEFAULT_FILES, help="files in the workspace")
    size.add_argument("--quick", action="store_true", help=f"--files {QUICK_FILES:,}")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="prefix of the cached workspace directory")  # fmt: skip
    parser.add_argument("--rebuild", action="store_true", help="ignore a cached workspace")
    parser.add_argument("--samples", type=int, default=200, help="pack/search/get calls")
    parser.add_argument("--cli-runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result file")
    args = parser.parse_args(argv)
    if args.quick:
        args.files = QUICK_FILES
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cache = Path(f"{args.cache}-{args.files}f-s{args.seed}-v{FORMAT}")
    print(f"contextree serving benchmark: files={args.files:,} seed={args.seed} cache={cache}")
    print(f"load average at start: {fmt_load(os.getloadavg())}")
    manifest = None if args.rebuild else cached_manifest(cache, args.files, args.seed)
    reused = manifest is not None
    if manifest is None:
        manifest = build(cache, args.files, args.seed)
    else:
        print(f"reusing {cache} (built {manifest['built_at']})")
    use_env(hermetic_env(cache / "home"))

    import contextree

    ws_root = cache / "ws"
    dirs = plan_tree(args.files, args.seed)
    files = [
        (f"{d.path}/{name}" if d.path else name, d.depth + 1)
        for d in dirs
        for name in sorted(os.listdir(ws_root / d.path))
        if name not in d.subdirs and not (d.path == "" and name == ".contextree")
    ]
    nodes = nodes_of(dirs, files)
    sizes = subtree_sizes(dirs, files)
    subtree = min((p for p in sizes if p), key=lambda p: abs(sizes[p] - TARGET_SUBTREE_NODES))
    rng = random.Random(args.seed + 2)
    n = args.samples
    file_nodes = [x for x in nodes if x.kind == "file"]
    dir_nodes = [x for x in nodes if x.kind == "dir"]
    pack_targets = by_depth_sample(rng, file_nodes, n // 2) + by_depth_sample(
        rng, dir_nodes, n // 2
    )
    pack_targets[-1] = Node("", "dir", 0)  # the root, once
    pack_targets[0] = next(x for x in file_nodes if x.depth == 1)  # a file beside it, once
    rng.shuffle(pack_targets)
    get_targets = rng.sample(nodes, min(n, len(nodes)))
    repeats = 3 if args.files > 20_000 else 5

    ws = contextree.open_workspace(ws_root, discover=False)
    sections = Sections()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ct-bench-serve-") as tmp_name:
        tmp = Path(tmp_name)

        def status() -> dict[str, Any]:
            t, report = timed(ws.status)
            size = store_bytes(ws_root)
            print(f"  status(): {report.files:,} files, {report.dirs:,} dirs, store "
                  f"{report.store_bytes / 1e6:,.1f} MB (with WAL/SHM {size / 1e6:,.1f} MB),"
                  f" {t * 1e3:,.0f} ms (it also checks the disk for changes)")  # fmt: skip
            return {"files": report.files, "dirs": report.dirs, "nodes": report.files + report.dirs,
                    "store_bytes": report.store_bytes, "store_files_bytes": size,
                    "status_s": t}  # fmt: skip

        results["store"] = sections.run("status", status)
        results["get"] = sections.run("get", lambda: measure_get(ws, get_targets))
        results["get_tree"] = sections.run(
            "get_tree", lambda: measure_get_tree(ws, subtree, sizes[subtree], repeats)
        )
        export, records = sections.run("export jsonl", lambda: measure_export(ws, tmp, repeats))
        results["export_jsonl"] = export
        results["pack"] = sections.run("pack", lambda: measure_pack(ws, pack_targets))
        queries = build_queries(rng, records, dirs, n)
        del records
        results["search"] = sections.run("search", lambda: measure_search(ws, queries))
        cli_words = [q.text for q in queries if q.kind in ("rare", "medium", "common")]
        results["cli"] = sections.run(
            "cli",
            lambda: measure_cli(
                cache, tmp, pack_targets[: args.cli_runs], cli_words[: args.cli_runs]
            ),
        )

    verdict = {
        "pack_default_p95_ms": results["pack"]["default+render"]["p95_ms"],
        "pack_2000_p95_ms": results["pack"]["budget+render"]["p95_ms"],
        "search_p95_ms": results["search"]["all"]["p95_ms"],
        "subtree_get_tree_s": results["get_tree"]["subtree"]["median_s"],
    }
    print("\n== summary against the targets")
    print(f"  pack p95 (default / {PACK_BUDGET:,} budget, with render): "
          f"{verdict['pack_default_p95_ms']:.1f} / {verdict['pack_2000_p95_ms']:.1f} ms"
          f"  (target < {TARGET_PACK_P95_MS:.0f} ms)")  # fmt: skip
    print(f"  search p95: {verdict['search_p95_ms']:.1f} ms (target < {TARGET_SEARCH_P95_MS:.0f})")
    sub = results["get_tree"]["subtree"]
    print(f"  get_tree of {sub['nodes']:,} nodes: {sub['median_s'] * 1e3:.1f} ms"
          f" (target well under {TARGET_SUBTREE_S:.0f} s)")  # fmt: skip
    write_json(
        args.out,
        {
            "benchmark": "serve",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine_info(),
            "params": {
                "files": args.files,
                "seed": args.seed,
                "samples": n,
                "cli_runs": args.cli_runs,
                "cache": str(cache),
                "reused": reused,
            },
            "build": manifest,
            "load": sections.loads,
            **results,
            "verdict": verdict,
            "targets": {
                "pack_p95_ms": TARGET_PACK_P95_MS,
                "search_p95_ms": TARGET_SEARCH_P95_MS,
                "subtree_nodes": TARGET_SUBTREE_NODES,
                "subtree_s": TARGET_SUBTREE_S,
            },
        },
    )
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
