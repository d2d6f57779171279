"""Benchmark ``Workspace.export("jsonl")``: nodes per second on a generated workspace.

Usage::

    .venv/bin/python bench/bench_export.py [--files N] [--rounds R] [--out FILE.json]

Builds a flat-ish tree of N small Python files (default 2,700, in directories of 30: about
3,000 nodes with the directories), generates it once with the offline structural provider,
then times ``export("jsonl")`` and ``export("markdown")`` of the whole workspace R times in
process (warm: the store file is in the page cache) and reports the median and the best in
nodes/s. The export is one statement over the store (``ContextApi.heads_under``) plus one JSON
line per node. Target: 3,000 nodes in well under a second. Temporary directories are removed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import contextree


def _tree(root: Path, files: int) -> None:
    for i in range(files):
        directory = root / f"pkg{i // 30:03d}"
        directory.mkdir(exist_ok=True)
        (directory / f"mod{i:05d}.py").write_text(
            f'"""Module {i}."""\n\n\ndef f{i}(x: int) -> int:\n    return x + {i}\n'
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2700)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    ns = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="contextree-bench-export-") as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        _tree(root, ns.files)
        overrides = {"scan": {"hash_processes": 1}}
        with contextree.open_workspace(root, discover=False, settings_overrides=overrides) as ws:
            started = time.perf_counter()
            outcome = asyncio.run(ws.generate())
            generate_s = time.perf_counter() - started
            assert outcome.result.succeeded
            results: dict[str, list[float]] = {"jsonl": [], "markdown": []}
            nodes = 0
            for _ in range(ns.rounds):
                for fmt, times in results.items():
                    started = time.perf_counter()
                    result = ws.export(fmt)
                    times.append(time.perf_counter() - started)
                    if fmt == "jsonl":
                        nodes = result.nodes
                        assert result.without_frame == 0
    print(f"export of {nodes:,} nodes ({ns.files:,} files), {ns.rounds} rounds, in process")
    print(f"  generate (structural, once)         {generate_s:8.3f} s")
    doc: dict[str, object] = {"nodes": nodes, "files": ns.files, "rounds": ns.rounds}
    for fmt, times in results.items():
        median, best = statistics.median(times), min(times)
        print(
            f"  export {fmt:<9} median / best       {median:8.3f} s / {best:.3f} s"
            f"   {nodes / median:>10,.0f} nodes/s"
        )
        doc[fmt] = {"median_s": median, "best_s": best, "nodes_per_s": nodes / median}
    if ns.out is not None:
        ns.out.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main(sys.argv[1:]))
