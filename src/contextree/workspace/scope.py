"""Generation scope: which files may be sent to a provider, decided by path and size only.

Owns the rule that secret-bearing files (``.env*``, keys, credentials) are never sent anywhere,
not even to the offline structural provider; that lockfiles, minified, vendored and generated
files, and files over ``max_llm_file_size``, get a structural frame instead of an LLM call; and
that empty files need no call at all. Patterns use .gitignore syntax (a pattern ending in ``/``
names a directory and covers everything below it); secret patterns match case-insensitively
(``.ENV``, ``ID_RSA`` and ``SERVER.PEM`` are withheld too, whatever the file system's case
rules). It never reads file contents: the one content check (a JSON file holding a private
key, see ``redaction.holds_private_key_json``) is made where the file is read for the prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from contextree.config.generation import DEFAULT_SECRET_PATTERNS, DEFAULT_STRUCTURAL_PATTERNS
from contextree.workspace.ignore import IgnoreRules


class Scope(StrEnum):
    """How a file may be generated."""

    LLM = "llm"  # send to the requested provider
    STRUCTURAL = "structural"  # summarise with the structural provider, no LLM call
    WITHHELD = "withheld"  # never send anywhere; the frame says it was withheld
    EMPTY = "empty"  # nothing to summarise; no call


@dataclass(frozen=True, slots=True)
class ScopeRules:
    """Compiled scope patterns plus the size limit."""

    secrets: IgnoreRules
    structural: IgnoreRules
    max_llm_file_size: int

    @classmethod
    def build(
        cls,
        *,
        secret_patterns: Sequence[str] = DEFAULT_SECRET_PATTERNS,
        structural_patterns: Sequence[str] = DEFAULT_STRUCTURAL_PATTERNS,
        max_llm_file_size: int = 1 << 20,
    ) -> ScopeRules:
        return cls(
            secrets=_compile(secret_patterns, ignore_case=True),
            structural=_compile(structural_patterns),
            max_llm_file_size=max_llm_file_size,
        )

    def classify_file(self, rel_path: bytes, size: int) -> Scope:
        """The scope of a file at workspace-relative ``rel_path`` with ``size`` bytes."""
        if _matches(self.secrets, rel_path):
            return Scope.WITHHELD
        if size == 0:
            return Scope.EMPTY
        if size > self.max_llm_file_size or _matches(self.structural, rel_path):
            return Scope.STRUCTURAL
        return Scope.LLM


def _compile(patterns: Sequence[str], *, ignore_case: bool = False) -> IgnoreRules:
    text = "\n".join(patterns).encode("utf-8")
    return IgnoreRules.at_root(defaults=(), exclude_file=text, ignore_case=ignore_case)


def _matches(rules: IgnoreRules, rel_path: bytes) -> bool:
    """True if the file or any directory above it matches (as a walk would have pruned it)."""
    parts = rel_path.split(b"/")
    for end in range(1, len(parts)):
        if rules.ignored(b"/".join(parts[:end]), True):
            return True
    return rules.ignored(rel_path, False)
