"""Presentation helpers shared by every command: consoles, JSON documents, sizes, errors.

Owns how contextree talks to a terminal or a script: results on stdout (text or a versioned
JSON document), messages and progress on stderr, errors as one clear message plus a hint and
no traceback. No business logic lives here.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from contextree.errors import ContextreeError

JSON_SCHEMA_VERSION = 1
#: The exit code for a terminal that closed while ``quiet_if_terminal_closed`` runs.
_closed_exit_code: int | None = None

#: What a terminal would act on instead of showing: C0 and C1 controls, DEL, and the bidi
#: embeddings, overrides and isolates that reorder what is shown (the "trojan source" ones).
_UNSAFE_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: The same, but newlines and tabs stay: frame text is multi-line.
_UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


#: The controls ``ls`` and C spell with a letter.
_NAMED_ESCAPES = {
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def term_name(name: str) -> str:
    """``name`` (a path, an id) safe to print on one terminal line: every control character,
    newlines included, and every bidi control shown as an escape (``\\x1b``), as ``ls`` does."""
    return _UNSAFE_IN_NAME.sub(_escape_char, name)


def term_text(text: str) -> str:
    """Multi-line ``text`` (a frame, a message) safe to print: newlines and tabs kept, every
    other control character and bidi control shown as an escape."""
    return _UNSAFE_IN_TEXT.sub(_escape_char, text)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 frame``, ``2 frames``, ``1,204 files``: the count with the noun that agrees."""
    noun = word if count == 1 else (many or f"{word}s")
    return f"{count:,} {noun}"


class SafeConsole(Console):
    """A console that never lets a control character through: text views print file names,
    frames and answers written by strangers, and an escape sequence in them would reach the
    terminal. Strings are escaped with ``term_text`` (names are also passed through
    ``term_name`` where they are formatted, so a newline in a name cannot forge a line)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(term_text(o) if isinstance(o, str) else o for o in objects), **kwargs)

    def on_broken_pipe(self) -> None:
        """The reader went away: say nothing more, and exit with the code the command chose
        for that (``quiet_if_terminal_closed``), else 1."""
        self.quiet = True
        detach_std_streams()
        raise SystemExit(1 if _closed_exit_code is None else _closed_exit_code)


@dataclass(slots=True)
class CliState:
    """Global options, shared by all commands through the typer context."""

    workspace: str | None = None
    verbose: bool = False
    quiet: bool = False
    out: Console = field(
        default_factory=lambda: SafeConsole(highlight=False, soft_wrap=True, markup=False)
    )
    err: Console = field(
        default_factory=lambda: SafeConsole(
            stderr=True, highlight=False, soft_wrap=True, markup=False
        )
    )


def emit_json(doc: dict[str, Any]) -> None:
    """Write one JSON document to stdout (schema-versioned, keys sorted)."""
    body = {"schema_version": JSON_SCHEMA_VERSION, **doc}
    sys.stdout.write(json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextmanager
def quiet_if_terminal_closed(exit_code: int) -> Iterator[None]:
    """Writing to a terminal that went away (SIGHUP, a closed pipe: EIO, EPIPE) ends the
    command with ``exit_code`` and no traceback; stdout and stderr then go nowhere, so the
    interpreter's last flush cannot complain either."""
    global _closed_exit_code  # noqa: PLW0603  # read by SafeConsole.on_broken_pipe
    previous, _closed_exit_code = _closed_exit_code, exit_code
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.EIO, errno.EPIPE):
            raise
        detach_std_streams()
        raise SystemExit(exit_code) from None
    finally:
        _closed_exit_code = previous


def detach_std_streams() -> None:
    """Point file descriptors 1 and 2 at the null device."""
    with suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            with suppress(OSError):
                os.dup2(devnull, fd)
        os.close(devnull)


def report_error(state: CliState, exc: ContextreeError) -> None:
    line = Text("error:", style="bold red")
    line.append(f" {term_text(exc.message)}")
    state.err.print(line)
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
