"""Interrupting a running ``generate`` (Ctrl-C, SIGTERM, SIGHUP) without losing anything.

Owns the run's stop switch: the first interrupt stops intake (nothing new is submitted) and,
after a grace period on the run's clock, cancels what is still in flight through the queue; a
second interrupt cancels at once. Every task it starts is awaited by ``close``.

``signals`` installs the handlers for a run. The stop flag is set in the signal handler itself,
synchronously, so a signal that arrives while the run is busy without yielding to the event
loop (the scan, the plan, the first submissions) is seen before the first provider call: a run
interrupted before it starts executing sends nothing. The rest (the grace timer, cancelling)
runs on the event loop; a second signal before anything was submitted raises
``KeyboardInterrupt`` where the run is (a long scan stops there). ``abandon`` stops a run that
cannot go on (its store is full) without counting it as interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from contextree.context.clock import Clock
from contextree.context.generation.executor import Executor
from contextree.context.queue import FrameGenerationQueue

#: The signals that stop a run as Ctrl-C does: what ``timeout``, ``docker stop``, CI
#: cancellation and a closed terminal send.
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    s
    for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
    if s is not None
)


class RunControl:
    """Lets whoever started a run interrupt it: the first interrupt stops intake and, after
    ``grace_s``, cancels what is still in flight; a second one cancels at once."""

    def __init__(self, *, grace_s: float = 10.0) -> None:
        self.grace_s = grace_s
        self.interrupted = False
        #: The signal that interrupted the run (None: none, or ``interrupt`` was called).
        self.signal: signal.Signals | None = None
        self.abandoned = False
        self._executor: Executor | None = None
        self._queue: FrameGenerationQueue | None = None
        self._clock: Clock | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._grace_started = False

    @property
    def exit_code(self) -> int:
        """What a command interrupted by ``signal`` exits with: 128 + its number (130 for
        Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)."""
        return 128 + int(self.signal or signal.SIGINT)

    def attach(self, executor: Executor, queue: FrameGenerationQueue, clock: Clock) -> None:
        self._executor, self._queue, self._clock = executor, queue, clock
        if self.interrupted or self.abandoned:
            executor.stop_intake()
        if self.abandoned:
            self._cancel_now()
        elif self.interrupted and not self._grace_started:
            self._start_grace()

    def interrupt(self) -> None:
        """The first call stops intake and starts the grace period; the next cancels now."""
        if self.interrupted:
            self._cancel_now()
            return
        self._stop_intake()
        self._start_grace()

    def abandon(self) -> None:
        """Stop at once: submit nothing more and cancel what is in flight (not an interrupt:
        the run cannot go on, e.g. its store is full)."""
        if self.abandoned:
            return
        self.abandoned = True
        if self._executor is not None:
            self._executor.stop_intake()
        self._cancel_now()

    def _stop_intake(self) -> None:
        self.interrupted = True
        if self._executor is not None:
            self._executor.stop_intake()

    def _start_grace(self) -> None:
        if self._queue is None:
            return  # nothing runs yet: ``attach`` starts it
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: ``attach`` starts it
        self._grace_started = True
        self._tasks.append(loop.create_task(self._cancel_after_grace()))

    async def _cancel_after_grace(self) -> None:
        if self._clock is not None and self.grace_s > 0:
            await self._clock.sleep(self.grace_s)
        if self._queue is not None:
            await self._queue.stop(cancel_in_flight=True)

    def _cancel_now(self) -> None:
        if self._queue is None:
            return
        with contextlib.suppress(RuntimeError):  # no running loop: nothing is in flight
            stop = self._queue.stop(cancel_in_flight=True)
            self._tasks.append(asyncio.get_running_loop().create_task(stop))

    @contextlib.contextmanager
    def signals(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        """While the block runs, each of ``STOP_SIGNALS`` interrupts this run (in the main
        thread only; elsewhere, or where a signal cannot be caught, nothing is installed)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        seen = 0

        def handle(signum: int, frame: FrameType | None) -> None:
            nonlocal seen
            seen += 1
            if self.signal is None:
                self.signal = signal.Signals(signum)
            if seen == 1:
                self._stop_intake()  # now, before the loop runs again
            elif self._queue is None:
                # A second signal before anything was submitted (a long scan): stop now.
                raise KeyboardInterrupt
            loop.call_soon_threadsafe(self._on_signal, seen)

        previous: dict[signal.Signals, object] = {}
        try:
            for sig in STOP_SIGNALS:
                with contextlib.suppress(OSError, ValueError):
                    previous[sig] = signal.signal(sig, handle)
            yield
        finally:
            for sig, old in previous.items():
                with contextlib.suppress(OSError, ValueError, TypeError):
                    signal.signal(sig, old)  # type: ignore[arg-type]

    def _on_signal(self, seen: int) -> None:
        if seen == 1:
            if not self._grace_started:
                self._start_grace()
        else:
            self._cancel_now()

    async def close(self) -> None:
        """Cancel the grace timer and await every task this control started."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            if not task.done():
                task.cancel()
        if tasks:
            await asyncio.wait(tasks)
