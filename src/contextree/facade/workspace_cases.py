"""Workspace use cases: init, scan and status, behind ``Workspace.init``, ``scan`` and ``status``.

Owns the order of operations around a scan (writer lock, store, scanner) and what ``status``
reports. It holds no presentation: the CLI turns these results into text or JSON.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from contextree.bootstrap import (
    WorkspaceSetup,
    open_store,
    open_store_for_reading,
    scanner,
    tree_rows,
)
from contextree.config.settings import Settings
from contextree.config.template import render_config_template
from contextree.store.tree import ScanRow
from contextree.workspace.layout import STARTER_IGNORE, WorkspaceLayout, create_file, write_refused
from contextree.workspace.lock import writer_lock
from contextree.workspace.scan import ScanProgress, ScanReport


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
        setup = WorkspaceSetup(layout=layout, settings=settings)
        return scanner(setup, store, progress=progress).scan()


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
    setup = WorkspaceSetup(layout=layout, settings=settings)
    with open_store_for_reading(setup) as store:
        adopted = store.input_keys_trusted
        rows = tree_rows(store)
        last = rows.last_scan()
        files, dirs = rows.counts()
        pending = None
        if last is not None and check_changes:
            pending = scanner(setup, store).scan(commit=False)
        return StatusReport(
            root=layout.root,
            last_scan=last,
            files=files,
            dirs=dirs,
            store_bytes=store.size_bytes(),
            pending=pending,
            adopted=adopted,
        )
