"""The generation queue's lifecycle, driven through a scripted orchestration on virtual time."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
from tests.fakes.clock import FakeClock
from tests.fakes.orchestration import CommitsAnswer, answered

from contextree import errors
from contextree.context.clock import MonotonicClock
from contextree.context.generation.contracts import (
    ExecutedCall,
    FrameResult,
    GenerationRequest,
    PreparedCall,
    Priority,
    Skip,
)
from contextree.context.limits import ProviderLimits
from contextree.context.queue import (
    FrameGenerationQueue,
    QueueConfig,
    RequestOutcome,
)
from contextree.core.ids import FrameId, NodeId
from contextree.errors import QueueClosedError, QueueFullError
from contextree.telemetry.events import RecordingObserver

SEED = 1234


def req(
    path: str,
    *,
    depth: int | None = None,
    agent: str = "docs-writer",
    provider: str = "fake",
    frame_type: str = "context-docs-writer",
    force: bool = False,
    plan_id: str | None = None,
) -> GenerationRequest:
    return GenerationRequest(
        node_id=NodeId(hashlib.sha256(path.encode()).digest()),
        path=path.encode(),
        node_kind="file",
        depth=path.count("/") if depth is None else depth,
        agent_id=agent,
        provider_name=provider,
        frame_type=frame_type,
        force=force,
        plan_id=plan_id,
    )


@dataclass
class Step:
    """What one attempt of a request does."""

    error: BaseException | None = None  # raised by execute
    prepare_error: BaseException | None = None
    skip: bool = False
    work_s: float = 1.0
    tokens: tuple[int, int] = (10, 5)


@dataclass
class Call:
    path: str
    at: float
    force: bool = False


@dataclass
class ScriptedOrchestration(CommitsAnswer):
    """Plays a script of steps per path (then succeeds), and records what the queue did."""

    clock: FakeClock
    script: dict[str, list[Step]] = field(default_factory=dict)
    token_estimate: int = 100
    provider_for: Callable[[GenerationRequest], str] = lambda r: r.provider_name
    skip_unless_forced: bool = False
    prepare_s: float = 0.0
    commit_s: float = 0.0
    commit_errors: dict[str, Exception] = field(default_factory=dict)
    prepared: list[Call] = field(default_factory=list)
    executed: list[Call] = field(default_factory=list)
    committed: list[Call] = field(default_factory=list)
    execute_cancelled: list[Call] = field(default_factory=list)
    running: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)

    def _step(self, path: str) -> Step:
        steps = self.script.get(path, [])
        return steps.pop(0) if steps else Step()

    async def prepare(self, request: GenerationRequest) -> PreparedCall | Skip:
        path = request.path.decode("utf-8", "backslashreplace")
        self.prepared.append(Call(path, self.clock.now(), request.force))
        if self.prepare_s:
            await self.clock.sleep(self.prepare_s)
        step = self._step(path)
        if step.prepare_error is not None:
            raise step.prepare_error
        if step.skip or (self.skip_unless_forced and not request.force):
            return Skip(request=request, frame_id=FrameId(b"\x01" * 32), reason="head_reuse")
        return PreparedCall(
            request=request,
            provider_name=self.provider_for(request),
            token_estimate=self.token_estimate,
            input_key="k",
            payload=step,
        )

    async def execute(self, prepared: PreparedCall) -> ExecutedCall:
        step = prepared.payload
        assert isinstance(step, Step)
        path = prepared.request.path.decode("utf-8", "backslashreplace")
        call = Call(path, self.clock.now(), prepared.request.force)
        self.executed.append(call)
        keys = (f"provider:{prepared.provider_name}", f"agent:{prepared.request.agent_id}", "*")
        for key in keys:
            self.running[key] += 1
            self.peak[key] = max(self.peak[key], self.running[key])
        try:
            await self.clock.sleep(step.work_s)
        except asyncio.CancelledError:
            self.execute_cancelled.append(call)
            raise
        finally:
            for key in keys:
                self.running[key] -= 1
        if step.error is not None:
            raise step.error
        return answered(
            prepared,
            FrameResult(
                frame_id=FrameId(hashlib.sha256(call.path.encode()).digest()),
                tokens_in=step.tokens[0],
                tokens_out=step.tokens[1],
                served_model="fake-model",
                provider_name=prepared.provider_name,
            ),
        )

    async def commit(self, executed: ExecutedCall) -> FrameResult:
        path = executed.prepared.request.path.decode("utf-8", "backslashreplace")
        self.committed.append(Call(path, self.clock.now(), executed.prepared.request.force))
        if self.commit_s:
            await self.clock.sleep(self.commit_s)
        if path in self.commit_errors:
            raise self.commit_errors[path]
        return await super().commit(executed)

    def prepared_paths(self) -> list[str]:
        return [call.path for call in self.prepared]

    def executed_paths(self) -> list[str]:
        return [call.path for call in self.executed]


def make_queue(
    orchestration: ScriptedOrchestration,
    *,
    observer: RecordingObserver | None = None,
    limits: dict[str, ProviderLimits] | None = None,
    **config: object,
) -> FrameGenerationQueue:
    settings = {"max_concurrency": 1, "max_attempts": 4, "prepare_ahead": 0, **config}
    provider_limits = limits or {}
    return FrameGenerationQueue(
        orchestration,
        config=QueueConfig(**settings),  # type: ignore[arg-type]
        clock=orchestration.clock,
        observer=observer if observer is not None else RecordingObserver(),
        limits_for=lambda name: provider_limits.get(name, ProviderLimits()),
        rng=random.Random(SEED),
    )


async def run_all(
    queue: FrameGenerationQueue,
    clock: FakeClock,
    requests: Sequence[GenerationRequest | tuple[GenerationRequest, Priority]],
) -> list[RequestOutcome]:
    """Enqueue everything before the workers start, then run to the end on virtual time."""
    handles = []
    for item in requests:
        request, priority = item if isinstance(item, tuple) else (item, Priority.NORMAL)
        handles.append(await queue.enqueue(request, priority))
    async with clock.auto_advance(), queue:
        return [await handle.wait() for handle in handles]


# --- ordering ----------------------------------------------------------------------------


async def test_order_is_plan_then_priority_then_depth_then_age() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock)
    queue = make_queue(orch)
    await run_all(
        queue,
        clock,
        [
            (req("old-normal-shallow"), Priority.NORMAL),
            (req("new-normal-shallow"), Priority.NORMAL),
            (req("a/b/deep-normal"), Priority.NORMAL),
            (req("low"), Priority.LOW),
            (req("urgent"), Priority.URGENT),
            (req("a/high-depth1"), Priority.HIGH),
            (req("plan-low", plan_id="p1"), Priority.LOW),
            (req("high"), Priority.HIGH),
        ],
    )
    assert orch.prepared_paths() == [
        "plan-low",
        "urgent",
        "a/high-depth1",
        "high",
        "a/b/deep-normal",
        "old-normal-shallow",
        "new-normal-shallow",
        "low",
    ]


async def test_retried_request_keeps_its_age() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock,
        script={
            "first": [Step(error=errors.ServerError("502")), Step()],
            "long": [Step(work_s=10)],
        },
    )
    queue = make_queue(orch, backoff_base_s=0.5)
    outcomes = await run_all(queue, clock, [req("first"), req("long"), req("newer")])
    # "first" fails at t=1 and is ready again long before "long" ends at t=11; it then goes
    # ahead of "newer", which was enqueued after it.
    assert orch.prepared_paths() == ["first", "long", "first", "newer"]
    assert [o.status for o in outcomes] == ["done", "done", "done"]


# --- dedupe ------------------------------------------------------------------------------


async def test_every_waiter_gets_the_one_outcome_across_retries() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock,
        script={
            "x": [
                Step(error=errors.ServerError("500", retry_after=5)),
                Step(error=errors.OverloadedError("529")),
                Step(),
            ]
        },
    )
    observer = RecordingObserver()
    queue = make_queue(orch, observer=observer)
    async with clock.auto_advance(), queue:
        first = await queue.enqueue(req("x"))
        waiter = asyncio.create_task(queue.enqueue_and_wait(req("x"), Priority.LOW))
        await clock.sleep(3)  # attempt 1 failed at t=1; the retry waits until t>=6
        assert queue.stats().delayed == 1
        late = await queue.enqueue(req("x"))
        outcomes = [await first.wait(), await waiter, await late.wait()]
    assert late.deduplicated and not first.deduplicated
    assert outcomes[0] is outcomes[1] is outcomes[2]
    outcome = outcomes[0]
    assert outcome.status == "done" and outcome.attempts == 3
    assert outcome.backoff_classes == ("retry_after", "exponential_jitter")
    assert orch.prepared_paths() == ["x", "x", "x"]
    assert orch.executed_paths() == ["x", "x", "x"]
    assert len(observer.named("request_deduplicated")) == 2
    assert len(observer.named("request_enqueued")) == 1
    assert len(observer.named("request_completed")) == 1


async def test_attaching_with_higher_priority_reorders_the_pending_request() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock)
    queue = make_queue(orch)
    first = await queue.enqueue(req("a"), Priority.LOW)
    await queue.enqueue(req("b"), Priority.NORMAL)
    await queue.enqueue(req("c"), Priority.HIGH)
    await queue.enqueue(req("a"), Priority.URGENT)
    await queue.enqueue(req("a"), Priority.LOW)  # a lower priority never lowers it
    async with clock.auto_advance(), queue:
        await queue.drain()
    assert orch.prepared_paths() == ["a", "c", "b"]  # and "a" ran once despite two heap items
    assert (await first.wait()).status == "done"


async def test_plan_item_attaching_gives_the_request_plan_rank() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock)
    queue = make_queue(orch)
    await queue.enqueue(req("b"), Priority.URGENT)
    await queue.enqueue(req("a"), Priority.LOW)
    await queue.enqueue(req("a", plan_id="plan"), Priority.LOW)
    async with clock.auto_advance(), queue:
        await queue.drain()
    assert orch.prepared_paths() == ["a", "b"]


async def test_forced_request_attaching_to_a_pending_one_upgrades_it() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, skip_unless_forced=True)
    queue = make_queue(orch)
    plain = await queue.enqueue(req("a"))
    forced = await queue.enqueue(req("a", force=True))
    async with clock.auto_advance(), queue:
        outcome = await plain.wait()
    assert outcome is await forced.wait()
    assert outcome.status == "done" and outcome.request.force
    assert [call.force for call in orch.prepared] == [True]


async def test_forced_request_attaching_during_an_attempt_that_reuses_the_head_reruns() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, skip_unless_forced=True, prepare_s=1.0)
    queue = make_queue(orch)
    async with clock.auto_advance(), queue:
        plain = await queue.enqueue(req("a"))
        await clock.sleep(0.5)  # the first prepare (not forced) is under way
        forced = await queue.enqueue(req("a", force=True))
        outcome = await forced.wait()
    assert outcome is await plain.wait()
    assert outcome.status == "done" and outcome.attempts == 2
    assert [call.force for call in orch.prepared] == [False, True]


async def test_cancelling_one_waiter_leaves_the_others_waiting() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock)
    queue = make_queue(orch)
    async with clock.auto_advance(), queue:
        impatient = asyncio.create_task(queue.enqueue_and_wait(req("a")))
        patient = asyncio.create_task(queue.enqueue_and_wait(req("a")))
        await clock.settle()
        impatient.cancel()
        outcome = await patient
    assert impatient.cancelled()
    assert outcome.status == "done" and outcome.attempts == 1


# --- bounds ------------------------------------------------------------------------------


async def test_queue_full_counts_in_flight_and_delayed_requests() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock, script={"a": [Step(error=errors.ServerError("500", retry_after=10))]}
    )
    queue = make_queue(orch, max_pending=2, max_concurrency=2)
    async with clock.auto_advance(), queue:
        await queue.enqueue(req("a"))
        await queue.enqueue(req("b", depth=0))
        await clock.sleep(0.5)
        assert queue.stats().in_flight == 2
        with pytest.raises(QueueFullError, match="max_pending=2") as caught:
            await queue.enqueue(req("c"))
        assert "submit fewer" in str(caught.value)
        await clock.sleep(2)  # "a" is delayed for retry, "b" is done: room for one
        assert queue.stats().delayed == 1
        await queue.enqueue(req("c"))
        with pytest.raises(QueueFullError):
            await queue.enqueue(req("d"))
        again = await queue.enqueue(req("a"))  # attaching needs no room
        assert again.deduplicated
        assert await queue.drain()


async def test_batch_is_all_or_nothing() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock)
    observer = RecordingObserver()
    queue = make_queue(orch, observer=observer, max_pending=3)
    await queue.enqueue(req("a"))
    with pytest.raises(QueueFullError, match="max_pending"):
        await queue.enqueue_batch(
            [(req("b"), Priority.NORMAL), (req("c"), Priority.NORMAL), (req("d"), Priority.HIGH)]
        )
    assert queue.stats().pending == 1
    assert observer.names().count("request_enqueued") == 1
    assert "request_deduplicated" not in observer.names()
    handles = await queue.enqueue_batch(
        [(req("b"), Priority.NORMAL), (req("a"), Priority.HIGH), (req("b"), Priority.LOW)]
    )
    assert [h.deduplicated for h in handles] == [False, True, True]
    assert queue.stats().pending == 2
    async with clock.auto_advance(), queue:
        outcomes = [await h.wait() for h in handles]
    assert outcomes[0] is outcomes[2]
    assert orch.prepared_paths() == ["a", "b"]  # "a" was raised to HIGH


# --- retries -----------------------------------------------------------------------------


def _provider_error_classes() -> list[type[errors.ProviderError]]:
    found: list[type[errors.ProviderError]] = []
    todo: list[type[errors.ProviderError]] = [errors.ProviderError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__name__)


@pytest.mark.parametrize("error_type", _provider_error_classes(), ids=lambda c: c.__name__)
async def test_attempts_and_backoff_classes_follow_the_error_class(
    error_type: type[errors.ProviderError],
) -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, script={"a": [Step(error=error_type("no")) for _ in "123"]})
    queue = make_queue(orch, max_attempts=3)
    [outcome] = await run_all(queue, clock, [req("a")])
    assert outcome.status == "failed"
    assert outcome.error_class == error_type.error_class
    assert isinstance(outcome.error, error_type)
    if error_type.default_retryable:
        assert outcome.attempts == 3
        assert outcome.backoff_classes == ("exponential_jitter", "exponential_jitter")
    else:
        assert outcome.attempts == 1
        assert outcome.backoff_classes == ()
    assert len(orch.prepared) == outcome.attempts


async def test_retryable_flag_on_the_instance_wins_over_the_class() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock,
        script={
            "a": [Step(error=errors.ServerError("x", retryable=False))],
            "b": [Step(error=errors.BadRequestError("x", retryable=True)), Step()],
        },
    )
    a, b = await run_all(make_queue(orch), clock, [req("a"), req("b")])
    assert (a.status, a.attempts, a.error_class) == ("failed", 1, "server_error")
    assert (b.status, b.attempts) == ("done", 2)


@pytest.mark.parametrize(
    ("error", "error_class"),
    [
        (errors.NodeNotInTreeError("gone"), "node_not_in_tree_error"),
        (errors.MetadataForbiddenKeyError("prompt", key="prompt"), "metadata_forbidden_key_error"),
        (errors.AgentNotFoundError("who"), "agent_not_found_error"),
        (errors.StoreError("disk"), "store_error"),
    ],
)
async def test_other_contextree_errors_fail_after_one_attempt(
    error: errors.ContextreeError, error_class: str
) -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, script={"a": [Step(prepare_error=error)]})
    [outcome] = await run_all(make_queue(orch), clock, [req("a")])
    assert (outcome.status, outcome.attempts, outcome.error_class) == ("failed", 1, error_class)
    assert outcome.error is error
    assert orch.executed == []


async def test_exponential_backoff_uses_the_injected_rng_and_the_cap() -> None:
    clock = FakeClock()
    failing = [Step(error=errors.ServerError("500")) for _ in range(4)]
    orch = ScriptedOrchestration(clock, script={"a": failing})
    observer = RecordingObserver()
    queue = make_queue(orch, observer=observer, backoff_base_s=10.0, backoff_cap_s=25.0)
    [outcome] = await run_all(queue, clock, [req("a")])
    twin = random.Random(SEED)
    expected = [twin.uniform(0, 10.0), twin.uniform(0, 20.0), twin.uniform(0, 25.0)]
    scheduled = observer.named("request_retry_scheduled")
    assert [e.data["delay_s"] for e in scheduled] == pytest.approx(expected)
    assert [e.data["attempt"] for e in scheduled] == [1, 2, 3]
    # Each attempt's execute fails 1 s after its prepare; the next prepare waits the delay.
    starts = [call.at for call in orch.prepared]
    assert [b - (a + 1.0) for a, b in itertools.pairwise(starts)] == pytest.approx(expected)
    assert outcome.attempts == 4 and outcome.status == "failed"


async def test_retry_after_is_the_minimum_delay() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock,
        script={"a": [Step(error=errors.RateLimitedError("429", retry_after=7.0)), Step()]},
    )
    observer = RecordingObserver()
    [outcome] = await run_all(make_queue(orch, observer=observer), clock, [req("a")])
    assert outcome.status == "done" and outcome.backoff_classes == ("retry_after",)
    assert orch.prepared[1].at == pytest.approx(1.0 + 7.0)  # jitter (< 1 s) lost to Retry-After
    [scheduled] = observer.named("request_retry_scheduled")
    assert scheduled.data["delay_s"] == pytest.approx(7.0)
    assert scheduled.data["backoff_class"] == "retry_after"
    assert scheduled.data["error_class"] == "rate_limited"


async def test_retry_after_beyond_the_maximum_is_an_exhausted_quota() -> None:
    clock = FakeClock()
    original = errors.RateLimitedError("429", retry_after=3600.0, status=429)
    orch = ScriptedOrchestration(clock, script={"a": [Step(error=original)]})
    [outcome] = await run_all(make_queue(orch, max_retry_after_s=120.0), clock, [req("a")])
    assert (outcome.status, outcome.attempts, outcome.error_class) == (
        "failed",
        1,
        "quota_exhausted",
    )
    assert isinstance(outcome.error, errors.QuotaExhaustedError)
    assert outcome.error.__cause__ is original
    assert "max_retry_after_s" in str(outcome.error)


async def test_a_retrying_request_holds_no_slot() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock, script={"a": [Step(error=errors.ServerError("503", retry_after=10.0))]}
    )
    queue = make_queue(orch, max_concurrency=1, limits={"fake": ProviderLimits(max_concurrency=1)})
    await run_all(queue, clock, [req("a"), req("b")])
    assert [(c.path, c.at) for c in orch.executed] == [("a", 0.0), ("b", 1.0), ("a", 11.0)]


async def test_a_429_pauses_every_call_to_that_provider() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock, script={"a": [Step(error=errors.RateLimitedError("429", retry_after=20.0))]}
    )
    queue = make_queue(orch, max_concurrency=4)
    async with clock.auto_advance(), queue:
        first = await queue.enqueue(req("a"))
        await clock.sleep(2)  # the 429 came back at t=1
        same = await queue.enqueue(req("b"))
        other = await queue.enqueue(req("c", provider="other"))
        for handle in (first, same, other):
            assert (await handle.wait()).status == "done"
    starts = {(c.path, c.at) for c in orch.executed}
    assert starts == {("a", 0.0), ("c", 2.0), ("b", 21.0), ("a", 21.0)}


async def test_attempt_timeout_is_a_retryable_client_timeout() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, script={"a": [Step(work_s=100.0), Step(work_s=1.0)]})
    observer = RecordingObserver()
    queue = make_queue(orch, observer=observer, attempt_timeout_s=5.0)
    [outcome] = await run_all(queue, clock, [req("a")])
    assert outcome.status == "done" and outcome.attempts == 2
    [scheduled] = observer.named("request_retry_scheduled")
    assert scheduled.data["error_class"] == "client_timeout"
    assert [c.at for c in orch.execute_cancelled] == [0.0]  # the slow call was cancelled
    delay = scheduled.data["delay_s"]
    assert isinstance(delay, float)
    assert orch.prepared[1].at == pytest.approx(5.0 + delay)


async def test_time_spent_waiting_for_a_turn_never_times_out() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, script={"a": [Step(work_s=4.0)], "b": [Step(work_s=4.0)]})
    queue = make_queue(orch, max_concurrency=1, attempt_timeout_s=5.0)
    outcomes = await run_all(queue, clock, [req("a"), req("b")])
    assert [(o.status, o.attempts) for o in outcomes] == [("done", 1), ("done", 1)]


async def test_unexpected_exception_is_an_internal_error_and_the_worker_survives() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, script={"a": [Step(error=KeyError("oops"))]})
    observer = RecordingObserver()
    a, b = await run_all(make_queue(orch, observer=observer), clock, [req("a"), req("b")])
    assert (a.status, a.attempts, a.error_class) == ("failed", 1, "internal_error")
    assert b.status == "done"
    [failed] = observer.named("request_failed")
    assert failed.data["message"] == "'oops'"


# --- limits ------------------------------------------------------------------------------


async def test_per_provider_concurrency_is_respected() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock, provider_for=lambda r: "p1" if "p1" in r.path.decode() else "p2"
    )
    queue = make_queue(orch, max_concurrency=8, limits={"p1": ProviderLimits(max_concurrency=2)})
    requests = [req(f"p1-{i}") for i in range(6)] + [req(f"p2-{i}") for i in range(4)]
    await run_all(queue, clock, requests)
    assert orch.peak["provider:p1"] == 2
    p1_starts = sorted(c.at for c in orch.executed if c.path.startswith("p1"))
    assert p1_starts == pytest.approx([0.0, 0.0, 1.0, 1.0, 2.0, 2.0])
    # p2 is not held back by p1's limit: both free workers run p2 from the start.
    assert sorted(c.at for c in orch.executed if c.path.startswith("p2"))[:2] == [0.0, 0.0]


async def test_prepare_ahead_readies_the_next_call_while_every_slot_is_busy() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, prepare_s=0.5)
    queue = make_queue(orch, max_concurrency=1, prepare_ahead=1)
    await run_all(queue, clock, [req("a"), req("b"), req("c")])
    # b was prepared during a's call and starts the moment a's slot frees; one call at a time.
    assert [(c.path, c.at) for c in orch.prepared] == [("a", 0.0), ("b", 0.0), ("c", 1.5)]
    assert [(c.path, c.at) for c in orch.executed] == [("a", 0.5), ("b", 1.5), ("c", 2.5)]
    assert orch.peak["*"] == 1


async def test_without_prepare_ahead_a_request_is_prepared_only_when_a_slot_is_free() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, prepare_s=0.5)
    queue = make_queue(orch, max_concurrency=1, prepare_ahead=0)
    await run_all(queue, clock, [req("a"), req("b"), req("c")])
    assert [(c.path, c.at) for c in orch.executed] == [("a", 0.5), ("b", 2.0), ("c", 3.5)]


async def test_prepare_ahead_never_exceeds_the_overall_concurrency() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, prepare_s=0.25)
    queue = make_queue(orch, max_concurrency=3, prepare_ahead=5)
    await run_all(queue, clock, [req(f"n{i}") for i in range(20)])
    assert orch.peak["*"] == 3
    assert len(orch.executed) == 20


async def test_a_slot_is_given_back_before_the_frame_is_committed() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, commit_s=1.0)
    queue = make_queue(orch, max_concurrency=1, prepare_ahead=1)
    await run_all(queue, clock, [req("a"), req("b"), req("c")])
    # Calls run back to back while the previous frame is still being written.
    assert [(c.path, c.at) for c in orch.executed] == [("a", 0.0), ("b", 1.0), ("c", 2.0)]
    assert [(c.path, c.at) for c in orch.committed] == [("a", 1.0), ("b", 2.0), ("c", 3.0)]
    assert orch.peak["*"] == 1


async def test_a_failed_call_is_never_committed() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock, script={"a": [Step(error=errors.AuthFailedError("no", status=401))]}
    )
    [outcome] = await run_all(make_queue(orch), clock, [req("a")])
    assert outcome.status == "failed"
    assert orch.executed_paths() == ["a"]
    assert orch.committed == []


async def test_a_failed_commit_is_never_retried_even_with_a_retryable_error() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, commit_errors={"a": errors.ServerError("x", status=503)})
    [outcome] = await run_all(make_queue(orch), clock, [req("a")])
    # The provider answered once; a second call would be paid for and meet the same store.
    assert (outcome.status, outcome.attempts, outcome.error_class) == ("failed", 1, "server_error")
    assert orch.executed_paths() == ["a"]


def test_the_default_prepare_ahead_is_a_quarter_of_the_concurrency() -> None:
    assert QueueConfig(max_concurrency=64).workers == 80
    assert QueueConfig(max_concurrency=1).workers == 2
    assert QueueConfig(max_concurrency=8, prepare_ahead=0).workers == 8
    with pytest.raises(errors.ConfigError, match="prepare_ahead"):
        QueueConfig(prepare_ahead=-1)


async def test_per_agent_concurrency_is_respected() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock)
    queue = make_queue(orch, max_concurrency=8, max_concurrency_per_agent=2)
    requests = [req(f"a{i}", agent="a") for i in range(5)] + [
        req(f"b{i}", agent="b") for i in range(2)
    ]
    await run_all(queue, clock, requests)
    assert orch.peak["agent:a"] == 2 and orch.peak["agent:b"] == 2
    assert orch.peak["*"] == 4


async def test_requests_per_minute_paces_call_starts() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, script={f"r{i}": [Step(work_s=0.1)] for i in range(4)})
    queue = make_queue(
        orch, max_concurrency=4, limits={"fake": ProviderLimits(requests_per_minute=60)}
    )
    await run_all(queue, clock, [req(f"r{i}") for i in range(4)])
    assert sorted(c.at for c in orch.executed) == pytest.approx([0.0, 1.0, 2.0, 3.0])


async def test_tokens_per_minute_budget_uses_the_estimate() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock,
        token_estimate=300,
        script={f"r{i}": [Step(work_s=0.1, tokens=(250, 50))] for i in range(4)},
    )
    queue = make_queue(
        orch, max_concurrency=4, limits={"fake": ProviderLimits(tokens_per_minute=600)}
    )
    await run_all(queue, clock, [req(f"r{i}") for i in range(4)])
    assert sorted(c.at for c in orch.executed) == pytest.approx([0.0, 0.0, 30.0, 60.0])


async def test_reported_tokens_correct_the_estimate() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock,
        token_estimate=600,
        script={p: [Step(work_s=0.1, tokens=(80, 20))] for p in ("a", "b")},
    )
    queue = make_queue(orch, limits={"fake": ProviderLimits(tokens_per_minute=600)})
    await run_all(queue, clock, [req("a"), req("b")])
    # "a" budgeted the whole minute but used 100: 500 came back at t=0.1, so "b" needs only
    # 99 more tokens at 10 per second (without the correction it would wait until t=60).
    assert [c.at for c in orch.executed] == pytest.approx([0.0, 10.0])


# --- skip, stop, drain -------------------------------------------------------------------


async def test_skip_ends_as_skipped_without_execute() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, script={"a": [Step(skip=True)]})
    observer = RecordingObserver()
    [outcome] = await run_all(make_queue(orch, observer=observer), clock, [req("a")])
    assert outcome.status == "skipped" and outcome.attempts == 1
    assert outcome.skip is not None and outcome.skip.frame_id == b"\x01" * 32
    assert outcome.result is None and outcome.error is None
    assert orch.executed == []
    [skipped] = observer.named("request_skipped")
    assert skipped.data["reason"] == "head_reuse"
    assert queue_stats_last(observer)["skipped"] == 1


def queue_stats_last(observer: RecordingObserver) -> dict[str, object]:
    return dict(observer.named("queue_stats")[-1].data)


async def test_stop_cancels_in_flight_pending_and_delayed_requests() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock,
        script={
            "delayed": [Step(work_s=0.5, error=errors.ServerError("5xx", retry_after=50))],
            "slow": [Step(work_s=100.0)],
        },
    )
    observer = RecordingObserver()
    queue = make_queue(orch, observer=observer, max_concurrency=2)
    async with clock.auto_advance():
        queue.start()
        delayed = await queue.enqueue(req("delayed"))
        slow = await queue.enqueue(req("slow"))
        pending = await queue.enqueue(req("pending"))
        await clock.sleep(1)
        # "delayed" failed at t=0.5 and waits for its retry; its worker took "pending".
        assert (queue.stats().delayed, queue.stats().in_flight, queue.stats().pending) == (1, 2, 0)
        await queue.stop()
    outcomes = {name: await h.wait() for name, h in [("d", delayed), ("s", slow), ("p", pending)]}
    assert {name: o.status for name, o in outcomes.items()} == {
        "d": "cancelled",
        "s": "cancelled",
        "p": "cancelled",
    }
    assert sorted(c.path for c in orch.execute_cancelled) == ["pending", "slow"]
    assert asyncio.all_tasks() == {asyncio.current_task()}
    stats = queue.stats()
    assert (stats.pending, stats.delayed, stats.in_flight, stats.cancelled) == (0, 0, 0, 3)
    assert len(observer.named("request_cancelled")) == 3
    with pytest.raises(QueueClosedError):
        await queue.enqueue(req("late"))


async def test_stop_without_cancelling_lets_in_flight_attempts_finish() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock,
        script={
            "slow": [Step(work_s=5.0)],
            "fails": [Step(work_s=2.0, error=errors.ServerError("x"))],
        },
    )
    queue = make_queue(orch, max_concurrency=2)
    async with clock.auto_advance():
        queue.start()
        slow = await queue.enqueue(req("slow"))
        fails = await queue.enqueue(req("fails"))
        pending = await queue.enqueue(req("pending"))
        await clock.sleep(1)
        await queue.stop(cancel_in_flight=False)
        assert clock.now() == pytest.approx(5.0)
    assert (await slow.wait()).status == "done"
    assert (await pending.wait()).status == "cancelled"
    stopped = await fails.wait()  # its retry would start after the stop
    assert stopped.status == "cancelled" and stopped.error_class == "server_error"
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_drain_waits_through_retry_backoff() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(
        clock, script={"a": [Step(error=errors.ServerError("5xx", retry_after=30)), Step()]}
    )
    queue = make_queue(orch)
    async with clock.auto_advance(), queue:
        handle = await queue.enqueue(req("a"))
        assert await queue.drain(deadline_s=100.0)
        assert handle.done() and clock.now() == pytest.approx(32.0)
        assert queue.stats().completed == 1


async def test_drain_past_its_deadline_stops_and_cancels() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, script={"a": [Step(work_s=60.0)]})
    queue = make_queue(orch, max_concurrency=1)
    async with clock.auto_advance(), queue:
        running = await queue.enqueue(req("a"))
        waiting = await queue.enqueue(req("b"))
        assert not await queue.drain(deadline_s=10.0)
        assert clock.now() == pytest.approx(10.0)
    assert (await running.wait()).status == "cancelled"
    assert (await waiting.wait()).status == "cancelled"
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_start_is_idempotent_and_stop_is_safe_to_repeat() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock)
    queue = make_queue(orch, max_concurrency=3)
    async with clock.auto_advance():
        queue.start()
        queue.start()
        await clock.settle()
        assert len(asyncio.all_tasks()) == 1 + 1 + 1 + 3  # test, clock driver, runner, workers
        await queue.stop()
        await queue.stop()
    assert asyncio.all_tasks() == {asyncio.current_task()}


# --- telemetry ---------------------------------------------------------------------------


async def test_events_carry_the_request_and_stable_fields() -> None:
    clock = FakeClock()
    request = GenerationRequest(
        node_id=NodeId(bytes(range(32))),
        path=b"dir/caf\xe9.py",  # Latin-1 bytes: not UTF-8
        node_kind="file",
        depth=1,
        agent_id="docs-writer",
        provider_name="fake",
        frame_type="context-docs-writer",
    )
    orch = ScriptedOrchestration(
        clock,
        script={
            "dir/caf\\xe9.py": [
                Step(error=errors.ServerError("upstream 502", hint="never in events")),
                Step(error=errors.AuthFailedError("bad key", hint="set OPENAI_API_KEY")),
            ]
        },
    )
    observer = RecordingObserver()
    [outcome] = await run_all(make_queue(orch, observer=observer), clock, [request])
    assert outcome.status == "failed"
    names = [n for n in observer.names() if n != "queue_stats"]
    assert names == [
        "request_enqueued",
        "request_processing",
        "request_retry_scheduled",
        "request_processing",
        "request_failed",
    ]
    base = {
        "node_id": bytes(range(32)).hex(),
        "path": "dir/caf\\xe9.py",
        "agent_id": "docs-writer",
        "provider_name": "fake",
        "frame_type": "context-docs-writer",
    }
    for event in observer.events:
        if event.name != "queue_stats":
            assert {k: event.data[k] for k in base} == base
    assert [e.data["attempt"] for e in observer.named("request_processing")] == [1, 2]
    [failed] = observer.named("request_failed")
    assert failed.data["message"] == "bad key"
    assert (failed.data["attempts"], failed.data["error_class"]) == (2, "auth_failed")
    assert queue_stats_last(observer) == {
        "pending": 0,
        "delayed": 0,
        "in_flight": 0,
        "completed": 0,
        "skipped": 0,
        "failed": 1,
        "cancelled": 0,
        "retries_scheduled": 1,
    }


async def test_completed_event_reports_tokens() -> None:
    clock = FakeClock()
    orch = ScriptedOrchestration(clock, script={"a": [Step(tokens=(120, 30))]})
    observer = RecordingObserver()
    [outcome] = await run_all(make_queue(orch, observer=observer), clock, [req("a")])
    assert outcome.result is not None and outcome.result.tokens_in == 120
    [done] = observer.named("request_completed")
    assert (done.data["attempt"], done.data["tokens_in"], done.data["tokens_out"]) == (1, 120, 30)


async def test_a_raising_observer_does_not_break_the_queue() -> None:
    class Broken:
        def emit(self, event: object) -> None:
            raise RuntimeError("sink down")

    clock = FakeClock()
    orch = ScriptedOrchestration(clock)
    queue = FrameGenerationQueue(
        orch,
        config=QueueConfig(max_concurrency=1),
        clock=clock,
        observer=Broken(),
        limits_for=lambda _name: ProviderLimits(),
        rng=random.Random(SEED),
    )
    handle = await queue.enqueue(req("a"))
    async with clock.auto_advance(), queue:
        assert (await handle.wait()).status == "done"


def test_config_rejects_nonsense() -> None:
    with pytest.raises(errors.ConfigError, match="max_attempts"):
        QueueConfig(max_attempts=0)
    with pytest.raises(errors.ConfigError, match="attempt_timeout_s"):
        QueueConfig(attempt_timeout_s=0)


class _InstantOrchestration(CommitsAnswer):
    """Answers at once; for running the queue on the real clock."""

    async def prepare(self, request: GenerationRequest) -> PreparedCall:
        return PreparedCall(
            request=request, provider_name="p", token_estimate=1, input_key="k", payload=None
        )

    async def execute(self, prepared: PreparedCall) -> ExecutedCall:
        await asyncio.sleep(0)
        return answered(
            prepared,
            FrameResult(
                frame_id=FrameId(prepared.request.node_id),
                tokens_in=1,
                tokens_out=1,
                served_model="m",
                provider_name="p",
            ),
        )


async def test_runs_on_the_real_clock_with_an_attempt_timeout() -> None:
    queue = FrameGenerationQueue(
        _InstantOrchestration(),
        config=QueueConfig(max_concurrency=2, attempt_timeout_s=30.0),
        clock=MonotonicClock(),
        observer=RecordingObserver(),
        limits_for=lambda _name: ProviderLimits(max_concurrency=1),
        rng=random.Random(SEED),
    )
    async with queue:
        handles = await queue.enqueue_batch([(req(f"f{i}"), Priority.NORMAL) for i in range(5)])
        assert await queue.drain(deadline_s=30.0)
    assert [(await h.wait()).status for h in handles] == ["done"] * 5
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_stop_right_after_start_with_nothing_queued_returns_and_leaves_no_task() -> None:
    # A plan with nothing to do starts and stops the queue at once; stop must not wait for
    # workers the runner has not created yet.
    queue = make_queue(ScriptedOrchestration(FakeClock()), max_concurrency=4)
    async with queue:
        pass
    assert asyncio.all_tasks() == {asyncio.current_task()}
