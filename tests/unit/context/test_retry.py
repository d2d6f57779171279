"""The retry policy as a pure decision: retryable classes, attempts, backoff, quota."""

from __future__ import annotations

import random

import pytest

from contextree import errors
from contextree.context.queue_types import BackoffClass, QueueConfig
from contextree.context.retry import GiveUp, Retry, RetryPolicy

CONFIG = QueueConfig(max_attempts=3, backoff_base_s=1.0, backoff_cap_s=5.0, max_retry_after_s=30)


def _policy(seed: int = 7) -> RetryPolicy:
    return RetryPolicy(CONFIG, random.Random(seed))


def test_a_retryable_error_is_retried_with_exponential_jitter_within_the_ceiling() -> None:
    decisions = [_policy(s).decide(errors.ServerError("500"), 2) for s in range(50)]
    assert all(isinstance(d, Retry) for d in decisions)
    delays = [d.delay_s for d in decisions if isinstance(d, Retry)]
    assert all(0.0 <= d <= 2.0 for d in delays)  # attempt 2: min(cap 5, base * 2**1)
    assert {d.backoff for d in decisions if isinstance(d, Retry)} == {
        BackoffClass.EXPONENTIAL_JITTER
    }


def test_the_ceiling_is_capped() -> None:
    policy = RetryPolicy(QueueConfig(max_attempts=100, backoff_cap_s=5.0), random.Random(1))
    decision = policy.decide(errors.ServerError("500"), 60)
    assert isinstance(decision, Retry) and decision.delay_s <= 5.0


def test_retry_after_is_the_minimum_delay() -> None:
    decision = _policy().decide(errors.RateLimitedError("429", retry_after=12.0), 1)
    assert decision == Retry(delay_s=12.0, backoff=BackoffClass.RETRY_AFTER)


def test_the_last_attempt_gives_up_with_the_original_error() -> None:
    error = errors.OverloadedError("529")
    assert _policy().decide(error, 3) == GiveUp(error=error)


@pytest.mark.parametrize(
    "error",
    [errors.AuthFailedError("401"), errors.BadRequestError("400"), errors.TruncatedError("len")],
)
def test_non_retryable_errors_give_up_at_once(error: errors.ProviderError) -> None:
    assert _policy().decide(error, 1) == GiveUp(error=error)


def test_x_should_retry_false_overrides_the_class() -> None:
    error = errors.ServerError("500", retryable=False)
    assert _policy().decide(error, 1) == GiveUp(error=error)


def test_a_retry_after_beyond_the_cap_is_an_exhausted_quota() -> None:
    error = errors.RateLimitedError("429", retry_after=31.0, status=429)
    decision = _policy().decide(error, 1)
    assert isinstance(decision, GiveUp)
    assert isinstance(decision.error, errors.QuotaExhaustedError)
    assert decision.error.error_class == "quota_exhausted"
    assert decision.error.__cause__ is error
    assert "max_retry_after_s=30" in decision.error.message
