"""``run_generate``: one generation run, from resolved inputs to a result.

Owns the order of a run: resolve the inputs (``inputs.resolve``: configuration problems fail
before any work), then, under the workspace writer lock, an incremental scan (unless
``scan=False``), the ledger's reconciliation of an earlier interrupted run, the plan (restricted
to what failed last time with ``retry_failed``), and the executor driving the queue and
orchestration, which ``env.parts`` (the composition root) builds. It stops the run at the
first frame the disk had no room for. It composes the units and owns no generation behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from contextree.context.generation.control import RunControl
from contextree.context.generation.inputs import (
    GenerateOptions,
    GenerationEnvironment,
    Resolved,
    choices,
    plan_for,
    resolve,
    target_node,
)
from contextree.context.generation.ledger import RunLedger
from contextree.context.generation.plan import GenerationPlan, restrict_plan
from contextree.context.generation.results import GenerationResult, NodeResult, ResultListener
from contextree.errors import DiskFullError, NothingToRetryError
from contextree.telemetry import Observer
from contextree.workspace.lock import writer_lock
from contextree.workspace.scan import ScanProgress, ScanReport

#: The error class of a node whose frame the store had no room for.
DISK_FULL_CLASS = DiskFullError.error_class


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateOutcome:
    resolved: Resolved
    scan: ScanReport | None
    plan: GenerationPlan
    result: GenerationResult
    #: Set when the run stopped because the store's disk was full (its frames are kept).
    disk_full: DiskFullError | None = None


async def run_generate(
    env: GenerationEnvironment,
    options: GenerateOptions,
    *,
    observer: Observer,
    on_result: ResultListener | None = None,
    on_plan: Callable[[GenerationPlan], None] | None = None,
    scan_progress: ScanProgress | None = None,
    control: RunControl | None = None,
) -> GenerateOutcome:
    """Resolve, lock, scan, plan and execute one generation run."""
    resolved = resolve(env, options)
    run = choices(env, resolved, options)
    parts = env.parts
    with writer_lock(env.lock_path, wait=options.wait_for_lock):
        report = parts.scanner(env, scan_progress).scan() if options.scan else None
        api, tree = parts.api(env, redact=run.redact), parts.tree(env)
        ledger = parts.ledger(env)
        ledger.reconcile(api)
        target = target_node(env, tree, options)
        plan = plan_for(env, run, options, api=api, tree=tree, target=target)
        if options.retry_failed:
            plan = restrict_plan(plan, _retry_paths(ledger))
        if on_plan is not None:
            on_plan(plan)
        ledger.begin(plan, schedule=run.schedule.value, failure_policy=run.failure_policy.value)
        control = control or RunControl()
        full = _DiskFullWatch(control)
        listeners: list[ResultListener] = [ledger.on_result, full.on_result]
        listeners += [on_result] if on_result is not None else []
        execution = parts.execution(
            env,
            run,
            api=api,
            tree=tree,
            observer=observer,
            on_result=_fan_out(listeners),
            control=control,
        )
        try:
            async with execution as executor:
                result = await executor.run(plan)
        except BaseException:
            ledger.finish(None, interrupted=True)
            raise
        ledger.finish(result, interrupted=control.interrupted and full.error is None)
    return GenerateOutcome(
        resolved=resolved, scan=report, plan=plan, result=result, disk_full=full.error
    )


class _DiskFullWatch:
    """Stops the run at the first frame the store had no room for: every later answer would
    be paid for and lost the same way. Frames written before stay, and stay current."""

    def __init__(self, control: RunControl) -> None:
        self._control = control
        self.error: DiskFullError | None = None

    def on_result(self, node: NodeResult) -> None:
        if self.error is None and node.error_class == DISK_FULL_CLASS:
            self.error = DiskFullError(node.message or "disk full writing the store")
            self._control.abandon()


def _fan_out(listeners: list[ResultListener]) -> ResultListener:
    def each(node: NodeResult) -> None:
        for listener in listeners:
            listener(node)

    return each


def _retry_paths(ledger: RunLedger) -> set[bytes]:
    paths = ledger.retry_paths()
    if paths is None:
        raise NothingToRetryError(
            "there is no earlier generate run to retry",
            hint="Run `contextree generate` first.",
        )
    return paths


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """How much of the tree has a current frame for one (agent, provider, frame type)."""

    resolved: Resolved
    nodes: int
    current: int

    @property
    def missing(self) -> int:
        return self.nodes - self.current


def frame_coverage(env: GenerationEnvironment, options: GenerateOptions) -> Coverage | None:
    """Nodes of the last scan with a current frame (no scan, no lock, no provider call);
    None when nothing was scanned yet."""
    tree = env.parts.tree(env)
    root = tree.entry(b"")
    if root is None:
        return None
    resolved = resolve(env, options, preflight=False)
    run = choices(env, resolved, options)
    api = env.parts.api(env, redact=run.redact)
    plan = plan_for(env, run, options, api=api, tree=tree, target=root)
    return Coverage(resolved=resolved, nodes=plan.total_in_scope, current=len(plan.skipped))
