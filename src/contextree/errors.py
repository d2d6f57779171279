"""The contextree error tree.

Every error contextree raises on purpose is a ``ContextreeError``. There are two branches:
mistakes a user can fix (never retried; the message says what to do) and failures at run
time (which may be retried by the one layer that retries: the generation queue). Every class
names itself with ``error_class``, a stable snake_case string that reports, events and the run
ledger use (for most, the class name in snake_case; a provider error's is shorter).

    ContextreeError
    ├── UsageError                      the user can fix it; CLI exit code 2
    │   ├── ConfigError                 a config file or setting is wrong (names file and key)
    │   │   ├── AgentConfigError        an agent profile file is invalid; names the file and
    │   │   │                           the field
    │   │   └── UntrustedWorkspaceError a run would use a workspace profile file the user has
    │   │                               not approved (``contextree trust``)
    │   ├── WorkspaceError              the workspace path is missing or not a directory
    │   │   └── WorkspaceWriteError     contextree cannot write its files there (permission,
    │   │                               read-only disk) or finds a symlink where it writes
    │   ├── PathNotFoundError           a path the user typed is not in the scanned tree
    │   ├── StoreVersionError           the store was written by a newer contextree
    │   ├── ProviderConfigError         unknown provider, unset API key variable, inline key
    │   ├── AgentNotFoundError          no agent has that id (lists the known ids)
    │   ├── AgentCannotWriteError       a reader agent was asked to write a frame
    │   ├── FrameNotFoundError          the path is scanned but has no frame yet
    │   ├── DescendantsNotCurrentError  a non-recursive directory target has descendants
    │   │                               without a current frame
    │   └── NothingToRetryError         ``--retry-failed`` with no earlier run in the ledger
    └── RuntimeFailure                  something went wrong while working
        ├── WorkspaceBusyError          another writer holds the workspace lock; exit code 75
        ├── StoreError                  SQLite failed or the store file is damaged
        │   └── DiskFullError           the store could not grow (disk full); nothing of the
        │                               failed transaction was written
        ├── ScanError                   the workspace root itself could not be read
        ├── NodeNotInTreeError          a node id is not in the latest committed scan
        ├── FileChangedSinceScanError   a file's bytes are no longer those the scan hashed
        ├── PlanValidationError         a generation plan is inconsistent (a bug)
        ├── QueueFullError              the generation queue would hold more than max_pending
        │                               unfinished requests; nothing was enqueued
        ├── QueueClosedError            the generation queue was stopped
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
        └── ProviderError               a provider call failed; carries status,
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

    #: A stable snake_case name of the error, used in reports, events and the run ledger.
    #: Every error class sets its own (a unit test checks that they are all different).
    error_class: str = "contextree_error"

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

    error_class = "usage_error"

    exit_code = 2


class ConfigError(UsageError):
    """A configuration file or setting is invalid."""

    error_class = "config_error"


class WorkspaceError(UsageError):
    """The workspace directory does not exist or is not a directory."""

    error_class = "workspace_error"


class WorkspaceWriteError(WorkspaceError):
    """contextree cannot write in ``.contextree/`` (permission denied, a read-only disk), or
    finds a symlink where it would write (a repository can ship one to redirect a write)."""

    error_class = "workspace_write_error"


class PathNotFoundError(UsageError):
    """A path the user typed does not name a node of the scanned tree."""

    error_class = "path_not_found_error"


class StoreVersionError(UsageError):
    """The store was created by a newer contextree than this one."""

    error_class = "store_version_error"


class RuntimeFailure(ContextreeError):
    """Something failed while working; the user's input was fine."""

    error_class = "runtime_failure"


class WorkspaceBusyError(RuntimeFailure):
    """Another process holds the workspace writer lock."""

    error_class = "workspace_busy_error"

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

    error_class = "store_error"


class DiskFullError(StoreError):
    """The store could not grow: its disk is full (or its size limit reached). Nothing of the
    failed transaction was written; everything committed before is intact."""

    error_class = "disk_full_error"


class ScanError(RuntimeFailure):
    """The workspace root could not be read at all."""

    error_class = "scan_error"


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


# --- agents, frames and the frame write boundary -------------------------------------------


class AgentConfigError(ConfigError):
    """An agent profile file is invalid; the message names the file and the field."""

    error_class = "agent_config_error"


class UntrustedWorkspaceError(ConfigError):
    """A run would use a workspace profile file the user has not approved."""

    error_class = "untrusted_workspace_error"


class AgentNotFoundError(UsageError):
    """No agent has the requested id."""

    error_class = "agent_not_found_error"


class AgentCannotWriteError(UsageError):
    """A reader agent was asked to write a frame."""

    error_class = "agent_cannot_write_error"


class FrameNotFoundError(UsageError):
    """The path is in the scanned tree but has no frame yet for the agent asked about."""

    error_class = "frame_not_found_error"


# --- generation: plans, files read for a prompt, the queue, runs ----------------------------


class DescendantsNotCurrentError(UsageError):
    """A non-recursive directory target has descendants without a current frame."""

    error_class = "descendants_not_current_error"


class NothingToRetryError(UsageError):
    """``--retry-failed`` with no earlier run in the ledger."""

    error_class = "nothing_to_retry_error"


class PlanValidationError(RuntimeFailure):
    """A plan is inconsistent (a bug, never a user mistake)."""

    error_class = "plan_validation_error"


class FileChangedSinceScanError(RuntimeFailure):
    """The file's bytes are no longer those the scan hashed; summarising them would lie."""

    error_class = "file_changed_since_scan_error"


class QueueFullError(RuntimeFailure):
    """Accepting the requests would put more than ``max_pending`` unfinished requests in the
    queue; nothing was enqueued."""

    error_class = "queue_full_error"

    def __init__(self, *, unfinished: int, adding: int, max_pending: int) -> None:
        super().__init__(
            f"generation queue is full: {unfinished} requests are unfinished and {adding} more "
            f"would exceed max_pending={max_pending}",
            hint="Raise max_pending in the queue configuration, or submit fewer requests at once.",
        )
        self.unfinished = unfinished
        self.adding = adding
        self.max_pending = max_pending


class QueueClosedError(RuntimeFailure):
    """The queue was stopped; it accepts no more requests."""

    error_class = "queue_closed_error"


class NodeNotInTreeError(RuntimeFailure):
    """A node id is not part of the latest committed scan (stale, or never scanned)."""

    error_class = "node_not_in_tree_error"


class FrameWriteError(RuntimeFailure):
    """``ContextApi.put_frame`` refused a frame; nothing was written."""

    error_class = "frame_write_error"


class InvalidFrameError(FrameWriteError):
    """A frame is malformed, or does not fit the write it was handed to."""

    error_class = "invalid_frame_error"


class BasisMismatchError(InvalidFrameError):
    """The frame's basis names a different node than the one written to."""

    error_class = "basis_mismatch_error"


class AgentMismatchError(InvalidFrameError):
    """The frame's agent is not the agent doing the write."""

    error_class = "agent_mismatch_error"


class LineageError(FrameWriteError):
    """The lineage handed to ``put_frame`` does not fit the frame."""

    error_class = "lineage_error"


class ArtifactDigestMismatchError(LineageError):
    """An artifact's bytes do not hash to the digest it was filed under."""

    error_class = "artifact_digest_mismatch_error"


class LineageMismatchError(LineageError):
    """The lineage's digests differ from the frame's metadata, or an artifact is unused."""

    error_class = "lineage_mismatch_error"


class MetadataContractError(FrameWriteError):
    """Frame metadata breaks the write contract. ``key`` names the offending entry (None for
    whole-map problems). Messages never quote a value that was rejected as a secret."""

    error_class = "metadata_contract_error"

    def __init__(self, message: str, *, key: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key


class MetadataForbiddenKeyError(MetadataContractError):
    """A key that must never be stored (raw prompt or context text)."""

    error_class = "metadata_forbidden_key_error"


class MetadataUnknownKeyError(MetadataContractError):
    """A key that is not in the metadata key registry."""

    error_class = "metadata_unknown_key_error"


class MetadataForbiddenValueError(MetadataContractError):
    """A value that looks like a credential or contains a configured API key. ``pattern``
    names the class of secret found (never the secret)."""

    error_class = "metadata_forbidden_value_error"

    def __init__(self, message: str, *, key: str, pattern: str, hint: str | None = None) -> None:
        super().__init__(message, key=key, hint=hint)
        self.pattern = pattern


class MetadataValueFormatError(MetadataContractError):
    """A value that does not have the shape its key requires."""

    error_class = "metadata_value_format_error"


class MetadataPerKeyBudgetError(MetadataContractError):
    """One entry (key bytes plus value bytes) is over its budget."""

    error_class = "metadata_per_key_budget_error"

    def __init__(self, message: str, *, key: str, actual_bytes: int, max_bytes: int) -> None:
        super().__init__(message, key=key)
        self.actual_bytes = actual_bytes
        self.max_bytes = max_bytes


class MetadataTotalBudgetError(MetadataContractError):
    """All entries together are over the total budget."""

    error_class = "metadata_total_budget_error"

    def __init__(self, message: str, *, actual_bytes: int, max_bytes: int) -> None:
        super().__init__(message)
        self.actual_bytes = actual_bytes
        self.max_bytes = max_bytes


class MetadataMissingKeyError(MetadataContractError):
    """A key the contract requires is absent."""

    error_class = "metadata_missing_key_error"


class MetadataAgentMismatchError(MetadataContractError):
    """The ``agent_id`` entry does not name the writing agent."""

    error_class = "metadata_agent_mismatch_error"
