"""A virtual clock for tests: time moves only when the event loop has nothing else to do.

``FakeClock`` implements ``contextree.context.clock.Clock``. ``sleep(d)`` registers a timer at
``now() + d``; nothing fires until a driver advances time:

- ``async with clock.auto_advance():`` runs a background task that lets the loop settle (it
  yields ``settle_turns`` times) and then jumps to the earliest timer, firing every timer due
  at that instant; with no timers it waits until one is registered;
- ``await clock.run(coro)`` is the same around one awaitable;
- ``await clock.advance(seconds)`` moves time by hand, firing timers in order on the way.

Runs are deterministic, and tests assert on virtual times, never on the wall clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar

_T = TypeVar("_T")


class FakeClock:
    """Virtual monotonic seconds, starting at ``start``."""

    def __init__(self, start: float = 0.0, *, settle_turns: int = 25) -> None:
        self._now = start
        self._settle_turns = settle_turns
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._timer_added: asyncio.Event | None = None
        #: Every positive duration passed to ``sleep``, in call order.
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        self.sleeps.append(seconds)
        timer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self._now + seconds, next(self._seq), timer))
        if self._timer_added is not None:
            self._timer_added.set()
        await timer  # a cancelled sleep cancels the timer; firing skips it

    def next_deadline(self) -> float | None:
        self._drop_cancelled()
        return self._timers[0][0] if self._timers else None

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0][2].done():
            heapq.heappop(self._timers)

    def _fire_next(self) -> bool:
        """Jump to the earliest timer and fire every timer due then; False if none."""
        deadline = self.next_deadline()
        if deadline is None:
            return False
        self._now = max(self._now, deadline)
        while self._timers and self._timers[0][0] <= self._now:
            _, _, timer = heapq.heappop(self._timers)
            if not timer.done():
                timer.set_result(None)
        return True

    async def settle(self) -> None:
        """Let every runnable task run until it waits for something."""
        for _ in range(self._settle_turns):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing due timers in order."""
        target = self._now + seconds
        await self.settle()
        while (deadline := self.next_deadline()) is not None and deadline <= target:
            self._fire_next()
            await self.settle()
        self._now = max(self._now, target)
        await self.settle()

    async def _drive(self) -> None:
        timer_added = self._timer_added = asyncio.Event()
        while True:
            await self.settle()
            if not self._fire_next():
                timer_added.clear()
                await timer_added.wait()

    @asynccontextmanager
    async def auto_advance(self) -> AsyncIterator[FakeClock]:
        """Advance time whenever the loop is idle, until the block exits."""
        driver = asyncio.get_running_loop().create_task(self._drive(), name="fake-clock")
        try:
            yield self
        finally:
            driver.cancel()
            await asyncio.wait((driver,))
            self._timer_added = None

    async def run(self, awaitable: Awaitable[_T]) -> _T:
        """Await ``awaitable`` while time advances automatically."""
        async with self.auto_advance():
            return await awaitable
