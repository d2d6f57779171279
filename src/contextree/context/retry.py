"""The retry policy: given a provider error and the attempts made, retry (after how long) or not.

Owns the one decision the queue makes about a failed attempt, as a pure function of the error,
the attempt count, the configuration and an injected random source: retry only an error whose
class is retryable, at most ``max_attempts`` times, after
``max(Retry-After, uniform(0, min(cap, base * 2**(attempt-1))))``; a ``Retry-After`` beyond
``max_retry_after_s`` is a quota, not a blip, and ends the request as ``quota_exhausted``.
It sleeps on nothing and holds nothing: the queue applies the decision.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from contextree.context.queue_types import BackoffClass, QueueConfig
from contextree.errors import ProviderError, QuotaExhaustedError


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    delay_s: float
    backoff: BackoffClass


@dataclass(frozen=True, slots=True, kw_only=True)
class GiveUp:
    error: ProviderError


class RetryPolicy:
    def __init__(self, config: QueueConfig, rng: random.Random) -> None:
        self._config = config
        self._rng = rng

    def quota_exceeded(self, error: ProviderError) -> bool:
        """The server asked to wait longer than anyone should: an exhausted quota."""
        return error.retry_after is not None and error.retry_after > self._config.max_retry_after_s

    def decide(self, error: ProviderError, attempts: int) -> Retry | GiveUp:
        """What to do after attempt number ``attempts`` (1-based) failed with ``error``."""
        if self.quota_exceeded(error):
            return GiveUp(error=self._quota_error(error))
        if not error.retryable or attempts >= self._config.max_attempts:
            return GiveUp(error=error)
        # The exponent is capped so a huge max_attempts cannot overflow a float.
        growth = 2.0 ** min(attempts - 1, 62)
        ceiling = min(self._config.backoff_cap_s, self._config.backoff_base_s * growth)
        jitter = self._rng.uniform(0.0, ceiling)
        if error.retry_after is not None:
            return Retry(delay_s=max(error.retry_after, jitter), backoff=BackoffClass.RETRY_AFTER)
        return Retry(delay_s=jitter, backoff=BackoffClass.EXPONENTIAL_JITTER)

    def _quota_error(self, error: ProviderError) -> QuotaExhaustedError:
        retry_after = error.retry_after or 0.0
        quota = QuotaExhaustedError(
            f"the provider asked to wait {retry_after:g} s before retrying, more than "
            f"max_retry_after_s={self._config.max_retry_after_s:g}: treating it as an exhausted "
            "quota",
            status=error.status,
            retry_after=retry_after,
            hint="Check the provider account's quota, or raise max_retry_after_s to wait it out.",
        )
        quota.__cause__ = error
        return quota
