"""Redaction: every credential kind is replaced by ``[redacted:KIND]`` and counted, configured
key values too; what is left never matches a pattern (property); ordinary text is untouched.
Every fake key is built at run time, so this file holds no key-shaped literal."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextree.redaction import (
    CONFIGURED_KIND,
    CREDENTIAL_PATTERNS,
    KINDS,
    MIN_CONFIGURED_SECRET_LENGTH,
    Redactor,
    first_credential,
    format_counts,
    holds_private_key_json,
    parse_counts,
    placeholder,
)

BEGIN, END = "-----BEGIN ", "-----END "
PEM = (
    f"{BEGIN}RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA{'q' * 64}\n{'Z9+/' * 16}=\n"
    f"{END}RSA PRIVATE KEY-----"
)

#: (kind, a realistic fake credential of it)
FAKES = [
    ("private_key", PEM),
    ("private_key", f"{BEGIN}OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"),
    ("private_key", f'"{BEGIN}PRIVATE KEY-----\\nMIIEvQIBADANBg\\n{END}PRIVATE KEY-----\\n"'),
    ("anthropic_key", "sk-ant-api03-" + "A1b2C3d4E5f6G7h8" * 5),
    ("openai_key", "sk-proj-" + "Zx9Yw8Vu7Ts6Rq5P" * 4 + "_-T3BlbkFJ" + "a" * 20),
    ("openai_key", "sk-" + "a" * 48),
    ("aws_access_key", "AKIA" + "IOSFODNN7EXAMPLE"),
    ("aws_access_key", "ASIA" + "Y34FZKBOKMUTVV7A"),
    ("github_token", "ghp_" + "16C7e42F292c6912E7710c838347Ae178B4a"),
    ("github_token", "gho_" + "a1B2" * 9),
    ("github_token", "github_pat_" + "11ABCDEFG0" * 3 + "_" + "x" * 40),
    ("slack_token", "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGh" * 3),
    ("slack_token", "xoxs-" + "9" * 12),
    ("google_api_key", "AIza" + "SyD" + "-9tSrke72PouQMnMX" + "_" * 5 + "a1b2c3d4e5"),
    (
        "jwt",
        "eyJ"
        + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        + ".eyJ"
        + "zdWIiOiIxMjM0NTY3ODkwIn0"
        + "."
        + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    ),
]


@pytest.mark.parametrize(
    ("kind", "fake"), FAKES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(FAKES)]
)
def test_each_kind_is_replaced_and_counted(kind: str, fake: str) -> None:
    text = f'API_KEY = "{fake}"  # set in prod\nnext = 1\n'
    out, counts = Redactor().redact(text)
    assert fake not in out
    assert placeholder(kind) in out
    assert counts == {kind: 1}
    assert out.startswith('API_KEY = "') and out.endswith("# set in prod\nnext = 1\n")
    assert first_credential(out) is None


def test_every_kind_has_a_fake_here() -> None:
    assert {kind for kind, _ in FAKES} == set(KINDS) - {CONFIGURED_KIND}
    assert {p.kind for p in CREDENTIAL_PATTERNS} <= set(KINDS)


def test_a_pem_block_is_redacted_whole_so_none_of_its_body_is_left() -> None:
    out, counts = Redactor().redact(f"before\n{PEM}\nafter\n")
    assert out == f"before\n{placeholder('private_key')}\nafter\n"
    assert counts == {"private_key": 1}


def test_a_pem_block_cut_before_its_end_line_loses_its_body_too() -> None:
    cut = PEM[: len(PEM) // 2]
    out, _ = Redactor().redact(cut)
    assert "MIIEpAIBAAKCAQEA" not in out and "qqqq" not in out


def test_configured_key_values_are_replaced_and_short_ones_are_not() -> None:
    value = "local-" + "k3y" * 6
    redactor = Redactor(lambda: [value, "ollama"])
    out, counts = redactor.redact(f"key={value}; again {value}; model=ollama")
    assert value not in out
    assert (
        out
        == f"key={placeholder(CONFIGURED_KIND)}; again {placeholder(CONFIGURED_KIND)}; model=ollama"
    )
    assert counts == {CONFIGURED_KIND: 2}
    assert len("ollama") < MIN_CONFIGURED_SECRET_LENGTH


def test_the_configured_values_are_asked_for_on_every_call() -> None:
    values: list[str] = []
    redactor = Redactor(lambda: values)
    secret = "rotating-" + "v" * 12
    assert redactor.redact(secret)[1] == {}
    values.append(secret)
    assert redactor.redact(secret)[1] == {CONFIGURED_KIND: 1}


def test_ordinary_text_is_returned_unchanged() -> None:
    text = "def task_runner(disk):\n    return risk-assessment ghp skills AIzawa eyJump\n"
    out, counts = Redactor().redact(text)
    assert out is text and counts == {}


def test_a_disabled_redactor_changes_nothing() -> None:
    fake = "sk-proj-" + "b" * 40
    assert Redactor(enabled=False).redact(fake) == (fake, {})
    assert Redactor(enabled=False).redact_bytes(fake.encode()) == (fake.encode(), {})


def test_bytes_that_are_not_utf8_pass_through_around_a_redaction() -> None:
    fake = "AKIA" + "Z" * 16
    data = b"\xff\xfe" + fake.encode() + b"\x80 end"
    out, counts = Redactor().redact_bytes(data)
    assert out == b"\xff\xfe" + placeholder("aws_access_key").encode() + b"\x80 end"
    assert counts == {"aws_access_key": 1}
    clean = b"\xff\x00 nothing here"
    assert Redactor().redact_bytes(clean) == (clean, {})


def test_a_service_account_json_is_recognised_by_its_content() -> None:
    gcp = f'{{"type": "service_account", "private_key": "{BEGIN}PRIVATE KEY-----\\nMIIE"}}'
    assert holds_private_key_json(gcp.encode())
    assert not holds_private_key_json(b'{"private_key": "see the vault"}')
    assert not holds_private_key_json(f'{{"cert": "{BEGIN}CERTIFICATE-----"}}'.encode())


def test_counts_round_trip_through_their_metadata_value() -> None:
    counts = {"openai_key": 2, "jwt": 1, "aws_access_key": 0}
    assert format_counts(counts) == "jwt=1,openai_key=2"
    assert parse_counts("jwt=1,openai_key=2") == {"jwt": 1, "openai_key": 2}
    assert parse_counts("") == {}
    assert first_credential(format_counts({k: 1 for k in KINDS})) is None


_FRAGMENTS = [m for p in CREDENTIAL_PATTERNS for m in p.markers] + [
    "PRIVATE KEY-----",
    BEGIN,
    END,
    "RSA ",
    ".",
    "[redacted:",
    "]",
    "-",
    "_",
    "\n",
    " ",
    "=",
    '"',
]
_TEXT = st.lists(
    st.one_of(
        st.sampled_from(_FRAGMENTS),
        st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=40),
    ),
    max_size=40,
).map("".join)


@given(text=_TEXT, configured=st.text(alphabet="abcXYZ-_019", min_size=12, max_size=20))
def test_redacted_text_never_holds_a_match_nor_a_configured_value(
    text: str, configured: str
) -> None:
    out, counts = Redactor(lambda: [configured]).redact(text + configured + text)
    for pattern in CREDENTIAL_PATTERNS:
        assert pattern.regex.search(out) is None, (pattern.kind, out)
    assert configured not in out
    assert sum(counts.values()) >= 1
