"""Hashing a marked file (``AGENTS.md``, ``CLAUDE.md``): BLAKE3 over its bytes without the
blocks ``contextree export`` writes into it.

Owns reading such a file whole (it is small: at most ``marked_blocks.MARKED_FILE_CAP`` bytes)
with the same stability rule as every other file (the stat signature before the read, the
caller's when given, must equal an fstat after it, and as many bytes must arrive as it says;
otherwise it is read again, up to ``attempts`` times, then reported unstable with its mtime
smudged), removing its marked blocks and hashing the rest. ``hashing.hash_path`` calls it for
the marked names only; what a block is, is ``marked_blocks``'s.
"""

from __future__ import annotations

import blake3

from contextree.workspace.fs import FileSystem, Sig, regular_sig, sig_size_mtime, smudged
from contextree.workspace.marked_blocks import MARKED_FILE_CAP, strip_blocks

#: (content hash, signature, error, unstable), as ``hash_pool.Read``.
_Read = tuple[bytes | None, Sig | None, str | None, bool]


def _read_whole(fs: FileSystem, path: bytes, before: Sig | None) -> tuple[bytes, Sig, bool]:
    """The file's bytes (at most one past the cap), its signature after the read, and whether
    it stayed as ``before`` (or the fstat taken first) says."""
    ops = fs.file_ops
    fd = ops.open_fd(path)
    try:
        if before is None:
            before = regular_sig(ops.fstat(fd))
        size = sig_size_mtime(before)[0]
        parts: list[bytes] = []
        total = 0
        while total <= size and total <= MARKED_FILE_CAP:
            data = ops.read_chunk(fd, min(size, MARKED_FILE_CAP) - total + 1)
            if not data:
                break
            parts.append(data)
            total += len(data)
        after = ops.fstat(fd)
    finally:
        ops.close(fd)
    now = regular_sig(after)
    return b"".join(parts), now, now == before and total == size


def hash_marked(fs: FileSystem, path: bytes, before: Sig | None, attempts: int) -> _Read | None:
    """``hashing.hash_path`` for a marked file. None when it holds more than
    ``MARKED_FILE_CAP`` bytes: it is then hashed byte for byte, like any other file."""
    if before is not None and sig_size_mtime(before)[0] > MARKED_FILE_CAP:
        return None
    data = b""
    sig = before
    now: Sig | None = None
    for _ in range(max(1, attempts)):
        try:
            data, now, still = _read_whole(fs, path, sig)
        except OSError as exc:
            return None, None, exc.strerror or type(exc).__name__, False
        if len(data) > MARKED_FILE_CAP:
            return None
        if still:
            digest = blake3.blake3(strip_blocks(data)).digest()
            return digest, (sig if sig is not None else now), None, False
        sig = None
    assert now is not None
    return blake3.blake3(strip_blocks(data)).digest(), smudged(now), None, True


def marked_content(data: bytes) -> bytes:
    """The bytes a marked file holding ``data`` is hashed over: ``data`` without its marked
    blocks (all of ``data`` when it is over the cap)."""
    return data if len(data) > MARKED_FILE_CAP else strip_blocks(data)
