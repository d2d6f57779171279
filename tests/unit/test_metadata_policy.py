"""The secret scan behind the metadata contract: the marker prefilter never hides a credential,
the most specific class wins, configured secrets too short to search for are ignored, and a
digest never matches."""

from __future__ import annotations

import pytest

from contextree.core.ids import digest_text
from contextree.metadata.policy import (
    CONFIGURED_SECRET,
    CREDENTIAL_PATTERNS,
    MIN_CONFIGURED_SECRET_LENGTH,
    CredentialPattern,
    SecretScanner,
    secret_class,
)
from contextree.metadata.registry import REGISTRY

#: A fake credential of each class, in CREDENTIAL_PATTERNS order.
EXAMPLES = (
    "-----BEGIN RSA PRIVATE KEY-----",
    "sk-ant-api03-" + "A1b2C3d4E5f6G7h8",
    "sk-proj-" + "Zx9Yw8Vu7Ts6Rq5P",
    "AKIA" + "IOSFODNN7EXAMPLE",
    "ghp_" + "a" * 36,
    "github_pat_" + "11ABCDEFG0" * 3,
    "xoxb-" + "123456789012-abcdef",
    "AIza" + "Sy" + "B1c2D3e4F5" * 3 + "abc",
    "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0In0" + "." + "s1gnature_" * 2,
)


@pytest.mark.parametrize(
    ("pattern", "example"),
    list(zip(CREDENTIAL_PATTERNS, EXAMPLES, strict=True)),
    ids=[p.name for p in CREDENTIAL_PATTERNS],
)
def test_every_match_of_a_pattern_holds_its_marker_and_is_found(
    pattern: CredentialPattern, example: str
) -> None:
    found = pattern.regex.search(f"served {example} here")
    assert found is not None and any(m in found.group(0) for m in pattern.markers)
    assert SecretScanner(()).secret_class(f"served {example} here") == pattern.name


def test_the_most_specific_class_is_reported_when_two_patterns_match() -> None:
    both = "sk-ant-api03-" + "A1b2C3d4E5f6G7h8"  # also a match of the generic sk- pattern
    assert secret_class(both, ()) == CREDENTIAL_PATTERNS[1].name


def test_values_without_any_marker_are_clean() -> None:
    scanner = SecretScanner(())
    for value in ("docs-writer", "gpt-4o-mini-2024-07-18", "stop", "120", "task-runner-" * 9):
        assert scanner.secret_class(value) is None


def test_configured_secrets_are_found_as_substrings_unless_too_short() -> None:
    long_key = "k" * MIN_CONFIGURED_SECRET_LENGTH
    scanner = SecretScanner(["ollama", long_key, ""])
    assert scanner.secret_class(f"model:{long_key}:x") == CONFIGURED_SECRET
    assert scanner.secret_class("ollama") is None
    assert SecretScanner(["k" * (MIN_CONFIGURED_SECRET_LENGTH - 1)]).secret_class(long_key) is None


def test_a_digest_never_matches_even_when_configured_or_holding_a_marker() -> None:
    digest = digest_text("x")
    assert secret_class(digest, [digest]) is None
    assert SecretScanner([digest]).secret_class(digest + "!") == CONFIGURED_SECRET


def test_registered_keys_are_ascii() -> None:
    # The contract counts a key's bytes as its length, which holds for ASCII names only.
    assert all(name.isascii() for name in REGISTRY)
