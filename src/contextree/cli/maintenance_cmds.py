"""``contextree verify`` and ``contextree gc``: store upkeep, presentation only.

The checks are ``ContextApi.verify`` (read-only: no writer lock, works beside a running
``generate``) and the sweep is ``ContextApi.gc`` (under the workspace writer lock, except for
``--dry-run``, which only reads). This module wires the store and the lock around them and
prints the reports as text or JSON.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import typer

from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi, GcReport
from contextree.bootstrap import (
    WorkspaceSetup,
    context_api,
    load_workspace,
    open_store,
    open_store_for_reading,
    store_records,
)
from contextree.cli.errors import user_errors
from contextree.cli.output import CliState, emit_json, human_bytes, plural
from contextree.store.db import Store, record_verify_result
from contextree.store.provenance import new_store_id, write_store_id
from contextree.store.upkeep import DESCRIPTIONS, ProblemKind, VerifyReport
from contextree.workspace.lock import writer_lock

JsonFlag = Annotated[bool, typer.Option("--json", help="Print a JSON document instead of text.")]


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)
    app.command("gc")(gc_cmd)


def _api(store: Store) -> ContextApi:
    # Neither command consults agent profiles, so a broken profile file must not stop them.
    return context_api(store, AgentRegistry.builtin())


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
) -> None:
    """Check the store: frame ids, heads, history, artifacts and SQLite's integrity.

    Read-only and lock-free (--adopt records the store in your user state directory). Exits 1
    when it finds a problem.
    """
    state: CliState = ctx.obj
    adopted: bool | None = None
    with user_errors(state):
        ws = load_workspace(state.workspace)
        with open_store_for_reading(ws) as store:
            report = _api(store).verify()
            if adopt and report.ok:
                adopted = adopt_store(ws, store)
        record_verify_result(
            ws.layout.store_path, damaged=_sqlite_damage(report), detail=_damage_detail(report)
        )
    if json_out:
        doc = {"workspace": str(ws.layout.root)} | verify_json(report)
        emit_json(doc | ({"adopted": bool(adopted)} if adopt else {}))
    else:
        _print_verify(state, report)
        if adopt:
            _print_adopt(state, ws, report, adopted=bool(adopted))
    if not report.ok:
        raise typer.Exit(1)


def adopt_store(ws: WorkspaceSetup, store: Store) -> bool:
    """Record the store as this user's (writing a store id first if it has none, under the
    writer lock). Adopting is the user's word that the store's frames may be trusted."""
    store_id = store.store_id
    if store_id is None:
        with writer_lock(ws.layout.lock_path), open_store(ws.layout, ws.settings) as writable:
            write_store_id(writable.conn, new_store_id(), replace=False)
            store_id = writable.store_id
    if store_id is None:  # pragma: no cover - the write above either sets it or raises
        return False
    store_records().record(store.path, store_id)
    return True


def _print_adopt(
    state: CliState, ws: WorkspaceSetup, report: VerifyReport, *, adopted: bool
) -> None:
    if adopted:
        state.out.print(
            f"Adopted {ws.layout.store_path}: its frames count as current again for you here.",
            markup=False,
        )
    elif not report.ok:
        state.err.print(
            "Not adopted: the store has problems (above). Move it aside and run "
            "`contextree generate` to make your own.",
            markup=False,
        )


_DAMAGE_KINDS = frozenset({ProblemKind.SQLITE_INTEGRITY, ProblemKind.UNREADABLE})


def _sqlite_damage(report: VerifyReport) -> bool:
    """SQLite itself found the file damaged (then writers refuse it until verify passes)."""
    return any(group.kind in _DAMAGE_KINDS for group in report.problems)


def _damage_detail(report: VerifyReport) -> str:
    lines = [
        f"{group.kind.value}: {problem.subject}: {problem.detail}"
        for group in report.problems
        if group.kind in _DAMAGE_KINDS
        for problem in group.examples
    ]
    return "\n".join(lines) + "\n"


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
            f"  {group.kind.value} ({group.count:,}): {DESCRIPTIONS[group.kind]}", markup=False
        )
        for problem in group.examples:
            state.out.print(f"    {problem.subject}: {problem.detail}", markup=False)
        if group.count > len(group.examples):
            state.out.print(f"    ... and {group.count - len(group.examples):,} more", markup=False)
    if _sqlite_damage(report):
        state.err.print(
            "SQLite's own check found damage in .contextree/store.db: commands that write now "
            "refuse it (reading still works). Keep a copy of the file (`sqlite3 store.db "
            ".recover` can often rescue frames); to start over, move it aside and run "
            "`contextree scan` and `contextree generate`. `contextree verify` clears the refusal "
            "once the store checks out.",
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
        ws = load_workspace(state.workspace)
        keep = ws.settings.store.keep_history if keep_history is None else keep_history
        lock = contextlib.nullcontext() if dry_run else writer_lock(ws.layout.lock_path, wait=wait)
        with lock, open_store_for_reading(ws, writable=not dry_run) as store:
            report = _api(store).gc(dry_run=dry_run, keep_history=keep, compact_store=not no_vacuum)
    if json_out:
        emit_json({"workspace": str(ws.layout.root)} | gc_json(report))
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
