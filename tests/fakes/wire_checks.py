"""How the real APIs refuse requests, so the fake server refuses them the same way.

Each ``check_*`` function raises ``Rejected`` with the status and the wire-shaped error body
the real API would answer; returning means the request is acceptable. Pure functions over the
parsed body and a few headers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from tests.fakes.replies import anthropic_error, ollama_error, openai_error

ANTHROPIC_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "metadata",
        "stream",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
    }
)
ErrorBody = Callable[..., dict[str, Any]]


class Rejected(Exception):
    """A request the real API would refuse; carries the wire-shaped answer."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _ollama_shaped(status: int, message: str, **_: Any) -> dict[str, Any]:
    return ollama_error(message)


def check_messages(messages: Any, roles: Collection[str], error: ErrorBody) -> None:
    if not isinstance(messages, list) or not messages:
        raise Rejected(400, error(400, "messages: at least one message is required"))
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise Rejected(400, error(400, f"messages.{i}.content: Field required"))
        if message.get("role") not in roles:
            role = message.get("role")
            raise Rejected(400, error(400, f'messages.{i}.role: Unexpected role "{role}"'))


def check_openai(
    body: Any, *, parsed: bool, key: str | None, expected_key: str | None, models: Collection[str]
) -> None:
    if expected_key is not None and key != expected_key:
        message = f"Incorrect API key provided: {key or '(none)'}."
        raise Rejected(401, openai_error(401, message, code="invalid_api_key"))
    if not parsed or not isinstance(body, dict):
        raise Rejected(400, openai_error(400, "We could not parse the JSON body of your request."))
    if not isinstance(body.get("model"), str):
        message = "you must provide a model parameter"
        raise Rejected(400, openai_error(400, message, code="missing_required_parameter"))
    roles = {"system", "user", "assistant", "developer", "tool"}
    check_messages(body.get("messages"), roles, openai_error)
    if body.get("stream"):
        raise Rejected(400, openai_error(400, "the fake server does not stream"))
    limit = body.get("max_tokens", 1)
    if not isinstance(limit, int) or limit < 1:
        message = "max_tokens must be a positive integer"
        raise Rejected(400, openai_error(400, message, code="invalid_value"))
    if body["model"] not in models:
        message = f"The model `{body['model']}` does not exist or you do not have access to it."
        raise Rejected(404, openai_error(404, message, code="model_not_found"))


def check_anthropic(
    body: Any,
    *,
    parsed: bool,
    headers: Collection[str],
    key: str | None,
    expected_key: str | None,
    models: Collection[str],
) -> None:
    """``headers``: the lower-case header names the request carried."""
    if expected_key is not None and key != expected_key:
        raise Rejected(401, anthropic_error(401, "invalid x-api-key"))
    if "anthropic-version" not in headers:
        raise Rejected(400, anthropic_error(400, "anthropic-version: header is required"))
    if not parsed or not isinstance(body, dict):
        message = "There was an issue with the format of your request: invalid JSON"
        raise Rejected(400, anthropic_error(400, message))
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            raise Rejected(400, anthropic_error(400, f"{name}: Field required"))
    extra = sorted(set(body) - ANTHROPIC_FIELDS)
    if extra:
        raise Rejected(400, anthropic_error(400, f"{extra[0]}: Extra inputs are not permitted"))
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        message = "max_tokens: Input should be greater than or equal to 1"
        raise Rejected(400, anthropic_error(400, message))
    check_messages(body["messages"], {"user", "assistant"}, anthropic_error)
    if body["model"] not in models:
        raise Rejected(404, anthropic_error(404, f"model: {body['model']}"))


def check_ollama(body: Any, *, parsed: bool, models: Collection[str]) -> None:
    if not parsed or not isinstance(body, dict):
        raise Rejected(400, ollama_error("invalid character in request body"))
    if not body.get("model"):
        raise Rejected(400, ollama_error("model is required"))
    if "options" in body and not isinstance(body["options"], dict):
        raise Rejected(400, ollama_error("options must be an object"))
    check_messages(body.get("messages"), {"system", "user", "assistant", "tool"}, _ollama_shaped)
    if body["model"] not in models:
        message = f'model "{body["model"]}" not found, try pulling it first'
        raise Rejected(404, ollama_error(message))
