"""What frame metadata must never hold: forbidden keys and secret-looking values.

Owns the list of forbidden keys (raw prompt and context text, which belong in the artifact
table, never in metadata), the fixed credential patterns (compiled once, at import) and the
rule for configured API key values. A value that is exactly a 64-character lowercase hex digest
never matches anything: digests are what metadata is for. Findings name a pattern class, never
the matching text. It raises nothing and reads no configuration: the contract decides what to
do with a finding, and the caller hands in the configured secrets.
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
    name: str
    regex: re.Pattern[str]


# Checked in this order, so the most specific class is the one reported.
CREDENTIAL_PATTERNS: tuple[CredentialPattern, ...] = (
    CredentialPattern(
        "private key block (-----BEGIN ... PRIVATE KEY-----)",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    ),
    CredentialPattern("Anthropic API key (sk-ant-)", re.compile(r"sk-ant-[A-Za-z0-9_-]{16,}")),
    # Not after a letter or digit: "task-", "disk-" and "risk-" are words, not keys.
    CredentialPattern("secret API key (sk-)", re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}")),
    CredentialPattern("AWS access key id (AKIA)", re.compile(r"AKIA[0-9A-Z]{16}")),
    CredentialPattern("GitHub token (ghp_)", re.compile(r"ghp_[A-Za-z0-9]{20,}")),
    CredentialPattern(
        "GitHub fine-grained token (github_pat_)", re.compile(r"github_pat_[A-Za-z0-9_]{20,}")
    ),
    CredentialPattern("Slack token (xox[abpr]-)", re.compile(r"xox[abpr]-[A-Za-z0-9-]{10,}")),
)


def forbidden_key_reason(key: str) -> str | None:
    """Why ``key`` may never be stored, or None when it is not forbidden."""
    return FORBIDDEN_KEYS.get(key)


def secret_class(value: str, configured_secrets: Iterable[str]) -> str | None:
    """The class of secret found in ``value`` (a pattern name or ``CONFIGURED_SECRET``), or
    None. A value that is exactly a digest is never a secret."""
    if is_digest(value):
        return None
    for secret in configured_secrets:
        if len(secret) >= MIN_CONFIGURED_SECRET_LENGTH and secret in value:
            return CONFIGURED_SECRET
    for pattern in CREDENTIAL_PATTERNS:
        if pattern.regex.search(value) is not None:
            return pattern.name
    return None
