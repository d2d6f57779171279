"""Reading one TOML file a user or a workspace wrote: config, provider and agent profiles.

Owns the three ways such a file can be unusable (unreadable, not UTF-8, not TOML) and how each
is said: the file named, what is wrong, and what to do, as the caller's error class. Returns the
exact bytes parsed too, which a workspace trust approval names.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from contextree.errors import UsageError


def read_toml_file(
    path: Path, *, error: type[UsageError], otherwise: str
) -> tuple[dict[str, Any], bytes]:
    """The table in ``path`` and its bytes. ``error`` is raised for a file that cannot be
    used; ``otherwise`` ends each hint ("move it out of the way", "delete it to use
    defaults"). ``FileNotFoundError`` passes through for callers where a missing file is fine.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(
            f"cannot read {path}: {exc.strerror or exc}",
            hint=f"Check the file's permissions, or {otherwise}.",
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{path} is not UTF-8 text (byte {exc.start} cannot be decoded); TOML files must be "
            "UTF-8",
            hint=f"Save the file as UTF-8, or {otherwise}.",
        ) from None
    try:
        return tomllib.loads(text), raw
    except tomllib.TOMLDecodeError as exc:
        raise error(
            f"{path} is not valid TOML: {exc}", hint=f"Fix the file, or {otherwise}."
        ) from None
