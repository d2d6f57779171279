"""Where a workspace keeps its files, and how a workspace root is found.

Owns the names under ``.contextree/`` (store, lock, config) and the starter
``.contextreeignore``. A workspace root is the ``--workspace`` directory, or else the nearest
directory at or above the current one that already has ``.contextree/``, or else the current
directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contextree.errors import WorkspaceError

DATA_DIR_NAME = ".contextree"


@dataclass(frozen=True, slots=True)
class WorkspaceLayout:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / DATA_DIR_NAME

    @property
    def store_path(self) -> Path:
        return self.data_dir / "store.db"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "lock"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "config.toml"

    @property
    def ignore_path(self) -> Path:
        return self.root / ".contextreeignore"

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(exist_ok=True)

    @classmethod
    def at(cls, path: Path) -> WorkspaceLayout:
        """The workspace rooted exactly at ``path``."""
        try:
            root = path.expanduser().resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise WorkspaceError(
                f"workspace directory {path} does not exist",
                hint="Pass an existing directory with --workspace DIR.",
            ) from exc
        if not root.is_dir():
            raise WorkspaceError(
                f"workspace {path} is not a directory",
                hint="Pass a directory with --workspace DIR.",
            )
        return cls(root)

    @classmethod
    def discover(cls, start: Path) -> WorkspaceLayout:
        """The nearest initialised workspace at or above ``start``, else ``start`` itself."""
        here = cls.at(start)
        for candidate in (here.root, *here.root.parents):
            if (candidate / DATA_DIR_NAME).is_dir():
                return cls(candidate)
        return here


STARTER_IGNORE = """\
# Paths contextree should not scan, in .gitignore syntax, on top of your .gitignore files.
# Built in and always skipped: .git, .contextree, node_modules, __pycache__, .venv and any
# directory holding a pyvenv.cfg (a Python virtual environment).
#
# Examples:
# dist/
# *.min.js
# docs/generated/
"""
