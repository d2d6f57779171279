"""Interrupting a running ``generate`` (Ctrl-C) without losing anything.

Owns the run's stop switch: the first interrupt stops intake (nothing new is submitted) and,
after a grace period on the run's clock, cancels what is still in flight through the queue; a
second interrupt cancels at once. Every task it starts is awaited by ``close``.
"""

from __future__ import annotations

import asyncio

from contextree.context.clock import Clock
from contextree.context.generation.executor import Executor
from contextree.context.queue import FrameGenerationQueue


class RunControl:
    """Lets whoever started a run interrupt it (Ctrl-C): the first interrupt stops intake
    and, after ``grace_s``, cancels what is still in flight; a second one cancels at once."""

    def __init__(self, *, grace_s: float = 10.0) -> None:
        self.grace_s = grace_s
        self.interrupted = False
        self._executor: Executor | None = None
        self._queue: FrameGenerationQueue | None = None
        self._clock: Clock | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def attach(self, executor: Executor, queue: FrameGenerationQueue, clock: Clock) -> None:
        self._executor, self._queue, self._clock = executor, queue, clock
        if self.interrupted:
            executor.stop_intake()

    def interrupt(self) -> None:
        if self.interrupted:
            self._cancel_now()
            return
        self.interrupted = True
        if self._executor is not None:
            self._executor.stop_intake()
        self._tasks.append(asyncio.get_running_loop().create_task(self._cancel_after_grace()))

    async def _cancel_after_grace(self) -> None:
        if self._clock is not None and self.grace_s > 0:
            await self._clock.sleep(self.grace_s)
        if self._queue is not None:
            await self._queue.stop(cancel_in_flight=True)

    def _cancel_now(self) -> None:
        if self._queue is not None:
            stop = self._queue.stop(cancel_in_flight=True)
            self._tasks.append(asyncio.get_running_loop().create_task(stop))

    async def close(self) -> None:
        """Cancel the grace timer and await every task this control started."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            if not task.done():
                task.cancel()
        if tasks:
            await asyncio.wait(tasks)
