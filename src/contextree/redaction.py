"""Key-shaped strings: the one definition of what a credential looks like, and redaction.

Owns ``CREDENTIAL_PATTERNS``, the credential classes both the metadata contract (which refuses
a frame whose metadata holds one) and generation (which replaces each with ``[redacted:KIND]``
in prompts and frames) use; ``Redactor``, which applies them and the configured API key
values; and ``holds_private_key_json``, the content check that withholds a JSON file holding a
private key (a cloud service-account file). Findings and counts name a kind, never the text.

Every pattern starts with a literal and carries literal markers that each of its matches
contains, so a short value with no marker (a metadata value) costs one search; long text is
searched pattern by pattern, each skipping ahead to its literal. It imports nothing of the
project and reads no configuration: callers hand in the configured secrets.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

#: A configured secret shorter than this is not searched for: local servers are often given
#: placeholder keys such as "ollama" or "lm-studio", which would match ordinary text.
MIN_CONFIGURED_SECRET_LENGTH = 12

#: The kind of a configured API key value found in text.
CONFIGURED_KIND = "configured_key"

#: Real private key blocks are a few KiB; the END line is looked for this far at most.
_PEM_BODY_MAX = 16 << 10
_PEM_LABEL = r"(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"


@dataclass(frozen=True, slots=True)
class CredentialPattern:
    """A class of credential: ``kind`` names it in ``[redacted:KIND]`` and in counts,
    ``name`` describes it to a person. Every match of ``regex`` contains one of ``markers``:
    text without any marker is not searched with the regex at all."""

    kind: str
    name: str
    regex: re.Pattern[str]
    markers: tuple[str, ...]


# Most specific first: redaction applies them in this order, and detection reports the first.
CREDENTIAL_PATTERNS: tuple[CredentialPattern, ...] = (
    CredentialPattern(
        "private_key",
        "private key block (-----BEGIN ... PRIVATE KEY-----)",
        # The whole block when its END line follows; else the BEGIN line and the base64 (or
        # JSON-escaped) body after it, as in a file cut at prompt_file_cap.
        re.compile(
            rf"-----BEGIN {_PEM_LABEL}"
            rf"(?:[\s\S]{{0,{_PEM_BODY_MAX}}}?-----END {_PEM_LABEL}|[A-Za-z0-9+/=\s\\:,-]*)"
        ),
        ("-----BEGIN ",),
    ),
    CredentialPattern(
        "anthropic_key",
        "Anthropic API key (sk-ant-)",
        re.compile(r"sk-ant-[A-Za-z0-9_-]{16,}"),
        ("sk-ant-",),
    ),
    # Not after a letter or digit: "task-", "disk-" and "risk-" are words, not keys.
    CredentialPattern(
        "openai_key",
        "secret API key (sk-, sk-proj-)",
        # (The look-behind comes after the literal so that the search can skip ahead to it.)
        re.compile(r"sk-(?<![A-Za-z0-9]sk-)[A-Za-z0-9_-]{16,}"),
        ("sk-",),
    ),
    CredentialPattern(
        "aws_access_key",
        "AWS access key id (AKIA, ASIA)",
        re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}"),
        ("AKIA", "ASIA"),
    ),
    CredentialPattern(
        "github_token",
        "GitHub token (ghp_, gho_, ghu_, ghs_, ghr_)",
        re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    CredentialPattern(
        "github_token",
        "GitHub fine-grained token (github_pat_)",
        re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
        ("github_pat_",),
    ),
    CredentialPattern(
        "slack_token",
        "Slack token (xox[abprs]-)",
        re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}"),
        ("xox",),
    ),
    CredentialPattern(
        "google_api_key",
        "Google API key (AIza)",
        re.compile(r"AIza[0-9A-Za-z_-]{35}"),
        ("AIza",),
    ),
    CredentialPattern(
        "jwt",
        "JSON web token (eyJ...)",
        re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
        ("eyJ",),
    ),
)

#: Every kind ``Redactor`` reports, in pattern order, then the configured key kind.
KINDS: tuple[str, ...] = (*dict.fromkeys(p.kind for p in CREDENTIAL_PATTERNS), CONFIGURED_KIND)

#: Matches wherever any credential pattern could: one search instead of one per pattern.
ANY_MARKER = re.compile("|".join(re.escape(m) for p in CREDENTIAL_PATTERNS for m in p.markers))

_PEM_BEGIN_BYTES = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY")
#: Redaction is repeated at most this often, in case a replacement joined two fragments.
_MAX_PASSES = 3


def placeholder(kind: str) -> str:
    """What a redacted credential of ``kind`` is replaced with."""
    return f"[redacted:{kind}]"


def searchable_secrets(configured: Iterable[str]) -> tuple[str, ...]:
    """The configured secrets long enough to search for, longest first (so a secret that
    contains another is replaced whole), without duplicates."""
    kept = {s for s in configured if len(s) >= MIN_CONFIGURED_SECRET_LENGTH}
    return tuple(sorted(kept, key=lambda s: (-len(s), s)))


def first_credential(value: str) -> CredentialPattern | None:
    """The first credential pattern (in ``CREDENTIAL_PATTERNS`` order) found in ``value``."""
    if ANY_MARKER.search(value) is None:
        return None  # the common case: every pattern needs one of the markers
    for pattern in CREDENTIAL_PATTERNS:
        if pattern.regex.search(value) is not None:
            return pattern
    return None


def _no_secrets() -> Iterable[str]:
    return ()


class Redactor:
    """Replaces key-shaped strings and configured API key values with ``[redacted:KIND]``.

    ``secret_values`` returns the configured API key values; it is asked on every call, so
    the values are never kept here. A disabled redactor returns text unchanged.
    """

    __slots__ = ("_secret_values", "enabled")

    def __init__(
        self, secret_values: Callable[[], Iterable[str]] = _no_secrets, *, enabled: bool = True
    ) -> None:
        self._secret_values = secret_values
        self.enabled = enabled

    def redact(self, text: str) -> tuple[str, Counter[str]]:
        """``text`` with every credential replaced, and how many of each kind were."""
        counts: Counter[str] = Counter()
        if not self.enabled or not text:
            return text, counts
        secrets = searchable_secrets(self._secret_values())
        for _ in range(_MAX_PASSES):
            text, found = _redact_once(text, secrets)
            if not found:
                break
            counts.update(found)
        return text, counts

    def redact_bytes(self, data: bytes) -> tuple[bytes, Counter[str]]:
        """``redact`` for bytes that may not be UTF-8: undecodable bytes pass through as
        they are (a credential is ASCII)."""
        if not self.enabled or not data:
            return data, Counter()
        text, counts = self.redact(data.decode("utf-8", "surrogateescape"))
        if not counts:
            return data, counts
        return text.encode("utf-8", "surrogateescape"), counts


def _redact_once(text: str, secrets: tuple[str, ...]) -> tuple[str, Counter[str]]:
    found: Counter[str] = Counter()
    for secret in secrets:
        if secret in text:
            found[CONFIGURED_KIND] += text.count(secret)
            text = text.replace(secret, placeholder(CONFIGURED_KIND))
    # Each pattern starts with a literal, which ``re`` skips ahead to: searching pattern by
    # pattern (about 4 us per KiB in all) beats one search for any marker (about 8).
    for pattern in CREDENTIAL_PATTERNS:
        text, replaced = pattern.regex.subn(placeholder(pattern.kind), text)
        if replaced:
            found[pattern.kind] += replaced
    return text, found


def holds_private_key_json(data: bytes) -> bool:
    """True for JSON text with a ``"private_key"`` member holding a PEM private key block, as
    a cloud service-account key file has: such a file is withheld whole, like a secret file."""
    return b'"private_key"' in data and _PEM_BEGIN_BYTES.search(data) is not None


def format_counts(counts: Mapping[str, int]) -> str:
    """Counts by kind as one metadata value, kinds sorted: ``jwt=1,openai_key=2``."""
    return ",".join(f"{kind}={counts[kind]}" for kind in sorted(counts) if counts[kind] > 0)


def parse_counts(value: str) -> Counter[str]:
    """The counts ``format_counts`` wrote (entries that are not ``kind=N`` are skipped)."""
    counts: Counter[str] = Counter()
    for item in value.split(","):
        kind, sep, number = item.partition("=")
        if sep and number.isascii() and number.isdigit():
            counts[kind] += int(number)
    return counts
