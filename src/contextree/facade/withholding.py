"""Whether a path names a withheld file: the use case behind ``Workspace.withheld``.

Owns the reader-side question "is this a file whose content contextree never reads or sends"
(``.env``, keys, credentials: the default secret patterns and ``generation.secret_patterns``,
matched case-insensitively, as generation matches them). Decided by the path alone: nothing is
read, stat'ed or looked up in the store. Servers that hand frames to agents (the MCP server)
refuse such paths outright instead of serving the placeholder frame.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from contextree.bootstrap import WorkspaceSetup, prompt_file_withheld


def is_withheld(setup: WorkspaceSetup, path: str) -> bool:
    """Whether ``path`` (relative to the workspace root, or absolute inside it) names a file
    the secret patterns withhold. A path outside the workspace is not withheld (it is not in
    the workspace at all: the readers refuse it as such)."""
    rel = _relative(setup.layout.root, path)
    if rel is None or rel in ("", "."):
        return False
    return prompt_file_withheld(setup.settings)(rel)


def _relative(root: Path, path: str) -> str | None:
    text = path.replace(os.sep, "/")
    if posixpath.isabs(text):
        try:
            text = Path(text).resolve(strict=False).relative_to(root.resolve()).as_posix()
        except ValueError:
            return None
    rel = posixpath.normpath(text)
    if rel == ".." or rel.startswith("../"):
        return None
    return rel
