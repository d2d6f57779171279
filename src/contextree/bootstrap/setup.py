"""The workspace as configured: where it is, its settings, and its store opened safely.

Owns turning "a directory and the environment" into a ``WorkspaceSetup`` (layout, settings
and the notices of workspace settings it ignored), the scan and ignore options derived from
the settings, and the one definition of opening the store: for writing (creating
``.contextree/`` and the database on first use, refusing an unwritable one with what to do)
or for reading (never creating anything), each checking where the store came from.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contextree.config.paths import user_config_file, user_state_dir
from contextree.config.settings import Settings, load_settings
from contextree.errors import PathNotFoundError, StoreError
from contextree.store.db import Store
from contextree.store.provenance import RECORDS_FILE_NAME, StoreRecords
from contextree.store.tree import TreeRows
from contextree.workspace.layout import WorkspaceLayout, write_refused
from contextree.workspace.paths import IgnoreOptions

if TYPE_CHECKING:
    from contextree.workspace.scan import Scanner, ScanOptions, ScanProgress


@dataclass(frozen=True, slots=True)
class WorkspaceSetup:
    layout: WorkspaceLayout
    settings: Settings
    #: Workspace config values ignored because they would loosen the user's security or
    #: spend settings (one line each, naming the file and the setting).
    notices: tuple[str, ...] = ()


def load_workspace(
    path: Path | str | None,
    *,
    discover: bool | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> WorkspaceSetup:
    """The workspace at ``path`` (``discover``: the nearest initialised one at or above it;
    by default only when ``path`` is None, meaning the current directory) and its settings
    (defaults < user config < workspace config < environment < ``overrides``)."""
    start = Path.cwd() if path is None else Path(path)
    if discover is None:
        discover = path is None
    layout = WorkspaceLayout.discover(start) if discover else WorkspaceLayout.at(start)
    notices: list[str] = []
    settings = load_settings(
        files=[user_config_file()],
        workspace=layout.config_path,
        notices=notices,
        overrides=overrides,
    )
    return WorkspaceSetup(layout=layout, settings=settings, notices=tuple(notices))


def scan_options(settings: Settings) -> ScanOptions:
    """How a scan walks and hashes, from the ``scan`` settings."""
    from contextree.workspace.hashing import default_processes
    from contextree.workspace.scan import ScanOptions

    processes = settings.scan.hash_processes or default_processes()
    return ScanOptions(
        hash_processes=processes,
        extra_ignores=tuple(os.fsencode(p) for p in settings.scan.ignore),
        skip_virtualenvs=settings.scan.skip_virtualenvs,
    )


def scanner(ws: WorkspaceSetup, store: Store, *, progress: ScanProgress | None = None) -> Scanner:
    """The scanner of the workspace into ``store``, with the configured scan options."""
    from contextree.workspace.scan import Scanner

    return Scanner(ws.layout.root, store, options=scan_options(ws.settings), progress=progress)


def tree_rows(store: Store) -> TreeRows:
    """The scanned tree's rows in ``store`` (entries, nodes, scans), for reading."""
    return TreeRows(store.conn)


def ignore_options(settings: Settings) -> IgnoreOptions:
    """The scan settings that decide what is ignored, for explaining a path's absence."""
    return IgnoreOptions(
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


def open_store_for_reading(ws: WorkspaceSetup, *, writable: bool = False) -> Store:
    """The workspace store for a read-only command; takes no writer lock and creates nothing.
    A workspace that was never scanned is a ``PathNotFoundError`` saying what to run."""
    if not ws.layout.store_path.exists():
        raise PathNotFoundError(
            f"the workspace {ws.layout.root} has not been scanned yet",
            hint="Run `contextree scan` first.",
        )
    store = Store.open(
        ws.layout.store_path,
        synchronous=ws.settings.store.synchronous,
        create=False,
        read_only=not writable,
    )
    check_provenance(store)  # a store that came with a clone serves no frame as current
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
