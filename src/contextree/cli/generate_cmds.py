"""``contextree generate`` and ``regenerate``: options in, ``run_generate`` out, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from contextree.cli.errors import user_errors
from contextree.cli.generate_view import RunView, outcome_json, print_summary
from contextree.cli.output import (
    CliState,
    emit_json,
    plural,
    quiet_if_terminal_closed,
    report_error,
)
from contextree.cli.workspace_open import open_cli_workspace
from contextree.errors import ContextreeError
from contextree.facade import Workspace
from contextree.facade.generating import (
    FailurePolicy,
    GenerateOutcome,
    JsonLinesObserver,
    MultiObserver,
    NodeStatus,
    Observer,
    RunControl,
    Schedule,
)

PathArg = Annotated[
    str | None,
    typer.Argument(metavar="[PATH]", help="File or directory to generate (default: everything)."),
]
NodeOpt = Annotated[str | None, typer.Option("--node", help="Target a node id instead of a path.")]
AgentOpt = Annotated[
    str | None, typer.Option("--agent", help="Agent to write frames (default: default_agent).")
]
ProviderOpt = Annotated[
    str | None,
    typer.Option("--provider", help="Provider profile (default: the agent's, else the config's)."),
]
FrameTypeOpt = Annotated[
    str | None, typer.Option("--frame-type", help="Frame type (default: context-<agent>).")
]
ScheduleOpt = Annotated[
    Schedule | None,
    typer.Option("--schedule", help="dag (default): as soon as children finish; levels."),
]
PolicyOpt = Annotated[
    FailurePolicy | None,
    typer.Option("--failure-policy", help="continue (default), stop, or fail-fast."),
]
ConcurrencyOpt = Annotated[
    int | None, typer.Option("--concurrency", min=1, help="Provider calls in flight at once.")
]
NoScanOpt = Annotated[
    bool, typer.Option("--no-scan", help="Use the last scan instead of rescanning first.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document at the end.")]
EventsOpt = Annotated[
    Path | None,
    typer.Option("--events", metavar="FILE", help="Write every event as JSON lines to FILE."),
]
GraceOpt = Annotated[
    float,
    typer.Option(
        "--grace",
        min=0,
        metavar="SECONDS",
        help="After Ctrl-C (or SIGTERM, SIGHUP), how long calls in flight may finish before "
        "they are cancelled.",
    ),
]
DEFAULT_GRACE_S = 10.0
EXIT_INTERRUPTED = 130
WaitOpt = Annotated[
    bool, typer.Option("--wait", help="Wait for another writer instead of failing.")
]
NoRedactOpt = Annotated[
    bool,
    typer.Option(
        "--no-redact",
        help="Send and store key-shaped strings (API keys, tokens, private keys) as they are, "
        "instead of [redacted:KIND].",
    ),
]


def register(app: typer.Typer, context_app: typer.Typer) -> None:
    app.command("generate")(generate_cmd)
    context_app.command("generate")(generate_cmd)
    app.command("regenerate")(regenerate_cmd)


def generate_cmd(  # noqa: PLR0917  # typer maps each option to a parameter
    ctx: typer.Context,
    path: PathArg = None,
    node: NodeOpt = None,
    agent: AgentOpt = None,
    provider: ProviderOpt = None,
    frame_type: FrameTypeOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Generate even nodes that are current.")
    ] = False,
    no_recursive: Annotated[
        bool, typer.Option("--no-recursive", help="A directory alone, not what is below it.")
    ] = False,
    schedule: ScheduleOpt = None,
    failure_policy: PolicyOpt = None,
    concurrency: ConcurrencyOpt = None,
    no_scan: NoScanOpt = False,
    json_out: JsonOpt = False,
    events: EventsOpt = None,
    wait: WaitOpt = False,
    grace: GraceOpt = DEFAULT_GRACE_S,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Only the nodes that failed, were blocked or did not finish in the last run.",
        ),
    ] = False,
    no_redact: NoRedactOpt = False,
) -> None:
    """Generate a context frame for every file and directory that lacks a current one."""
    options = _Asked(
        target=path,
        node=node,
        agent=agent,
        provider=provider,
        frame_type=frame_type,
        force=force,
        recursive=not no_recursive,
        schedule=schedule,
        failure_policy=failure_policy,
        concurrency=concurrency,
        scan=not no_scan,
        wait=wait,
        retry_failed=retry_failed,
        redact=False if no_redact else None,
    )
    command = ctx.info_name or "generate"
    _run(ctx.obj, options, json_out=json_out, events=events, grace=grace, command=command)


def regenerate_cmd(  # noqa: PLR0917  # typer maps each option to a parameter
    ctx: typer.Context,
    path: PathArg = None,
    node: NodeOpt = None,
    agent: AgentOpt = None,
    provider: ProviderOpt = None,
    frame_type: FrameTypeOpt = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", help="Also everything below a directory.")
    ] = False,
    schedule: ScheduleOpt = None,
    failure_policy: PolicyOpt = None,
    concurrency: ConcurrencyOpt = None,
    no_scan: NoScanOpt = False,
    json_out: JsonOpt = False,
    events: EventsOpt = None,
    wait: WaitOpt = False,
    grace: GraceOpt = DEFAULT_GRACE_S,
    no_redact: NoRedactOpt = False,
) -> None:
    """Generate again even if current (a directory alone unless --recursive)."""
    generate_cmd(
        ctx,
        path,
        node,
        agent,
        provider,
        frame_type,
        force=True,
        no_recursive=not recursive,
        schedule=schedule,
        failure_policy=failure_policy,
        concurrency=concurrency,
        no_scan=no_scan,
        json_out=json_out,
        events=events,
        wait=wait,
        grace=grace,
        no_redact=no_redact,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Asked:
    """The options of one ``generate``, as ``Workspace.generate`` takes them."""

    target: str | None
    node: str | None
    agent: str | None
    provider: str | None
    frame_type: str | None
    force: bool
    recursive: bool
    schedule: Schedule | None
    failure_policy: FailurePolicy | None
    concurrency: int | None
    scan: bool
    wait: bool
    retry_failed: bool
    redact: bool | None


def _run(
    state: CliState,
    options: _Asked,
    *,
    json_out: bool,
    events: Path | None,
    grace: float = DEFAULT_GRACE_S,
    command: str = "generate",
) -> None:
    started = time.monotonic()
    live = not json_out and not state.quiet and state.err.is_terminal
    control = RunControl(grace_s=grace)
    with user_errors(state), open_cli_workspace(state) as ws, _stopped_before_any_request(state):
        outcome = _generate(state, ws, options, control, live=live, events=events, command=command)
    seconds = time.monotonic() - started
    code = _exit_code(outcome, control)
    with quiet_if_terminal_closed(code):
        _report(state, ws, outcome, control, seconds, json_out=json_out)
    raise typer.Exit(code)


@contextlib.contextmanager
def _stopped_before_any_request(state: CliState) -> Iterator[None]:
    """A second Ctrl-C before anything was submitted (e.g. during a long scan) ends the
    command there: one line, exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            state.err.print(
                "Interrupted before any provider request was sent; run `contextree generate` "
                "again.",
                markup=False,
            )
        raise typer.Exit(128 + int(signal.SIGINT)) from None


def _exit_code(outcome: GenerateOutcome, control: RunControl) -> int:
    """128 + the signal for a run a signal stopped, 1 when a node failed or the disk filled."""
    if control.interrupted:
        return control.exit_code
    return 0 if outcome.result.succeeded and outcome.disk_full is None else 1


def _disk_full_error(ws: Workspace, outcome: GenerateOutcome) -> ContextreeError | None:
    if outcome.disk_full is None:
        return None
    kept = outcome.result.count(NodeStatus.DONE)
    where = os.path.relpath(ws.store_path, ws.root)
    return ContextreeError(
        f"disk full writing {where}: {plural(kept, 'frame')} kept; free space and rerun "
        "`contextree generate` (only what is missing is generated)"
    )


def _report(
    state: CliState,
    ws: Workspace,
    outcome: GenerateOutcome,
    control: RunControl,
    seconds: float,
    *,
    json_out: bool,
) -> None:
    full = _disk_full_error(ws, outcome)
    if json_out:
        doc = outcome_json(outcome, seconds) | {"interrupted": control.interrupted}
        if control.interrupted:
            doc["status"] = "interrupted"
            doc["signal"] = control.signal.name if control.signal is not None else None
        if full is not None:
            doc["status"] = "failed"
            doc["error"] = {
                "kind": "disk_full",
                "message": full.message,
                "frames_kept": outcome.result.count(NodeStatus.DONE),
            }
        emit_json(doc)
    elif not state.quiet or not outcome.result.succeeded or control.interrupted:
        print_summary(state.out, state.err, outcome, seconds)
    if full is not None:
        report_error(state, full)
    if control.interrupted:
        sig = control.signal
        what = "Interrupted" if sig in (None, signal.SIGINT) else f"Interrupted by {sig.name}"
        state.err.print(
            f"{what}. Frames already written are kept; run `contextree generate` again to "
            "finish the rest.",
            markup=False,
        )


def _generate(
    state: CliState,
    ws: Workspace,
    options: _Asked,
    control: RunControl,
    *,
    live: bool,
    events: Path | None,
    command: str = "generate",
) -> GenerateOutcome:
    view = RunView(state.err, live=live)
    observers: list[Observer] = [view]
    sink = JsonLinesObserver(events) if events is not None else None
    if sink is not None:
        observers.append(sink)

    def notice(text: str) -> None:
        # A workspace config that tried to loosen a security setting is always said; the
        # trust notice is quiet with --quiet.
        if text in ws.notices or not state.quiet:
            state.err.print(text, markup=False)

    async def main() -> GenerateOutcome:
        # Ctrl-C, SIGTERM and SIGHUP stop intake, then cancel what is in flight after the
        # grace period; the flag is set at once, so a signal during the scan sends nothing.
        with control.signals(asyncio.get_running_loop()):
            return await ws.generate(
                options.target,
                node=options.node,
                agent=options.agent,
                provider=options.provider,
                frame_type=options.frame_type,
                force=options.force,
                recursive=options.recursive,
                schedule=options.schedule,
                failure_policy=options.failure_policy,
                concurrency=options.concurrency,
                scan=options.scan,
                wait=options.wait,
                retry_failed=options.retry_failed,
                redact=options.redact,
                observer=MultiObserver(observers),
                on_result=view.on_result,
                on_plan=view.on_plan,
                on_notice=notice,
                control=control,
                command=command,
            )

    try:
        with view:
            return asyncio.run(main())
    finally:
        if sink is not None:
            sink.close()
