"""The run ledger: what each ``generate`` run planned, and how every planned node ended.

Owns recording a run as it progresses: a run row and one ``pending`` row per planned node when
it starts, node results in small batched transactions while it runs (so a killed run loses at
most the last batch of *ledger* rows; its frames are already committed by ``put_frame``), and
the totals at the end. At the next start, runs a killed process left ``running`` are
reconciled against the heads: a pending node whose head was written during that run is
``done``, the rest ``interrupted``. It also answers ``--retry-failed``: which nodes failed,
were blocked or did not finish in the last run. It writes no frames.

Run statuses: ``running``, ``succeeded``, ``failed`` (some node failed, including a run stopped
because the store's disk was full: its nodes that could not be written fail with
``disk_full_error``), and ``interrupted``: stopped by a signal (Ctrl-C, SIGTERM, SIGHUP) or
killed. Stores written before one label was used say ``cancelled`` for a signal; it is read as
``interrupted``. A ``running`` run whose process is gone is reported ``interrupted`` before the
next writer reconciles it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from contextree.api import ContextApi
from contextree.context.generation.plan import GenerationPlan
from contextree.context.generation.results import GenerationResult, NodeResult, NodeStatus
from contextree.core.ids import NodeId
from contextree.errors import DiskFullError
from contextree.store.db import Store
from contextree.store.ledger import LedgerRows, RunNodeRow, RunRow

#: Node results buffered before a ledger write (or sooner, after ``FLUSH_SECONDS``).
BATCH = 64
FLUSH_SECONDS = 0.5
#: Statuses ``--retry-failed`` re-attempts.
RETRY_STATUSES = ("failed", "blocked", "cancelled", "interrupted")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    run: RunRow
    failures_by_class: dict[str, int]


class RunLedger:
    """Records runs of one store. Not thread-safe; used from the event loop's thread."""

    def __init__(
        self,
        store: Store,
        *,
        now_ns: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._rows = LedgerRows(store.conn)
        self._now_ns = now_ns
        self._monotonic = monotonic
        self._run_id: int | None = None
        self._buffer: list[RunNodeRow] = []
        self._last_flush = 0.0

    @property
    def run_id(self) -> int | None:
        return self._run_id

    # -- before a run ---------------------------------------------------------------------

    def reconcile(self, api: ContextApi) -> int:
        """Close runs a killed process left open; returns how many nodes were interrupted."""
        interrupted = 0
        for run in self._rows.runs_with_status("running"):
            updates = []
            for node in self._rows.nodes(run.run_id, ["pending"]):
                head = api.head(NodeId(node.node_id), run.agent_id, run.frame_type)
                finished = head is not None and head.updated_at_ns >= run.started_at_ns
                status = "done" if finished else "interrupted"
                interrupted += status == "interrupted"
                updates.append(
                    RunNodeRow(
                        path=node.path,
                        node_id=node.node_id,
                        status=status,
                        frame_id=head.frame_id if finished and head else None,
                        message=None if finished else "the run stopped before this node ended",
                    )
                )
            with self._store.transaction():
                now = self._now_ns()
                self._rows.update_nodes(run.run_id, updates, now)
                self._rows.finish_run(run.run_id, "interrupted", now)
        return interrupted

    def retry_paths(self) -> set[bytes] | None:
        """Paths that failed, were blocked or did not finish in the last run (None: no run)."""
        last = self._rows.last_run()
        if last is None:
            return None
        return {n.path for n in self._rows.nodes(last.run_id, RETRY_STATUSES)}

    def last_summary(self) -> RunSummary | None:
        """The last run; one whose process is gone reads ``interrupted``, never ``running``."""
        last = self._rows.last_run()
        if last is None:
            return None
        if last.status == LEGACY_SIGNAL_STATUS or (
            last.status == "running" and not process_alive(last.pid, last.started_at_ns)
        ):
            last = dataclasses.replace(last, status="interrupted")
        return RunSummary(run=last, failures_by_class=self._rows.failures_by_class(last.run_id))

    # -- during a run ---------------------------------------------------------------------

    def begin(self, plan: GenerationPlan, *, schedule: str, failure_policy: str) -> int:
        spec = plan.spec
        now = self._now_ns()
        with self._store.transaction():
            self._run_id = self._rows.insert_run(
                RunRow(
                    run_id=0,
                    plan_id=plan.plan_id,
                    target=spec.target.path,
                    agent_id=spec.agent_id,
                    provider=spec.provider_name,
                    frame_type=spec.frame_type,
                    schedule=schedule,
                    failure_policy=failure_policy,
                    forced=spec.force,
                    pid=os.getpid(),
                    started_at_ns=now,
                    finished_at_ns=None,
                    status="running",
                    planned=len(plan.items),
                    skipped=len(plan.skipped),
                ),
                ((path, item.request.node_id) for path, item in plan.items.items()),
                now,
            )
        self._last_flush = self._monotonic()
        return self._run_id

    def on_result(self, node: NodeResult) -> None:
        """Buffer a planned node's end (nodes current at plan time are counted on the run)."""
        if self._run_id is None:
            return
        self._buffer.append(
            RunNodeRow(
                path=node.path,
                node_id=node.node_id,
                status=node.status.value,
                error_class=node.error_class,
                message=node.message,
                attempts=node.attempts,
                tokens_in=node.tokens_in,
                tokens_out=node.tokens_out,
                frame_id=node.frame_id,
            )
        )
        due = self._monotonic() - self._last_flush >= FLUSH_SECONDS
        if len(self._buffer) >= BATCH or due:
            self.flush()

    def flush(self) -> None:
        """Write the buffered node results. On a full disk they stay buffered (the run goes on
        or stops, and ``finish`` tries again); nothing else is lost."""
        if self._run_id is None or not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        try:
            with self._store.transaction():
                self._rows.update_nodes(self._run_id, rows, self._now_ns())
        except DiskFullError:
            self._buffer = rows + self._buffer
        self._last_flush = self._monotonic()

    def finish(self, result: GenerationResult | None, *, interrupted: bool = False) -> None:
        """Write what is buffered and close the run (``interrupted`` when a signal stopped
        it). On a full disk, the run row alone is closed (an update in place needs no new
        page); if even that fails, the run stays open and reads ``interrupted`` once this
        process is gone."""
        if self._run_id is None:
            return
        self.flush()
        if interrupted:
            status = "interrupted"
        elif result is not None and result.succeeded:
            status = "succeeded"
        else:
            status = "failed"
        try:
            self._close(status, interrupted=interrupted)
        except DiskFullError:
            run_id = self._run_id
            with contextlib.suppress(DiskFullError), self._store.transaction():
                self._rows.finish_run(run_id, status, self._now_ns())
        self._buffer = []
        self._run_id = None

    def _close(self, status: str, *, interrupted: bool) -> None:
        assert self._run_id is not None
        with self._store.transaction():
            if self._buffer:
                self._rows.update_nodes(self._run_id, self._buffer, self._now_ns())
            if interrupted:
                pending = self._rows.nodes(self._run_id, ["pending"])
                self._rows.update_nodes(
                    self._run_id,
                    [
                        RunNodeRow(
                            path=n.path,
                            node_id=n.node_id,
                            status=NodeStatus.CANCELLED.value,
                            message="cancelled before it ended",
                        )
                        for n in pending
                    ],
                    self._now_ns(),
                )
            self._rows.finish_run(self._run_id, status, self._now_ns())


#: What runs stopped by a signal were recorded as before ``interrupted`` was the one label.
LEGACY_SIGNAL_STATUS = "cancelled"


def process_alive(pid: int, started_by_ns: int) -> bool:
    """Whether process ``pid`` exists and is the one that started a run at ``started_by_ns``
    (on Linux a process that started after that is a reused pid, not the run's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    except OSError:
        return False
    started = _process_start_ns(pid)
    return started is None or started <= started_by_ns


def _process_start_ns(pid: int) -> int | None:
    """When ``pid`` started (wall clock, ns), from ``/proc``; None where that is unknown."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text(encoding="ascii").splitlines()
            if line.startswith("btime ")
        )
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    # Whole seconds of boot time: allow a second of slack.
    return (boot * 10**9) + ticks * 10**9 // os.sysconf("SC_CLK_TCK") - 10**9
