"""Turning a failed HTTP answer into the most specific ``ProviderError``.

Owns the mapping from status, error body and headers to an error class, ``retryable`` and
``retry_after``: ``x-should-retry`` overrides the class default; ``retry-after-ms``, then
``retry-after`` in seconds or as an HTTP date, set the delay. Bodies of every supported API
(OpenAI-shaped, Anthropic-shaped, Ollama's plain ``error`` string) are read for quota,
context-length and content-filter signals. Messages quote at most a short excerpt of the body,
with any configured key value scrubbed out; headers are never quoted.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from contextree.errors import (
    AuthFailedError,
    BadRequestError,
    ConflictError,
    ContentFilteredError,
    ContextLengthError,
    ModelNotFoundError,
    OverloadedError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
)

EXCERPT_CHARS = 500
_MIN_SECRET_CHARS = 4

_QUOTA_CODES = frozenset(
    {
        "insufficient_quota",
        "billing_hard_limit_reached",
        "billing_not_active",
        "enforced_spend_limit_reached",
        "billing_error",
        "quota_exceeded",
    }
)
_QUOTA_TEXT = re.compile(
    r"exceeded your current quota|insufficient[ _]quota|spend(?:ing)? limit|credit balance"
    r"|billing|usage limits?|out of credits|payment required",
    re.IGNORECASE,
)
# A message about a per-second or per-minute window is a rate limit, whatever else it says.
_PER_WINDOW_TEXT = re.compile(r"per (?:second|sec|minute|min)\b|\b[rt]p[sm]\b", re.IGNORECASE)
_CONTEXT_CODES = frozenset(
    {"context_length_exceeded", "exceed_context_size_error", "request_too_large"}
)
_CONTEXT_TEXT = re.compile(
    r"context (?:length|window|size)|maximum context|prompt is too long|too many (?:input )?tokens"
    r"|input is too long|input length exceeds|reduce the length",
    re.IGNORECASE,
)
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation", "refusal"})
_FILTER_TEXT = re.compile(r"content (?:management )?polic|content filter", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True, slots=True)
class CallContext:
    """Who was called, for messages and hints. ``secrets`` are values to scrub, never shown."""

    provider: str
    url: str
    model: str
    key_env: str | None = None
    secrets: tuple[str, ...] = ()
    #: The profile's ``context_window``, when it sets one (for the context-length hint).
    context_window: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ErrorDetail:
    """What an error body says, whatever API shape it came in."""

    message: str
    type: str = ""
    code: str = ""


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_CHARS:
            text = text.replace(secret, "***")
    return text


def excerpt(text: str, secrets: tuple[str, ...], limit: int = EXCERPT_CHARS) -> str:
    """A scrubbed, single-line, length-capped quote of a body for a message."""
    flat = " ".join(scrub(text, secrets).split())
    return flat if len(flat) <= limit else flat[:limit] + " ..."


def parse_retry_after(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """The delay a server asks for, in seconds (never negative), or ``None``.

    ``retry-after-ms`` wins over ``retry-after``, which may be seconds or an HTTP date.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        return None
    return max(0.0, when.timestamp() - now())


def should_retry_override(headers: Mapping[str, str]) -> bool | None:
    """``x-should-retry: true|false`` as the server's explicit word, else ``None``."""
    value = headers.get("x-should-retry", "").strip().lower()
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def error_detail(body: bytes) -> ErrorDetail:
    """Message, type and code from an OpenAI, Anthropic, Ollama or generic error body."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return ErrorDetail(message=text)
    if not isinstance(data, dict):
        return ErrorDetail(message=text)
    err = data.get("error")
    if isinstance(err, str):  # Ollama, many proxies
        return ErrorDetail(message=err, type=_text(data.get("type")))
    if isinstance(err, dict):  # OpenAI, Anthropic, llama.cpp
        details = err.get("details")
        code = _text(err.get("code"))
        if isinstance(details, dict) and details.get("error_code"):
            code = _text(details.get("error_code"))
        return ErrorDetail(
            message=_text(err.get("message")) or text, type=_text(err.get("type")), code=code
        )
    message = _text(data.get("message")) or _text(data.get("detail")) or text
    return ErrorDetail(message=message, type=_text(data.get("type")), code=_text(data.get("code")))


def _matches(detail: ErrorDetail, codes: frozenset[str], pattern: re.Pattern[str]) -> bool:
    return bool({detail.code, detail.type} & codes) or bool(pattern.search(detail.message))


def _body_class(status: int, detail: ErrorDetail) -> type[ProviderError] | None:
    """A class decided by what the body says, before the status is considered."""
    if status in (400, 402, 403, 429) and (
        bool({detail.code, detail.type} & _QUOTA_CODES)
        or (_QUOTA_TEXT.search(detail.message) and not _PER_WINDOW_TEXT.search(detail.message))
    ):
        return QuotaExhaustedError
    if status == 413 or (400 <= status < 500 and _matches(detail, _CONTEXT_CODES, _CONTEXT_TEXT)):
        return ContextLengthError
    if 400 <= status < 500 and _matches(detail, _FILTER_CODES, _FILTER_TEXT):
        return ContentFilteredError
    if detail.type == "overloaded_error":
        return OverloadedError
    return None


_STATUS_CLASSES: Mapping[int, type[ProviderError]] = {
    400: BadRequestError,
    401: AuthFailedError,
    402: QuotaExhaustedError,
    403: AuthFailedError,
    404: ModelNotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitedError,
    503: OverloadedError,
    529: OverloadedError,
}


def _status_class(status: int) -> type[ProviderError]:
    known = _STATUS_CLASSES.get(status)
    if known is not None:
        return known
    if status >= 500:
        return ServerError
    return BadRequestError


def _hint(cls: type[ProviderError], ctx: CallContext) -> str | None:
    """What to do about this class of error, where the error itself can say more than the
    class; ``None`` leaves the advice to the caller, who knows whether retries ran out."""
    name = ctx.provider
    hints: dict[type[ProviderError], str] = {
        AuthFailedError: (
            f"Check the key in {ctx.key_env}, and that it may use this model."
            if ctx.key_env
            else "The server wants a key: set api_key_env in the provider profile."
        ),
        ModelNotFoundError: (
            f"Set `model` in the profile to one the server offers (`contextree provider test "
            f"{name}` shows them), or check base_url."
        ),
        ContextLengthError: _context_length_hint(ctx),
        QuotaExhaustedError: "Add credit or raise the spend limit with the provider; "
        "retrying will not help until then.",
        ContentFilteredError: "The provider will refuse this content again: leave the file out "
        "(an ignore pattern) or use another model.",
        RateLimitedError: f"Lower requests_per_minute or tokens_per_minute in the {name} "
        "profile if this keeps happening.",
        BadRequestError: "The server refused the request: check model and options in the profile.",
    }
    return hints.get(cls)


def _context_length_hint(ctx: CallContext) -> str:
    """What to do about a prompt the model's window refused: say the window in the profile
    (raising max_tokens cannot help: it only asks for a longer answer)."""
    where = f"the provider profile {ctx.provider!r} ({ctx.provider}.toml)"
    if ctx.context_window is not None:
        return (
            f"Set context_window in {where} to the window the server really has (it is "
            f"{ctx.context_window:,} now, more than the server accepts); contextree then fits "
            "every prompt to it."
        )
    return (
        f"Set context_window = N (the model's window in tokens) in {where}; contextree then "
        "fits every prompt to it, cutting large files and trimming directory context."
    )


def classify_http(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    ctx: CallContext,
    *,
    now: Callable[[], float] = time.time,
) -> ProviderError:
    """The provider error for a non-2xx answer (``headers`` with lower-case names)."""
    detail = error_detail(body)
    cls = _body_class(status, detail) or _status_class(status)
    what = f" ({detail.type or detail.code})" if (detail.type or detail.code) else ""
    message = (
        f"{ctx.provider}: HTTP {status}{what} from {ctx.url} for model {ctx.model!r}: "
        f"{excerpt(detail.message, ctx.secrets)}"
    )
    return cls(
        message,
        status=status,
        retry_after=parse_retry_after(headers, now=now),
        retryable=should_retry_override(headers),
        hint=(
            f"The server redirects to {headers['location']}; put that URL in base_url."
            if 300 <= status < 400 and "location" in headers
            else _hint(cls, ctx)
        ),
    )


def classify_body_error(detail: ErrorDetail, ctx: CallContext) -> ProviderError | None:
    """A provider error for an error carried inside a 2xx body, if one can be named."""
    cls = _body_class(400, detail)
    if cls is None:
        return None
    return cls(
        f"{ctx.provider}: {ctx.url} answered with an error for model {ctx.model!r}: "
        f"{excerpt(detail.message, ctx.secrets)}",
        hint=_hint(cls, ctx),
    )
