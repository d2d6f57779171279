"""Approving a test workspace's own profile files, as ``contextree trust --yes`` would."""

from __future__ import annotations

from pathlib import Path

from contextree.bootstrap import load_workspace
from contextree.trust_review import trust_review
from contextree.workspace.trust import TrustStore, relative_name


def trust_workspace(root: Path) -> None:
    """Approve every provider and agent profile under ``root/.contextree`` as it is now (in the
    hermetic user state directory, which the CLI subprocesses of the test share)."""
    ws = load_workspace(str(root))
    base = ws.layout.root
    TrustStore().approve(base, {relative_name(base, i.path): i.digest for i in trust_review(ws)})
