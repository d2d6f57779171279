"""The contextree error tree.

Every error contextree raises on purpose is a ``ContextreeError``. There are two branches:
mistakes a user can fix (never retried; the message says what to do) and failures at run
time (which may be retried by the one layer that retries: the generation queue).

    ContextreeError
    ├── UsageError                      the user can fix it; CLI exit code 2
    │   ├── ConfigError                 a config file or setting is wrong (names file and key)
    │   ├── WorkspaceError              the workspace path is missing or not a directory
    │   │   └── WorkspaceWriteError     contextree cannot write its files there (permission,
    │   │                               read-only disk) or finds a symlink where it writes
    │   ├── PathNotFoundError           a path the user typed is not in the scanned tree
    │   ├── StoreVersionError           the store was written by a newer contextree
    │   ├── ProviderConfigError         unknown provider, unset API key variable, inline key
    │   ├── AgentConfigError            (a ConfigError) an agent profile file is invalid;
    │   │                               names the file and the field
    │   ├── AgentNotFoundError          no agent has that id (lists the known ids)
    │   ├── AgentCannotWriteError       a reader agent was asked to write a frame
    │   └── FrameNotFoundError          the path is scanned but has no frame yet
    └── RuntimeFailure                  something went wrong while working
        ├── WorkspaceBusyError          another writer holds the workspace lock; exit code 75
        ├── StoreError                  SQLite failed or the store file is damaged
        ├── ScanError                   the workspace root itself could not be read
        ├── NodeNotInTreeError          a node id is not in the latest committed scan
        ├── FrameWriteError             put_frame refused a frame; nothing was written
        │   ├── InvalidFrameError       a frame is malformed or does not fit its write
        │   │   ├── BasisMismatchError  the frame's basis names another node
        │   │   └── AgentMismatchError  the frame's agent is not the writing agent
        │   ├── LineageError            the lineage does not fit the frame
        │   │   ├── ArtifactDigestMismatchError  an artifact's bytes do not hash to its key
        │   │   └── LineageMismatchError         digests differ from the frame's metadata
        │   └── MetadataContractError   frame metadata breaks the contract (carries ``key``);
        │       │                       never quotes a value that looked like a secret
        │       ├── MetadataForbiddenKeyError    prompt, raw_prompt, context, raw_context
        │       ├── MetadataUnknownKeyError      not a registered key
        │       ├── MetadataForbiddenValueError  a credential or a configured API key
        │       ├── MetadataValueFormatError     e.g. a digest that is not 64 hex characters
        │       ├── MetadataPerKeyBudgetError    one entry over its byte budget
        │       ├── MetadataTotalBudgetError     all entries together over 64 KiB
        │       ├── MetadataMissingKeyError      a required key is absent
        │       └── MetadataAgentMismatchError   ``agent_id`` is not the writing agent
        └── ProviderError               a provider call failed; carries error_class,
            │                           retryable and retry_after (seconds or None)
            ├── RateLimitedError        429                               retryable
            ├── OverloadedError         529, 503                          retryable
            ├── ServerError             other 5xx                         retryable
            ├── RequestTimeoutError     408                               retryable
            ├── ConflictError           409                               retryable
            ├── ClientTimeoutError      no answer within the timeout      retryable
            ├── ConnectionFailedError   refused, reset, DNS               retryable
            ├── AuthFailedError         401, 403
            ├── BadRequestError         400, 422
            ├── ModelNotFoundError      404 (enriched with the models the provider lists)
            ├── ContextLengthError      the prompt is longer than the model accepts
            ├── QuotaExhaustedError     a 429 that says the quota or spend limit is used up,
            │                           or a Retry-After beyond max_retry_after
            ├── ContentFilteredError    the provider refused the content
            ├── MalformedResponseError  the answer is not what the wire format promises
            ├── ResponseTooLargeError   the answer is longer than max_response_bytes (reading
            │                           stops there; the next answer would be as long)
            ├── EmptyCompletionError    the answer has no text              retryable
            └── TruncatedError          cut off by the output length limit

A provider error's ``retryable`` flag is set by class and may be overridden per instance (the
``x-should-retry`` response header does that); only the generation queue acts on it.

Lower-level exceptions (``OSError``, ``sqlite3.Error``) are translated once, where they happen,
with ``raise ... from``. Nothing above the store or the scanner sees them.
"""

from __future__ import annotations


class ContextreeError(Exception):
    """Root of every error contextree raises on purpose."""

    #: Exit code the CLI uses when this error ends a command.
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message


class UsageError(ContextreeError):
    """A mistake the user can fix: bad input, bad configuration. Never retried."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration file or setting is invalid."""


class WorkspaceError(UsageError):
    """The workspace directory does not exist or is not a directory."""


class WorkspaceWriteError(WorkspaceError):
    """contextree cannot write in ``.contextree/`` (permission denied, a read-only disk), or
    finds a symlink where it would write (a repository can ship one to redirect a write)."""


class PathNotFoundError(UsageError):
    """A path the user typed does not name a node of the scanned tree."""


class StoreVersionError(UsageError):
    """The store was created by a newer contextree than this one."""


class RuntimeFailure(ContextreeError):
    """Something failed while working; the user's input was fine."""


class WorkspaceBusyError(RuntimeFailure):
    """Another process holds the workspace writer lock."""

    exit_code = 75

    def __init__(self, pid: int | None, lock_path: str) -> None:
        who = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(
            f"workspace busy ({who})",
            hint=(
                "Another contextree command is writing to this workspace. "
                f"Wait for it to finish, or stop it. Lock file: {lock_path}"
            ),
        )
        self.pid = pid
        self.lock_path = lock_path


class StoreError(RuntimeFailure):
    """The SQLite store failed, or the file in its place is not a contextree store."""


class ScanError(RuntimeFailure):
    """The workspace root could not be read at all."""


class ProviderConfigError(UsageError):
    """A provider cannot be used as configured (unknown name, unset API key variable, ...)."""


class ProviderError(RuntimeFailure):
    """A provider call failed. ``error_class`` is a stable snake_case name used in reports,
    events and parity fixtures; ``retry_after`` is the server's requested delay in seconds."""

    error_class: str = "provider_error"
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


# --- agents, frames and the frame write boundary -------------------------------------------


class AgentConfigError(ConfigError):
    """An agent profile file is invalid; the message names the file and the field."""


class AgentNotFoundError(UsageError):
    """No agent has the requested id."""


class AgentCannotWriteError(UsageError):
    """A reader agent was asked to write a frame."""


class FrameNotFoundError(UsageError):
    """The path is in the scanned tree but has no frame yet for the agent asked about."""


class NodeNotInTreeError(RuntimeFailure):
    """A node id is not part of the latest committed scan (stale, or never scanned)."""


class FrameWriteError(RuntimeFailure):
    """``ContextApi.put_frame`` refused a frame; nothing was written."""


class InvalidFrameError(FrameWriteError):
    """A frame is malformed, or does not fit the write it was handed to."""


class BasisMismatchError(InvalidFrameError):
    """The frame's basis names a different node than the one written to."""


class AgentMismatchError(InvalidFrameError):
    """The frame's agent is not the agent doing the write."""


class LineageError(FrameWriteError):
    """The lineage handed to ``put_frame`` does not fit the frame."""


class ArtifactDigestMismatchError(LineageError):
    """An artifact's bytes do not hash to the digest it was filed under."""


class LineageMismatchError(LineageError):
    """The lineage's digests differ from the frame's metadata, or an artifact is unused."""


class MetadataContractError(FrameWriteError):
    """Frame metadata breaks the write contract. ``key`` names the offending entry (None for
    whole-map problems). Messages never quote a value that was rejected as a secret."""

    def __init__(self, message: str, *, key: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key


class MetadataForbiddenKeyError(MetadataContractError):
    """A key that must never be stored (raw prompt or context text)."""


class MetadataUnknownKeyError(MetadataContractError):
    """A key that is not in the metadata key registry."""


class MetadataForbiddenValueError(MetadataContractError):
    """A value that looks like a credential or contains a configured API key. ``pattern``
    names the class of secret found (never the secret)."""

    def __init__(self, message: str, *, key: str, pattern: str, hint: str | None = None) -> None:
        super().__init__(message, key=key, hint=hint)
        self.pattern = pattern


class MetadataValueFormatError(MetadataContractError):
    """A value that does not have the shape its key requires."""


class MetadataPerKeyBudgetError(MetadataContractError):
    """One entry (key bytes plus value bytes) is over its budget."""

    def __init__(self, message: str, *, key: str, actual_bytes: int, max_bytes: int) -> None:
        super().__init__(message, key=key)
        self.actual_bytes = actual_bytes
        self.max_bytes = max_bytes


class MetadataTotalBudgetError(MetadataContractError):
    """All entries together are over the total budget."""

    def __init__(self, message: str, *, actual_bytes: int, max_bytes: int) -> None:
        super().__init__(message)
        self.actual_bytes = actual_bytes
        self.max_bytes = max_bytes


class MetadataMissingKeyError(MetadataContractError):
    """A key the contract requires is absent."""


class MetadataAgentMismatchError(MetadataContractError):
    """The ``agent_id`` entry does not name the writing agent."""
