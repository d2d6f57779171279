"""The ``contextree`` command: global options, command registration and error handling.

Owns the typer application object and the process exit code. Each command lives in a module
of its own under ``cli/``; this module only wires them together and turns contextree errors
into a message and an exit code (2 for usage and configuration mistakes, 75 for a busy
workspace, 1 for other failures), never a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from contextree import __version__
from contextree.cli import (
    agent_cmds,
    generate_cmds,
    get_cmds,
    maintenance_cmds,
    provider_cmds,
    workspace_cmds,
)
from contextree.cli.output import CliState


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"contextree {__version__}\n")
        raise typer.Exit()


app = typer.Typer(
    name="contextree",
    help="AI-generated context for every file and directory of a code workspace.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            "-w",
            metavar="DIR",
            help="Workspace root (default: the nearest initialised workspace at or above the "
            "current directory, else the current directory).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say more.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Say only what matters.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = CliState(workspace=workspace, verbose=verbose, quiet=quiet)


workspace_cmds.register(app)
agent_cmds.register(app)
context_app = typer.Typer(
    name="context",
    help="Context frames: get and generate (also available at the top level).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
get_cmds.register(app, context_app)
generate_cmds.register(app, context_app)
app.add_typer(context_app, name="context")
provider_cmds.register(app)
maintenance_cmds.register(app)


_GLOBAL_FLAGS = frozenset({"-v", "--verbose", "-q", "--quiet"})
_GLOBAL_WITH_VALUE = frozenset({"-w", "--workspace"})


def hoist_global_options(argv: list[str]) -> list[str]:
    """Let global options follow the command name too (``contextree scan -q``), by moving
    them in front of it; everything after ``--`` is left alone."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg in _GLOBAL_FLAGS:
            front.append(arg)
        elif arg in _GLOBAL_WITH_VALUE and i + 1 < len(argv):
            front.extend(argv[i : i + 2])
            i += 1
        elif arg.startswith("--workspace="):
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main() -> None:
    """Console-script entry point."""
    app(args=hoist_global_options(sys.argv[1:]))
