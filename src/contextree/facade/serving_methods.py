"""The serving methods of ``Workspace``: what agents and people read out in bulk (context
packs, every frame under a path, search, export).

Owns nothing but their signatures and documentation: each delegates to the use-case module
that owns it (``packs``, ``bulk_reads``, ``searching``, ``exporting``). They live in this mixin
so that ``workspace.py`` stays one screenful per area; ``Workspace`` is the only class that
inherits it.
"""

from __future__ import annotations

from pathlib import Path

from contextree.bootstrap import WorkspaceSetup


class ServingMethods:
    """Mixed into ``Workspace``: reading context out for agents and people."""

    _setup: WorkspaceSetup
    _cwd: Path | None
