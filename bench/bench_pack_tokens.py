"""How far ``estimate_tokens`` is from a real tokenizer, and whether packs keep their budget.

    .venv/bin/python bench/bench_pack_tokens.py [--seed 1] [--out bench/results/pack_tokens.json]

Needs an offline o200k tokenizer whose package ships its vocabulary (``bpe-openai``: install it
into the venv for the bench only, ``uv pip install --python .venv/bin/python bpe-openai``; it
is not a dependency of contextree). Nothing is downloaded at run time.

1. The corpus: the repository's own Python, Markdown and TOML files, and generated Go, Rust,
   JavaScript, TypeScript, JSON and Markdown-with-Unicode files (a pure function of the seed).
   For each file: ``estimate_tokens(text) / real o200k tokens`` (min, mean, max per language),
   and how many files the estimate undercounts (target 0).
2. Packs: a workspace holding the corpus, each file's frame being its own source text (the
   hardest case: code, not prose) and each directory's a listing; then ``Workspace.pack`` of
   every file and directory at several budgets, in md, json and xml. Reported: the share of
   packs whose real count of the rendered text exceeds the budget (target 0), the share whose
   real count exceeds the pack's estimate, and real/budget (how much of the budget is used).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from common import machine_info, write_json

REPO = Path(__file__).resolve().parent.parent
BUDGETS = (300, 600, 1200, 2500, 5000)
WORDS = [
    "user",
    "account",
    "order",
    "invoice",
    "token",
    "cache",
    "parse",
    "render",
    "stream",
    "buffer",
    "config",
    "handler",
    "request",
    "response",
    "client",
    "server",
    "session",
    "worker",
    "queue",
    "index",
    "node",
    "tree",
    "frame",
    "digest",
    "retry",
    "limit",
    "budget",
    "report",
    "export",
    "import",
    "format",
    "encode",
    "decode",
    "schema",
    "value",
]


def _ident(rng: random.Random, style: str) -> str:
    parts = rng.sample(WORDS, rng.randint(1, 3))
    if style == "snake":
        return "_".join(parts)
    if style == "pascal":
        return "".join(p.title() for p in parts)
    return parts[0] + "".join(p.title() for p in parts[1:])


def _go(rng: random.Random) -> str:
    out = ["package " + rng.choice(WORDS), "", 'import (\n\t"fmt"\n\t"errors"\n)', ""]
    for _ in range(rng.randint(3, 12)):
        name, arg, typ = _ident(rng, "pascal"), _ident(rng, "camel"), _ident(rng, "pascal")
        out += [
            f"// {name} returns the {rng.choice(WORDS)} of {arg} or an error.",
            f"func {name}({arg} *{typ}, n int) (map[string]int, error) {{",
            f'\tif {arg} == nil {{\n\t\treturn nil, errors.New("{name}: nil {arg}")\n\t}}',
            f"\tout := make(map[string]int, {rng.randint(1, 999)})",
            f'\tfor i := 0; i < n; i++ {{\n\t\tout[fmt.Sprintf("%s-%d", {arg}.Name, i)] += i'
            f" * 0x{rng.getrandbits(24):06x}\n\t}}",
            "\treturn out, nil\n}",
            "",
        ]
    return "\n".join(out)


def _rust(rng: random.Random) -> str:
    out = ["use std::collections::HashMap;", ""]
    for _ in range(rng.randint(3, 12)):
        name, typ = _ident(rng, "snake"), _ident(rng, "pascal")
        out += [
            f"/// Builds a `{typ}` from the {rng.choice(WORDS)}.",
            "#[derive(Debug, Clone, PartialEq)]",
            f"pub struct {typ} {{ id: u64, names: Vec<String>, seen: HashMap<&'static str, i32> }}",
            f"impl {typ} {{",
            f"    pub fn {name}(&mut self, key: &str) -> Result<Option<&i32>, String> {{",
            f'        let v = self.seen.get(key).ok_or_else(|| format!("no {{key}}: {name}"))?;',
            f"        if *v > {rng.randint(0, 10**6)} {{ return Ok(None); }}",
            "        Ok(Some(v))\n    }\n}",
            "",
        ]
    return "\n".join(out)


def _js(rng: random.Random, typed: bool) -> str:
    out = ["'use strict';", "import { readFile } from 'node:fs/promises';", ""]
    for _ in range(rng.randint(3, 12)):
        name, arg = _ident(rng, "camel"), _ident(rng, "camel")
        sig = (
            f"({arg}: Record<string, number>, limit = 10): Promise<string[]>"
            if typed
            else (f"({arg}, limit = 10)")
        )
        out += [
            f"/** {name}: {' '.join(rng.sample(WORDS, 6))}. */",
            f"export async function {name}{sig} {{",
            f"  const keys = Object.keys({arg}).filter((k) => {arg}[k] > {rng.random():.4f});",
            f"  const text = await readFile(`./data/${{keys[0] ?? '{name}'}}.json`, 'utf8');",
            "  return keys.slice(0, limit).map((k, i) => `${k}=${i}:${text.length}`);",
            "}",
            "",
        ]
    return "\n".join(out)


def _json(rng: random.Random) -> str:
    import json

    items = [
        {
            "id": f"{rng.getrandbits(128):032x}",
            "name": _ident(rng, "snake"),
            "count": rng.randint(0, 10**9),
            "ratio": round(rng.random(), 6),
            "tags": rng.sample(WORDS, 3),
            "active": rng.random() < 0.5,
        }
        for _ in range(rng.randint(3, 30))
    ]
    return json.dumps({"items": items, "version": rng.randint(1, 99)}, indent=2)


def _unicode_md(rng: random.Random) -> str:
    lines = ["# Überblick — 概要 🚀", ""]
    for _ in range(rng.randint(5, 30)):
        lines.append(
            f"- Das `{_ident(rng, 'snake')}` Modul prüft {rng.choice(WORDS)}s; "
            f"日本語の説明 {rng.randint(1, 999)} 件。 Ça marche — “quotes” ✓ émojis 🎉."
        )
    return "\n".join(lines) + "\n"


def corpus(seed: int) -> dict[str, list[tuple[str, str]]]:
    """language -> [(relative path, text)]."""
    rng = random.Random(seed)
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path in sorted((REPO / "src" / "contextree").rglob("*.py"))[:60]:
        out["python"].append((f"py/{path.name}", path.read_text(encoding="utf-8")))
    for path in sorted(
        [*REPO.glob("*.md"), *(REPO / "docs").glob("*.md"), *REPO.glob("bench/*.md")]
    ):
        out["markdown"].append((f"md/{path.name}", path.read_text(encoding="utf-8")))
    out["toml"].append(("toml/pyproject.toml", (REPO / "pyproject.toml").read_text("utf-8")))
    makers = {
        "go": (lambda: _go(rng), "go"),
        "rust": (lambda: _rust(rng), "rs"),
        "javascript": (lambda: _js(rng, typed=False), "js"),
        "typescript": (lambda: _js(rng, typed=True), "ts"),
        "json": (lambda: _json(rng), "json"),
        "markdown-unicode": (lambda: _unicode_md(rng), "md"),
    }
    for lang, (make, ext) in makers.items():
        for i in range(30):
            out[lang].append((f"{ext}/{lang}_{i}.{ext}", make()))
    return dict(out)


def _ratios(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "mean": statistics.fmean(values), "max": max(values)}


def measure_files(texts: dict[str, list[tuple[str, str]]], count: Any) -> dict[str, Any]:
    from contextree.core.tokens import estimate_tokens

    out: dict[str, Any] = {}
    for lang, files in texts.items():
        ratios = [estimate_tokens(t) / max(1, count(t)) for _, t in files if t]
        under = sum(1 for _, t in files if t and estimate_tokens(t) < count(t))
        out[lang] = {"files": len(files), "under": under, **_ratios(ratios)}
    return out


def measure_packs(texts: dict[str, list[tuple[str, str]]], count: Any) -> dict[str, Any]:
    import contextree
    from contextree.api import ContextApi
    from contextree.bootstrap import load_agents, open_store_for_reading
    from contextree.core.frame import Basis, Frame, default_frame_type
    from contextree.core.ids import NodeId
    from contextree.errors import UsageError
    from contextree.store.tree import TreeRows

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        for files in texts.values():
            for rel, text in files:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(text, encoding="utf-8")
        ws = contextree.open_workspace(root, discover=False)
        ws.scan()
        agent = "docs-writer"
        with open_store_for_reading(ws.setup, writable=True) as store:
            api = ContextApi(store, load_agents(ws.setup))
            rows = TreeRows(store.conn)
            entries = rows.load_entries()
            for path in sorted(entries):
                node = rows.entry(path)
                assert node is not None
                if node.kind == "file":
                    text = (root / os.fsdecode(path)).read_text(encoding="utf-8")
                else:
                    kids = rows.children(path)
                    text = "\n".join(f"- `{os.fsdecode(k.path)}`: {k.kind}, {k.size}" for k in kids)
                frame = Frame(basis=Basis.node(NodeId(node.node_id)), agent_id=agent,
                              frame_type=default_frame_type(agent), content=text.encode(),
                              metadata={"agent_id": agent})  # fmt: skip
                api.put_frame(NodeId(node.node_id), frame, agent)
            paths = [os.fsdecode(p) or "." for p in sorted(entries)]
        packs, over_budget, over_estimate, refused = 0, 0, 0, 0
        used: list[float] = []
        started = time.perf_counter()
        for path in paths:
            for fmt in ("md", "json", "xml"):
                for budget in BUDGETS:
                    try:
                        pack = ws.pack(path, budget=budget, fmt=fmt)
                    except UsageError:
                        refused += 1
                        continue
                    real = count(pack.render())
                    packs += 1
                    over_budget += real > budget
                    over_estimate += real > pack.estimate
                    used.append(real / budget)
        elapsed = time.perf_counter() - started
    return {
        "packs": packs,
        "refused_below_minimum": refused,
        "real_over_budget": over_budget,
        "share_real_over_budget": over_budget / max(1, packs),
        "real_over_estimate": over_estimate,
        "real_per_budget": _ratios(used),
        "seconds_per_pack": elapsed / max(1, packs + refused),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/pack_tokens.json")
    args = parser.parse_args()
    try:
        import bpe_openai
    except ImportError:
        sys.stderr.write("needs bpe-openai: uv pip install --python .venv/bin/python bpe-openai\n")
        return 2
    encoding = bpe_openai.get_encoding("o200k_base")

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    texts = corpus(args.seed)
    files = measure_files(texts, count)
    print(f"load average: {os.getloadavg()}")
    print(f"{'language':18} {'files':>5} {'under':>5} {'min':>6} {'mean':>6} {'max':>6}")
    for lang, row in files.items():
        print(f"{lang:18} {row['files']:5} {row['under']:5} {row['min']:6.2f} {row['mean']:6.2f} "
              f"{row['max']:6.2f}")  # fmt: skip
    packs = measure_packs(texts, count)
    print(
        f"packs: {packs['packs']} ({packs['refused_below_minimum']} budgets below the minimum); "
        f"real count over the budget: {packs['real_over_budget']} "
        f"({packs['share_real_over_budget']:.2%}); over the estimate: "
        f"{packs['real_over_estimate']}; real/budget mean {packs['real_per_budget']['mean']:.2f}"
        f", max {packs['real_per_budget']['max']:.2f}; "
        f"{packs['seconds_per_pack'] * 1e3:.1f} ms/pack"
    )
    write_json(args.out, {
        "benchmark": "pack_tokens", "seed": args.seed, "tokenizer": "o200k_base (bpe-openai "
        f"{getattr(bpe_openai, '__version__', '?')})", "budgets": list(BUDGETS),
        "files": files, "packs": packs, "machine": machine_info(),
    })  # fmt: skip
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
