"""The frame generation queue: request lifecycle only.

Owns running the requests its book (``queue_book.RequestBook``: intake, dedupe, ordering,
outcomes, stats and events) holds: the worker tasks, concurrency and rate limits around each
provider call, retry decisions (made from the error alone), the per-attempt timeout, start,
drain and shutdown.

It must not know how a frame is generated: it calls an injected ``Orchestration``'s ``prepare``,
``execute`` (holding a slot) and ``commit`` (slot released) and reads only the scheduling fields
of a ``PreparedCall`` and the token counts of an ``ExecutedCall``. It must not import
``contextree.providers``, ``contextree.metadata``, the prompt, provider or metadata units of
``context.generation``, or aiohttp, directly or indirectly (import-linter checks it). It is the
only layer that retries, and it never sleeps while holding a slot.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Self, TypeVar

from contextree.context.clock import Clock
from contextree.context.generation.contracts import (
    ExecutedCall,
    FrameResult,
    GenerationRequest,
    Orchestration,
    PreparedCall,
    Skip,
)
from contextree.context.limits import GenerationLimits, ProviderLimits
from contextree.context.queue_book import Entry, EntryState, RequestBook, RequestHandle
from contextree.context.queue_types import (
    BackoffClass,
    OutcomeStatus,
    QueueConfig,
    QueueEvent,
    QueueStats,
    RequestOutcome,
)
from contextree.context.retry import GiveUp, Retry, RetryPolicy
from contextree.errors import ClientTimeoutError, ContextreeError, ProviderError
from contextree.telemetry.events import Observer

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


class _DeadlinePassedError(Exception):
    """Internal: the clock passed a deadline before the awaited work finished."""


class FrameGenerationQueue(RequestBook):
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
        super().__init__(config=config, observer=observer)
        self._orchestration = orchestration
        self._clock = clock
        self._retry = RetryPolicy(config, rng)
        self._limits = GenerationLimits(
            clock=clock,
            max_concurrency=config.max_concurrency,
            max_concurrency_per_agent=config.max_concurrency_per_agent,
            limits_for=limits_for,
        )
        self._runner: asyncio.Task[None] | None = None
        self._task_group: asyncio.TaskGroup | None = None
        self._workers: list[asyncio.Task[None]] = []

    # --- workers -------------------------------------------------------------------------

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

    async def _process(self, entry: Entry) -> None:
        self._move(entry, EntryState.IN_FLIGHT)
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

    def _on_skip(self, entry: Entry, attempted: GenerationRequest, skip: Skip) -> None:
        if entry.request.force and not attempted.force and not self._stopping:
            # A forced caller attached while this attempt ran; a reused head is not what it
            # asked for, so run again, forced (not a retry: nothing failed).
            self._move(entry, EntryState.PENDING)
            self._push(entry)
            self._stats_changed()
            return
        self._finish(entry, OutcomeStatus.SKIPPED, skip=skip)

    def _on_error(
        self,
        entry: Entry,
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

    def _schedule_retry(self, entry: Entry, retry: Retry, error: ProviderError) -> None:
        entry.backoff.append(retry.backoff)
        self._move(entry, EntryState.DELAYED)
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

    async def _release_after(self, entry: Entry, delay: float) -> None:
        await self._clock.sleep(delay)
        entry.timer = None
        if entry.state is EntryState.DELAYED:
            self._move(entry, EntryState.PENDING)
            self._push(entry)
            self._stats_changed()

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
