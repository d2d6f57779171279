"""Building small workspaces on disk and scanning them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import blake3

from contextree.core.ids import ContentHash
from contextree.store.db import Store
from contextree.store.tree import TreeRows
from contextree.workspace.fs import REAL_FS, FileSystem
from contextree.workspace.hashing import ChunkHook
from contextree.workspace.scan import Scanner, ScanOptions, ScanReport

#: A time well in the past, so files are never "racy" relative to a scan that starts now.
OLD_NS = 1_600_000_000 * 10**9


def write_tree(root: Path, files: Mapping[str, bytes | str], *, old: bool = True) -> None:
    """Create ``files`` (relative path -> content) under ``root``; optionally with old mtimes."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(data)
        if old:
            os.utime(path, ns=(OLD_NS, OLD_NS))


def scan(
    root: Path,
    *,
    fs: FileSystem = REAL_FS,
    on_chunk: ChunkHook | None = None,
    processes: int = 1,
    commit: bool = True,
) -> ScanReport:
    data = root / ".contextree"
    data.mkdir(exist_ok=True)
    with Store.open(data / "store.db") as store:
        scanner = Scanner(
            root, store, options=ScanOptions(hash_processes=processes), fs=fs, on_chunk=on_chunk
        )
        return scanner.scan(commit=commit)


def node_ids(root: Path) -> dict[bytes, bytes]:
    """path -> node id of the current tree in the workspace's store."""
    with Store.open(root / ".contextree" / "store.db") as store:
        return {path: row[1] for path, row in TreeRows(store.conn).load_entries().items()}


def content_hash(data: bytes) -> ContentHash:
    """The content hash a scan stores for a file holding ``data`` (BLAKE3 of its bytes)."""
    return ContentHash(blake3.blake3(data).digest())
