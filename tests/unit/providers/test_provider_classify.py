"""Error classification from status, body and headers, without a network."""

from __future__ import annotations

import json

import pytest

from contextree.errors import (
    BadRequestError,
    ContentFilteredError,
    ContextLengthError,
    ModelNotFoundError,
    OverloadedError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    ServerError,
)
from contextree.providers.classify import (
    CallContext,
    classify_http,
    error_detail,
    excerpt,
    parse_retry_after,
    should_retry_override,
)

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z
CTX = CallContext(provider="p", url="http://h/v1/chat/completions", model="m", key_env="K")


def body(data: object) -> bytes:
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"retry-after": "2"}, 2.0, id="seconds"),
        pytest.param({"retry-after": "1.5"}, 1.5, id="fractional-seconds"),
        pytest.param({"retry-after-ms": "250"}, 0.25, id="milliseconds"),
        pytest.param({"retry-after-ms": "250", "retry-after": "9"}, 0.25, id="ms-wins"),
        pytest.param({"retry-after": "Tue, 14 Nov 2023 22:13:50 GMT"}, 30.0, id="http-date"),
        pytest.param({"retry-after": "Tue, 14 Nov 2023 22:00:00 GMT"}, 0.0, id="date-in-past"),
        pytest.param({"retry-after": "-4"}, 0.0, id="negative-seconds"),
        pytest.param({"retry-after-ms": "soon", "retry-after": "3"}, 3.0, id="bad-ms-falls-back"),
        pytest.param({"retry-after": "whenever"}, None, id="garbage"),
        pytest.param({}, None, id="absent"),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=lambda: NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("FALSE", False), ("maybe", None), (None, None)]
)
def test_x_should_retry(value: str | None, expected: bool | None) -> None:
    headers = {} if value is None else {"x-should-retry": value}
    assert should_retry_override(headers) is expected


@pytest.mark.parametrize(
    ("raw", "message", "kind", "code"),
    [
        (body({"error": {"message": "m1", "type": "t1", "code": "c1"}}), "m1", "t1", "c1"),
        (
            body(
                {
                    "type": "error",
                    "error": {
                        "type": "rate_limit_error",
                        "message": "m2",
                        "details": {"error_code": "spent"},
                    },
                }
            ),
            "m2",
            "rate_limit_error",
            "spent",
        ),
        (body({"error": "model 'x' not found"}), "model 'x' not found", "", ""),
        (
            body({"object": "error", "message": "m4", "type": "BadRequestError", "code": 400}),
            "m4",
            "BadRequestError",
            "400",
        ),
        (body({"detail": "m5"}), "m5", "", ""),
        (b"<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>", "", ""),
    ],
)
def test_error_detail_reads_every_supported_shape(
    raw: bytes, message: str, kind: str, code: str
) -> None:
    detail = error_detail(raw)
    assert (detail.message, detail.type, detail.code) == (message, kind, code)


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        (
            429,
            body({"error": {"message": "Rate limit reached for requests per minute"}}),
            RateLimitedError,
        ),
        (
            429,
            body(
                {
                    "error": {
                        "message": "You exceeded your current quota, check billing",
                        "type": "insufficient_quota",
                        "code": "insufficient_quota",
                    }
                }
            ),
            QuotaExhaustedError,
        ),
        (
            429,
            body({"error": {"message": "Quota exceeded for requests per minute"}}),
            RateLimitedError,
        ),
        (
            429,
            body(
                {
                    "error": {
                        "message": "Rate limit on requests per min (RPM). Add a payment "
                        "method at https://example.com/account/billing"
                    }
                }
            ),
            RateLimitedError,
        ),
        (400, body({"error": {"message": "Your credit balance is too low"}}), QuotaExhaustedError),
        (402, body({"error": "payment"}), QuotaExhaustedError),
        (
            400,
            body({"error": {"message": "x", "code": "context_length_exceeded"}}),
            ContextLengthError,
        ),
        (
            400,
            body(
                {
                    "error": {
                        "message": "the request exceeds the available context size",
                        "type": "exceed_context_size_error",
                    }
                }
            ),
            ContextLengthError,
        ),
        (
            413,
            body({"type": "error", "error": {"type": "request_too_large", "message": "big"}}),
            ContextLengthError,
        ),
        (
            400,
            body({"error": {"message": "filtered", "code": "content_filter"}}),
            ContentFilteredError,
        ),
        (
            500,
            body({"type": "error", "error": {"type": "overloaded_error", "message": "o"}}),
            OverloadedError,
        ),
        (404, body({"error": "not found"}), ModelNotFoundError),
        (599, b"", ServerError),
        (418, b"teapot", BadRequestError),
        (307, b"", BadRequestError),
    ],
)
def test_body_signals_win_over_the_plain_status(
    status: int, raw: bytes, expected: type[ProviderError]
) -> None:
    error = classify_http(status, {}, raw, CTX)
    assert type(error) is expected
    assert error.status == status


def test_quota_is_not_retryable_even_though_429_usually_is() -> None:
    raw = body({"error": {"message": "q", "code": "insufficient_quota"}})
    error = classify_http(429, {"retry-after": "20"}, raw, CTX)
    assert (type(error), error.retryable, error.retry_after) == (QuotaExhaustedError, False, 20.0)


def test_message_names_provider_url_model_and_error_type() -> None:
    raw = body({"error": {"message": "bad temperature", "type": "invalid_request_error"}})
    error = classify_http(400, {}, raw, CTX)
    assert error.message == (
        "p: HTTP 400 (invalid_request_error) from http://h/v1/chat/completions for model 'm': "
        "bad temperature"
    )
    assert error.hint is not None and "model and options" in error.hint


def test_redirect_hint_names_the_new_location() -> None:
    error = classify_http(308, {"location": "https://h/v2"}, b"", CTX)
    assert error.hint == "The server redirects to https://h/v2; put that URL in base_url."


def test_auth_hint_names_the_key_variable_never_the_key() -> None:
    ctx = CallContext(provider="p", url="u", model="m", key_env="MY_KEY", secrets=("sk-abcdef",))
    error = classify_http(401, {}, body({"error": "bad key sk-abcdef"}), ctx)
    assert "MY_KEY" in (error.hint or "")
    assert "sk-abcdef" not in str(error)
    assert "bad key ***" in error.message


def test_excerpt_is_one_line_capped_and_scrubbed() -> None:
    text = "secret-value\n" + "x" * 600
    quoted = excerpt(text, ("secret-value",))
    assert quoted.startswith("*** xxx")
    assert quoted.endswith(" ...")
    assert len(quoted) == 504
    assert "\n" not in quoted
