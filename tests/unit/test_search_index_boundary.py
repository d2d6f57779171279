"""The search index moves only with the heads: only ``store.search_index`` holds SQL that
writes ``frame_search``; its writers are called only by the rows module (inside the head moves
and the sweep, and by the repair) and the migration that creates the index; and every head
write of the rows module keeps it in step."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import contextree

SRC = Path(contextree.__file__).parent
INDEX_MODULE = SRC / "store" / "search_index.py"
ROWS_MODULE = SRC / "store" / "frames.py"
MIGRATIONS = SRC / "store" / "migrations.py"
WRITERS = {"unindex_heads", "unindex_where", "index_generations", "rebuild"}
_WRITES_INDEX = re.compile(
    r"\b(?:insert(?:\s+or\s+\w+)?\s+into|replace\s+into|update|delete\s+from)\s+frame_search\b",
    re.IGNORECASE,
)


def _strings(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            out.append("".join(v.value for v in node.values if isinstance(v, ast.Constant)))
    return out


def _writes(path: Path) -> bool:
    return any(_WRITES_INDEX.search(s) for s in _strings(ast.parse(path.read_text())))


def _called(path: Path) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "search_index"
    }


def test_only_the_index_module_writes_the_index() -> None:
    writers = [p.relative_to(SRC) for p in sorted(SRC.rglob("*.py")) if _writes(p)]
    assert writers == [INDEX_MODULE.relative_to(SRC)]


def test_the_index_writers_are_called_by_the_rows_module_and_the_migration_only() -> None:
    callers = {
        str(p.relative_to(SRC)): used
        for p in sorted(SRC.rglob("*.py"))
        if p != INDEX_MODULE and (used := _called(p) & WRITERS)
    }
    assert callers == {
        "store/frames.py": {"unindex_heads", "unindex_where", "index_generations", "rebuild"},
    }
    # The migration names the fill function without calling it.
    assert "fill=search_index.rebuild" in MIGRATIONS.read_text()


def test_every_head_write_of_the_rows_module_moves_the_index() -> None:
    tree = ast.parse(ROWS_MODULE.read_text())
    head_writes = re.compile(r"\b(?:into|delete\s+from)\s+heads\b", re.IGNORECASE)
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and any(head_writes.search(s) for s in _strings(fn)):
            assert _called_in(fn) & WRITERS, fn.name


def _called_in(fn: ast.FunctionDef) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(fn)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
