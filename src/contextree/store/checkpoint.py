"""WAL checkpoints in a background thread, for long write-heavy runs.

Owns moving SQLite's checkpoints (copying the write-ahead log back into the database file,
with an fsync of each) out of the connection that writes. By default SQLite checkpoints inside
whichever ``COMMIT`` takes the log past 1,000 pages, so now and then one frame write stalls for
as long as the disk takes to sync, and during ``generate`` that stall holds up the event loop
and every provider answer waiting on it. While a ``BackgroundCheckpointer`` runs, the writing
connection does not checkpoint; a thread with its own connection does, in ``PASSIVE`` mode
(never waiting for, nor blocking, readers or the writer), once per interval in which the log
changed. Stopping restores the writer's setting and checkpoints once more, so nothing is left
behind in the log that SQLite would not have left. It writes no rows of its own.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

from contextree.store.db import BUSY_TIMEOUT_MS, Store

#: How often the thread looks at the log (SQLite's own rule, 1,000 pages, comes to a few
#: seconds of frame writes).
DEFAULT_INTERVAL_S = 1.0


class BackgroundCheckpointer:
    """Checkpoints ``store`` from a thread of its own while used as a context manager."""

    def __init__(
        self,
        store: Store,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
    ) -> None:
        self._store = store
        self._wal = Path(f"{store.path}-wal")
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: int | None = None
        #: Checkpoints the thread ran (for tests and benchmarks).
        self.checkpoints = 0
        #: The first error the thread met; it then stops checkpointing and the writer's own
        #: checkpoints resume when the block ends.
        self.error: sqlite3.Error | None = None

    def __enter__(self) -> Self:
        conn = self._store.conn
        self._previous = int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._thread = threading.Thread(target=self._run, name="contextree-checkpoint", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._previous is not None:
            self._store.conn.execute(f"PRAGMA wal_autocheckpoint = {self._previous}")
            self._previous = None

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._store.path, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            self.error = exc
            return
        try:
            seen = self._wal_state()
            while not self._stop.wait(self._interval_s):
                now = self._wal_state()
                if now != seen:
                    self._checkpoint(conn)
                    seen = self._wal_state()
            self._checkpoint(conn)  # what the last interval wrote
        except sqlite3.Error as exc:
            self.error = exc
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1

    def _wal_state(self) -> tuple[int, int]:
        """The log's size and modification time: they change with every commit."""
        try:
            st = self._wal.stat()
        except OSError:
            return (0, 0)
        return (st.st_size, st.st_mtime_ns)
