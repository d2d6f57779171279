"""The clock the generation machinery waits on.

Owns the ``Clock`` protocol (monotonic seconds and an async sleep) and the real implementation.
Everything that waits for time to pass (retry back-off, rate limits, per-attempt timeouts,
drain deadlines) takes a ``Clock``, so tests can drive time virtually instead of sleeping. It
must not read wall-clock time: monotonic seconds only, never dates.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic time in seconds and a way to wait for it to pass."""

    def now(self) -> float:
        """Seconds on a monotonic clock; only differences mean anything."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock (at once if not positive)."""
        ...


class MonotonicClock:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
