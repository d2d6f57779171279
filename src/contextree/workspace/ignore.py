"""Ignore rules with git's exact ``.gitignore`` semantics, precompiled into an immutable stack.

Owns git's precedence between ignore patterns (last matching pattern wins; deeper ignore files
beat shallower ones; ``.git/info/exclude`` sits below every ignore file; built-in defaults
lowest), compiling each layer's patterns into one regex, and the names skipped whatever the
rules say. What a single ignore-file line or wildmatch glob means (reading ignore-file bytes the
way git does, translating globs into bytes regular expressions) is ``wildmatch``'s.

It must not touch the filesystem: the walker reads ignore files and hands their bytes in, and it
does not descend into ignored directories (git never re-includes a path under an excluded
directory, so neither rule here has to). Paths are raw bytes, workspace-relative and
``/``-separated; the root is ``b""``. Matching is case-sensitive, as git is with
``core.ignoreCase=false``; rules built with ``ignore_case=True`` fold ASCII case instead (the
generation scope's secret patterns use that, so ``.ENV`` is withheld like ``.env``; ignore
files read by the walker never do).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from contextree.workspace.wildmatch import Pattern, parse_ignore_file

__all__ = ["DEFAULT_IGNORES", "IGNORE_FILE_NAMES", "NEVER_SCANNED", "IgnoreRules"]

DEFAULT_IGNORES: tuple[bytes, ...] = (
    b".git",
    b".contextree",
    b"node_modules",
    b"__pycache__",
    b".venv",
)
#: Names skipped at any depth whatever an ignore file says: a `!.git/` line in a cloned
#: repository's ``.contextreeignore`` must not send ``.git/config`` (remote URLs with tokens)
#: or contextree's own store to a provider. The walker checks these before any rule.
NEVER_SCANNED: frozenset[bytes] = frozenset({b".git", b".contextree"})
#: Ignore files read in each directory, in increasing precedence.
IGNORE_FILE_NAMES: tuple[bytes, ...] = (b".gitignore", b".contextreeignore")


@dataclass(frozen=True, slots=True)
class _Matcher:
    """All patterns of one layer in one regex; the matching group tells the verdict."""

    regex: re.Pattern[bytes]
    #: Indexed by regex group number: True where that group's patterns exclude.
    excludes: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class _Layer:
    """The patterns of every ignore source rooted at one directory, lowest precedence first."""

    base: bytes
    patterns: tuple[Pattern, ...]
    start: int  # where the path relative to ``base`` begins inside a descendant's rel_path
    for_dirs: _Matcher | None
    for_files: _Matcher | None

    @classmethod
    def build(
        cls, base: bytes, patterns: tuple[Pattern, ...], *, ignore_case: bool = False
    ) -> _Layer:
        return cls(
            base,
            patterns,
            len(base) + 1 if base else 0,
            _compile(patterns, ignore_case=ignore_case),
            _compile([p for p in patterns if not p.dir_only], ignore_case=ignore_case),
        )


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    """Immutable stack of pattern sets, lowest precedence first."""

    # Stored highest precedence first, which is the order ``ignored`` consults them in.
    _layers: tuple[_Layer, ...] = ()
    #: Fold ASCII case when matching (git's ``core.ignoreCase=true``); kept by ``descend``.
    _ignore_case: bool = False

    @classmethod
    def at_root(
        cls,
        *,
        defaults: Sequence[bytes] = DEFAULT_IGNORES,
        exclude_file: bytes | None = None,
        ignore_case: bool = False,
    ) -> IgnoreRules:
        """Rules before any ignore file is read: ``defaults`` (each read as an ignore-file line,
        lowest precedence; a bare name matches at any depth), then the content of
        ``.git/info/exclude`` (root-relative like a root ``.gitignore``, but below every
        ignore file). With ``ignore_case``, these rules and every rule ``descend`` adds fold
        ASCII case (``*.pem`` matches ``SERVER.PEM``)."""
        patterns = [pattern for line in defaults for pattern in parse_ignore_file(line)]
        if exclude_file is not None:
            patterns.extend(parse_ignore_file(exclude_file))
        if not patterns:
            return cls((), ignore_case)
        return cls((_Layer.build(b"", tuple(patterns), ignore_case=ignore_case),), ignore_case)

    def descend(self, dir_rel: bytes, ignore_files: Sequence[tuple[bytes, bytes]]) -> IgnoreRules:
        """Rules for the entries of directory ``dir_rel`` (``b""`` for the root), adding the
        ``(file name, content)`` ignore files found directly in it, in increasing precedence.
        Returns ``self`` when they add no pattern. Like git, pass an ignore file even when it
        is itself ignored: git still reads it."""
        patterns = tuple(p for _, content in ignore_files for p in parse_ignore_file(content))
        if not patterns:
            return self
        layers = self._layers
        fold = self._ignore_case
        # Sources rooted at the same directory behave exactly like one concatenated file.
        if layers and layers[0].base == dir_rel:
            merged = _Layer.build(dir_rel, layers[0].patterns + patterns, ignore_case=fold)
            return IgnoreRules((merged, *layers[1:]), fold)
        return IgnoreRules((_Layer.build(dir_rel, patterns, ignore_case=fold), *layers), fold)

    def ignored(self, rel_path: bytes, is_dir: bool) -> bool:
        """True if the entry at ``rel_path``, a direct child of the directory these rules were
        built for, is ignored. ``is_dir`` is False for symlinks, as in git."""
        for layer in self._layers:
            matcher = layer.for_dirs if is_dir else layer.for_files
            if matcher is None:
                continue
            found = matcher.regex.fullmatch(rel_path, layer.start)
            if found is not None:
                # Every alternative is one capturing group, so lastindex is always set.
                return matcher.excludes[found.lastindex or 0]
        return False


def _compile(patterns: Sequence[Pattern], *, ignore_case: bool = False) -> _Matcher | None:
    """One regex for a layer: runs of equal polarity, last run first, each one group.

    Only the last matching pattern counts, and within a run of consecutive patterns with the
    same polarity their order cannot change the verdict; so the first run (from the end) with
    any match decides, which is exactly the first alternative ``re`` finds. ``ignore_case``
    folds ASCII letters only (``re`` on bytes), bracket ranges included.
    """
    if not patterns:
        return None
    runs: list[tuple[bool, list[Pattern]]] = []
    for pattern in reversed(patterns):
        if runs and runs[-1][0] == pattern.negated:
            runs[-1][1].append(pattern)
        else:
            runs.append((pattern.negated, [pattern]))
    groups: list[bytes] = []
    for _, members in runs:
        names = list(dict.fromkeys(p.source for p in members if p.basename))
        paths = list(dict.fromkeys(p.source for p in members if not p.basename))
        alternatives = paths
        if names:
            # The atomic group jumps straight past the last slash to the final component.
            alternatives = [b"(?>(?:.*/)?)(?:" + b"|".join(names) + b")", *paths]
        groups.append(b"(" + b"|".join(alternatives) + b")")
    flags = re.DOTALL | re.IGNORECASE if ignore_case else re.DOTALL
    regex = re.compile(b"|".join(groups), flags)
    return _Matcher(regex, (True, *(not negated for negated, _ in runs)))
