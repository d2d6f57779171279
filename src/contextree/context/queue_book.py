"""The queue's book of unfinished requests: what is waiting, in what order, and who for.

Owns the entries keyed by request identity (dedupe: a second caller attaches to the unfinished
entry, and every waiter gets the one outcome), intake (enqueue, batch, bounded size, closed
after stop), the ready heap and its order (plan items, then priority, then deepest first, then
age), the count of entries in each state, finishing an entry (its ``RequestOutcome`` handed to
every waiter), stats and the queue's events. ``RequestBook`` is the base of
``FrameGenerationQueue``; it runs nothing: workers, limits, timeouts and retries are in
``queue``. Like the queue, it imports nothing about prompts, providers or metadata.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace

from contextree.context.generation.contracts import (
    FrameResult,
    GenerationRequest,
    Priority,
    RequestIdentity,
    Skip,
)
from contextree.context.queue_types import (
    BackoffClass,
    OutcomeStatus,
    QueueConfig,
    QueueEvent,
    QueueStats,
    RequestOutcome,
)
from contextree.errors import ContextreeError, QueueClosedError, QueueFullError
from contextree.telemetry.events import Event, EventValue, Observer, safe_emit


class EntryState(enum.StrEnum):
    PENDING = "pending"
    DELAYED = "delayed"
    IN_FLIGHT = "in_flight"
    FINISHED = "finished"


class Entry:
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
        self.state = EntryState.PENDING
        self.heap_version = -1
        self.timer: asyncio.Task[None] | None = None
        self.outcome: RequestOutcome | None = None
        #: Called with the outcome when the request finishes, in the order they were added.
        self.callbacks: list[Callable[[RequestOutcome], None]] = []
        #: The fields every event about this request carries (its identity never changes).
        self.data = request_data(request)

    def sort_key(self) -> tuple[int, int, int, int]:
        # heapq pops the smallest: plan items, higher priority, deeper, older first.
        plan_rank = 0 if self.request.plan_id is not None else 1
        return (plan_rank, -int(self.priority), -self.request.depth, self.seq)


class RequestHandle:
    """A caller's ticket for a request; ``deduplicated`` says it attached to an existing one."""

    __slots__ = ("_entry", "deduplicated", "request")

    def __init__(self, entry: Entry, request: GenerationRequest, *, deduplicated: bool) -> None:
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


def error_class_of(error: BaseException) -> str:
    return error.error_class if isinstance(error, ContextreeError) else "internal_error"


def error_message_of(error: BaseException) -> str:
    return error.message if isinstance(error, ContextreeError) else str(error)


def request_data(request: GenerationRequest) -> dict[str, EventValue]:
    return {
        "node_id": request.node_id.hex(),
        # As ``display_path`` writes it (the root is "."), like every other event's path.
        "path": request.path.decode("utf-8", "backslashreplace") or ".",
        "agent_id": request.agent_id,
        "provider_name": request.provider_name,
        "frame_type": request.frame_type,
    }


class RequestBook:
    """The unfinished requests of one queue and the bookkeeping around them."""

    def __init__(self, *, config: QueueConfig, observer: Observer) -> None:
        self._config = config
        self._observer = observer
        self._entries: dict[RequestIdentity, Entry] = {}
        # (sort key, push version, entry); an entry re-pushed after a priority raise leaves a
        # stale item behind, recognised by its version and skipped when popped.
        self._ready: list[tuple[tuple[int, int, int, int], int, Entry]] = []
        self._counts = dict.fromkeys(EntryState, 0)
        self._finished = dict.fromkeys(OutcomeStatus, 0)
        self._retries_scheduled = 0
        self._seq = itertools.count()
        self._versions = itertools.count()
        self._idle_workers: deque[asyncio.Future[None]] = deque()
        self._all_finished = asyncio.Event()
        self._all_finished.set()
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

    def _admit(self, request: GenerationRequest, priority: Priority) -> Entry:
        entry = Entry(request, priority, next(self._seq))
        self._entries[request.identity] = entry
        self._counts[EntryState.PENDING] += 1
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

    def _attach(self, entry: Entry, request: GenerationRequest, priority: Priority) -> None:
        reorder = False
        if priority > entry.priority:
            entry.priority = priority
            reorder = True
        if request.plan_id is not None and entry.request.plan_id is None:
            entry.request = replace(entry.request, plan_id=request.plan_id)
            reorder = True
        if request.force and not entry.request.force:
            entry.request = replace(entry.request, force=True)
        if reorder and entry.state is EntryState.PENDING:
            self._push(entry)
        self._emit(
            QueueEvent.DEDUPLICATED,
            request_data(request),  # the attaching caller's request, as it asked
            state=entry.state.value,
            priority=int(entry.priority),
            force=entry.request.force,
        )

    # --- ready heap ---------------------------------------------------------------------

    def _push(self, entry: Entry) -> None:
        entry.heap_version = next(self._versions)
        heapq.heappush(self._ready, (entry.sort_key(), entry.heap_version, entry))
        while self._idle_workers:
            waiter = self._idle_workers.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def _take(self) -> Entry | None:
        while self._ready:
            _, version, entry = heapq.heappop(self._ready)
            if entry.state is EntryState.PENDING and entry.heap_version == version:
                return entry
        return None

    def _move(self, entry: Entry, state: EntryState) -> None:
        self._counts[entry.state] -= 1
        self._counts[state] += 1
        entry.state = state

    # --- outcomes ------------------------------------------------------------------------

    def _finish(
        self,
        entry: Entry,
        status: OutcomeStatus,
        *,
        result: FrameResult | None = None,
        skip: Skip | None = None,
        error: BaseException | None = None,
    ) -> None:
        was = entry.state
        self._move(entry, EntryState.FINISHED)
        if entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None
        outcome = RequestOutcome(
            status=status,
            request=entry.request,
            result=result,
            skip=skip,
            error=error,
            error_class=None if error is None else error_class_of(error),
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

    def _emit_outcome(self, entry: Entry, outcome: RequestOutcome, was: EntryState) -> None:
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
                message=error_message_of(outcome.error),
            )
        else:
            self._emit(QueueEvent.CANCELLED, entry, attempts=outcome.attempts, state=was.value)

    def _cancel_unfinished(self, *, in_flight_too: bool) -> None:
        """Give every pending and delayed request (and, if asked, every in-flight one) a
        ``cancelled`` outcome."""
        for entry in list(self._entries.values()):
            if in_flight_too or entry.state is not EntryState.IN_FLIGHT:
                self._finish(entry, OutcomeStatus.CANCELLED)
        self._ready.clear()

    def stats(self) -> QueueStats:
        return QueueStats(
            pending=self._counts[EntryState.PENDING],
            delayed=self._counts[EntryState.DELAYED],
            in_flight=self._counts[EntryState.IN_FLIGHT],
            completed=self._finished[OutcomeStatus.DONE],
            skipped=self._finished[OutcomeStatus.SKIPPED],
            failed=self._finished[OutcomeStatus.FAILED],
            cancelled=self._finished[OutcomeStatus.CANCELLED],
            retries_scheduled=self._retries_scheduled,
        )

    # --- telemetry -----------------------------------------------------------------------

    def _emit(
        self, name: QueueEvent, about: Entry | dict[str, EventValue], **fields: EventValue
    ) -> None:
        base = about.data if isinstance(about, Entry) else about
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
