"""What ``contextree generate`` shows: the live display, the final summary and the JSON document.

Owns presentation of a generation run only: counting events as they arrive, drawing a
one-line live status on a terminal (done, skipped, failed, blocked, in flight, retries,
tokens, ETA), and reporting every failed and blocked node with its error class and what to do.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from contextree.cli.output import plural, term_name
from contextree.core.tree import display_path
from contextree.facade.generating import (
    DISK_FULL_CLASS,
    Event,
    GenerateOutcome,
    GenerationPlan,
    GenerationResult,
    NodeResult,
    NodeStatus,
)

_LIST_CAP = 50

#: What to do after a node failed with this error class, when the error carries no hint of
#: its own. A node in the summary has failed for good: retryable classes were already asked
#: again up to ``[generation] max_attempts`` times, so no advice here promises a retry.
_ADVICE = {
    "rate_limited": "The provider kept rate-limiting; lower --concurrency or the profile's "
    "requests_per_minute, then rerun `contextree generate` (only unfinished nodes run).",
    "overloaded": "The provider stayed overloaded through every attempt; rerun "
    "`contextree generate` later (only unfinished nodes run).",
    "server_error": "The provider kept failing through every attempt; rerun "
    "`contextree generate` later (only unfinished nodes run).",
    "request_timeout": "The server kept timing out the request; rerun later or lower "
    "--concurrency.",
    "conflict": "The server kept answering 409 Conflict; rerun `contextree generate` later.",
    "client_timeout": "Calls timed out; raise the profile's [timeouts] or lower --concurrency.",
    "connection_error": "Check the provider's base_url and that it is reachable.",
    "auth_failed": "Check the API key variable named by the profile (`contextree provider "
    "show NAME`).",
    "quota_exhausted": "The account's quota or spend limit is used up; raise it, then rerun.",
    "bad_request": "The server refused the request: check model and [options] in the profile.",
    "model_not_found": "Set `model` in the profile to one the server offers (`contextree "
    "provider test NAME` lists them).",
    "context_length_exceeded": "Set context_window (the model's window in tokens) in the "
    "provider profile; contextree then fits every prompt to it.",
    "malformed_response": "Check that base_url points at the API itself and the profile's type "
    "matches the server.",
    "response_too_large": "Check that base_url points at the API itself; raise [generation] "
    "max_response_bytes if answers really are that long.",
    "empty_completion": "Every attempt came back empty; try another model or check the agent's "
    "prompt template.",
    "truncated": "Raise max_tokens under [options] in the provider profile, then rerun.",
    "content_filtered": "The provider will refuse this content again: leave the file out (an "
    "ignore pattern) or use another model.",
}
#: Advice for a class without an entry above.
_FALLBACK_ADVICE = "Fix the cause, then rerun `contextree generate` (only unfinished nodes run)."


class RunView:
    """Counts a run's events and draws them; also an observer (``emit``)."""

    def __init__(self, console: Console, *, live: bool) -> None:
        self.console = console
        self.total = 0
        self.counts = dict.fromkeys(NodeStatus, 0)
        self.in_flight = 0
        self.retries = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.started = time.monotonic()
        self._live = Live(console=console, transient=True, auto_refresh=True) if live else None

    def __enter__(self) -> RunView:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            with contextlib.suppress(OSError):  # a terminal gone away has nothing to clear
                self._live.stop()

    def on_plan(self, plan: GenerationPlan) -> None:
        self.total = len(plan.items)
        self.counts[NodeStatus.SKIPPED] += len(plan.skipped)
        self._draw()

    def on_result(self, node: NodeResult) -> None:
        self.counts[node.status] += 1
        self.tokens_in += node.tokens_in
        self.tokens_out += node.tokens_out
        self._draw()

    def emit(self, event: Event) -> None:
        if event.name == "request_processing":
            self.in_flight += 1
        elif event.name in (
            "request_completed",
            "request_failed",
            "request_skipped",
            "request_cancelled",
            "request_retry_scheduled",
        ):
            self.in_flight = max(0, self.in_flight - 1)
            if event.name == "request_retry_scheduled":
                self.retries += 1
        else:
            return
        self._draw()

    def _draw(self) -> None:
        if self._live is None:
            return
        c = self.counts
        finished = c[NodeStatus.DONE] + c[NodeStatus.FAILED] + c[NodeStatus.BLOCKED]
        planned_done = finished + c[NodeStatus.CANCELLED]
        eta = None
        if finished and self.total > planned_done:
            eta = (time.monotonic() - self.started) / finished * (self.total - planned_done)
        line = progress_line(
            ProgressState(
                planned_done=planned_done,
                total=self.total,
                done=c[NodeStatus.DONE],
                skipped=c[NodeStatus.SKIPPED],
                failed=c[NodeStatus.FAILED],
                blocked=c[NodeStatus.BLOCKED],
                in_flight=self.in_flight,
                retries=self.retries,
                tokens_in=self.tokens_in,
                tokens_out=self.tokens_out,
                eta_s=eta,
            ),
            width=max(20, self.console.width - 1),
        )
        try:
            self._live.update(Text(line))
        except OSError:  # the terminal went away (SIGHUP): stop drawing, let the run finish
            live, self._live = self._live, None
            with contextlib.suppress(OSError):
                live.stop()


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressState:
    """What the live line shows."""

    planned_done: int
    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    blocked: int = 0
    in_flight: int = 0
    retries: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    eta_s: float | None = None


def _compact(n: int) -> str:
    """``999``, ``12.3k``, ``4.56M``: a count in at most six characters."""
    for limit, unit in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= limit:
            value = n / limit
            return f"{value:.3g}{unit}" if value < 1000 else f"{value:.0f}{unit}"
    return str(n)


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02}s"
    return f"{s // 3600}h{s % 3600 // 60:02}m"


def progress_line(state: ProgressState, *, width: int = 80) -> str:
    """The live status line, at most ``width`` characters: progress, retries, tokens and ETA
    always; done, failed, in flight, blocked and skipped while there is room (the least
    important dropped first: skipped, blocked, done, in flight, failed)."""
    # (order shown, drop rank: higher is dropped first, None never, text)
    fields: list[tuple[int, int | None, str]] = [
        (0, None, f"generating {state.planned_done:,}/{state.total:,}"),
        (1, 3, f"done {_compact(state.done)}"),
        (2, 5, f"skipped {_compact(state.skipped)}"),
        (3, 1, f"failed {_compact(state.failed)}"),
        (4, 4, f"blocked {_compact(state.blocked)}"),
        (5, 2, f"in flight {state.in_flight:,}"),
        (6, None, f"retries {_compact(state.retries)}"),
        (7, None, f"tokens {_compact(state.tokens_in)}/{_compact(state.tokens_out)}"),
    ]
    if state.eta_s is not None:
        fields.append((8, None, f"ETA {_duration(state.eta_s)}"))
    kept = list(fields)
    while True:
        line = "  ".join(text for _, _, text in sorted(kept))
        droppable = [f for f in kept if f[1] is not None]
        if len(line) <= width or not droppable:
            return line[:width]
        kept.remove(max(droppable, key=lambda f: f[1] or 0))


def _advice(node: NodeResult) -> str | None:
    """What to do about a failed node: its error's own hint (it knows the key variable, the
    model list, the timeout that ran out), else the advice for its class."""
    if node.error_class is None:
        return None
    return node.hint or _ADVICE.get(node.error_class, _FALLBACK_ADVICE)


def print_summary(console: Console, err: Console, outcome: GenerateOutcome, seconds: float) -> None:
    result = outcome.result
    plan = outcome.plan
    resolved = outcome.resolved
    done = result.count(NodeStatus.DONE)
    skipped = result.count(NodeStatus.SKIPPED)
    tokens_in, tokens_out = result.tokens
    console.print(
        f"{resolved.agent.id} via {resolved.provider_name}: generated {plural(done, 'frame')}, "
        f"{skipped:,} already current, in {seconds:.1f} s (tokens in {tokens_in:,}, "
        f"out {tokens_out:,}).",
        markup=False,
    )
    if not plan.items:
        console.print("Everything is current; use --force to generate again.", markup=False)
    problems = [
        r
        for r in result.nodes.values()
        if r.status in (NodeStatus.FAILED, NodeStatus.BLOCKED, NodeStatus.CANCELLED)
    ]
    if not problems:
        return
    failed = [r for r in problems if r.status is NodeStatus.FAILED]
    blocked = [r for r in problems if r.status is NodeStatus.BLOCKED]
    cancelled = [r for r in problems if r.status is NodeStatus.CANCELLED]
    err.print(
        f"{len(failed):,} failed, {len(blocked):,} blocked (a descendant failed), "
        f"{len(cancelled):,} not run.",
        markup=False,
    )
    unwritten = [r for r in failed if r.error_class == DISK_FULL_CLASS]
    if unwritten:
        err.print(
            f"  {plural(len(unwritten), 'answer')} not written: the store's disk is full",
            markup=False,
        )
        failed = [r for r in failed if r.error_class != DISK_FULL_CLASS]
    for node in sorted(failed, key=lambda r: r.path)[:_LIST_CAP]:
        err.print(
            f"  failed  {term_name(display_path(node.path))}  [{node.error_class}] "
            f"{term_name(node.message or '')}",
            markup=False,
        )
        advice = _advice(node)
        if advice:
            err.print(f"          -> {advice}", markup=False)
    for node in sorted(blocked, key=lambda r: r.path)[:_LIST_CAP]:
        by = display_path(node.blocked_by) if node.blocked_by is not None else "?"
        err.print(
            f"  blocked {term_name(display_path(node.path))}  (by {term_name(by)})",
            markup=False,
        )
    hidden = max(0, len(failed) - _LIST_CAP) + max(0, len(blocked) - _LIST_CAP)
    if hidden:
        err.print(f"  ... and {hidden:,} more (see --json)", markup=False)
    err.print(
        "Fix the cause and run `contextree generate` again: only nodes without a current "
        "frame are generated.",
        markup=False,
    )


def _node_json(node: NodeResult) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "path": display_path(node.path),
        "node_id": node.node_id.hex(),
        "kind": node.kind,
        "status": node.status.value,
        "attempts": node.attempts,
    }
    if node.frame_id is not None:
        doc["frame_id"] = node.frame_id.hex()
    if node.error_class is not None:
        doc["error_class"] = node.error_class
        doc["message"] = node.message
        doc["advice"] = _advice(node)
    if node.blocked_by is not None:
        doc["blocked_by"] = display_path(node.blocked_by)
    if node.reason is not None:
        doc["reason"] = node.reason
    return doc


def outcome_json(outcome: GenerateOutcome, seconds: float) -> dict[str, Any]:
    result: GenerationResult = outcome.result
    tokens_in, tokens_out = result.tokens
    nodes = sorted(result.nodes.values(), key=lambda r: r.path)
    return {
        "status": "succeeded" if result.succeeded else "failed",
        "plan_id": outcome.plan.plan_id,
        "target": display_path(outcome.plan.spec.target.path),
        "agent": outcome.resolved.agent.id,
        "provider": outcome.resolved.provider_name,
        "frame_type": outcome.resolved.frame_type,
        "duration_s": round(seconds, 3),
        "scanned": outcome.scan is not None,
        "totals": {status.value: result.count(status) for status in NodeStatus}
        | {"planned": len(outcome.plan.items), "tokens_in": tokens_in, "tokens_out": tokens_out},
        "nodes": [_node_json(n) for n in nodes if n.status is not NodeStatus.SKIPPED],
    }
