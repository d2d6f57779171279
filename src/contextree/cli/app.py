"""The ``contextree`` command: global options, command registration and error handling.

Owns the typer application object and the process exit code. Each command lives in a module
of its own under ``cli/``; this module only wires them together and turns contextree errors
into a message and an exit code (2 for usage and configuration mistakes, 75 for a busy
workspace, 1 for other failures), never a traceback.

Command modules are imported when their command runs (or ``--help`` lists it), never at
start-up: between them they import the generation stack, the HTTP client and every settings
model, which ``contextree --version`` or ``contextree scan`` should not pay for.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from contextree.version import __version__

if TYPE_CHECKING:
    from typer import _click as click  # typer's own click, which its groups are built on

#: Every top-level command, in the order ``--help`` lists them, and the modules under
#: ``contextree.cli`` whose ``register`` defines it (``context`` gathers two modules' commands).
_COMMANDS: dict[str, tuple[str, ...]] = {
    "init": ("workspace_cmds",),
    "scan": ("workspace_cmds",),
    "status": ("workspace_cmds",),
    "get": ("get_cmds",),
    "search": ("search_cmds",),
    "pack": ("pack_cmds",),
    "export": ("export_cmds",),
    "generate": ("generate_cmds",),
    "regenerate": ("generate_cmds",),
    "verify": ("maintenance_cmds",),
    "gc": ("maintenance_cmds",),
    "agent": ("agent_cmds",),
    "context": ("get_cmds", "generate_cmds"),
    "provider": ("provider_cmds",),
    "trust": ("trust_cmds",),
    "mcp": ("mcp_cmds",),
}
#: Modules whose ``register`` also takes the ``context`` group.
_WITH_CONTEXT = frozenset({"get_cmds", "generate_cmds"})


#: ``-h`` is ``--help`` everywhere: click hands a command's context the names of its parent's.
_CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}


def _typer_app(*, add_completion: bool = False, **options: Any) -> typer.Typer:
    return typer.Typer(
        help="AI-generated context for every file and directory of a code workspace.",
        no_args_is_help=True,
        add_completion=add_completion,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings=_CONTEXT_SETTINGS,
        **options,
    )


def _load(name: str) -> click.Command:
    """The click command ``name``, built by the ``register`` functions of its modules."""
    holder = _typer_app()
    context_app = typer.Typer(
        name="context",
        help="Context frames: get and generate (also available at the top level).",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    for module_name in _COMMANDS[name]:
        module = importlib.import_module(f"contextree.cli.{module_name}")
        if module_name in _WITH_CONTEXT:
            module.register(holder, context_app)
        else:
            module.register(holder)
    holder.add_typer(context_app, name="context")
    return typer.main.get_group(holder).commands[name]


class _LazyCommands(TyperGroup):
    """The top-level group: lists every command, imports one only when it is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in _COMMANDS:
            command = _load(cmd_name)
            self.add_command(command, cmd_name)
        return command


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"contextree {__version__}\n")
        raise typer.Exit()


#: Shell completion: ``contextree --install-completion`` (bash, zsh, fish, PowerShell).
app = _typer_app(name="contextree", cls=_LazyCommands, add_completion=True)


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
    from contextree.cli.output import CliState  # noqa: PLC0415  # rich is not needed for --version

    ctx.obj = CliState(workspace=workspace, verbose=verbose, quiet=quiet)


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
