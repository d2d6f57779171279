"""Concurrency and rate limits for provider calls.

Owns the limits the queue applies between ``prepare`` and ``execute``: a concurrency slot per
agent, a concurrency slot per provider, a per-provider ``RateLimiter`` (requests per minute and
tokens per minute, paused on a 429) and the overall concurrency slot, taken last so that no
request holds an overall slot while a narrower limit keeps it waiting. Limits
wait on an injected ``Clock`` and are built from a ``limits_for(provider name)`` callable the
composition root supplies, so this module never imports ``contextree.providers``. It decides
nothing about retries and never calls a provider.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from contextree.context.clock import Clock
from contextree.errors import ConfigError

# Refills are computed in floating point; a level this close to the need counts as enough, so a
# waiter that slept exactly the computed time does not wake up again for a rounding error.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderLimits:
    """The limits of one provider; None means no limit of that kind."""

    max_concurrency: int | None = None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_concurrency", "requests_per_minute", "tokens_per_minute"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(
                    f"provider limit {name} must be at least 1 (got {value})",
                    hint="Set it to a positive number in the provider profile, or remove it.",
                )


class Slots:
    """A counting semaphore that hands a released slot to the longest waiter (FIFO)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 (got {capacity})")
        self._capacity = capacity
        self._in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def in_use(self) -> int:
        return self._in_use

    @property
    def waiting(self) -> int:
        return sum(1 for waiter in self._waiters if not waiter.done())

    async def acquire(self) -> None:
        if self._in_use < self._capacity and not self._waiters:
            self._in_use += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            # The slot may have been handed to us in the same turn we were cancelled: give it
            # to the next waiter instead of losing it.
            if waiter.done() and not waiter.cancelled():
                self.release()
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on; in_use stays the same
                return
        if self._in_use <= 0:
            raise RuntimeError("Slots.release() called more often than acquire()")
        self._in_use -= 1


class KeyedSlots:
    """One ``Slots`` per key, created on first use; a key whose capacity is None is unlimited."""

    def __init__(self, capacity_for: Callable[[str], int | None]) -> None:
        self._capacity_for = capacity_for
        self._slots: dict[str, Slots | None] = {}

    def _get(self, key: str) -> Slots | None:
        if key not in self._slots:
            capacity = self._capacity_for(key)
            self._slots[key] = None if capacity is None else Slots(capacity)
        return self._slots[key]

    async def acquire(self, key: str) -> None:
        slots = self._get(key)
        if slots is not None:
            await slots.acquire()

    def release(self, key: str) -> None:
        slots = self._get(key)
        if slots is not None:
            slots.release()

    def in_use(self, key: str) -> int:
        slots = self._slots.get(key)
        return 0 if slots is None else slots.in_use


class _Bucket:
    """A token bucket refilled continuously at ``per_minute / 60`` per second.

    The level may go below zero (a request larger than the capacity, or a correction for
    more tokens than estimated); later acquires then wait until the debt is paid back.
    """

    __slots__ = ("_capacity", "_level", "_rate", "_updated")

    def __init__(self, *, per_minute: int, capacity: float, now: float) -> None:
        self._rate = per_minute / 60.0
        self._capacity = capacity
        self._level = capacity
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._level = min(self._capacity, self._level + (now - self._updated) * self._rate)
            self._updated = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` may be taken (an amount over the capacity needs a full
        bucket)."""
        self._refill(now)
        need = min(amount, self._capacity)
        missing = need - self._level
        if missing <= _EPSILON * max(1.0, need):
            return 0.0
        return missing / self._rate

    def adjust(self, delta: float, now: float) -> None:
        self._refill(now)
        self._level = min(self._capacity, self._level + delta)


class RateLimiter:
    """Budgets one provider's requests per minute and tokens per minute.

    Requests are paced evenly (one start every ``60 / requests_per_minute`` seconds, because
    providers often enforce per-minute limits over shorter windows); the token budget may be
    spent in a burst of up to one minute's worth. Waiters are served in arrival order.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
    ) -> None:
        self._clock = clock
        now = clock.now()
        self._requests = (
            None
            if requests_per_minute is None
            else _Bucket(per_minute=requests_per_minute, capacity=1.0, now=now)
        )
        self._tokens = (
            None
            if tokens_per_minute is None
            else _Bucket(per_minute=tokens_per_minute, capacity=float(tokens_per_minute), now=now)
        )
        self._paused_until = float("-inf")
        self._lock = asyncio.Lock()
        #: Callers waiting for or holding the lock; a newcomer goes straight through only
        #: when there are none, so waiters keep their arrival order.
        self._queued = 0

    def _wait_s(self, tokens: int, now: float) -> float:
        wait = self._paused_until - now
        if self._requests is not None:
            wait = max(wait, self._requests.wait_for(1.0, now))
        if self._tokens is not None:
            wait = max(wait, self._tokens.wait_for(float(tokens), now))
        return wait

    async def acquire(self, tokens: int) -> None:
        """Wait until one more request of ``tokens`` estimated tokens fits both budgets and
        any pause is over, then spend the budget."""
        tokens = max(0, tokens)
        if not self._queued:
            # Nobody is waiting: when the budgets allow it now, take them without the lock
            # (no await in between, so nothing can interleave).
            now = self._clock.now()
            if self._wait_s(tokens, now) <= 0:
                self._spend(tokens, now)
                return
        self._queued += 1
        try:
            async with self._lock:
                while True:
                    now = self._clock.now()
                    wait = self._wait_s(tokens, now)
                    if wait <= 0:
                        break
                    await self._clock.sleep(wait)
                self._spend(tokens, now)
        finally:
            self._queued -= 1

    def _spend(self, tokens: int, now: float) -> None:
        if self._requests is not None:
            self._requests.adjust(-1.0, now)
        if self._tokens is not None:
            self._tokens.adjust(-float(tokens), now)

    def correct(self, estimated: int, actual: int) -> None:
        """The provider reported ``actual`` tokens for a call budgeted at ``estimated``: give
        back the difference (or take the excess)."""
        if self._tokens is not None and estimated != actual:
            self._tokens.adjust(float(estimated - actual), self._clock.now())

    def pause_until(self, t: float) -> None:
        """Make every acquire wait until clock time ``t`` (a 429 with Retry-After)."""
        self._paused_until = max(self._paused_until, t)


class GenerationLimits:
    """The per-agent and per-provider slots and the per-provider rate limiters of one queue."""

    def __init__(
        self,
        *,
        clock: Clock,
        max_concurrency_per_agent: int | None,
        limits_for: Callable[[str], ProviderLimits],
        max_concurrency: int | None = None,
    ) -> None:
        if max_concurrency_per_agent is not None and max_concurrency_per_agent < 1:
            raise ConfigError(
                f"max_concurrency_per_agent must be at least 1 (got {max_concurrency_per_agent})"
            )
        if max_concurrency is not None and max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be at least 1 (got {max_concurrency})")
        self._clock = clock
        self._overall = None if max_concurrency is None else Slots(max_concurrency)
        self._limits_for = limits_for
        self._provider_limits: dict[str, ProviderLimits] = {}
        self._agent_slots = KeyedSlots(lambda _agent: max_concurrency_per_agent)
        self._provider_slots = KeyedSlots(lambda name: self.provider_limits(name).max_concurrency)
        self._rate_limiters: dict[str, RateLimiter] = {}

    def provider_limits(self, provider_name: str) -> ProviderLimits:
        """The provider's limits, asked for once and then remembered."""
        limits = self._provider_limits.get(provider_name)
        if limits is None:
            limits = self._limits_for(provider_name)
            self._provider_limits[provider_name] = limits
        return limits

    def rate_limiter(self, provider_name: str) -> RateLimiter:
        limiter = self._rate_limiters.get(provider_name)
        if limiter is None:
            limits = self.provider_limits(provider_name)
            limiter = RateLimiter(
                clock=self._clock,
                requests_per_minute=limits.requests_per_minute,
                tokens_per_minute=limits.tokens_per_minute,
            )
            self._rate_limiters[provider_name] = limiter
        return limiter

    async def acquire(
        self, *, agent_id: str, provider_name: str, token_estimate: int
    ) -> RateLimiter:
        """Take the agent's slot, then the provider's slot, then the provider's rate budget,
        then an overall slot (a failure or cancellation on the way gives back what was
        taken). Returns the provider's rate limiter, so the caller can ``correct`` it with the
        real token count; ``release`` gives the slots back."""
        await self._agent_slots.acquire(agent_id)
        try:
            await self._provider_slots.acquire(provider_name)
            try:
                limiter = self.rate_limiter(provider_name)
                await limiter.acquire(token_estimate)
                if self._overall is not None:
                    await self._overall.acquire()
            except BaseException:
                self._provider_slots.release(provider_name)
                raise
        except BaseException:
            self._agent_slots.release(agent_id)
            raise
        return limiter

    def release(self, *, agent_id: str, provider_name: str) -> None:
        """Give back the slots one ``acquire`` took."""
        if self._overall is not None:
            self._overall.release()
        self._provider_slots.release(provider_name)
        self._agent_slots.release(agent_id)
