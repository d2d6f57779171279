"""``contextree pack PATH``: a budgeted context pack for an agent, printed to stdout.

Presentation only: ``Workspace.pack`` gathers the frames, cuts them to the budget and renders
them; this module parses the options, prints the rendering (for ``--format json``, the JSON
document itself) and, on stderr unless ``--quiet``, one line with the estimate. Never takes
the writer lock.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from contextree.cli.errors import user_errors
from contextree.cli.output import CliState
from contextree.cli.trust_cmds import print_trust_notice
from contextree.cli.workspace_open import open_cli_workspace
from contextree.errors import UsageError


def register(app: typer.Typer) -> None:
    app.command("pack")(pack_cmd)


def pack_cmd(
    ctx: typer.Context,
    path: Annotated[
        str, typer.Argument(metavar="PATH", help="File or directory (absolute or relative).")
    ],
    budget: Annotated[
        int | None,
        typer.Option(
            "--budget", metavar="TOKENS", help="Most tokens the pack may cost (estimated, high)."
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="md|json|xml", help="How to write the pack.")
    ] = "md",
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Agent whose frames to pack (default: default_agent)."),
    ] = None,
) -> None:
    """Print what an agent needs to work on PATH: its frame, its ancestors' and its
    children's (or, for a file, its siblings' first sentences), cut to a token budget."""
    state: CliState = ctx.obj
    with user_errors(state):
        if fmt not in ("md", "json", "xml"):
            raise UsageError(f"unknown --format {fmt!r}", hint="Use --format md, json or xml.")
        with open_cli_workspace(state) as ws:
            print_trust_notice(state, ws)
            pack = ws.pack(path, budget=budget, agent=agent, fmt=fmt)
    sys.stdout.write(pack.render())
    sys.stdout.flush()
    if not state.quiet:
        left = len(pack.omitted)
        of = "" if pack.budget is None else f" of a budget of {pack.budget}"
        state.err.print(
            f"pack: {len(pack.blocks)} blocks, about {pack.estimate} tokens{of}"
            + (f", {left} left out" if left else "")
        )
