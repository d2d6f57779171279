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
from contextree.cli import agent_cmds, generate_cmds, get_cmds, provider_cmds, workspace_cmds
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


def main() -> None:
    """Console-script entry point."""
    app()
