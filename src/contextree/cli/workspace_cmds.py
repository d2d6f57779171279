"""``contextree init``, ``scan`` and ``status``: presentation only, the work is
``Workspace.init``, ``scan``, ``status`` and ``frame_status``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from contextree.cli.errors import user_errors
from contextree.cli.output import (
    CliState,
    emit_json,
    human_bytes,
    plural,
    progress_display,
    term_name,
)
from contextree.cli.trust_cmds import print_trust_notice
from contextree.cli.workspace_open import open_cli_workspace
from contextree.core.tree import display_path
from contextree.facade import FrameReport, ScanReport, ScanRow, StatusReport

JsonFlag = Annotated[bool, typer.Option("--json", help="Print a JSON document instead of text.")]
_LIST_CAP = 20


def register(app: typer.Typer) -> None:
    app.command("init")(init_cmd)
    app.command("scan")(scan_cmd)
    app.command("status")(status_cmd)


def init_cmd(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Create .contextree/ (store and a commented config.toml) and a starter .contextreeignore.

    Optional: every other command creates what it needs on first use.
    """
    state: CliState = ctx.obj
    with user_errors(state):
        ws = open_cli_workspace(state)
        result = ws.init()
    if json_out:
        emit_json(
            {
                "workspace": str(ws.root),
                "created": [str(p) for p in result.created],
                "existing": [str(p) for p in result.existing],
            }
        )
        return
    if state.quiet:
        return
    for path in result.created:
        state.out.print(f"created  {path}")
    for path in result.existing:
        state.out.print(f"kept     {path} (already there)")
    state.out.print("Next: `contextree scan` to build the tree.")


def scan_cmd(
    ctx: typer.Context,
    json_out: JsonFlag = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for another writer instead of failing.")
    ] = False,
) -> None:
    """Scan the workspace into the Merkle tree (incremental: only changed files are read)."""
    state: CliState = ctx.obj
    with user_errors(state):
        ws = open_cli_workspace(state)
        print_trust_notice(state, ws)
        with progress_display(state, enabled=not json_out) as progress:
            report = ws.scan(progress=progress, wait=wait)
    if json_out:
        emit_json(scan_json(report, str(ws.root)))
        return
    if not state.quiet:
        _print_scan(state, report)


def scan_json(report: ScanReport, root: str) -> dict[str, Any]:
    return {
        "workspace": root,
        "scan_id": report.scan_id,
        "root_id": report.root_id.hex(),
        "files": report.files,
        "directories": report.dirs,
        "total_bytes": report.total_bytes,
        "hashed_files": report.hashed,
        "rows_written": report.rows_written,
        "duration_s": round(report.duration_s, 4),
        "changes": _changes_json(report),
        "issues": report.issues(),
    }


def _changes_json(report: ScanReport) -> dict[str, list[str]]:
    return {
        "added": [display_path(p) for p in report.added],
        "modified": [display_path(p) for p in report.modified],
        "removed": [display_path(p) for p in report.removed],
    }


def _print_scan(state: CliState, report: ScanReport) -> None:
    out = state.out
    out.print(
        f"Scanned {plural(report.files, 'file')} and "
        f"{plural(report.dirs, 'directory', 'directories')} "
        f"({human_bytes(report.total_bytes)}) in {report.duration_s:.2f} s; "
        f"read {plural(report.hashed, 'file')}."
    )
    out.print(
        f"Root {report.root_id.hex()[:16]}  ·  {len(report.added):,} added, "
        f"{len(report.modified):,} modified, {len(report.removed):,} removed"
    )
    _print_changes(state, report)
    _print_issues(state, report.issues())


def _print_changes(state: CliState, report: ScanReport) -> None:
    if not state.verbose:
        return
    for mark, paths in (("+", report.added), ("~", report.modified), ("-", report.removed)):
        for path in paths[:_LIST_CAP]:
            state.out.print(f"  {mark} {term_name(display_path(path))}", markup=False)
        if len(paths) > _LIST_CAP:
            state.out.print(f"  {mark} ... and {len(paths) - _LIST_CAP:,} more")


_ISSUE_NOTES = (
    ("symlink_count", "symlinks not followed"),
    ("special_file_count", "special files skipped"),
    ("unreadable_count", "unreadable"),
    ("unstable", "changed while read (will be re-read)"),
    ("nfc_twins", "NFC/NFD name twins (both kept)"),
    ("virtualenvs", "virtual environments skipped"),
)


def _issue_lines(issues: dict[str, Any]) -> list[str]:
    lines = [f"  unreadable: {i['path']} ({i['error']})" for i in issues["unreadable"]]
    lines += [f"  symlink: {i['path']} -> {i['target']}" for i in issues["symlinks"]]
    lines += [f"  {i['kind']}: {i['path']}" for i in issues["special_files"]]
    lines += [f"  changed while read: {p}" for p in issues["unstable"]]
    lines += [f"  NFC/NFD twins: {' | '.join(t)}" for t in issues["nfc_twins"]]
    lines += [f"  virtual environment: {p}" for p in issues["virtualenvs"]]
    return lines


def _print_issues(state: CliState, issues: dict[str, Any]) -> None:
    notes = []
    for key, text in _ISSUE_NOTES:
        value = issues[key]
        count = value if isinstance(value, int) else len(value)
        if count:
            notes.append(f"{count:,} {text}")
    if not notes:
        return
    state.err.print("Note: " + "; ".join(notes) + ".", markup=False)
    if not state.verbose:
        state.err.print("Run with --verbose or --json to list them.", markup=False)
        return
    for line in _issue_lines(issues):
        state.err.print(term_name(line), markup=False)


def status_cmd(  # noqa: PLR0917  # typer maps each option to a parameter
    ctx: typer.Context,
    json_out: JsonFlag = False,
    no_changes: Annotated[
        bool, typer.Option("--no-changes", help="Skip comparing the disk with the last scan.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 1 if files changed since the last scan or any node lacks a current "
            "frame (for CI gates).",
        ),
    ] = False,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Agent to check (default: default_agent).")
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Provider to check (default: as generate).")
    ] = None,
) -> None:
    """Show the last scan, frames, and what changed on disk since (read-only, never waits)."""
    state: CliState = ctx.obj
    with user_errors(state):
        ws = open_cli_workspace(state)
        print_trust_notice(state, ws)
        report = ws.status(check_changes=not no_changes)
        frames = ws.frame_status(agent=agent, provider=provider)
    if not report.adopted:
        state.err.print(
            "note: .contextree/store.db came with the workspace (contextree did not create it "
            "for you here): none of its frames counts as current or is reused until you run "
            "`contextree verify --adopt`",
            markup=False,
        )
    if json_out:
        emit_json(status_json(report) | {"frames": frames_json(frames)})
    else:
        _print_status(state, report)
        _print_frames(state, frames)
    if check:
        _check_gate(state, report, frames)


def _check_gate(state: CliState, report: StatusReport, frames: FrameReport) -> None:
    """``status --check``: exit 1 when the tree on disk moved on since the last scan (compared
    by stat signatures, nothing written) or a node lacks a current frame."""
    pending = report.pending
    changed = [*pending.added, *pending.modified, *pending.removed] if pending else []
    if changed:
        names = ", ".join(term_name(display_path(p)) for p in changed[:5])
        more = f" and {len(changed) - 5:,} more" if len(changed) > 5 else ""
        state.err.print(
            f"check failed: {plural(len(changed), 'path')} changed on disk since the last scan "
            f"({names}{more}); run `contextree generate` (or `contextree scan`) to bring the "
            "tree and its frames up to date.",
            markup=False,
        )
        raise typer.Exit(1)
    if frames.coverage is None or frames.coverage.missing:
        raise typer.Exit(1)


def _run_json(frames: FrameReport) -> dict[str, Any] | None:
    summary = frames.last_run
    if summary is None:
        return None
    run = summary.run
    return {
        "run_id": run.run_id,
        "status": run.status,
        "started_at": _time(run.started_at_ns),
        "finished_at": _time(run.finished_at_ns) if run.finished_at_ns else None,
        "agent": run.agent_id,
        "provider": run.provider,
        "planned": run.planned,
        "generated": run.done,
        "skipped": run.skipped,
        "failed": run.failed,
        "failed_by_class": summary.failures_by_class,
        "blocked": run.blocked,
        "cancelled": run.cancelled,
        "interrupted": run.interrupted,
        "tokens_in": run.tokens_in,
        "tokens_out": run.tokens_out,
    }


def frames_json(frames: FrameReport) -> dict[str, Any]:
    coverage = frames.coverage
    problem = frames.coverage_error
    return {
        "last_run": _run_json(frames),
        "coverage_error": None if problem is None else problem.message,
        "heads": [
            {"agent": agent, "frame_type": frame_type, "nodes": count}
            for agent, frame_type, count in frames.heads
        ],
        "coverage": None
        if coverage is None
        else {
            "agent": coverage.resolved.agent.id,
            "provider": coverage.resolved.provider_name,
            "frame_type": coverage.resolved.frame_type,
            "nodes": coverage.nodes,
            "current": coverage.current,
            "missing": coverage.missing,
        },
    }


def _print_last_run(state: CliState, frames: FrameReport) -> None:
    summary = frames.last_run
    if summary is None:
        return
    run = summary.run
    failed = ", ".join(f"{k} {v}" for k, v in summary.failures_by_class.items())
    state.out.print(
        f"Last run    #{run.run_id} {run.status} at {_time(run.started_at_ns)}: "
        f"{run.done:,} generated, {run.skipped:,} current, {run.failed:,} failed"
        + (f" ({failed})" if failed else "")
        + f", {run.blocked:,} blocked, {run.interrupted:,} interrupted; "
        f"tokens {run.tokens_in:,} in / {run.tokens_out:,} out",
        markup=False,
    )
    if run.failed or run.blocked or run.interrupted or run.cancelled:
        state.out.print(
            "            `contextree generate --retry-failed` re-attempts only those nodes",
            markup=False,
        )


def _print_frames(state: CliState, frames: FrameReport) -> None:
    _print_last_run(state, frames)
    coverage = frames.coverage
    if coverage is None:
        if frames.coverage_error is not None:
            first = frames.coverage_error.message.splitlines()[0]
            state.out.print(f"Frames      not counted: {first}", markup=False)
        return
    r = coverage.resolved
    line = (
        f"Frames      {coverage.current:,}/{plural(coverage.nodes, 'node')} current for "
        f"{r.agent.id} via {r.provider_name}"
    )
    if coverage.missing:
        line += f"; run `contextree generate` for the other {coverage.missing:,}"
    state.out.print(line, markup=False)
    for agent, frame_type, count in frames.heads:
        state.out.print(
            f"  {agent} ({frame_type}): {plural(count, 'node')} with a frame", markup=False
        )


def _time(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).isoformat(timespec="seconds")


def _scan_json(row: ScanRow) -> dict[str, Any]:
    return {
        "scan_id": row.scan_id,
        "finished_at": _time(row.finished_at_ns),
        "root_id": row.root_id.hex(),
        "files": row.files,
        "directories": row.dirs,
        "total_bytes": row.total_bytes,
        "added": row.added,
        "modified": row.modified,
        "removed": row.removed,
        "issues": row.report,
    }


def status_json(report: StatusReport) -> dict[str, Any]:
    return {
        "workspace": str(report.root),
        "scanned": report.last_scan is not None,
        "root_id": report.last_scan.root_id.hex() if report.last_scan else None,
        "files": report.files,
        "directories": report.dirs,
        "store_bytes": report.store_bytes,
        "store_adopted": report.adopted,
        "last_scan": _scan_json(report.last_scan) if report.last_scan else None,
        "changes_since_scan": _changes_json(report.pending) if report.pending else None,
    }


def _print_status(state: CliState, report: StatusReport) -> None:
    out = state.out
    out.print(f"Workspace   {term_name(str(report.root))}", markup=False)
    last = report.last_scan
    if last is None:
        out.print("Not scanned yet. Run `contextree scan`.")
        return
    out.print(f"Root id     {last.root_id.hex()}")
    out.print(
        f"Tree        {plural(report.files, 'file')}, "
        f"{plural(report.dirs, 'directory', 'directories')} "
        f"({human_bytes(last.total_bytes)})"
    )
    out.print(f"Last scan   {_time(last.finished_at_ns)} (scan #{last.scan_id})")
    out.print(f"Store       {human_bytes(report.store_bytes)}")
    pending = report.pending
    if pending is None:
        return
    changes = len(pending.added) + len(pending.modified) + len(pending.removed)
    if not changes:
        out.print("Changes     none since the last scan")
        return
    out.print(
        f"Changes     {len(pending.added):,} added, {len(pending.modified):,} modified, "
        f"{len(pending.removed):,} removed since the last scan; run `contextree scan`"
    )
    for mark, paths in (("+", pending.added), ("~", pending.modified), ("-", pending.removed)):
        for path in paths[:_LIST_CAP]:
            out.print(f"  {mark} {term_name(display_path(path))}", markup=False)
        if len(paths) > _LIST_CAP:
            out.print(f"  {mark} ... and {len(paths) - _LIST_CAP:,} more")
