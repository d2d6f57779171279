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
from typing import TYPE_CHECKING

from contextree.bootstrap import WorkspaceSetup

if TYPE_CHECKING:
    from contextree.facade.pack_render import ContextPack


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

    def pack(
        self,
        path: str | os.PathLike[str],
        *,
        budget: int | None = None,
        agent: str | None = None,
        fmt: str = "md",
    ) -> ContextPack:
        """A context pack of ``path``: what an agent needs to work on it, in one answer. The
        target's frame, its ancestors' frames up to the root (nearest first), its children's
        frames (largest subtree first) or, for a file, the first sentence of each sibling's;
        each block with its path, node id, frame id, agent, whether the frame is current and
        whether the file still matches the last scan. With ``budget`` (tokens, by
        ``contextree.core.tokens.estimate_tokens`` of ``pack.render(fmt)``) blocks are cut in
        that priority order, the first that does not fit at a line boundary, and the pack
        says what it left out; ``pack.estimate`` is never above the budget. Deterministic:
        the same store gives byte-identical renderings. Read-only and lock-free.

        Raises ``UsageError`` when the budget is below the smallest pack (the message names
        it) or ``fmt`` is not md, json or xml, ``FrameNotFoundError`` when ``path`` has no
        frame for the agent, ``PathNotFoundError`` when it is not in the last scan."""
        from contextree.facade.packs import build_pack
        from contextree.facade.reading import typed_path

        return build_pack(
            self._setup, typed_path(path), budget=budget, agent=agent, cwd=self._cwd, fmt=fmt
        )
