"""The executor: dependency and level schedules, failure policies, bounded submission."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.fakes.clock import FakeClock
from tests.fakes.orchestration import CommitsAnswer, answered
from tests.helpers.plans import entries_of, spec_for

from contextree import errors
from contextree.context.generation.contracts import (
    ExecutedCall,
    FrameResult,
    GenerationRequest,
    PreparedCall,
    Skip,
)
from contextree.context.generation.executor import Executor, FailurePolicy, Schedule
from contextree.context.generation.plan import GenerationPlan, build_plan
from contextree.context.generation.results import GenerationResult, NodeStatus
from contextree.context.limits import ProviderLimits
from contextree.context.queue import FrameGenerationQueue, QueueConfig
from contextree.core.ids import FrameId
from contextree.telemetry.events import RecordingObserver

# A slow, deep branch (deep/...) beside a quick, shallow one (top/...).
TREE = {
    b"": "dir",
    b"deep": "dir",
    b"deep/d1": "dir",
    b"deep/d1/d2": "dir",
    b"deep/d1/d2/slow.py": "file",
    b"top": "dir",
    b"top/quick.py": "file",
    b"top/other.py": "file",
}


@dataclass
class FakeOrchestration(CommitsAnswer):
    """Each execute takes ``latency[path]`` virtual seconds (1 s default); chosen paths fail."""

    clock: FakeClock
    latency: dict[bytes, float] = field(default_factory=dict)
    fail: dict[bytes, errors.ContextreeError] = field(default_factory=dict)
    skip: set[bytes] = field(default_factory=set)
    started: dict[bytes, float] = field(default_factory=dict)
    finished: dict[bytes, float] = field(default_factory=dict)
    in_flight: int = 0
    peak: int = 0

    async def prepare(self, request: GenerationRequest) -> PreparedCall | Skip:
        if request.path in self.skip:
            return Skip(request=request, frame_id=FrameId(b"\x07" * 32), reason="unchanged")
        return PreparedCall(
            request=request, provider_name="fake", token_estimate=1, input_key="k", payload=None
        )

    async def execute(self, prepared: PreparedCall) -> ExecutedCall:
        path = prepared.request.path
        self.started[path] = self.clock.now()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self.clock.sleep(self.latency.get(path, 1.0))
        finally:
            self.in_flight -= 1
        if path in self.fail:
            raise self.fail[path]
        self.finished[path] = self.clock.now()
        return answered(
            prepared,
            FrameResult(
                frame_id=FrameId(path.ljust(32, b"!")[:32]),
                tokens_in=3,
                tokens_out=2,
                served_model="m",
                provider_name="fake",
            ),
        )


def _plan(tree: dict[bytes, str] = TREE) -> GenerationPlan:
    entries = entries_of(tree)
    return build_plan(spec_for(entries), entries, {})


async def _run(
    orch: FakeOrchestration,
    plan: GenerationPlan,
    *,
    schedule: Schedule = Schedule.DAG,
    policy: FailurePolicy = FailurePolicy.CONTINUE,
    concurrency: int = 4,
    window: int = 16,
    observer: RecordingObserver | None = None,
) -> GenerationResult:
    queue = FrameGenerationQueue(
        orch,
        config=QueueConfig(max_concurrency=concurrency, max_attempts=1),
        clock=orch.clock,
        observer=RecordingObserver(),
        limits_for=lambda _: ProviderLimits(),
        rng=random.Random(1),
    )
    executor = Executor(
        queue,
        observer=observer or RecordingObserver(),
        schedule=schedule,
        failure_policy=policy,
        window=window,
    )
    async with orch.clock.auto_advance(), queue:
        return await executor.run(plan)


async def test_every_node_is_generated_after_all_its_children() -> None:
    orch = FakeOrchestration(FakeClock())
    plan = _plan()
    result = await _run(orch, plan)
    assert result.count(NodeStatus.DONE) == len(TREE)
    for path, item in plan.items.items():
        for child in item.waits_for:
            assert orch.finished[child] <= orch.started[path], (path, child)
    assert result.tokens == (3 * len(TREE), 2 * len(TREE))


async def test_dag_schedule_does_not_hold_shallow_work_behind_a_slow_deep_branch() -> None:
    latency = {b"deep/d1/d2/slow.py": 10.0}
    dag = FakeOrchestration(FakeClock(), latency=dict(latency))
    await _run(dag, _plan(), schedule=Schedule.DAG)
    levels = FakeOrchestration(FakeClock(), latency=dict(latency))
    await _run(levels, _plan(), schedule=Schedule.LEVELS)
    # top/ only needs its two files: with dependencies it starts at t=1, not after slow.py.
    assert dag.started[b"top"] == 1.0
    assert levels.started[b"top"] >= 10.0
    assert dag.finished[b"top"] < levels.finished[b"top"]


async def test_levels_schedule_starts_a_level_after_the_previous_one_ends() -> None:
    orch = FakeOrchestration(FakeClock(), latency={b"top/quick.py": 5.0})
    plan = _plan()
    await _run(orch, plan, schedule=Schedule.LEVELS)
    for deeper, shallower in zip(plan.levels, plan.levels[1:], strict=False):
        assert max(orch.finished[p] for p in deeper) <= min(orch.started[p] for p in shallower)


async def test_continue_blocks_only_the_ancestors_of_a_failure() -> None:
    failure = errors.AuthFailedError("401 from provider")
    orch = FakeOrchestration(FakeClock(), fail={b"deep/d1/d2/slow.py": failure})
    observer = RecordingObserver()
    result = await _run(orch, _plan(), observer=observer)
    nodes = result.nodes
    assert nodes[b"deep/d1/d2/slow.py"].status is NodeStatus.FAILED
    assert nodes[b"deep/d1/d2/slow.py"].error_class == "auth_failed"
    for blocked in (b"deep/d1/d2", b"deep/d1", b"deep", b""):
        assert nodes[blocked].status is NodeStatus.BLOCKED
        assert nodes[blocked].blocked_by == b"deep/d1/d2/slow.py"
        assert blocked not in orch.started  # never generated with missing child context
    for done in (b"top", b"top/quick.py", b"top/other.py"):
        assert nodes[done].status is NodeStatus.DONE
    assert not result.succeeded
    assert len(observer.named("node_generation_blocked")) == 4
    assert observer.named("generation_failed")[0].data["blocked"] == 4


async def test_stop_submits_nothing_new_after_a_failure_but_lets_in_flight_finish() -> None:
    # Deepest first with a window of 2: slow.py (fails at t=1) and top/other.py (done at t=3)
    # are submitted; top/quick.py is still waiting when the failure stops intake.
    orch = FakeOrchestration(
        FakeClock(),
        latency={b"deep/d1/d2/slow.py": 1.0, b"top/other.py": 3.0},
        fail={b"deep/d1/d2/slow.py": errors.BadRequestError("400")},
    )
    result = await _run(orch, _plan(), policy=FailurePolicy.STOP, concurrency=2, window=2)
    nodes = result.nodes
    assert nodes[b"deep/d1/d2/slow.py"].status is NodeStatus.FAILED
    assert nodes[b"top/other.py"].status is NodeStatus.DONE  # was in flight: finished
    assert nodes[b"top/quick.py"].status is NodeStatus.CANCELLED  # never submitted
    assert b"top/quick.py" not in orch.started
    assert nodes[b"top"].status is NodeStatus.CANCELLED
    assert nodes[b""].status is NodeStatus.BLOCKED
    assert set(nodes) == set(TREE)


async def test_fail_fast_cancels_work_in_flight() -> None:
    orch = FakeOrchestration(
        FakeClock(),
        latency={b"top/quick.py": 1.0, b"deep/d1/d2/slow.py": 50.0},
        fail={b"top/quick.py": errors.BadRequestError("400")},
    )
    result = await _run(orch, _plan(), policy=FailurePolicy.FAIL_FAST)
    nodes = result.nodes
    assert nodes[b"top/quick.py"].status is NodeStatus.FAILED
    assert nodes[b"deep/d1/d2/slow.py"].status is NodeStatus.CANCELLED
    assert b"deep/d1/d2/slow.py" not in orch.finished
    assert set(nodes) == set(TREE)


async def test_submission_window_bounds_what_the_queue_holds() -> None:
    tree = {b"": "dir", **{f"f{i:03}".encode(): "file" for i in range(200)}}
    orch = FakeOrchestration(FakeClock())
    result = await _run(orch, _plan(tree), concurrency=4, window=6)
    assert result.count(NodeStatus.DONE) == 201
    assert orch.peak == 4


async def test_a_skip_at_run_time_counts_as_finished_for_the_parent() -> None:
    orch = FakeOrchestration(FakeClock(), skip={b"top"})
    result = await _run(orch, _plan())
    assert result.nodes[b"top"].status is NodeStatus.SKIPPED
    assert result.nodes[b"top"].reason == "unchanged"
    assert result.nodes[b""].status is NodeStatus.DONE


async def test_events_name_each_step_of_the_run() -> None:
    entries = entries_of(TREE)
    spec = spec_for(entries)
    plan = build_plan(spec, entries, {})
    observer = RecordingObserver()
    await _run(FakeOrchestration(FakeClock()), plan, observer=observer)
    names = observer.names()
    assert names[0] == "plan_constructed"
    assert names.count("node_generation_started") == len(TREE)
    assert names.count("node_generation_completed") == len(TREE)
    assert names[-1] == "generation_completed"
    started = observer.named("plan_constructed")[0].data
    assert started["total_nodes"] == len(TREE) and started["agent_id"] == "docs-writer"
