"""A scan into a throwaway store: the tree as it is on disk now, with no workspace store.

Owns building the scanner and store of a check that must also work in a fresh clone (no
``.contextree/store.db``) and must not change the workspace's own store: ``contextree export
--check`` compares the node ids written into ``AGENTS.md`` blocks with the ids the files have
now. The store lives in a temporary directory that is removed when the block ends; nothing is
recorded as this user's store and no writer lock is taken (the workspace store is not touched).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from contextree.bootstrap.setup import WorkspaceSetup, scan_options
from contextree.store.db import Store
from contextree.store.tree import TreeRows


@contextlib.contextmanager
def scratch_tree(ws: WorkspaceSetup) -> Iterator[TreeRows]:
    """The workspace scanned now (with its scan settings) into a temporary store; the rows
    are readable inside the block only."""
    from contextree.workspace.scan import Scanner

    with tempfile.TemporaryDirectory(prefix="contextree-check-") as tmp:
        store = Store.open(Path(tmp) / "store.db")
        try:
            Scanner(ws.layout.root, store, options=scan_options(ws.settings)).scan()
            yield TreeRows(store.conn)
        finally:
            store.close()
