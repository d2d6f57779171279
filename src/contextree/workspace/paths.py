"""Turning a path a user typed into a node of the scanned tree, or explaining why it is none.

Owns the rules for typed paths: an absolute path, or a relative one taken from the current
directory when that is inside the workspace (as git does) and from the workspace root
otherwise. Names are matched by raw bytes first, then after NFC normalisation (two entries that
normalise alike are an ambiguity, reported with both). A miss is explained: outside the
workspace, not on disk, a symlink or special file, ignored (naming the rule's source and where
to change it), inside a skipped virtual environment, or simply not scanned yet. It reads the
store and, for explanations only, the ignore files along the path; it never writes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contextree.core.tree import TreeNode, display_path
from contextree.errors import PathNotFoundError
from contextree.store.tree import TreeRows, lookup_key
from contextree.workspace.ignore import (
    DEFAULT_IGNORES,
    IGNORE_FILE_NAMES,
    NEVER_SCANNED,
    IgnoreRules,
)

_IGNORE_FILE_CAP = 1 << 20
_VENV_MARKER = "pyvenv.cfg"
_RESCAN = "Run `contextree scan` after changing it."


@dataclass(frozen=True, slots=True, kw_only=True)
class IgnoreOptions:
    """The scan settings that decide what is ignored (see ``config.settings.ScanSettings``)."""

    extra_ignores: tuple[bytes, ...] = ()
    skip_virtualenvs: bool = True


def relative_path(typed: str, *, root: Path, cwd: Path | None = None) -> bytes:
    """The workspace-relative raw path of ``typed``; ``PathNotFoundError`` when outside."""
    here = Path.cwd() if cwd is None else cwd
    base = here if here == root or root in here.parents else root
    candidate = Path(os.path.normpath(base / Path(typed).expanduser()))
    for attempt in (candidate, _physical(candidate)):
        if attempt == root:
            return b""
        if root in attempt.parents:
            return os.fsencode(attempt.relative_to(root).as_posix())
    raise PathNotFoundError(
        f"{typed} is outside the workspace {root}",
        hint="Give a path inside the workspace, or pick the workspace with --workspace DIR.",
    )


def _physical(path: Path) -> Path:
    """``path`` with symlinks resolved in its directories (the last name is kept as is)."""
    return Path(os.path.realpath(path.parent)) / path.name


def resolve_typed_path(
    typed: str,
    *,
    root: Path,
    rows: TreeRows,
    cwd: Path | None = None,
    options: IgnoreOptions | None = None,
) -> TreeNode:
    """The entry of the current tree that ``typed`` names, or a ``PathNotFoundError`` whose
    message says why there is none and whose hint says what to do."""
    rel = relative_path(typed, root=root, cwd=cwd)
    entry = rows.entry(rel)
    if entry is not None:
        return entry
    matches = rows.entries_by_lookup(lookup_key(rel))
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = " and ".join(repr(display_path(m.path)) for m in matches)
        raise PathNotFoundError(
            f"{typed} matches {len(matches)} entries that differ only in Unicode "
            f"normalisation: {names}",
            hint="Type the exact name (copy it from `ls`) to pick one.",
        )
    if rows.last_scan() is None:
        raise PathNotFoundError(
            "the workspace has not been scanned yet", hint="Run `contextree scan` first."
        )
    raise explain_missing(rel, root=root, options=options or IgnoreOptions())


def explain_missing(rel: bytes, *, root: Path, options: IgnoreOptions) -> PathNotFoundError:
    """Why ``rel`` (workspace-relative, not in the tree) is not a node."""
    shown = display_path(rel)
    absolute = os.fsencode(root) + b"/" + rel
    try:
        mode = os.lstat(absolute).st_mode
    except FileNotFoundError:
        return PathNotFoundError(
            f"{shown} does not exist in the workspace",
            hint="Check the spelling; relative paths start at the current directory.",
        )
    except OSError as exc:
        return PathNotFoundError(f"cannot look at {shown}: {exc.strerror}")
    if stat.S_ISLNK(mode):
        return PathNotFoundError(
            f"{shown} is a symbolic link; contextree does not follow symlinks",
            hint="Use the path of its target inside the workspace.",
        )
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return PathNotFoundError(f"{shown} is not a regular file or directory")
    reason = _skipped(os.fsencode(root), rel, stat.S_ISDIR(mode), options)
    if reason is not None:
        return reason
    return PathNotFoundError(
        f"{shown} is not in the tree yet (added since the last scan)",
        hint="Run `contextree scan`.",
    )


def skipped_by_scan(
    rel: bytes, *, root: Path, options: IgnoreOptions, is_dir: bool = False
) -> PathNotFoundError | None:
    """Why a scan would skip ``rel`` (workspace-relative; it need not exist): never scanned,
    ignored (naming the rule's source) or inside a virtual environment; None when it would
    be scanned. Reads the ignore files along the path, nothing else."""
    return _skipped(os.fsencode(root), rel, is_dir, options)


def _skipped(
    root: bytes, rel: bytes, is_dir: bool, options: IgnoreOptions
) -> PathNotFoundError | None:
    """An error for the first component of ``rel`` the scanner skips, or None."""
    parts = rel.split(b"/")
    for depth, part in enumerate(parts):
        if part in NEVER_SCANNED:
            inside = b"/".join(parts[: depth + 1])
            return PathNotFoundError(
                f"{display_path(rel)} is inside {display_path(inside)}, which contextree never "
                "scans (no ignore file can include it)",
                hint="Ask about a path of the workspace itself.",
            )
    rules = _root_rules(root, options)
    for depth in range(len(parts)):
        parent = b"/".join(parts[:depth])
        target = b"/".join(parts[: depth + 1])
        target_is_dir = is_dir or depth < len(parts) - 1
        files = _ignore_files(root, parent)
        rules = rules.descend(parent, files)
        if rules.ignored(target, target_is_dir):
            label, hint = _attribute(root, target, target_is_dir, options)
            under = "" if target == rel else f" (it is inside {display_path(target)})"
            return PathNotFoundError(
                f"{display_path(rel)} is ignored by {label}{under}", hint=f"{hint} {_RESCAN}"
            )
        if (
            target_is_dir
            and options.skip_virtualenvs
            and os.path.lexists(root + b"/" + target + b"/" + _VENV_MARKER.encode())
        ):
            return PathNotFoundError(
                f"{display_path(rel)} is inside a Python virtual environment "
                f"({display_path(target)}), which scans skip",
                hint=f"Set scan.skip_virtualenvs = false to scan it. {_RESCAN}",
            )
    return None


def _root_rules(root: bytes, options: IgnoreOptions, *, upto: int = 3) -> IgnoreRules:
    """Root rules with the first ``upto`` sources: built-ins, scan.ignore, info/exclude."""
    defaults = DEFAULT_IGNORES + (options.extra_ignores if upto >= 2 else ())
    exclude = _read(root + b"/.git/info/exclude") if upto >= 3 else None
    return IgnoreRules.at_root(defaults=defaults, exclude_file=exclude)


def _attribute(root: bytes, target: bytes, is_dir: bool, options: IgnoreOptions) -> tuple[str, str]:
    """Which source's patterns decide that ``target`` is ignored: the last source whose
    addition turned the verdict to "ignored"; with a hint on where to change it."""
    steps: list[tuple[str, str, IgnoreRules]] = [
        (
            "the built-in ignore list",
            "Built-in ignores (.git, .contextree, node_modules, __pycache__, .venv) are "
            "never scanned.",
            _root_rules(root, options, upto=1),
        ),
        (
            "the scan.ignore setting",
            "Remove the pattern from scan.ignore in .contextree/config.toml or your user config.",
            _root_rules(root, options, upto=2),
        ),
        (
            ".git/info/exclude",
            "Edit .git/info/exclude.",
            _root_rules(root, options, upto=3),
        ),
    ]
    rules = steps[-1][2]
    parts = target.split(b"/")
    for depth in range(len(parts)):
        directory = b"/".join(parts[:depth])
        for name, content in _ignore_files(root, directory):
            rules = rules.descend(directory, [(name, content)])
            where = display_path(directory + b"/" + name if directory else name)
            steps.append((where, f"Edit {where} (a `!pattern` line re-includes a path).", rules))
    label, hint = steps[-1][0], steps[-1][1]
    verdict = False
    for step_label, step_hint, step_rules in steps:
        now = step_rules.ignored(target, is_dir)
        if now and not verdict:
            label, hint = step_label, step_hint
        verdict = now
    return label, hint


def _ignore_files(root: bytes, directory: bytes) -> Sequence[tuple[bytes, bytes]]:
    base = root + b"/" + directory if directory else root
    found = []
    for name in IGNORE_FILE_NAMES:
        content = _read(base + b"/" + name)
        if content is not None:
            found.append((name, content))
    return found


def _read(path: bytes) -> bytes | None:
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            return handle.read(_IGNORE_FILE_CAP)
    except OSError:
        return None
