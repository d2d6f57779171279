"""Turning contextree errors into a message and an exit code at the edge of every command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from contextree.cli.output import CliState, report_error
from contextree.errors import ContextreeError


@contextmanager
def user_errors(state: CliState) -> Iterator[None]:
    """Print a ``ContextreeError`` as a message (no traceback) and exit with its code."""
    try:
        yield
    except ContextreeError as exc:
        report_error(state, exc)
        raise typer.Exit(exc.exit_code) from None
