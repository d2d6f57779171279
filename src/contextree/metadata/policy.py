"""What frame metadata must never hold: forbidden keys and secret-looking values.

Owns the list of forbidden keys (raw prompt and context text, which belong in the artifact
table, never in metadata) and the rule for configured API key values; the credential patterns
are ``contextree.redaction``'s, the one definition redaction shares. A value that is exactly a
64-character lowercase hex digest never matches anything: digests are what metadata is for.
Findings name a pattern class, never the matching text. It raises nothing and reads no
configuration: the contract decides what to do with a finding, and the caller hands in the
configured secrets.

Scanning runs once per metadata value on every frame write, so it is built to be cheap for the
common case of a value with no secret in it: one search for the literal markers every
credential pattern contains, and the patterns themselves only for a value that has a marker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from contextree.core.ids import is_digest
from contextree.redaction import (
    CREDENTIAL_PATTERNS,
    MIN_CONFIGURED_SECRET_LENGTH,
    CredentialPattern,
    first_credential,
)

__all__ = [
    "CONFIGURED_SECRET",
    "CREDENTIAL_PATTERNS",
    "FORBIDDEN_KEYS",
    "MIN_CONFIGURED_SECRET_LENGTH",
    "CredentialPattern",
    "SecretScanner",
    "forbidden_key_reason",
    "secret_class",
]

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

#: The class reported when a value contains a configured API key value.
CONFIGURED_SECRET = "configured API key"  # noqa: S105  # a label, not a secret

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
        found = first_credential(value)
        return found.name if found is not None else None


def secret_class(value: str, configured_secrets: Iterable[str]) -> str | None:
    """The class of secret found in ``value`` (a pattern name or ``CONFIGURED_SECRET``), or
    None. A value that is exactly a digest is never a secret."""
    return SecretScanner(configured_secrets).secret_class(value)
