"""Workspace trust: the use cases behind ``Workspace.trust_review``, ``trust``, ``revoke`` and
``contextree trust``.

Owns which of the workspace's own profile files (``.contextree/providers/*.toml``,
``.contextree/agents/*.toml`` and the prompt files they name) a caller may approve, and
recording or forgetting the approvals in this user's state directory. What each file does,
whether it is trusted and the refusals of untrusted ones are ``contextree.trust_review``'s;
who approved which bytes is ``contextree.workspace.trust``'s. Only a file the review lists can
be approved, and always with the digest of the bytes reviewed: a file edited since the review
stays untrusted. Cheap to import: the provider and agent stacks load only when a review runs.

``TrustItem`` (one reviewed file) is re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from contextree.bootstrap import WorkspaceSetup, trust_store
from contextree.errors import UsageError
from contextree.trust_review import (
    TrustItem,
    trust_notice,
    trust_review,
    untrusted_workspace_files,
)
from contextree.workspace.trust import TrustStore, relative_name

__all__ = [
    "TrustItem",
    "TrustTarget",
    "approve",
    "relative_name",
    "review",
    "revoke",
    "trust_notice",
    "untrusted_files",
]

#: What ``Workspace.trust`` accepts for one file: a path (relative to the workspace root, or
#: absolute) or an item of an earlier ``trust_review`` (approved with the digest reviewed).
TrustTarget = str | os.PathLike[str] | TrustItem


def untrusted_files(setup: WorkspaceSetup) -> list[Path]:
    """The workspace profile files this user has not approved as they are now."""
    return untrusted_workspace_files(setup)


def review(setup: WorkspaceSetup) -> list[TrustItem]:
    """Every workspace provider and agent profile file (broken ones too), with what it does
    and whether this user approved its current bytes."""
    return trust_review(setup)


def approve(
    setup: WorkspaceSetup,
    targets: Iterable[TrustTarget] | None = None,
    *,
    store: TrustStore | None = None,
) -> list[TrustItem]:
    """Approve the untrusted files among ``targets`` (every untrusted file when None) and
    return them, now marked trusted; a target already trusted is left as it is. A path that
    is not a workspace profile file the review lists is a ``UsageError`` and nothing is
    approved."""
    root = setup.layout.root
    items = trust_review(setup)
    listed = {relative_name(root, i.path): i for i in items}
    if targets is None:
        chosen = [i for i in items if not i.trusted]
    else:
        chosen = []
        for target in targets:
            name = _name(root, target)
            current = listed.get(name)
            if current is None:
                raise UsageError(
                    f"{name} is not a workspace profile file of {root}; only the files "
                    "`contextree trust --list` shows can be approved",
                    hint="`contextree trust --list` shows the workspace's provider and agent "
                    "profile files.",
                )
            # An item of an earlier review is approved as reviewed: its digest, not the
            # file's bytes now (an edit since the review leaves the file untrusted).
            item = target if isinstance(target, TrustItem) else current
            if not item.trusted and all(c.path != item.path for c in chosen):
                chosen.append(item)
    (store or trust_store()).approve(root, {relative_name(root, i.path): i.digest for i in chosen})
    return [replace(i, trusted=True) for i in chosen]


def revoke(
    setup: WorkspaceSetup,
    targets: Iterable[str | os.PathLike[str]] | None = None,
    *,
    store: TrustStore | None = None,
) -> int:
    """Forget this user's approvals of the workspace's files (all of them when ``targets``
    is None); how many approvals there were."""
    root = setup.layout.root
    names = None if targets is None else [_name(root, t) for t in targets]
    return (store or trust_store()).revoke(root, names)


def _name(root: Path, target: TrustTarget) -> str:
    """How approvals name ``target``: its path relative to the workspace root."""
    if isinstance(target, TrustItem):
        return relative_name(root, target.path)
    text = os.fspath(target)
    if not isinstance(text, str):  # bytes paths are not part of the surface
        raise UsageError(f"a path must be a str or os.PathLike[str], not {type(text).__name__}")
    path = Path(text)
    return relative_name(root, path if path.is_absolute() else root / path)
