"""Only ``contextree.store.frames`` holds SQL that writes the frame tables, only ``ContextApi``
calls its write methods (``put_frames``, through its ``_insert`` step, the inserts; ``gc`` the
sweep; nothing else either; ``put_frame`` is ``put_frames`` of one write),
and the import contract that keeps everyone else out of the rows module covers every
top-level package."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import contextree

SRC = Path(contextree.__file__).parent
PYPROJECT = SRC.parent.parent / "pyproject.toml"
ROWS_MODULE = SRC / "store" / "frames.py"
API_MODULE = SRC / "api" / "__init__.py"
#: Each allowed writer and exactly the write methods it calls.
WRITERS = {
    "ContextApi._insert": {"insert_frames", "insert_artifacts", "insert_generations", "set_heads"},
    "ContextApi.gc": {"sweep"},
}

_WRITE_SQL = re.compile(
    r"\b(?:insert(?:\s+or\s+\w+)?\s+into|replace\s+into|update|delete\s+from)\s+"
    r"[\"'`]?(frames|heads|generations|artifacts)\b",
    re.IGNORECASE,
)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _sql_strings(tree: ast.AST) -> list[str]:
    """String literals that are not docstrings; f-strings with their holes as '?'."""
    skip = _docstring_nodes(tree)
    skip |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.append(
                "".join(
                    v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "?"
                    for v in node.values
                )
            )
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        ):
            out.append(node.value)
    return out


def _writes_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [m.group(0) for s in _sql_strings(tree) for m in _WRITE_SQL.finditer(s)]


def test_only_the_rows_module_holds_sql_that_writes_the_frame_tables() -> None:
    offenders = {
        str(path.relative_to(SRC)): found
        for path in sorted(SRC.rglob("*.py"))
        if path != ROWS_MODULE and (found := _writes_in(path))
    }
    assert offenders == {}
    tables = {m.split()[-1].lower() for m in _writes_in(ROWS_MODULE)}
    assert tables == {"frames", "heads", "generations", "artifacts"}


def test_the_detector_sees_writes_split_over_lines_and_in_f_strings() -> None:
    sample = ast.parse(
        'a = ("INSERT OR REPLACE "\n "INTO heads (x) VALUES (?)")\n'
        'b = f"DELETE FROM {t} WHERE 1"\n'
        'c = f"UPDATE generations SET {col} = ?"\n'
        'def f():\n    """We update heads here, in prose only."""\n'
    )
    found = [m.group(1) for s in _sql_strings(sample) for m in _WRITE_SQL.finditer(s)]
    assert found == ["heads", "generations"]


def _write_methods() -> set[str]:
    tree = ast.parse(ROWS_MODULE.read_text(encoding="utf-8"))
    rows = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "FrameRows")
    return {
        fn.name
        for fn in rows.body
        if isinstance(fn, ast.FunctionDef) and any(_WRITE_SQL.search(s) for s in _sql_strings(fn))
    }


def _calls(node: ast.AST, names: set[str]) -> set[str]:
    return {
        call.func.attr
        for call in ast.walk(node)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in names
    }


def test_only_the_write_boundary_and_gc_call_the_write_methods() -> None:
    writes = _write_methods()
    assert writes == set().union(*WRITERS.values())
    tree = ast.parse(API_MODULE.read_text(encoding="utf-8"))
    callers: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and (used := _calls(fn, writes)):
                    callers[f"{node.name}.{fn.name}"] = used
        elif isinstance(node, ast.FunctionDef) and (used := _calls(node, writes)):
            callers[node.name] = used
    assert callers == WRITERS
    elsewhere = [
        str(p.relative_to(SRC))
        for p in sorted(SRC.rglob("*.py"))
        if p not in (ROWS_MODULE, API_MODULE) and _calls(ast.parse(p.read_text()), writes)
    ]
    assert elsewhere == []


def test_the_insert_step_runs_only_inside_put_frames() -> None:
    tree = ast.parse(API_MODULE.read_text(encoding="utf-8"))
    api = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ContextApi")
    callers = {
        fn.name
        for fn in api.body
        if isinstance(fn, ast.FunctionDef) and _calls(fn, {"_insert", "put_frames"})
    }
    # put_frame delegates to put_frames, and put_frames alone runs the insert step.
    assert callers == {"put_frame", "put_frames"}
    put_frame = next(
        f for f in api.body if isinstance(f, ast.FunctionDef) and f.name == "put_frame"
    )
    assert _calls(put_frame, {"_insert", "put_frames"}) == {"put_frames"}


def test_the_sweep_deletes_from_every_frame_table() -> None:
    tree = ast.parse(ROWS_MODULE.read_text(encoding="utf-8"))
    sweep = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "sweep")
    deleted = {m.group(1) for s in _sql_strings(sweep) for m in _WRITE_SQL.finditer(s)}
    assert deleted == {"frames", "heads", "generations", "artifacts"}


def test_the_import_contract_forbids_the_rows_module_to_every_other_package() -> None:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [
        c for c in contracts if "contextree.store.frames" in c.get("forbidden_modules", [])
    ]
    assert contract["type"] == "forbidden"
    # The bottom layer (errors, sniff) cannot import the store at all: the layers contract
    # already keeps it out, so the forbidden contract need not list it.
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    bottom = {m.strip().removeprefix("contextree.") for m in layers[-1].split("|")}
    assert "contextree.store" in layers[-2]
    top_level = {
        p.stem
        for p in SRC.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"
    } - {"__init__", "__main__", "api", "store"}
    top_level -= bottom
    assert {m.removeprefix("contextree.") for m in contract["source_modules"]} == top_level
