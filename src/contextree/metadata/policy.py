"""What frame metadata must never hold: forbidden keys and secret-looking values.

Owns the list of forbidden keys (raw prompt and context text, which belong in the artifact
table, never in metadata), the fixed credential patterns (compiled once, at import) and the
rule for configured API key values. A value that is exactly a 64-character lowercase hex digest
never matches anything: digests are what metadata is for. Findings name a pattern class, never
the matching text. It raises nothing and reads no configuration: the contract decides what to
do with a finding, and the caller hands in the configured secrets.

Scanning runs once per metadata value on every frame write, so it is built to be cheap for the
common case of a value with no secret in it: one search for the literal markers every
credential pattern contains, and the patterns themselves only for a value that has a marker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from contextree.store.digest import is_digest

#: Forbidden keys, each with why it is refused and where that data lives instead.
FORBIDDEN_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "prompt": (
            "the rendered prompt is never stored in metadata; its text is an artifact named by "
            "`prompt_digest`"
        ),
        "raw_prompt": (
            "raw prompt text is never stored in metadata; store it as the prompt artifact and "
            "record `prompt_digest`"
        ),
        "context": (
            "context text is never stored in metadata; its text is an artifact named by "
            "`context_digest`"
        ),
        "raw_context": (
            "raw context text is never stored in metadata; store it as the context artifact "
            "and record `context_digest`"
        ),
    }
)

#: A configured secret shorter than this is not searched for: local servers are often given
#: placeholder keys such as "ollama" or "lm-studio", which would match ordinary values.
MIN_CONFIGURED_SECRET_LENGTH = 12

#: The class reported when a value contains a configured API key value.
CONFIGURED_SECRET = "configured API key"  # noqa: S105  # a label, not a secret


@dataclass(frozen=True, slots=True)
class CredentialPattern:
    """A class of credential. ``marker`` is literal text that every match of ``regex``
    contains: a value without any marker is not searched with the regexes at all."""

    name: str
    regex: re.Pattern[str]
    marker: str


# Checked in this order, so the most specific class is the one reported.
CREDENTIAL_PATTERNS: tuple[CredentialPattern, ...] = (
    CredentialPattern(
        "private key block (-----BEGIN ... PRIVATE KEY-----)",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
        "-----BEGIN ",
    ),
    CredentialPattern(
        "Anthropic API key (sk-ant-)", re.compile(r"sk-ant-[A-Za-z0-9_-]{16,}"), "sk-ant-"
    ),
    # Not after a letter or digit: "task-", "disk-" and "risk-" are words, not keys.
    CredentialPattern(
        "secret API key (sk-)", re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}"), "sk-"
    ),
    CredentialPattern("AWS access key id (AKIA)", re.compile(r"AKIA[0-9A-Z]{16}"), "AKIA"),
    CredentialPattern("GitHub token (ghp_)", re.compile(r"ghp_[A-Za-z0-9]{20,}"), "ghp_"),
    CredentialPattern(
        "GitHub fine-grained token (github_pat_)",
        re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
        "github_pat_",
    ),
    CredentialPattern(
        "Slack token (xox[abpr]-)", re.compile(r"xox[abpr]-[A-Za-z0-9-]{10,}"), "xox"
    ),
)

#: Matches wherever any credential pattern could: one search instead of one per pattern.
_ANY_MARKER = re.compile("|".join(re.escape(p.marker) for p in CREDENTIAL_PATTERNS))
_DIGEST_LENGTH = 64


def forbidden_key_reason(key: str) -> str | None:
    """Why ``key`` may never be stored, or None when it is not forbidden."""
    return FORBIDDEN_KEYS.get(key)


class SecretScanner:
    """``secret_class`` for many values against one set of configured secrets (the ones too
    short to search for are dropped once, here, instead of once per value)."""

    __slots__ = ("_configured",)

    def __init__(self, configured_secrets: Iterable[str]) -> None:
        self._configured = tuple(
            s for s in configured_secrets if len(s) >= MIN_CONFIGURED_SECRET_LENGTH
        )

    def secret_class(self, value: str) -> str | None:
        """The class of secret found in ``value`` (a pattern name or ``CONFIGURED_SECRET``),
        or None. A value that is exactly a digest is never a secret."""
        if len(value) == _DIGEST_LENGTH and is_digest(value):
            return None
        for secret in self._configured:
            if secret in value:
                return CONFIGURED_SECRET
        if _ANY_MARKER.search(value) is None:
            return None  # the common case: every pattern needs one of the markers
        for pattern in CREDENTIAL_PATTERNS:
            if pattern.regex.search(value) is not None:
                return pattern.name
        return None


def secret_class(value: str, configured_secrets: Iterable[str]) -> str | None:
    """The class of secret found in ``value`` (a pattern name or ``CONFIGURED_SECRET``), or
    None. A value that is exactly a digest is never a secret."""
    return SecretScanner(configured_secrets).secret_class(value)
