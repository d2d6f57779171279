"""The frame generation queue: request lifecycle only.

Owns intake (enqueue, batch, bounded size), ordering (plan items, then priority, then deepest
first, then age), dedupe on (node, agent, frame type) with every waiter getting the one outcome,
the worker tasks, concurrency and rate limits around each provider call, retry decisions (made
from the error alone), the per-attempt timeout, shutdown, stats and queue telemetry.

It must not know how a frame is generated: it calls an injected ``Orchestration``'s ``prepare``,
``execute`` (holding a slot) and ``commit`` (slot released) and reads only the scheduling fields
of a ``PreparedCall`` and the token counts of an ``ExecutedCall``. It must not import
``contextree.providers``, ``contextree.metadata``, the prompt, provider or metadata units of
``context.generation``, or aiohttp, directly or indirectly (import-linter checks it). It is the
only layer that retries, and it never sleeps while holding a slot.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import logging
import random
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Self, TypeVar

from contextree.context.clock import Clock
from contextree.context.generation.contracts import (
    ExecutedCall,
    FrameResult,
    GenerationRequest,
    Orchestration,
    PreparedCall,
    Priority,
    RequestIdentity,
    Skip,
)
from contextree.context.limits import GenerationLimits, ProviderLimits
from contextree.context.queue_types import (
    BackoffClass,
    OutcomeStatus,
    QueueConfig,
    QueueEvent,
    QueueStats,
    RequestOutcome,
)
from contextree.context.retry import GiveUp, Retry, RetryPolicy
from contextree.errors import (
    ClientTimeoutError,
    ContextreeError,
    ProviderError,
    QueueClosedError,
    QueueFullError,
)
from contextree.telemetry.events import Event, EventValue, Observer, safe_emit

__all__ = [
    "BackoffClass",
    "FrameGenerationQueue",
    "OutcomeStatus",
    "QueueConfig",
    "QueueEvent",
    "QueueStats",
    "RequestHandle",
    "RequestOutcome",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class _State(enum.StrEnum):
    PENDING = "pending"
    DELAYED = "delayed"
    IN_FLIGHT = "in_flight"
    FINISHED = "finished"


class _Entry:
    """One unfinished request and everyone waiting for it."""

    __slots__ = (
        "attempts",
        "backoff",
        "callbacks",
        "data",
        "heap_version",
        "outcome",
        "priority",
        "request",
        "seq",
        "state",
        "timer",
    )

    def __init__(self, request: GenerationRequest, priority: Priority, seq: int) -> None:
        self.request = request
        self.priority = priority
        self.seq = seq  # age: enqueue order, kept across retries
        self.attempts = 0
        self.backoff: list[BackoffClass] = []
        self.state = _State.PENDING
        self.heap_version = -1
        self.timer: asyncio.Task[None] | None = None
        self.outcome: RequestOutcome | None = None
        #: Called with the outcome when the request finishes, in the order they were added.
        self.callbacks: list[Callable[[RequestOutcome], None]] = []
        #: The fields every event about this request carries (its identity never changes).
        self.data = _request_data(request)

    def sort_key(self) -> tuple[int, int, int, int]:
        # heapq pops the smallest: plan items, higher priority, deeper, older first.
        plan_rank = 0 if self.request.plan_id is not None else 1
        return (plan_rank, -int(self.priority), -self.request.depth, self.seq)


class RequestHandle:
    """A caller's ticket for a request; ``deduplicated`` says it attached to an existing one."""

    __slots__ = ("_entry", "deduplicated", "request")

    def __init__(self, entry: _Entry, request: GenerationRequest, *, deduplicated: bool) -> None:
        self._entry = entry
        self.request = request
        self.deduplicated = deduplicated

    def done(self) -> bool:
        return self._entry.outcome is not None

    def add_done_callback(self, callback: Callable[[RequestOutcome], None]) -> None:
        """Call ``callback`` with the outcome when the request finishes (at once if it has).
        It runs inside the queue's bookkeeping: it must be quick and must not raise."""
        entry = self._entry
        if entry.outcome is not None:
            callback(entry.outcome)
        else:
            entry.callbacks.append(callback)

    async def wait(self) -> RequestOutcome:
        """The request's outcome. Failures come back as outcomes, never as exceptions;
        cancelling this wait leaves the request and its other waiters alone."""
        entry = self._entry
        if entry.outcome is not None:
            return entry.outcome
        waiter: asyncio.Future[RequestOutcome] = asyncio.get_running_loop().create_future()

        def wake(outcome: RequestOutcome) -> None:
            if not waiter.done():
                waiter.set_result(outcome)

        entry.callbacks.append(wake)
        return await waiter


class _DeadlinePassedError(Exception):
    """Internal: the clock passed a deadline before the awaited work finished."""


def _error_class(error: BaseException) -> str:
    return error.error_class if isinstance(error, ContextreeError) else "internal_error"


def _error_message(error: BaseException) -> str:
    return error.message if isinstance(error, ContextreeError) else str(error)


def _request_data(request: GenerationRequest) -> dict[str, EventValue]:
    return {
        "node_id": request.node_id.hex(),
        # As ``display_path`` writes it (the root is "."), like every other event's path.
        "path": request.path.decode("utf-8", "backslashreplace") or ".",
        "agent_id": request.agent_id,
        "provider_name": request.provider_name,
        "frame_type": request.frame_type,
    }


class FrameGenerationQueue:
    """Runs generation requests through an ``Orchestration`` with ordering, dedupe, limits and
    retries. Use it as an async context manager, or call ``start()`` and ``await stop()``."""

    def __init__(
        self,
        orchestration: Orchestration,
        *,
        config: QueueConfig,
        clock: Clock,
        observer: Observer,
        limits_for: Callable[[str], ProviderLimits],
        rng: random.Random,
    ) -> None:
        self._orchestration = orchestration
        self._config = config
        self._clock = clock
        self._observer = observer
        self._retry = RetryPolicy(config, rng)
        self._limits = GenerationLimits(
            clock=clock,
            max_concurrency=config.max_concurrency,
            max_concurrency_per_agent=config.max_concurrency_per_agent,
            limits_for=limits_for,
        )
        self._entries: dict[RequestIdentity, _Entry] = {}
        # (sort key, push version, entry); an entry re-pushed after a priority raise leaves a
        # stale item behind, recognised by its version and skipped when popped.
        self._ready: list[tuple[tuple[int, int, int, int], int, _Entry]] = []
        self._counts = dict.fromkeys(_State, 0)
        self._finished = dict.fromkeys(OutcomeStatus, 0)
        self._retries_scheduled = 0
        self._seq = itertools.count()
        self._versions = itertools.count()
        self._idle_workers: deque[asyncio.Future[None]] = deque()
        self._all_finished = asyncio.Event()
        self._all_finished.set()
        self._runner: asyncio.Task[None] | None = None
        self._task_group: asyncio.TaskGroup | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False
        self._stats_scheduled = False

    # --- intake --------------------------------------------------------------------------

    async def enqueue(
        self, request: GenerationRequest, priority: Priority = Priority.NORMAL
    ) -> RequestHandle:
        """Add a request, or attach to the unfinished one with the same identity."""
        return self.enqueue_nowait(request, priority)

    def enqueue_nowait(
        self, request: GenerationRequest, priority: Priority = Priority.NORMAL
    ) -> RequestHandle:
        """``enqueue`` for callers already on the event loop (it never waits)."""
        self._check_open()
        entry = self._entries.get(request.identity)
        if entry is not None:
            self._attach(entry, request, priority)
            return RequestHandle(entry, request, deduplicated=True)
        self._check_room(1)
        return RequestHandle(self._admit(request, priority), request, deduplicated=False)

    async def enqueue_and_wait(
        self, request: GenerationRequest, priority: Priority = Priority.NORMAL
    ) -> RequestOutcome:
        """Enqueue and wait for the outcome."""
        handle = await self.enqueue(request, priority)
        return await handle.wait()

    async def enqueue_batch(
        self, items: Sequence[tuple[GenerationRequest, Priority]]
    ) -> list[RequestHandle]:
        """Enqueue all of ``items`` or, if they would not fit, none of them."""
        self._check_open()
        new = {request.identity for request, _ in items} - self._entries.keys()
        self._check_room(len(new))
        handles = []
        for request, priority in items:
            entry = self._entries.get(request.identity)
            if entry is not None:
                self._attach(entry, request, priority)
                handles.append(RequestHandle(entry, request, deduplicated=True))
            else:
                entry = self._admit(request, priority)
                handles.append(RequestHandle(entry, request, deduplicated=False))
        return handles

    def _check_open(self) -> None:
        if self._stopping:
            raise QueueClosedError(
                "the generation queue is stopped and accepts no new requests",
                hint="Start a new queue for new work.",
            )

    def _check_room(self, adding: int) -> None:
        unfinished = len(self._entries)
        if unfinished + adding > self._config.max_pending:
            raise QueueFullError(
                unfinished=unfinished, adding=adding, max_pending=self._config.max_pending
            )

    def _admit(self, request: GenerationRequest, priority: Priority) -> _Entry:
        entry = _Entry(request, priority, next(self._seq))
        self._entries[request.identity] = entry
        self._counts[_State.PENDING] += 1
        self._all_finished.clear()
        self._push(entry)
        self._emit(
            QueueEvent.ENQUEUED,
            entry,
            priority=int(priority),
            force=request.force,
            plan_id=request.plan_id,
        )
        self._stats_changed()
        return entry

    def _attach(self, entry: _Entry, request: GenerationRequest, priority: Priority) -> None:
        reorder = False
        if priority > entry.priority:
            entry.priority = priority
            reorder = True
        if request.plan_id is not None and entry.request.plan_id is None:
            entry.request = replace(entry.request, plan_id=request.plan_id)
            reorder = True
        if request.force and not entry.request.force:
            entry.request = replace(entry.request, force=True)
        if reorder and entry.state is _State.PENDING:
            self._push(entry)
        self._emit(
            QueueEvent.DEDUPLICATED,
            _request_data(request),  # the attaching caller's request, as it asked
            state=entry.state.value,
            priority=int(entry.priority),
            force=entry.request.force,
        )

    # --- ready heap and workers ----------------------------------------------------------

    def _push(self, entry: _Entry) -> None:
        entry.heap_version = next(self._versions)
        heapq.heappush(self._ready, (entry.sort_key(), entry.heap_version, entry))
        while self._idle_workers:
            waiter = self._idle_workers.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def _take(self) -> _Entry | None:
        while self._ready:
            _, version, entry = heapq.heappop(self._ready)
            if entry.state is _State.PENDING and entry.heap_version == version:
                return entry
        return None

    def _move(self, entry: _Entry, state: _State) -> None:
        self._counts[entry.state] -= 1
        self._counts[state] += 1
        entry.state = state

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            entry = self._take()
            if entry is None:
                waiter: asyncio.Future[None] = loop.create_future()
                self._idle_workers.append(waiter)
                await waiter
                continue
            await self._process(entry)

    async def _process(self, entry: _Entry) -> None:
        self._move(entry, _State.IN_FLIGHT)
        entry.attempts += 1
        request = entry.request  # later attachers may upgrade entry.request; this attempt won't
        self._emit(QueueEvent.PROCESSING, entry, attempt=entry.attempts)
        self._stats_changed()
        prepared: PreparedCall | None = None
        ended: FrameResult | Skip
        committing = False
        try:
            step = await self._orchestration.prepare(request)
            if isinstance(step, Skip):
                ended = step
            else:
                prepared = step
                executed = await self._call(request, prepared)
                committing = True
                ended = await self._orchestration.commit(executed)
        except asyncio.CancelledError:
            self._finish(entry, OutcomeStatus.CANCELLED)
            raise
        except Exception as exc:
            # Once the provider has answered, nothing is retried: whatever stopped the write,
            # asking again would pay for a second call and meet the same store.
            self._on_error(entry, request, prepared, exc, retryable=not committing)
            return
        if isinstance(ended, Skip):
            self._on_skip(entry, request, ended)
        else:
            self._finish(entry, OutcomeStatus.DONE, result=ended)

    async def _call(self, request: GenerationRequest, prepared: PreparedCall) -> ExecutedCall:
        """``execute`` inside the limits; the slot is released before the frame is written."""
        limits, provider = self._limits, prepared.provider_name
        rate_limiter = await limits.acquire(
            agent_id=request.agent_id,
            provider_name=provider,
            token_estimate=prepared.token_estimate,
        )
        try:
            executed = await self._execute(prepared)
            rate_limiter.correct(prepared.token_estimate, executed.tokens_in + executed.tokens_out)
        finally:
            limits.release(agent_id=request.agent_id, provider_name=provider)
        return executed

    async def _execute(self, prepared: PreparedCall) -> ExecutedCall:
        timeout = self._config.attempt_timeout_s
        if timeout is None:
            return await self._orchestration.execute(prepared)
        try:
            return await self._within(self._orchestration.execute(prepared), timeout)
        except _DeadlinePassedError:
            raise ClientTimeoutError(
                f"{prepared.provider_name} did not answer within {timeout:g} s",
                hint="Raise [generation] attempt_timeout_s if the model is just slow.",
            ) from None

    async def _within(self, work: Coroutine[object, object, _T], seconds: float) -> _T:
        """Await ``work``, or cancel it and raise ``_DeadlinePassedError`` once ``seconds``
        pass on the clock. Both helper tasks are awaited before returning."""
        task = asyncio.ensure_future(work)
        timer = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait((task, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            task.cancel()  # no effect once it finished
            await asyncio.wait((task, timer))
        if task.cancelled() and timer.done() and not timer.cancelled():
            raise _DeadlinePassedError
        return task.result()

    # --- outcomes ------------------------------------------------------------------------

    def _on_skip(self, entry: _Entry, attempted: GenerationRequest, skip: Skip) -> None:
        if entry.request.force and not attempted.force and not self._stopping:
            # A forced caller attached while this attempt ran; a reused head is not what it
            # asked for, so run again, forced (not a retry: nothing failed).
            self._move(entry, _State.PENDING)
            self._push(entry)
            self._stats_changed()
            return
        self._finish(entry, OutcomeStatus.SKIPPED, skip=skip)

    def _on_error(
        self,
        entry: _Entry,
        request: GenerationRequest,
        prepared: PreparedCall | None,
        error: Exception,
        *,
        retryable: bool = True,
    ) -> None:
        if not isinstance(error, ContextreeError):
            log.error("generation of %r failed unexpectedly", request.path, exc_info=error)
        if not retryable or not isinstance(error, ProviderError):
            self._finish(entry, OutcomeStatus.FAILED, error=error)
            return
        decision = self._retry.decide(error, entry.attempts)
        retry_after = error.retry_after
        if (
            error.error_class == "rate_limited"
            and retry_after is not None
            and not self._retry.quota_exceeded(error)
        ):
            # The provider asked everyone to back off, not only this request.
            provider = prepared.provider_name if prepared is not None else request.provider_name
            self._limits.rate_limiter(provider).pause_until(self._clock.now() + retry_after)
        if isinstance(decision, GiveUp):
            self._finish(entry, OutcomeStatus.FAILED, error=decision.error)
        elif self._stopping:
            self._finish(entry, OutcomeStatus.CANCELLED, error=error)
        else:
            self._schedule_retry(entry, decision, error)

    def _schedule_retry(self, entry: _Entry, retry: Retry, error: ProviderError) -> None:
        entry.backoff.append(retry.backoff)
        self._move(entry, _State.DELAYED)
        self._retries_scheduled += 1
        assert self._task_group is not None  # retries are decided inside a running worker
        entry.timer = self._task_group.create_task(self._release_after(entry, retry.delay_s))
        self._emit(
            QueueEvent.RETRY_SCHEDULED,
            entry,
            attempt=entry.attempts,
            delay_s=retry.delay_s,
            backoff_class=retry.backoff.value,
            error_class=error.error_class,
        )
        self._stats_changed()

    async def _release_after(self, entry: _Entry, delay: float) -> None:
        await self._clock.sleep(delay)
        entry.timer = None
        if entry.state is _State.DELAYED:
            self._move(entry, _State.PENDING)
            self._push(entry)
            self._stats_changed()

    def _finish(
        self,
        entry: _Entry,
        status: OutcomeStatus,
        *,
        result: FrameResult | None = None,
        skip: Skip | None = None,
        error: BaseException | None = None,
    ) -> None:
        was = entry.state
        self._move(entry, _State.FINISHED)
        if entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None
        outcome = RequestOutcome(
            status=status,
            request=entry.request,
            result=result,
            skip=skip,
            error=error,
            error_class=None if error is None else _error_class(error),
            attempts=entry.attempts,
            backoff_classes=tuple(entry.backoff),
        )
        entry.outcome = outcome
        del self._entries[entry.request.identity]
        self._finished[status] += 1
        callbacks, entry.callbacks = entry.callbacks, []
        for callback in callbacks:
            callback(outcome)
        if not self._entries:
            self._all_finished.set()
        self._emit_outcome(entry, outcome, was)
        self._stats_changed()

    def _emit_outcome(self, entry: _Entry, outcome: RequestOutcome, was: _State) -> None:
        if outcome.status is OutcomeStatus.DONE:
            assert outcome.result is not None
            self._emit(
                QueueEvent.COMPLETED,
                entry,
                attempt=outcome.attempts,
                tokens_in=outcome.result.tokens_in,
                tokens_out=outcome.result.tokens_out,
            )
        elif outcome.status is OutcomeStatus.SKIPPED:
            assert outcome.skip is not None
            self._emit(QueueEvent.SKIPPED, entry, reason=outcome.skip.reason)
        elif outcome.status is OutcomeStatus.FAILED:
            assert outcome.error is not None
            self._emit(
                QueueEvent.FAILED,
                entry,
                attempts=outcome.attempts,
                error_class=outcome.error_class,
                message=_error_message(outcome.error),
            )
        else:
            self._emit(QueueEvent.CANCELLED, entry, attempts=outcome.attempts, state=was.value)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers (once; later calls do nothing). Needs a running event loop."""
        self._check_open()
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(
                self._run(), name="generation-queue"
            )

    async def _run(self) -> None:
        try:
            async with asyncio.TaskGroup() as task_group:
                self._task_group = task_group
                self._workers = [
                    task_group.create_task(self._worker(), name=f"generation-worker-{i}")
                    for i in range(self._config.workers)
                ]
        finally:
            # No worker is left: nothing unfinished can finish any more.
            self._task_group = None
            self._cancel_unfinished(in_flight_too=True)

    def _cancel_unfinished(self, *, in_flight_too: bool) -> None:
        """Give every pending and delayed request (and, if asked, every in-flight one) a
        ``cancelled`` outcome."""
        for entry in list(self._entries.values()):
            if in_flight_too or entry.state is not _State.IN_FLIGHT:
                self._finish(entry, OutcomeStatus.CANCELLED)
        self._ready.clear()

    async def stop(self, cancel_in_flight: bool = True) -> None:
        """Take no new requests; cancel pending and delayed ones; cancel the in-flight ones,
        or with ``cancel_in_flight=False`` let their current attempt finish (a retry they
        would need ends as ``cancelled``). Returns when every worker has exited."""
        if self._stopping:
            if self._runner is not None:
                await asyncio.wait((self._runner,))
            return
        self._stopping = True
        self._cancel_unfinished(in_flight_too=False)
        if self._runner is not None:
            if not cancel_in_flight:
                await self._all_finished.wait()
            # Cancel the runner, not the workers one by one: it may not have created them
            # yet (a stop right after start), and its TaskGroup cancels whatever it has.
            self._runner.cancel()
            await asyncio.wait((self._runner,))
        self._stats_scheduled = False
        self._emit_stats()

    async def drain(self, deadline_s: float | None = None) -> bool:
        """Wait until no request is pending, delayed or in flight. ``deadline_s`` is how many
        seconds (on the queue's clock) to wait; once they pass, stop with cancellation and
        return False. Returns True when everything finished. Requests finish only while the
        queue runs: drain a started queue."""
        if deadline_s is None:
            await self._all_finished.wait()
            return True
        try:
            await self._within(self._all_finished.wait(), deadline_s)
        except _DeadlinePassedError:
            await self.stop(cancel_in_flight=True)
            return False
        return True

    def stats(self) -> QueueStats:
        return QueueStats(
            pending=self._counts[_State.PENDING],
            delayed=self._counts[_State.DELAYED],
            in_flight=self._counts[_State.IN_FLIGHT],
            completed=self._finished[OutcomeStatus.DONE],
            skipped=self._finished[OutcomeStatus.SKIPPED],
            failed=self._finished[OutcomeStatus.FAILED],
            cancelled=self._finished[OutcomeStatus.CANCELLED],
            retries_scheduled=self._retries_scheduled,
        )

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop(cancel_in_flight=True)

    # --- telemetry -----------------------------------------------------------------------

    def _emit(
        self, name: QueueEvent, about: _Entry | dict[str, EventValue], **fields: EventValue
    ) -> None:
        base = about.data if isinstance(about, _Entry) else about
        data = {**base, **fields}
        safe_emit(self._observer, Event(name=name.value, data=data))

    def _stats_changed(self) -> None:
        # At most one queue_stats event per event-loop turn, however many changes it saw.
        if not self._stats_scheduled:
            self._stats_scheduled = True
            asyncio.get_running_loop().call_soon(self._emit_stats_if_scheduled)

    def _emit_stats_if_scheduled(self) -> None:
        if self._stats_scheduled:
            self._stats_scheduled = False
            self._emit_stats()

    def _emit_stats(self) -> None:
        stats = self.stats()
        data: dict[str, EventValue] = {
            "pending": stats.pending,
            "delayed": stats.delayed,
            "in_flight": stats.in_flight,
            "completed": stats.completed,
            "skipped": stats.skipped,
            "failed": stats.failed,
            "cancelled": stats.cancelled,
            "retries_scheduled": stats.retries_scheduled,
        }
        safe_emit(self._observer, Event(name=QueueEvent.STATS.value, data=data))
