"""Content digests: the one definition of a ``Digest`` (lowercase hex BLAKE3, 64 characters).

Owns how a text or byte string is named by its content: artifacts are stored under their
digest, frame metadata carries digests of the prompt, the context and the provider request,
agent profiles and the generation currency hash their inputs with ``digest_fields``. It lives
at the bottom layer so every package can name things the same way. It does no I/O.
"""

from __future__ import annotations

import re
import struct
from typing import NewType

import blake3

#: 64 lowercase hex characters of BLAKE3.
Digest = NewType("Digest", str)

_U64 = struct.Struct(">Q")
_DIGEST_RE = re.compile(r"[0-9a-f]{64}")


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
