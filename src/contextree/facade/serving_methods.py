"""The serving methods of ``Workspace``: what agents and people read out in bulk (context
packs, every frame under a path, search, export).

Owns nothing but their signatures and documentation: each delegates to the use-case module
that owns it (``packs``, ``bulk_reads``, ``searching``, ``exporting``). They live in this mixin
so that ``workspace.py`` stays one screenful per area; ``Workspace`` is the only class that
inherits it.
"""

from __future__ import annotations

import os
from pathlib import Path

from contextree.bootstrap import WorkspaceSetup


class ServingMethods:
    """Mixed into ``Workspace``: reading context out for agents and people."""

    _setup: WorkspaceSetup
    _cwd: Path | None

    def withheld(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` (relative to the workspace root, or absolute inside it) names a
        file whose content contextree never reads or sends (``.env``, keys, credentials: the
        secret patterns of ``[generation]``). Decided by the path alone; never raises for a
        path outside the workspace (that is not withheld, it is not in the workspace). Servers
        that hand frames to agents refuse such a path instead of serving its placeholder."""
        from contextree.facade.withholding import is_withheld

        return is_withheld(self._setup, os.fspath(path))
