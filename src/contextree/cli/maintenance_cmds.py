"""``contextree verify`` and ``contextree gc``: store upkeep, presentation only.

The work is ``Workspace.verify`` and ``Workspace.adopt`` (read-only: no writer lock, works
beside a running ``generate``) and ``Workspace.gc`` (under the workspace writer lock, except
for ``--dry-run``, which only reads). This module prints their reports as text or JSON.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from contextree.cli.errors import user_errors
from contextree.cli.output import CliState, emit_json, human_bytes, plural
from contextree.cli.workspace_open import open_cli_workspace
from contextree.errors import UsageError
from contextree.facade import (
    PROBLEM_DESCRIPTIONS,
    AdoptResult,
    GcReport,
    ProblemKind,
    VerifyReport,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print a JSON document instead of text.")]


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)
    app.command("gc")(gc_cmd)


def verify_cmd(
    ctx: typer.Context,
    json_out: JsonFlag = False,
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt",
            help="Also adopt a store that came with the workspace (a clone, another user, a "
            "moved directory) when it checks out: its frames count as current again.",
        ),
    ] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Rebuild the search index from the heads (under the writer lock), then check "
            "again; nothing else is changed.",
        ),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="With --repair: wait for another writer.")
    ] = False,
) -> None:
    """Check the store: frame ids, heads, history, artifacts, the search index and SQLite's
    integrity.

    Read-only and lock-free (--adopt records the store in your user state directory; --repair
    rebuilds the search index under the writer lock). Exits 1 when it finds a problem (with
    --repair: one that is left after the repair).
    """
    state: CliState = ctx.obj
    with user_errors(state):
        if adopt and repair:
            raise UsageError(
                "--adopt and --repair cannot be used together",
                hint="Run `contextree verify --repair` first, then `contextree verify --adopt`.",
            )
        ws = open_cli_workspace(state)
        fixed = ws.repair(wait=wait) if repair else None
        adoption = ws.adopt() if adopt else None
        if fixed is not None:
            report = fixed.after
        else:
            report = adoption.report if adoption is not None else ws.verify()
    if json_out:
        doc = {"workspace": str(ws.root)} | verify_json(report)
        if fixed is not None:
            doc["repair"] = {
                "problems_before": verify_json(fixed.before)["problems"],
                "indexed": fixed.indexed,
            }
        emit_json(doc | ({"adopted": adoption.adopted} if adoption is not None else {}))
    else:
        if fixed is not None and not state.quiet:
            state.out.print(
                f"Rebuilt the search index: {plural(fixed.indexed, 'head')} indexed "
                f"({plural(fixed.before.problem_count, 'problem')} found before).",
                markup=False,
            )
        _print_verify(state, report)
        if adoption is not None:
            _print_adopt(state, adoption)
    if not report.ok:
        raise typer.Exit(1)


def _print_adopt(state: CliState, result: AdoptResult) -> None:
    if result.adopted:
        state.out.print(
            f"Adopted {result.store_path}: its frames count as current again for you here.",
            markup=False,
        )
    elif not result.report.ok:
        state.err.print(
            "Not adopted: the store has problems (above). Move it aside and run "
            "`contextree generate` to make your own.",
            markup=False,
        )


def verify_json(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "checked": {
            "frames": report.frames,
            "heads": report.heads,
            "generations": report.generations,
            "artifacts": report.artifacts,
        },
        "problem_count": report.problem_count,
        "problems": [
            {
                "kind": group.kind.value,
                "count": group.count,
                "examples": [{"subject": p.subject, "detail": p.detail} for p in group.examples],
            }
            for group in report.problems
        ],
    }


def _print_verify(state: CliState, report: VerifyReport) -> None:
    checked = (
        f"Checked {plural(report.frames, 'frame')}, {plural(report.heads, 'head')}, "
        f"{plural(report.generations, 'history row')} and "
        f"{plural(report.artifacts, 'artifact')}"
    )
    if report.ok:
        if not state.quiet:
            state.out.print(f"{checked}: no problems found.", markup=False)
        return
    state.out.print(f"{checked}: {plural(report.problem_count, 'problem')} found.", markup=False)
    for group in report.problems:
        state.out.print(
            f"  {group.kind.value} ({group.count:,}): {PROBLEM_DESCRIPTIONS[group.kind]}",
            markup=False,
        )
        for problem in group.examples:
            state.out.print(f"    {problem.subject}: {problem.detail}", markup=False)
        if group.count > len(group.examples):
            state.out.print(f"    ... and {group.count - len(group.examples):,} more", markup=False)
    if report.damaged:
        state.err.print(
            "SQLite's own check found damage in .contextree/store.db: commands that write now "
            "refuse it (reading still works). Keep a copy of the file (`sqlite3 store.db "
            ".recover` can often rescue frames); to start over, move it aside and run "
            "`contextree scan` and `contextree generate`. `contextree verify` clears the refusal "
            "once the store checks out.",
            markup=False,
        )
        return
    if {group.kind for group in report.problems} == {ProblemKind.SEARCH_INDEX_OUT_OF_STEP}:
        state.err.print(
            "Only the search index is out of step: `contextree verify --repair` rebuilds it.",
            markup=False,
        )
        return
    state.err.print(
        "The store was changed outside contextree. Regenerate the affected paths "
        "(`contextree regenerate PATH`).",
        markup=False,
    )


def gc_cmd(  # noqa: PLR0917  # typer maps each option to a parameter
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be removed; change nothing.")
    ] = False,
    keep_history: Annotated[
        bool | None,
        typer.Option(
            "--keep-history/--drop-history",
            help="Keep earlier frames of paths that still exist (default: store.keep_history).",
        ),
    ] = None,
    no_vacuum: Annotated[
        bool, typer.Option("--no-vacuum", help="Do not compact the store file afterwards.")
    ] = False,
    json_out: JsonFlag = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for another writer instead of failing.")
    ] = False,
) -> None:
    """Remove frames, history and artifacts of nodes no longer in the tree, and say what it freed.

    Uses the last scan: run `contextree scan` first for the current state of the disk.
    """
    state: CliState = ctx.obj
    with user_errors(state):
        ws = open_cli_workspace(state)
        report = ws.gc(dry_run=dry_run, keep_history=keep_history, compact=not no_vacuum, wait=wait)
    if json_out:
        emit_json({"workspace": str(ws.root)} | gc_json(report))
    elif not state.quiet:
        _print_gc(state, report)


def gc_json(report: GcReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "keep_history": report.keep_history,
        "removed": {
            "nodes": report.nodes,
            "heads": report.heads,
            "generations": report.generations,
            "frames": report.frames,
            "artifacts": report.artifacts,
        },
        "content_bytes": report.content_bytes,
        "store_bytes_before": report.store_bytes_before,
        "store_bytes_after": report.store_bytes_after,
        "vacuumed": report.compacted,
    }


def _print_gc(state: CliState, report: GcReport) -> None:
    verb = "Would remove" if report.dry_run else "Removed"
    state.out.print(
        f"{verb} {plural(report.nodes, 'old node')}, {plural(report.heads, 'head')}, "
        f"{plural(report.generations, 'history row')}, {plural(report.frames, 'frame')} and "
        f"{plural(report.artifacts, 'artifact')} ({human_bytes(report.content_bytes)} of "
        "content).",
        markup=False,
    )
    history = "kept" if report.keep_history else "not kept"
    state.out.print(
        f"History of paths still in the tree: {history} (--keep-history/--drop-history, "
        "setting store.keep_history).",
        markup=False,
    )
    if report.dry_run:
        state.out.print("Dry run: nothing was changed. Run `contextree gc` to remove it.")
        return
    state.out.print(
        f"Store {human_bytes(report.store_bytes_before)} -> "
        f"{human_bytes(report.store_bytes_after)}",
        markup=False,
    )
    if report.compacted and report.store_bytes_after > report.store_bytes_before:
        state.out.print(
            "Another process was reading the store: the compacted copy waits in the "
            "write-ahead log and the space is given back once that process closes the store.",
            markup=False,
        )
