"""The executor: runs a plan through the queue, leaf to root, and accounts for every node.

Owns scheduling and failure policy. By default a node is submitted as soon as all of its
planned children have finished (dependency-driven, deepest first, no level barrier); with the
``levels`` schedule, level k+1 starts only after level k. At most ``window`` requests are
submitted at once, so a 100k-node plan never fills the queue, and nothing waits with a
timeout: only provider attempts time out (in the queue and the adapters). When a node fails,
its ancestors are *blocked*, never generated with missing child context; ``continue`` lets
everything else finish, ``stop`` submits nothing new, ``fail-fast`` also cancels what is in
flight. It never builds prompts or calls providers: the queue and orchestration do. The
result types it fills in (``NodeResult``, ``GenerationResult``) are ``results``'.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
from collections import deque
from enum import StrEnum

from contextree.context.generation.contracts import Priority
from contextree.context.generation.plan import GenerationPlan, PlanItem
from contextree.context.generation.results import (
    GenerationResult,
    NodeResult,
    NodeStatus,
    ResultListener,
    node_result,
)
from contextree.context.queue import FrameGenerationQueue, RequestOutcome
from contextree.core.tree import display_path
from contextree.telemetry import Event, EventValue, Observer, safe_emit


class Schedule(StrEnum):
    DAG = "dag"
    LEVELS = "levels"


class FailurePolicy(StrEnum):
    CONTINUE = "continue"
    STOP = "stop"
    FAIL_FAST = "fail-fast"


class Executor:
    """Runs one plan at a time through ``queue`` (which must already be started)."""

    def __init__(
        self,
        queue: FrameGenerationQueue,
        *,
        observer: Observer,
        schedule: Schedule = Schedule.DAG,
        failure_policy: FailurePolicy = FailurePolicy.CONTINUE,
        window: int = 16,
        on_result: ResultListener | None = None,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.queue = queue
        self.observer = observer
        self.schedule = schedule
        self.failure_policy = failure_policy
        self.window = window
        self.on_result = on_result
        self._run: _Execution | None = None
        self.interrupted = False

    def stop_intake(self) -> None:
        """Submit nothing new (work in flight goes on); for an interrupted run."""
        self.interrupted = True
        if self._run is not None:
            self._run.stopped = True

    async def run(self, plan: GenerationPlan) -> GenerationResult:
        plan.validate()
        run = _Execution(self, plan)
        self._run = run
        run.stopped = self.interrupted
        self._emit("plan_constructed", plan_data(plan))
        run.result.current_at_plan = len(plan.skipped)
        common: dict[str, EventValue] = {
            "plan_id": plan.plan_id,
            "status": NodeStatus.SKIPPED.value,
            "agent_id": plan.spec.agent_id,
            "provider_name": plan.spec.provider_name,
            "frame_type": plan.spec.frame_type,
        }
        for skipped in plan.skipped:
            self._emit(
                "node_skipped",
                {
                    **common,
                    "node_id": skipped.node_id.hex(),
                    "path": display_path(skipped.path),
                    "reason": skipped.reason,
                },
            )
        if self.schedule is Schedule.DAG:
            await run.by_dependency()
        else:
            await run.by_level()
        run.finish()
        return run.result

    def _emit(self, name: str, data: dict[str, EventValue]) -> None:
        safe_emit(self.observer, Event(name=name, data=data))


def plan_data(plan: GenerationPlan) -> dict[str, EventValue]:
    spec = plan.spec
    return {
        "plan_id": plan.plan_id,
        "node_id": spec.target.node_id.hex(),
        "path": display_path(spec.target.path),
        "agent_id": spec.agent_id,
        "provider_name": spec.provider_name,
        "frame_type": spec.frame_type,
        "force": spec.force,
        "recursive": spec.recursive,
        "total_nodes": len(plan.items),
        "total_levels": len(plan.levels),
        "skipped_nodes": len(plan.skipped),
    }


class _Execution:
    """The mutable state of one plan's execution."""

    def __init__(self, executor: Executor, plan: GenerationPlan) -> None:
        self.executor = executor
        self.plan = plan
        self.result = GenerationResult(plan_id=plan.plan_id)
        self.waiting = {path: len(item.waits_for) for path, item in plan.items.items()}
        self.ready: list[tuple[int, bytes]] = []
        #: Submitted and not yet settled.
        self.in_flight: set[bytes] = set()
        #: Outcomes the queue reported and the executor has not settled yet, in order.
        self.finished: deque[tuple[bytes, RequestOutcome]] = deque()
        self._wake: asyncio.Future[None] | None = None
        self.stopped = False
        spec = plan.spec
        #: Event fields shared by every node of the plan (its requests all come from spec).
        self.common: dict[str, EventValue] = {
            "plan_id": plan.plan_id,
            "agent_id": spec.agent_id,
            "provider_name": spec.provider_name,
            "frame_type": spec.frame_type,
        }
        #: path -> (node id in hex, display path), for the nodes events were emitted about.
        self.names: dict[bytes, tuple[str, str]] = {}

    # -- scheduling -----------------------------------------------------------------------

    async def by_dependency(self) -> None:
        for path, count in self.waiting.items():
            if count == 0:
                self._make_ready(path)
        await self._drive()

    async def by_level(self) -> None:
        for level in self.plan.levels:
            if self.stopped:
                break
            for path in level:
                if path not in self.result.nodes:
                    self._make_ready(path)
            await self._drive()

    async def _drive(self) -> None:
        """Submit ready nodes within the window until nothing is ready or in flight."""
        while self.ready or self.in_flight:
            while self.ready and len(self.in_flight) < self.executor.window and not self.stopped:
                _, path = heapq.heappop(self.ready)
                if path not in self.result.nodes:
                    self._submit(self.plan.items[path])
            if not self.in_flight:
                self.ready.clear()
                break
            if not self.finished:
                self._wake = asyncio.get_running_loop().create_future()
                try:
                    await self._wake
                finally:
                    self._wake = None
            while self.finished:
                path, outcome = self.finished.popleft()
                self.in_flight.discard(path)
                await self._settle(self.plan.items[path], outcome)

    def _on_outcome(self, path: bytes, outcome: RequestOutcome) -> None:
        """The queue finished a submitted node (called inside the queue's bookkeeping)."""
        self.finished.append((path, outcome))
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def _make_ready(self, path: bytes) -> None:
        depth = self.plan.items[path].request.depth
        heapq.heappush(self.ready, (-depth, path))

    def _submit(self, item: PlanItem) -> None:
        request = item.request
        self.executor._emit(
            "node_generation_started",
            {**self._node_data(request.path, request.node_id), "depth": request.depth},
        )
        handle = self.executor.queue.enqueue_nowait(request, Priority.URGENT)
        self.in_flight.add(request.path)
        handle.add_done_callback(functools.partial(self._on_outcome, request.path))

    def _node_data(self, path: bytes, node_id: bytes) -> dict[str, EventValue]:
        """The fields every node event carries (ids rendered once per node)."""
        names = self.names.get(path)
        if names is None:
            names = self.names[path] = (node_id.hex(), display_path(path))
        return {**self.common, "node_id": names[0], "path": names[1]}

    # -- outcomes -------------------------------------------------------------------------

    async def _settle(self, item: PlanItem, outcome: RequestOutcome) -> None:
        node = node_result(item, outcome)
        self.record(node)
        if node.status in (NodeStatus.DONE, NodeStatus.SKIPPED):
            self._child_finished(item)
            return
        if node.status is NodeStatus.FAILED:
            self._block_ancestors(item)
            if self.executor.failure_policy is not FailurePolicy.CONTINUE:
                self.stopped = True
            if self.executor.failure_policy is FailurePolicy.FAIL_FAST:
                await self.executor.queue.stop(cancel_in_flight=True)

    def _child_finished(self, item: PlanItem) -> None:
        parent = item.parent
        if parent is None or parent not in self.waiting:
            return
        self.waiting[parent] -= 1
        if self.waiting[parent] == 0 and self.executor.schedule is Schedule.DAG:
            self._make_ready(parent)

    def _block_ancestors(self, failed: PlanItem) -> None:
        parent = failed.parent
        while parent is not None and parent in self.plan.items:
            if parent in self.result.nodes:
                break  # already blocked by another failure below it
            item = self.plan.items[parent]
            self.record(
                NodeResult(
                    path=parent,
                    node_id=item.request.node_id,
                    kind=item.request.node_kind,
                    status=NodeStatus.BLOCKED,
                    blocked_by=failed.request.path,
                    message=f"blocked: {display_path(failed.request.path)} failed",
                )
            )
            parent = item.parent

    def record(self, node: NodeResult) -> None:
        self.result.nodes[node.path] = node
        executor = self.executor
        event = _EVENTS.get(node.status)
        if event is not None:
            data = self._node_data(node.path, node.node_id)
            data["status"] = node.status.value
            _add_outcome_fields(data, node)
            executor._emit(event, data)
        if executor.on_result is not None:
            executor.on_result(node)

    def finish(self) -> None:
        """Account for planned nodes that never ran (stopped by the failure policy)."""
        for path, item in self.plan.items.items():
            if path not in self.result.nodes:
                self.record(
                    NodeResult(
                        path=path,
                        node_id=item.request.node_id,
                        kind=item.request.node_kind,
                        status=NodeStatus.CANCELLED,
                        message="not started: the run was interrupted"
                        if self.executor.interrupted
                        else "not started: the run stopped after a failure",
                        reason="interrupted"
                        if self.executor.interrupted
                        else self.executor.failure_policy.value,
                    )
                )
        result = self.result
        totals: dict[str, EventValue] = {
            "plan_id": self.plan.plan_id,
            "generated": result.count(NodeStatus.DONE),
            "skipped": result.count(NodeStatus.SKIPPED),
            "failed": result.count(NodeStatus.FAILED),
            "blocked": result.count(NodeStatus.BLOCKED),
            "cancelled": result.count(NodeStatus.CANCELLED),
            "tokens_in": result.tokens[0],
            "tokens_out": result.tokens[1],
        }
        if result.succeeded:
            self.executor._emit("generation_completed", totals)
        else:
            totals["failure_policy"] = self.executor.failure_policy.value
            self.executor._emit("generation_failed", totals)


_EVENTS = {
    NodeStatus.DONE: "node_generation_completed",
    NodeStatus.SKIPPED: "node_generation_completed",
    NodeStatus.FAILED: "node_generation_failed",
    NodeStatus.BLOCKED: "node_generation_blocked",
    NodeStatus.CANCELLED: "node_generation_cancelled",
}


def _add_outcome_fields(data: dict[str, EventValue], node: NodeResult) -> None:
    """The fields a node's outcome event carries besides the common ones, where set."""
    if node.frame_id:
        data["frame_id"] = node.frame_id.hex()
    optional: dict[str, EventValue] = {
        "error_class": node.error_class,
        "error": node.message,
        "attempts": node.attempts or None,
        "blocked_by": display_path(node.blocked_by) if node.blocked_by is not None else None,
        "reason": node.reason,
    }
    for key, value in optional.items():
        if value is not None:
            data[key] = value
