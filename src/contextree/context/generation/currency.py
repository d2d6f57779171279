"""Currency: the one definition of what a head was generated from.

Owns ``input_key()``. A head is *current* when the input key stored on it equals the one
computed now from: the node id, the agent's prompt profile digest, the requested provider's
name and configured model, and, for a directory, its children's current frame ids in child-name
order. Plan, ``prepare`` and ``status`` all call this function and nothing else decides
currency. It reads no file contents: every input is an id or a digest already in the store.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import blake3

#: Bump when the meaning of the inputs changes, so every head becomes stale once.
CURRENCY_VERSION = b"contextree-input-key-v1"
_U64 = struct.Struct(">Q")
#: Stands in for a child that has no frame (such a directory is never generated, but the key
#: must still be well defined).
MISSING_CHILD = b""


def _field(hasher: blake3.blake3, data: bytes) -> None:
    hasher.update(_U64.pack(len(data)))
    hasher.update(data)


def input_key(
    *,
    node_id: bytes,
    prompt_digest: str,
    provider_name: str,
    model: str,
    child_frame_ids: Sequence[bytes] | None = None,
) -> str:
    """Hex digest of everything a frame for this node is generated from.

    ``child_frame_ids`` is None for a file and, for a directory, the current frame id of each
    child in child-name order (``MISSING_CHILD`` for a child without one).
    """
    h = blake3.blake3()
    _field(h, CURRENCY_VERSION)
    _field(h, node_id)
    _field(h, prompt_digest.encode("utf-8"))
    _field(h, provider_name.encode("utf-8"))
    _field(h, model.encode("utf-8"))
    if child_frame_ids is None:
        _field(h, b"file")
    else:
        _field(h, b"dir")
        h.update(_U64.pack(len(child_frame_ids)))
        for frame_id in child_frame_ids:
            _field(h, frame_id)
    return h.hexdigest()
