"""How every command opens the workspace: ``--workspace DIR`` as given, else the nearest one
at or above the current directory, with relative paths taken from the current directory."""

from __future__ import annotations

from pathlib import Path

from contextree.cli.output import CliState
from contextree.facade import Workspace, open_workspace


def open_cli_workspace(state: CliState) -> Workspace:
    """The workspace the command works on: ``state.workspace`` (the ``--workspace`` option)
    itself when given, else the one discovered from the current directory. Raises
    ``ConfigError`` when the configuration is invalid."""
    return open_workspace(state.workspace or ".", discover=state.workspace is None, cwd=Path.cwd())
