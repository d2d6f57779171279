"""The ``RuntimeFailure`` branch (except ``ProviderError``, in ``provider``, and
``FrameWriteError``, in ``frame_write``): the workspace lock, the store and a full disk, the
scan, nodes not in the tree, files changed since the scan, plan validation and the generation
queue. Import them from ``contextree.errors``."""

from __future__ import annotations

from contextree.errors._base import RuntimeFailure


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
