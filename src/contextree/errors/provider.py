"""Provider errors: ``ProviderConfigError`` (a ``UsageError``) and the ``ProviderError``
branch of ``RuntimeFailure`` with a class per failure kind. Import them from
``contextree.errors``."""

from __future__ import annotations

from contextree.errors._base import RuntimeFailure, UsageError


class ProviderConfigError(UsageError):
    """A provider cannot be used as configured (unknown name, unset API key variable, ...)."""

    error_class = "provider_config_error"


class ProviderError(RuntimeFailure):
    """A provider call failed. A provider error's ``error_class`` is shorter than its class
    name (``rate_limited``) and is pinned by the parity fixtures; ``retry_after`` is the
    server's requested delay in seconds."""

    error_class = "provider_error"
    default_retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.retry_after = retry_after
        self.retryable = self.default_retryable if retryable is None else retryable


class RateLimitedError(ProviderError):
    error_class = "rate_limited"
    default_retryable = True


class OverloadedError(ProviderError):
    error_class = "overloaded"
    default_retryable = True


class ServerError(ProviderError):
    error_class = "server_error"
    default_retryable = True


class RequestTimeoutError(ProviderError):
    error_class = "request_timeout"
    default_retryable = True


class ConflictError(ProviderError):
    error_class = "conflict"
    default_retryable = True


class ClientTimeoutError(ProviderError):
    error_class = "client_timeout"
    default_retryable = True


class ConnectionFailedError(ProviderError):
    error_class = "connection_error"
    default_retryable = True


class AuthFailedError(ProviderError):
    error_class = "auth_failed"


class BadRequestError(ProviderError):
    error_class = "bad_request"


class ModelNotFoundError(ProviderError):
    error_class = "model_not_found"


class ContextLengthError(ProviderError):
    error_class = "context_length_exceeded"


class QuotaExhaustedError(ProviderError):
    error_class = "quota_exhausted"


class ContentFilteredError(ProviderError):
    error_class = "content_filtered"


class MalformedResponseError(ProviderError):
    error_class = "malformed_response"


class ResponseTooLargeError(ProviderError):
    """The answer went past ``[generation] max_response_bytes``; it was not read further."""

    error_class = "response_too_large"


class EmptyCompletionError(ProviderError):
    """An answer with no text: often a blip of the server, so asked again (a bounded number
    of times, ``max_attempts``) before the node fails."""

    error_class = "empty_completion"
    default_retryable = True


class TruncatedError(ProviderError):
    error_class = "truncated"
