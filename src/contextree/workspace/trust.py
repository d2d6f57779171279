"""Workspace trust: which of a workspace's own profile files this user has approved.

A repository can ship ``.contextree/providers/*.toml`` and ``.contextree/agents/*.toml`` (with
the prompt files they name). Such a file decides where the user's API key and files are sent,
so it is used for a call to a non-structural provider only once the user approved it with
``contextree trust`` (like direnv's ``allow``). User-level profiles are always trusted.

An approval is per file: the real path of the workspace, the file's path relative to it, and
the BLAKE3 digest of the bytes parsed (``file_digest``: the file, then every prompt file it
names, each length-prefixed), so any edit makes the file untrusted again. Approvals live in one
JSON file in the user state directory, never in the workspace (trust is never a setting a
workspace could set), written atomically (a fresh temporary file, then ``os.replace``) and
never read through a symlink. A missing, unreadable or malformed approvals file trusts
nothing. This module does no parsing of profiles; the registries compute the digests of what
they parse, and the composition root compares them with the approvals.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contextree.config.paths import user_state_dir
from contextree.core.ids import Digest, digest_fields
from contextree.errors import ConfigError
from contextree.state_file import read_state, write_state

TRUST_FILE_NAME = "trust.json"
FORMAT_VERSION = 1
_MAX_TRUST_FILE_BYTES = 16 << 20


def file_digest(data: bytes, *prompts: bytes) -> Digest:
    """What an approval names: the profile's bytes, then each prompt file's bytes."""
    return digest_fields(data, *prompts)


def workspace_key(root: Path) -> str:
    """The real path of the workspace root (a symlinked checkout is the same workspace)."""
    return os.path.realpath(root)


def relative_name(root: Path, path: Path) -> str:
    """``path`` relative to the workspace root, as POSIX text (how approvals name files)."""
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return Path(path).as_posix()


def default_trust_file() -> Path:
    return user_state_dir() / TRUST_FILE_NAME


class TrustStore:
    """The approvals file. Every method reads it afresh; writes replace it atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_trust_file()

    def approvals(self, root: Path) -> dict[str, str]:
        """Approved files of the workspace at ``root``: relative path -> digest."""
        entry = self._read().get(workspace_key(root), {})
        files = entry.get("files", {}) if isinstance(entry, dict) else {}
        if not isinstance(files, dict):
            return {}
        return {str(k): v for k, v in files.items() if isinstance(v, str)}

    def approve(self, root: Path, files: Mapping[str, str]) -> None:
        """Record ``files`` (relative path -> digest) as approved for ``root``."""
        if not files:
            return
        workspaces = self._read()
        key = workspace_key(root)
        entry = workspaces.get(key)
        current = entry.get("files") if isinstance(entry, dict) else None
        merged = dict(current) if isinstance(current, dict) else {}
        merged.update(files)
        workspaces[key] = {"files": dict(sorted(merged.items()))}
        self._write(workspaces)

    def revoke(self, root: Path, files: Iterable[str] | None = None) -> int:
        """Remove the approvals of ``files`` (relative paths; every approval when None) of
        ``root``; how many there were."""
        workspaces = self._read()
        key = workspace_key(root)
        if files is None:
            entry = workspaces.pop(key, None)
            current = entry.get("files") if isinstance(entry, dict) else None
            count = len(current) if isinstance(current, dict) else 0
            if entry is not None:
                self._write(workspaces)
            return count
        entry = workspaces.get(key)
        current = entry.get("files") if isinstance(entry, dict) else None
        if not isinstance(current, dict):
            return 0
        names = set(files)
        kept = {k: v for k, v in current.items() if k not in names}
        count = len(current) - len(kept)
        if count:
            workspaces[key] = {"files": kept}
            self._write(workspaces)
        return count

    # --- the file -------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        # Missing, a symlink, unreadable or malformed: nothing is trusted.
        doc = read_state(self.path, version=FORMAT_VERSION, max_bytes=_MAX_TRUST_FILE_BYTES)
        workspaces = doc.get("workspaces") if doc is not None else None
        return dict(workspaces) if isinstance(workspaces, dict) else {}

    def _write(self, workspaces: Mapping[str, Any]) -> None:
        doc = {"version": FORMAT_VERSION, "workspaces": dict(sorted(workspaces.items()))}
        try:
            write_state(self.path, doc)
        except OSError as exc:
            raise ConfigError(
                f"cannot write trust approvals to {self.path}: {exc.strerror or exc}",
                hint="Check that the user state directory is a writable real directory (not "
                "a symlink), then run `contextree trust` again.",
            ) from None


@dataclass(frozen=True, slots=True)
class WorkspaceTrust:
    """The approvals of one workspace, read once, for checking many files."""

    root: Path
    approved: Mapping[str, str]

    @classmethod
    def load(cls, root: Path, store: TrustStore | None = None) -> WorkspaceTrust:
        return cls(root, (store or TrustStore()).approvals(root))

    def trusted(self, path: Path, digest: str) -> bool:
        """Whether the workspace file at ``path`` is approved with exactly these bytes."""
        return self.approved.get(relative_name(self.root, path)) == digest
