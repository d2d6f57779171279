"""The queue's public value types: configuration, outcomes, stats, event names.

Owns the data a queue user sees (``QueueConfig``, ``RequestOutcome``, ``QueueStats``, the event
names); its errors (``QueueFullError``, ``QueueClosedError``) are in ``contextree.errors``, the
lifecycle itself is in ``queue``. Like the queue, it imports nothing about prompts, providers
or metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contextree.config.generation import GenerationSettings
from contextree.context.generation.contracts import FrameResult, GenerationRequest, Skip
from contextree.errors import ConfigError

#: The defaults are the settings' own (``bootstrap.generation.queue_config`` translates a
#: configured ``GenerationSettings``); they are not written twice.
_DEFAULTS = GenerationSettings()


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueConfig:
    """How the queue behaves. ``attempt_timeout_s`` None relies on the provider's own timeouts;
    when set, each ``execute`` that takes longer ends as a retryable ``client_timeout``.

    ``max_concurrency`` bounds the ``execute`` calls (provider calls) running at once; a frame
    is committed after its slot is given back. ``prepare_ahead`` workers beyond it prepare the
    next requests (and commit finished ones) while every slot is busy, so a slot that frees
    goes to a call that is ready at once; None means a quarter of ``max_concurrency`` (at least
    1), 0 that a request is prepared only once a worker has finished its last one."""

    max_pending: int = _DEFAULTS.max_pending
    max_concurrency: int = _DEFAULTS.concurrency
    prepare_ahead: int | None = None
    max_concurrency_per_agent: int | None = None
    max_attempts: int = _DEFAULTS.max_attempts
    backoff_base_s: float = _DEFAULTS.backoff_base_s
    backoff_cap_s: float = _DEFAULTS.backoff_cap_s
    max_retry_after_s: float = _DEFAULTS.max_retry_after_s
    attempt_timeout_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_pending", "max_concurrency", "max_attempts"):
            if getattr(self, name) < 1:
                raise ConfigError(f"queue setting {name} must be at least 1")
        if self.prepare_ahead is not None and self.prepare_ahead < 0:
            raise ConfigError("queue setting prepare_ahead must not be negative")
        for name in ("backoff_base_s", "backoff_cap_s", "max_retry_after_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"queue setting {name} must not be negative")
        if self.attempt_timeout_s is not None and self.attempt_timeout_s <= 0:
            raise ConfigError("queue setting attempt_timeout_s must be positive (or unset)")

    @property
    def workers(self) -> int:
        """Worker tasks: one per concurrency slot, plus the ones that prepare ahead."""
        ahead = self.prepare_ahead
        if ahead is None:
            ahead = max(1, self.max_concurrency // 4)
        return self.max_concurrency + ahead


class OutcomeStatus(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BackoffClass(StrEnum):
    """How the delay before a retry was chosen."""

    EXPONENTIAL_JITTER = "exponential_jitter"
    RETRY_AFTER = "retry_after"


class QueueEvent(StrEnum):
    """The stable names of the events the queue emits."""

    ENQUEUED = "request_enqueued"
    DEDUPLICATED = "request_deduplicated"
    PROCESSING = "request_processing"
    SKIPPED = "request_skipped"
    RETRY_SCHEDULED = "request_retry_scheduled"
    COMPLETED = "request_completed"
    FAILED = "request_failed"
    CANCELLED = "request_cancelled"
    STATS = "queue_stats"


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestOutcome:
    """How a request ended; every waiter of a request receives the same outcome.

    ``error_class`` is the error's ``ContextreeError.error_class``, or ``internal_error`` for
    an exception that is not a ``ContextreeError``. ``backoff_classes``
    holds one entry per retry.
    """

    status: OutcomeStatus
    request: GenerationRequest
    result: FrameResult | None = None
    skip: Skip | None = None
    error: BaseException | None = None
    error_class: str | None = None
    attempts: int = 0
    backoff_classes: tuple[BackoffClass, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStats:
    """Requests by state (pending, delayed for retry, in flight) and finished so far."""

    pending: int
    delayed: int
    in_flight: int
    completed: int
    skipped: int
    failed: int
    cancelled: int
    retries_scheduled: int
