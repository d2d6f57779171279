"""Concurrency slots and per-provider rate limiters, on the virtual clock."""

from __future__ import annotations

import asyncio

import pytest
from tests.fakes.clock import FakeClock

from contextree.context.limits import (
    GenerationLimits,
    KeyedSlots,
    ProviderLimits,
    RateLimiter,
    Slots,
)
from contextree.errors import ConfigError


async def _start_times(clock: FakeClock, limiter: RateLimiter, estimates: list[int]) -> list[float]:
    times: list[float] = []

    async def one(tokens: int) -> None:
        await limiter.acquire(tokens)
        times.append(clock.now())

    async with clock.auto_advance(), asyncio.TaskGroup() as tg:
        for tokens in estimates:
            tg.create_task(one(tokens))
    return times


async def test_requests_per_minute_spaces_starts_evenly() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, requests_per_minute=60)
    assert await _start_times(clock, limiter, [0] * 4) == pytest.approx([0.0, 1.0, 2.0, 3.0])


async def test_tokens_per_minute_allows_a_minute_of_budget_then_paces() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, tokens_per_minute=600)
    times = await _start_times(clock, limiter, [300, 300, 300, 300])
    assert times == pytest.approx([0.0, 0.0, 30.0, 60.0])


async def test_request_larger_than_the_token_budget_waits_for_a_full_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, tokens_per_minute=600)
    times = await _start_times(clock, limiter, [300, 900, 60])
    # 900 > capacity: waits until the bucket is full again (30 s), then leaves a 300 debt,
    # so the next 60 tokens need (300 + 60) / 10 = 36 s more.
    assert times == pytest.approx([0.0, 30.0, 66.0])


async def test_correct_gives_back_unused_tokens() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, tokens_per_minute=600)
    await limiter.acquire(600)
    limiter.correct(600, 100)  # only 100 were used: 500 come back
    times = await _start_times(clock, limiter, [500])
    assert times == pytest.approx([0.0])


async def test_correct_takes_tokens_used_beyond_the_estimate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, tokens_per_minute=600)
    await limiter.acquire(100)
    limiter.correct(100, 400)  # 300 more than budgeted: 200 left
    times = await _start_times(clock, limiter, [260])
    assert times == pytest.approx([6.0])


async def test_a_newcomer_that_fits_the_budget_still_waits_behind_an_earlier_waiter() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, tokens_per_minute=600)
    await limiter.acquire(600)  # the bucket is empty; it refills 10 tokens a second
    started: dict[str, float] = {}

    async def one(name: str, tokens: int, after: float) -> None:
        await clock.sleep(after)
        await limiter.acquire(tokens)
        started[name] = clock.now()

    async with clock.auto_advance(), asyncio.TaskGroup() as tg:
        tg.create_task(one("big", 600, 0.0))  # waits for a full bucket: 60 s
        tg.create_task(one("small", 100, 30.0))  # 300 tokens are back by then: it would fit
    # The small one does not overtake: it starts 10 s after the big one took everything.
    assert started == pytest.approx({"big": 60.0, "small": 70.0})


async def test_pause_until_holds_every_acquire() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    limiter.pause_until(12.5)
    limiter.pause_until(3.0)  # an earlier pause never shortens a later one
    assert await _start_times(clock, limiter, [1, 1]) == pytest.approx([12.5, 12.5])


async def test_unlimited_rate_limiter_never_waits() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    assert await _start_times(clock, limiter, [10**9] * 3) == [0.0, 0.0, 0.0]
    assert clock.sleeps == []


async def test_slots_hand_over_in_arrival_order() -> None:
    slots = Slots(1)
    order: list[str] = []

    async def user(name: str) -> None:
        await slots.acquire()
        order.append(name)
        await asyncio.sleep(0)
        slots.release()

    await slots.acquire()
    async with asyncio.TaskGroup() as tg:
        for name in "abc":
            tg.create_task(user(name))
        await asyncio.sleep(0)
        assert slots.waiting == 3
        slots.release()
    assert order == ["a", "b", "c"]
    assert slots.in_use == 0


async def test_cancelled_waiter_does_not_lose_the_slot() -> None:
    slots = Slots(1)
    await slots.acquire()
    waiter = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # handed to the waiter...
    waiter.cancel()  # ...which is cancelled before it runs: the slot must come back
    await asyncio.wait((waiter,))
    assert waiter.cancelled()
    assert slots.in_use == 0
    await asyncio.wait_for(slots.acquire(), 1)
    assert slots.in_use == 1


def test_release_without_acquire_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="more often"):
        Slots(2).release()


async def test_keyed_slots_limit_each_key_separately_and_none_is_unlimited() -> None:
    slots = KeyedSlots({"one": 1}.get)
    await slots.acquire("one")
    for _ in range(5):
        await slots.acquire("free")
    blocked = asyncio.create_task(slots.acquire("one"))
    await asyncio.sleep(0)
    assert not blocked.done()
    slots.release("one")
    await blocked
    assert slots.in_use("one") == 1
    assert slots.in_use("free") == 0  # unlimited keys are not counted


@pytest.mark.parametrize("field", ["max_concurrency", "requests_per_minute", "tokens_per_minute"])
def test_provider_limits_reject_non_positive_values(field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        ProviderLimits(**{field: 0})


def _in_use(limits: GenerationLimits) -> tuple[int, int]:
    """Slots taken of agent ``a`` and provider ``p``."""
    return limits._agent_slots.in_use("a"), limits._provider_slots.in_use("p")


async def test_acquire_takes_agent_then_provider_slot_and_release_gives_both_back() -> None:
    clock = FakeClock()
    asked: list[str] = []

    def limits_for(name: str) -> ProviderLimits:
        asked.append(name)
        return ProviderLimits(max_concurrency=1, requests_per_minute=6)

    limits = GenerationLimits(clock=clock, max_concurrency_per_agent=1, limits_for=limits_for)
    await limits.acquire(agent_id="a", provider_name="p", token_estimate=5)
    assert _in_use(limits) == (1, 1)
    limits.release(agent_id="a", provider_name="p")
    assert _in_use(limits) == (0, 0)
    # The rate budget was spent (6 per minute: the next call waits 10 s); limits asked once.
    async with clock.auto_advance():
        await limits.acquire(agent_id="a", provider_name="p", token_estimate=5)
        assert clock.now() == pytest.approx(10.0)
    limits.release(agent_id="a", provider_name="p")
    assert asked == ["p"]


async def test_acquire_gives_slots_back_when_cancelled_while_rate_limited() -> None:
    clock = FakeClock()
    limits = GenerationLimits(
        clock=clock,
        max_concurrency_per_agent=1,
        limits_for=lambda _name: ProviderLimits(max_concurrency=1),
    )
    limits.rate_limiter("p").pause_until(100.0)
    task = asyncio.create_task(limits.acquire(agent_id="a", provider_name="p", token_estimate=1))
    await clock.settle()
    assert _in_use(limits) == (1, 1)
    task.cancel()
    await asyncio.wait((task,))
    assert _in_use(limits) == (0, 0)


def test_per_agent_limit_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="max_concurrency_per_agent"):
        GenerationLimits(
            clock=FakeClock(), max_concurrency_per_agent=0, limits_for=lambda _n: ProviderLimits()
        )
