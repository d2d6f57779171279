"""One small JSON document of this user's state (trust approvals, store records), kept safe
from a hostile workspace.

Owns how such a file is read and written: never through a symlink (read with ``O_NOFOLLOW``;
written as a fresh ``O_EXCL`` temporary file renamed over the name, in a real directory made
private), bounded in size, and versioned, so anything malformed, oversized or from another
format reads as "nothing recorded" rather than an error. Callers turn an ``OSError`` from a
write into their own error with their own advice.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def read_state(path: Path, *, version: int, max_bytes: int) -> dict[str, Any] | None:
    """The document at ``path`` if it is a JSON object of ``version`` within ``max_bytes``;
    None when it is missing, a symlink, unreadable, too large or malformed."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(max_bytes + 1)
        if len(raw) > max_bytes:
            return None
        doc = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != version:
        return None
    return doc


def write_state(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` to ``path`` atomically; raises ``OSError`` (``ELOOP`` when the directory
    is a symlink, which is refused rather than followed)."""
    directory = path.parent
    data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if directory.is_symlink():
        raise OSError(errno.ELOOP, f"{directory} is a symlink, not a real directory")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # renames over the name: a symlink there is replaced, not followed
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
