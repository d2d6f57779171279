"""``contextree export``: frames out as a markdown document, JSON lines, or marked blocks of
``AGENTS.md`` / ``CLAUDE.md``; ``export --check``, the CI gate over those blocks.

Presentation only: ``Workspace.export`` and ``Workspace.export_check`` do the work; this
module parses the options, prints the document (to stdout unless ``--out``), what was written,
or what the check found (``--json``: one versioned JSON document), and sets the exit code:
0 when done (or every block is current), 1 when ``--check`` finds a block stale, missing or
unreadable, 2 for a usage or configuration mistake. Never takes the writer lock.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from contextree.cli.errors import user_errors
from contextree.cli.output import CliState, emit_json, plural, term_name
from contextree.cli.trust_cmds import print_trust_notice
from contextree.cli.workspace_open import open_cli_workspace
from contextree.errors import UsageError
from contextree.facade.export_values import ExportCheck, ExportResult


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)


def export_cmd(  # noqa: PLR0917  # typer maps each option to a parameter
    ctx: typer.Context,
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="[PATH]",
            help="File or directory to export (default: the whole workspace; for agents-md, "
            "the configured directories at or under it).",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", metavar="markdown|jsonl|agents-md", help="What to export as."),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="PATH",
            help="Write markdown or jsonl to this file (or into this directory) instead of stdout.",
        ),
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option(
            "--budget", metavar="TOKENS", help="Most tokens the markdown may cost (estimated)."
        ),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Agent whose frames to export (default: default_agent)."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Rescan (no store needed) and exit 1 if a marked block of AGENTS.md/CLAUDE.md "
            "is stale or missing; writes nothing.",
        ),
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON document describing the result.")
    ] = False,
) -> None:
    """Export frames: one markdown document, one JSON record per node, or each configured
    directory's frame in a marked block of its AGENTS.md / CLAUDE.md."""
    state: CliState = ctx.obj
    with user_errors(state):
        if check:
            _check_options(fmt, path, out, budget, agent)
            with open_cli_workspace(state) as ws:
                report = ws.export_check()
            ok = _print_check(state, report, json_out=json_out)
            if not ok:
                raise typer.Exit(1)
            return
        if fmt is None:
            raise UsageError(
                "export needs --format markdown, jsonl or agents-md (or --check)",
                hint="e.g. `contextree export --format markdown --out context.md`.",
            )
        with open_cli_workspace(state) as ws:
            print_trust_notice(state, ws)
            result = ws.export(fmt, path, out=out, budget=budget, agent=agent)
    if json_out:
        emit_json(result_json(result, with_text=result.out is None))
    elif result.format == "agents-md":
        _print_files(state, result)
    elif result.out is None:
        sys.stdout.write(result.text)
        sys.stdout.flush()
    if not json_out and result.format != "agents-md" and not state.quiet:
        where = f" to {term_name(str(result.out))}" if result.out is not None else ""
        left = f", {result.omitted} left out to fit the budget" if result.omitted else ""
        state.err.print(
            f"export: {plural(result.nodes, 'node')} as {result.format}{where}{left}",
            markup=False,
        )


def _check_options(
    fmt: str | None, path: str | None, out: str | None, budget: int | None, agent: str | None
) -> None:
    if fmt not in (None, "agents-md") or path is not None or out is not None or budget is not None:
        raise UsageError(
            "--check checks the agents-md blocks of the whole workspace; it takes no PATH, "
            "--out, --budget or other --format",
            hint="Run `contextree export --check` alone (optionally with --json).",
        )
    if agent is not None:
        raise UsageError(
            "--check compares node ids, which do not depend on the agent; drop --agent",
            hint="Run `contextree export --check`.",
        )


def result_json(result: ExportResult, *, with_text: bool) -> dict[str, Any]:
    """The ``--json`` document of an export."""
    doc: dict[str, Any] = {
        "format": result.format,
        "path": result.path,
        "node_id": result.node_id,
        "agent": result.agent_id,
        "frame_type": result.frame_type,
        "nodes": result.nodes,
        "without_frame": result.without_frame,
        "omitted": result.omitted,
        "budget": result.budget,
        "out": None if result.out is None else str(result.out),
    }
    if result.format == "agents-md":
        doc["files"] = [
            {
                "path": f.path,
                "directory": f.directory,
                "node_id": f.node_id,
                "frame_id": f.frame_id,
                "action": f.action,
                "tree_changed": f.tree_changed,
            }
            for f in result.files
        ]
    elif with_text:
        doc["text"] = result.text
    return doc


def _print_files(state: CliState, result: ExportResult) -> None:
    for item in result.files:
        if item.action != "unchanged" or state.verbose:
            state.out.print(f"{item.action}: {term_name(item.path)}", markup=False)
    written = len(result.written)
    if not state.quiet:
        state.err.print(
            f"export: {plural(written, 'file')} written, "
            f"{plural(len(result.files) - written, 'file')} already up to date",
            markup=False,
        )
    moved = [f.path for f in result.files if f.tree_changed]
    if moved:
        names = ", ".join(term_name(p) for p in moved)
        state.err.print(
            f"note: {names} changed outside the block (created, or a newline added), so "
            "the directories holding them have new node ids: run `contextree generate`, "
            "then `contextree export --format agents-md` again.",
            markup=False,
        )


def _print_check(state: CliState, report: ExportCheck, *, json_out: bool) -> bool:
    if json_out:
        emit_json(
            {
                "ok": report.ok,
                "root_id": report.root_id,
                "blocks": [
                    {
                        "path": b.path,
                        "directory": b.directory,
                        "status": b.status,
                        "block_node_id": b.block_node_id,
                        "current_node_id": b.current_node_id,
                        "block_frame_id": b.block_frame_id,
                        "reason": b.reason,
                    }
                    for b in report.blocks
                ],
            }
        )
        return report.ok
    for block in report.problems:
        state.out.print(
            f"{block.status}: {term_name(block.path)} ({term_name(block.reason)})", markup=False
        )
    current = len(report.blocks) - len(report.problems)
    if report.ok:
        if not state.quiet:
            state.err.print(f"export --check: {plural(current, 'block')} current", markup=False)
        return True
    state.err.print(
        f"export --check: {plural(len(report.problems), 'block')} out of date, "
        f"{current} current. Run `contextree generate` then "
        "`contextree export --format agents-md`, and commit the files.",
        markup=False,
    )
    return False
