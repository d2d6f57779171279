"""Presentation helpers shared by every command: consoles, JSON documents, sizes, errors.

Owns how contextree talks to a terminal or a script: results on stdout (text or a versioned
JSON document), messages and progress on stderr, errors as one clear message plus a hint and
no traceback. No business logic lives here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from contextree.errors import ContextreeError

JSON_SCHEMA_VERSION = 1


@dataclass(slots=True)
class CliState:
    """Global options, shared by all commands through the typer context."""

    workspace: str | None = None
    verbose: bool = False
    quiet: bool = False
    out: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=True))
    err: Console = field(
        default_factory=lambda: Console(stderr=True, highlight=False, soft_wrap=True)
    )


def emit_json(doc: dict[str, Any]) -> None:
    """Write one JSON document to stdout (schema-versioned, keys sorted)."""
    body = {"schema_version": JSON_SCHEMA_VERSION, **doc}
    sys.stdout.write(json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def report_error(state: CliState, exc: ContextreeError) -> None:
    state.err.print(f"[bold red]error:[/] {exc.message}", markup=True)
    if exc.hint:
        state.err.print(exc.hint, markup=False)


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover - loop always returns


@contextmanager
def progress_display(state: CliState, enabled: bool) -> Iterator[Any]:
    """A progress callback ``(phase, done, total)`` drawing on stderr when it is a terminal."""
    if not enabled or state.quiet or not state.err.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=state.err,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total or None)
        bar.update(tasks[phase], completed=done, total=total or None)

    with bar:
        yield update
