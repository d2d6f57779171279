"""Identities and content digests: the one definition of a node id, a frame id and a ``Digest``.

Owns how things are named. A file's node id hashes its workspace-relative path and the BLAKE3
hash of its bytes; a directory's id hashes its relative path and its children's ``(name, id)``
pairs sorted by raw name bytes. Every field is length-prefixed (u64 big-endian), so no two
different field sequences can produce the same input. Paths are raw bytes relative to the
workspace root (the root itself is the empty path), so moving or cloning a workspace changes no
id. A ``Digest`` is lowercase hex BLAKE3 (64 characters): artifacts are stored under their
digest, frame metadata carries digests of the prompt, the context and the provider request,
agent profiles and the generation currency hash their inputs with ``digest_fields``. Nothing
here touches the filesystem or does any I/O.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from enum import StrEnum
from typing import NewType

import blake3

#: 32 raw bytes of BLAKE3 naming a file or directory node.
NodeId = NewType("NodeId", bytes)
#: 32 raw bytes of BLAKE3 over a file's content.
ContentHash = NewType("ContentHash", bytes)
#: 32 raw bytes of BLAKE3 naming one frame (see ``core.frame.compute_frame_id``).
FrameId = NewType("FrameId", bytes)
#: 64 lowercase hex characters of BLAKE3.
Digest = NewType("Digest", str)


class NodeKind(StrEnum):
    """What a tree node is; the values are the strings stored in SQLite and JSON."""

    FILE = "file"
    DIR = "dir"


ROOT_PATH = b""
_U64 = struct.Struct(">Q")
_DIGEST_RE = re.compile(r"[0-9a-f]{64}")


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


def digest_bytes(data: bytes) -> Digest:
    """The digest of one byte string."""
    return Digest(blake3.blake3(data).hexdigest())


def digest_text(text: str) -> Digest:
    """The digest of a text, encoded as UTF-8."""
    return digest_bytes(text.encode("utf-8"))


def digest_fields(*fields: bytes) -> Digest:
    """The digest of a sequence of byte strings, each length-prefixed (u64 big-endian), so
    that no two different sequences hash the same input."""
    hasher = blake3.blake3()
    hasher.update(_U64.pack(len(fields)))
    for data in fields:
        hasher.update(_U64.pack(len(data)))
        hasher.update(data)
    return Digest(hasher.hexdigest())


def is_digest(value: str) -> bool:
    """True when ``value`` has the exact shape of a digest."""
    return _DIGEST_RE.fullmatch(value) is not None


#: The digest of nothing: what a frame built from no input (a withheld file) records.
EMPTY_DIGEST: Digest = digest_bytes(b"")
