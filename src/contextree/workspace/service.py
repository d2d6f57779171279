"""Workspace use cases: init, scan and status, each a plain function the CLI calls.

Owns the order of operations around a scan (writer lock, store, scanner) and what ``status``
reports. It holds no presentation: the CLI turns these results into text or JSON.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from pathlib import Path

from contextree.config.paths import user_state_dir
from contextree.config.settings import Settings
from contextree.config.template import render_config_template
from contextree.errors import StoreError
from contextree.store.db import Store
from contextree.store.provenance import RECORDS_FILE_NAME, StoreRecords
from contextree.store.tree import ScanRow, TreeRows
from contextree.workspace.hashing import default_processes
from contextree.workspace.layout import (
    STARTER_IGNORE,
    WorkspaceLayout,
    create_file,
    write_refused,
)
from contextree.workspace.lock import writer_lock
from contextree.workspace.scan import Scanner, ScanOptions, ScanProgress, ScanReport


def scan_options(settings: Settings) -> ScanOptions:
    processes = settings.scan.hash_processes or default_processes()
    return ScanOptions(
        hash_processes=processes,
        extra_ignores=tuple(os.fsencode(p) for p in settings.scan.ignore),
        skip_virtualenvs=settings.scan.skip_virtualenvs,
    )


def open_store(layout: WorkspaceLayout, settings: Settings) -> Store:
    """Open the workspace store for writing, creating ``.contextree/`` and the database on
    first use. A ``.contextree/`` or store this user cannot write is a ``WorkspaceWriteError``
    (what to do), never SQLite's "attempt to write a readonly database"."""
    layout.ensure_data_dir()
    _require_writable(layout)
    store = Store.open(layout.store_path, synchronous=settings.store.synchronous)
    check_provenance(store)
    return store


def store_records() -> StoreRecords:
    """This user's records of the stores contextree created or the user adopted."""
    return StoreRecords(user_state_dir() / RECORDS_FILE_NAME)


def check_provenance(store: Store, records: StoreRecords | None = None) -> bool:
    """Record a store this open created; for one that contextree neither created nor the
    user adopted here (it came with a clone), trust no stored input key, so none of its
    frames is reused or served as current. True when the store is adopted."""
    records = records or store_records()
    store_id = store.store_id
    if store.created and store_id is not None:
        try:
            records.record(store.path, store_id)
        except StoreError:  # an unwritable state directory: the store stays unadopted
            store.distrust_input_keys()
            return False
        return True
    if records.adopted(store.path, store_id):
        return True
    store.distrust_input_keys()
    return False


def _require_writable(layout: WorkspaceLayout) -> None:
    for path in (layout.data_dir, layout.store_path):
        if os.path.lexists(path) and not os.access(path, os.W_OK):
            code = errno.EACCES
            with contextlib.suppress(OSError, AttributeError):  # no statvfs on Windows
                if os.statvfs(path).f_flag & os.ST_RDONLY:
                    code = errno.EROFS
            raise write_refused(path, OSError(code, os.strerror(code)))


@dataclass(frozen=True, slots=True, kw_only=True)
class InitResult:
    created: tuple[Path, ...]
    existing: tuple[Path, ...]


def init_workspace(layout: WorkspaceLayout, settings: Settings) -> InitResult:
    """Create ``.contextree/`` (store, commented config) and a starter ``.contextreeignore``."""
    created: list[Path] = []
    existing: list[Path] = []
    layout.ensure_data_dir()
    had_store = os.path.lexists(layout.store_path)
    with writer_lock(layout.lock_path), open_store(layout, settings):
        pass
    (existing if had_store else created).append(layout.store_path)
    for path, text in (
        (layout.config_path, render_config_template()),
        (layout.ignore_path, STARTER_IGNORE),
    ):
        # Never over an existing file, nor through a symlink (kept as it is, not followed).
        try:
            made = create_file(path, text)
        except OSError as exc:
            raise write_refused(path, exc) from exc
        (created if made else existing).append(path)
    return InitResult(created=tuple(created), existing=tuple(existing))


def scan_workspace(
    layout: WorkspaceLayout,
    settings: Settings,
    *,
    progress: ScanProgress | None = None,
    wait: bool = False,
) -> ScanReport:
    """Scan under the writer lock and commit the changes in one transaction."""
    layout.ensure_data_dir()
    with writer_lock(layout.lock_path, wait=wait), open_store(layout, settings) as store:
        scanner = Scanner(layout.root, store, options=scan_options(settings), progress=progress)
        return scanner.scan()


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    root: Path
    last_scan: ScanRow | None
    files: int
    dirs: int
    store_bytes: int
    #: What a scan now would change (None when there was no scan yet).
    pending: ScanReport | None
    #: False for a store that came with the workspace (``store.provenance``).
    adopted: bool = True


def workspace_status(
    layout: WorkspaceLayout, settings: Settings, *, check_changes: bool = True
) -> StatusReport:
    """Report the last scan and, unless disabled, what changed on disk since. Never locks."""
    if not layout.store_path.exists():
        return StatusReport(
            root=layout.root, last_scan=None, files=0, dirs=0, store_bytes=0, pending=None
        )
    with Store.open(
        layout.store_path, synchronous=settings.store.synchronous, create=False, read_only=True
    ) as store:
        adopted = check_provenance(store)
        rows = TreeRows(store.conn)
        last = rows.last_scan()
        files, dirs = rows.counts()
        pending = None
        if last is not None and check_changes:
            options = scan_options(settings)
            pending = Scanner(layout.root, store, options=options).scan(commit=False)
        return StatusReport(
            root=layout.root,
            last_scan=last,
            files=files,
            dirs=dirs,
            store_bytes=store.size_bytes(),
            pending=pending,
            adopted=adopted,
        )
