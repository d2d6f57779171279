"""``contextree search QUERY``: full-text search over paths and frame texts, presentation only.

``Workspace.search`` turns the query into quoted words (FTS syntax in it is text), searches the
store's index of the current heads and ranks the hits by bm25; this module prints them as text
(rank, path, agent and a one-line snippet) or JSON. Read-only: never takes the writer lock.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from contextree.cli.errors import user_errors
from contextree.cli.output import CliState, emit_json, plural, term_name
from contextree.cli.trust_cmds import print_trust_notice
from contextree.cli.workspace_open import open_cli_workspace
from contextree.facade import SearchHit


def register(app: typer.Typer) -> None:
    app.command("search")(search_cmd)


def search_cmd(  # noqa: PLR0917  # typer maps each option to a parameter
    ctx: typer.Context,
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="QUERY...",
            help="Words to find in paths and frame texts (all must match; the last one also "
            "as a prefix). Put `--` before a word that starts with '-'.",
        ),
    ],
    path: Annotated[
        str | None,
        typer.Option("--path", help="Only this file or directory and what is below it."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many hits.")] = 20,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Only this agent's frames (default: every agent).")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON document instead of text.")
    ] = False,
) -> None:
    """Search the frames of the last scan's files and directories, best match first."""
    state: CliState = ctx.obj
    query = " ".join(words)
    with user_errors(state), open_cli_workspace(state) as ws:
        print_trust_notice(state, ws)
        hits = ws.search(query, path_prefix=path, limit=limit, agent=agent)
    if json_out:
        emit_json(
            {"query": query, "path": path, "limit": limit, "hits": [_hit_json(h) for h in hits]}
        )
        return
    if not hits:
        state.out.print(f"No match for {term_name(query)!r}.", markup=False)
        return
    for rank, hit in enumerate(hits, 1):
        state.out.print(
            f"{rank}. {term_name(hit.path)}  ({hit.agent_id} · {hit.frame_type})", markup=False
        )
        state.out.print(f"   {term_name(' '.join(hit.snippet.split()))}", markup=False)
    if not state.quiet:
        state.out.print(f"{plural(len(hits), 'hit')}.", markup=False)


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    return {
        "path": hit.path,
        "node_id": hit.node_id,
        "frame_id": hit.frame_id,
        "agent_id": hit.agent_id,
        "frame_type": hit.frame_type,
        "score": hit.score,
        "snippet": hit.snippet,
        "current": hit.current,
        "on_disk": str(hit.on_disk),
    }
