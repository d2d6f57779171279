"""What the fake provider server answers: scripted replies and their wire-format bodies.

A ``Reply`` is format-neutral (content, status, error, fault, latency); the ``*_body``
functions render it the way OpenAI, Anthropic or Ollama would. Replies are JSON-serialisable
so a server in another process can be scripted from the command line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

FIXED_TIME = "2024-01-01T00:00:00Z"


class Fault(StrEnum):
    HANG = "hang"  # never answer; ends when the client gives up or the server stops
    CLOSE = "close"  # drop the connection without an answer
    MALFORMED = "malformed"  # 200 with a body that is not JSON


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One scripted answer. ``content=None`` means the server's default content.

    ``error_message`` may contain ``{presented_key}``, replaced by the key the client sent
    (a careless server echoing credentials), so tests can check that it is scrubbed.
    """

    content: str | None = None
    status: int = 200
    error_message: str | None = None
    error_type: str | None = None
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    finish: str | None = None  # "length", "content_filter"/"refusal"; None: a natural stop
    fault: Fault | None = None
    latency: float = 0.0
    model: str | None = None
    tokens_in: int = 11
    tokens_out: int = 7

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "scripted failure",
        *,
        type: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        return cls(
            status=status,
            error_message=message,
            error_type=type,
            error_code=code,
            headers=headers or {},
        )

    @classmethod
    def rate_limited(
        cls, *, retry_after: str | None = None, retry_after_ms: str | None = None
    ) -> Reply:
        headers = {}
        if retry_after is not None:
            headers["retry-after"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = retry_after_ms
        return cls.error(429, "Rate limit reached for requests", headers=headers)

    @classmethod
    def hang(cls) -> Reply:
        return cls(fault=Fault.HANG)

    @classmethod
    def close(cls) -> Reply:
        return cls(fault=Fault.CLOSE)

    @classmethod
    def malformed(cls) -> Reply:
        return cls(fault=Fault.MALFORMED)

    @classmethod
    def empty(cls) -> Reply:
        return cls(content="")

    @classmethod
    def truncated(cls, content: str = "A summary that was cut off in the mid") -> Reply:
        return cls(content=content, finish="length")

    def with_latency(self, seconds: float) -> Reply:
        return replace(self, latency=seconds)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Reply:
        data = json.loads(text)
        if data.get("fault") is not None:
            data["fault"] = Fault(data["fault"])
        return cls(**data)


_OPENAI_TYPES = {401: "invalid_request_error", 429: "requests", 500: "server_error"}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def openai_error(
    status: int, message: str, *, type: str | None = None, code: str | None = None
) -> dict[str, Any]:
    default = _OPENAI_TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
    return {"error": {"message": message, "type": type or default, "param": None, "code": code}}


def anthropic_error(
    status: int, message: str, *, type: str | None = None, code: str | None = None
) -> dict[str, Any]:
    err: dict[str, Any] = {
        "type": type or _ANTHROPIC_TYPES.get(status, "api_error"),
        "message": message,
    }
    if code:
        err["details"] = {"error_code": code}
    return {"type": "error", "error": err, "request_id": "req_fake"}


def ollama_error(message: str) -> dict[str, Any]:
    return {"error": message}


def openai_completion(reply: Reply, content: str, model: str, index: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{index}",
        "object": "chat.completion",
        "created": 1704067200,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": reply.finish or "stop",
            }
        ],
        "usage": {
            "prompt_tokens": reply.tokens_in,
            "completion_tokens": reply.tokens_out,
            "total_tokens": reply.tokens_in + reply.tokens_out,
        },
    }


def anthropic_completion(reply: Reply, content: str, model: str, index: int) -> dict[str, Any]:
    stop = {"length": "max_tokens", "content_filter": "refusal"}.get(reply.finish or "")
    return {
        "id": f"msg_fake_{index}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": content}] if content else [],
        "stop_reason": stop or reply.finish or "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.tokens_in, "output_tokens": reply.tokens_out},
    }


def ollama_completion(reply: Reply, content: str, model: str) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": FIXED_TIME,
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": reply.finish or "stop",
        "total_duration": 1000,
        "load_duration": 10,
        "prompt_eval_count": reply.tokens_in,
        "prompt_eval_duration": 100,
        "eval_count": reply.tokens_out,
        "eval_duration": 500,
    }


def ollama_chunks(reply: Reply, content: str, model: str) -> list[dict[str, Any]]:
    """The NDJSON lines Ollama streams when ``stream`` is not false."""
    words = content.split(" ")
    lines: list[dict[str, Any]] = [
        {
            "model": model,
            "created_at": FIXED_TIME,
            "message": {"role": "assistant", "content": word if i == 0 else " " + word},
            "done": False,
        }
        for i, word in enumerate(words)
    ]
    final = ollama_completion(reply, "", model)
    return [*lines, final]


def openai_models(models: tuple[str, ...]) -> dict[str, Any]:
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models]
    return {"object": "list", "data": data}


def anthropic_models(models: tuple[str, ...]) -> dict[str, Any]:
    data = [{"type": "model", "id": m, "display_name": m, "created_at": FIXED_TIME} for m in models]
    return {"data": data, "has_more": False, "first_id": models[0], "last_id": models[-1]}


def ollama_tags(models: tuple[str, ...]) -> dict[str, Any]:
    tags = [
        {"name": m, "model": m, "modified_at": FIXED_TIME, "size": 1, "digest": "0" * 64}
        for m in models
    ]
    return {"models": tags}
