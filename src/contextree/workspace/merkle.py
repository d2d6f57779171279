"""Merkle identities of workspace nodes.

Owns the one definition of a node id. A file's id hashes its workspace-relative path and the
BLAKE3 hash of its bytes; a directory's id hashes its relative path and its children's
``(name, id)`` pairs sorted by raw name bytes. Every field is length-prefixed (u64 big-endian),
so no two different field sequences can produce the same input. Paths are raw bytes relative to
the workspace root (the root itself is the empty path), so moving or cloning a workspace changes
no id. Nothing here touches the filesystem.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import NewType

import blake3

#: 32 raw bytes of BLAKE3 naming a file or directory node.
NodeId = NewType("NodeId", bytes)
#: 32 raw bytes of BLAKE3 over a file's content.
ContentHash = NewType("ContentHash", bytes)

ROOT_PATH = b""
_U64 = struct.Struct(">Q")


def _field(hasher: blake3.blake3, data: bytes) -> None:
    hasher.update(_U64.pack(len(data)))
    hasher.update(data)


def file_node_id(rel_path: bytes, content_hash: bytes) -> NodeId:
    """Id of the file at ``rel_path`` (raw bytes, ``/``-separated) with this content hash."""
    h = blake3.blake3()
    _field(h, b"file")
    _field(h, rel_path)
    _field(h, content_hash)
    return NodeId(h.digest())


def dir_node_id(rel_path: bytes, children: Iterable[tuple[bytes, bytes]]) -> NodeId:
    """Id of a directory from its ``(raw name, child id)`` pairs, in any order."""
    ordered = sorted(children)
    h = blake3.blake3()
    _field(h, b"dir")
    _field(h, rel_path)
    h.update(_U64.pack(len(ordered)))
    for name, child_id in ordered:
        _field(h, name)
        _field(h, child_id)
    return NodeId(h.digest())


def content_hash_of(data: bytes) -> ContentHash:
    """BLAKE3 of a whole byte string (for small inputs already in memory)."""
    return ContentHash(blake3.blake3(data).digest())


def join_path(parent: bytes, name: bytes) -> bytes:
    """Relative path of ``name`` inside ``parent`` (the root is the empty path)."""
    return name if not parent else parent + b"/" + name


def parent_path(rel_path: bytes) -> bytes:
    """Relative path of the directory holding ``rel_path`` (the root's children have the root)."""
    cut = rel_path.rfind(b"/")
    return b"" if cut < 0 else rel_path[:cut]


def to_hex(node_id: bytes) -> str:
    return node_id.hex()
