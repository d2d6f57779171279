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

from contextree.errors._base import (
    ContextreeError,
    RuntimeFailure,
    UsageError,
)
from contextree.errors.frame_write import (
    AgentMismatchError,
    ArtifactDigestMismatchError,
    BasisMismatchError,
    FrameWriteError,
    InvalidFrameError,
    LineageError,
    LineageMismatchError,
    MetadataAgentMismatchError,
    MetadataContractError,
    MetadataForbiddenKeyError,
    MetadataForbiddenValueError,
    MetadataMissingKeyError,
    MetadataPerKeyBudgetError,
    MetadataTotalBudgetError,
    MetadataUnknownKeyError,
    MetadataValueFormatError,
)
from contextree.errors.provider import (
    AuthFailedError,
    BadRequestError,
    ClientTimeoutError,
    ConflictError,
    ConnectionFailedError,
    ContentFilteredError,
    ContextLengthError,
    EmptyCompletionError,
    MalformedResponseError,
    ModelNotFoundError,
    OverloadedError,
    ProviderConfigError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ServerError,
    TruncatedError,
)
from contextree.errors.runtime import (
    DiskFullError,
    FileChangedSinceScanError,
    NodeNotInTreeError,
    PlanValidationError,
    QueueClosedError,
    QueueFullError,
    ScanError,
    StoreError,
    WorkspaceBusyError,
)
from contextree.errors.usage import (
    AgentCannotWriteError,
    AgentConfigError,
    AgentNotFoundError,
    ConfigError,
    DescendantsNotCurrentError,
    FrameNotFoundError,
    NothingToRetryError,
    PathNotFoundError,
    StoreVersionError,
    UntrustedWorkspaceError,
    WorkspaceError,
    WorkspaceWriteError,
)

__all__ = [
    "AgentCannotWriteError",
    "AgentConfigError",
    "AgentMismatchError",
    "AgentNotFoundError",
    "ArtifactDigestMismatchError",
    "AuthFailedError",
    "BadRequestError",
    "BasisMismatchError",
    "ClientTimeoutError",
    "ConfigError",
    "ConflictError",
    "ConnectionFailedError",
    "ContentFilteredError",
    "ContextLengthError",
    "ContextreeError",
    "DescendantsNotCurrentError",
    "DiskFullError",
    "EmptyCompletionError",
    "FileChangedSinceScanError",
    "FrameNotFoundError",
    "FrameWriteError",
    "InvalidFrameError",
    "LineageError",
    "LineageMismatchError",
    "MalformedResponseError",
    "MetadataAgentMismatchError",
    "MetadataContractError",
    "MetadataForbiddenKeyError",
    "MetadataForbiddenValueError",
    "MetadataMissingKeyError",
    "MetadataPerKeyBudgetError",
    "MetadataTotalBudgetError",
    "MetadataUnknownKeyError",
    "MetadataValueFormatError",
    "ModelNotFoundError",
    "NodeNotInTreeError",
    "NothingToRetryError",
    "OverloadedError",
    "PathNotFoundError",
    "PlanValidationError",
    "ProviderConfigError",
    "ProviderError",
    "QueueClosedError",
    "QueueFullError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RuntimeFailure",
    "ScanError",
    "ServerError",
    "StoreError",
    "StoreVersionError",
    "TruncatedError",
    "UntrustedWorkspaceError",
    "UsageError",
    "WorkspaceBusyError",
    "WorkspaceError",
    "WorkspaceWriteError",
]
