"""What ``ast`` can tell about a Python file: docstring, imports, exports and symbols.

Owns the Python outline only. It parses, never imports or runs, the code; a file that does not
parse gets ``None`` so the caller falls back to line patterns.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from contextree.providers.structural.languages import one_line

SIGNATURE_CHARS = 160
_DEFINITION = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
MAX_MEMBERS = 30


@dataclass(frozen=True, kw_only=True, slots=True)
class Symbol:
    """One top-level definition (or a class member when ``depth`` is 1)."""

    signature: str
    doc: str = ""
    depth: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class PythonOutline:
    docstring: str
    imports: tuple[str, ...]
    exports: tuple[str, ...]
    symbols: tuple[Symbol, ...]
    private: tuple[str, ...]
    has_main: bool


def _first_line(node: ast.AST) -> str:
    if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return ""
    doc = ast.get_docstring(node, clean=True) or ""
    return one_line(doc.split("\n\n", 1)[0])


def _cap(text: str) -> str:
    return text if len(text) <= SIGNATURE_CHARS else text[: SIGNATURE_CHARS - 3] + "..."


def _decorators(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    names = []
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        names.append("@" + ast.unparse(target))
    return " ".join(names) + " " if names else ""


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    keyword = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    signature = f"{keyword} {node.name}({ast.unparse(node.args)}){returns}"
    return _cap(_decorators(node) + signature)


def _class(node: ast.ClassDef) -> str:
    bases = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
    head = f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}"
    return _cap(_decorators(node) + head)


def _is_public_member(name: str) -> bool:
    return not name.startswith("_") or name in ("__init__", "__call__")


def _members(node: ast.ClassDef) -> list[Symbol]:
    members = [
        Symbol(signature=_function(item), doc=_first_line(item), depth=1)
        for item in node.body
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and _is_public_member(item.name)
    ]
    if len(members) > MAX_MEMBERS:
        more = len(members) - MAX_MEMBERS
        members = [*members[:MAX_MEMBERS], Symbol(signature=f"... and {more} more", depth=1)]
    return members


def _constant(node: ast.Assign | ast.AnnAssign) -> str | None:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names = [t.id for t in targets if isinstance(t, ast.Name)]
    if not names or not all(n.isupper() and not n.startswith("_") for n in names):
        return None
    if isinstance(node, ast.AnnAssign):
        return _cap(f"{names[0]}: {ast.unparse(node.annotation)}")
    return names[0]


def _import_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return ["." * node.level + (node.module or "")]


def _exports(node: ast.Assign) -> tuple[str, ...]:
    if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
        return ()
    if not isinstance(node.value, ast.List | ast.Tuple):
        return ()
    return tuple(
        e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
    )


def _is_main_guard(node: ast.If) -> bool:
    return "__name__" in ast.unparse(node.test) and "__main__" in ast.unparse(node.test)


def python_outline(text: str) -> PythonOutline | None:
    """The outline of Python source, or ``None`` if it does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    imports: list[str] = []
    exports: tuple[str, ...] = ()
    symbols: list[Symbol] = []
    private: list[str] = []
    has_main = False
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports.extend(n for n in _import_names(node) if n not in (*imports, "__future__"))
        elif isinstance(node, _DEFINITION) and node.name.startswith("_"):
            private.append(node.name)
        elif isinstance(node, ast.ClassDef):
            symbols.append(Symbol(signature=_class(node), doc=_first_line(node)))
            symbols.extend(_members(node))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            symbols.append(Symbol(signature=_function(node), doc=_first_line(node)))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            if isinstance(node, ast.Assign) and not exports:
                exports = _exports(node)
            constant = _constant(node)
            if constant:
                symbols.append(Symbol(signature=constant))
        elif isinstance(node, ast.If) and _is_main_guard(node):
            has_main = True
    return PythonOutline(
        docstring=_first_line(tree),
        imports=tuple(imports),
        exports=exports,
        symbols=tuple(symbols),
        private=tuple(private),
        has_main=has_main,
    )
