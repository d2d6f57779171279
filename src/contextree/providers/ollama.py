"""Ollama's native chat wire format.

Owns ``POST {base}/api/chat`` (a base URL ending in ``/v1`` or ``/api`` counts as the server
itself) with ``"stream": false`` (Ollama streams by default) and
``GET {base}/api/tags``. Options go in Ollama's ``options`` object under its own names
(``num_predict`` for ``max_tokens``; the context window a prompt was fitted to as ``num_ctx``,
since Ollama's own default window silently cuts a longer prompt). A key is sent as a Bearer
token only when the profile names a variable (Ollama behind an authenticating proxy).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from contextree.core.messages import ChatMessage
from contextree.providers.types import CompletionOptions
from contextree.providers.wire import (
    Completion,
    HttpProviderClient,
    option_fields,
    without_suffix,
)


class _Message(BaseModel):
    content: str = ""


class _Reply(BaseModel):
    model: str | None = None
    message: _Message
    # A streamed chunk (done false) where a whole answer was asked for is malformed.
    done: Literal[True]
    done_reason: str | None = None
    prompt_eval_count: int = 0
    eval_count: int = 0


class _Tag(BaseModel):
    name: str


class _TagList(BaseModel):
    models: list[_Tag]


def ollama_options(options: CompletionOptions) -> dict[str, Any]:
    """The options Ollama accepts (its output limit is ``num_predict``, its window
    ``num_ctx``), unset ones left out."""
    fields = option_fields(options, max_tokens_name="num_predict")
    if options.context_window is not None:
        fields["num_ctx"] = options.context_window
    return fields


class OllamaClient(HttpProviderClient):
    chat_path = "/api/chat"
    models_path = "/api/tags"

    def api_base(self, base: str) -> str:
        # A base URL copied from Ollama's OpenAI-compatible endpoint (/v1), or one naming the
        # native API's /api, means the server itself.
        return without_suffix(base, "/v1", "/api")

    def auth_headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def build_body(
        self, messages: tuple[ChatMessage, ...], model: str, options: CompletionOptions
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m.role.value, "content": m.content} for m in messages],
            "stream": False,
        }
        extra = ollama_options(options)
        if extra:
            body["options"] = extra
        return body

    def parse_completion(self, body: bytes) -> Completion:
        reply = _Reply.model_validate_json(body)
        reason = reply.done_reason or "stop"
        return Completion(
            content=reply.message.content,
            model=reply.model,
            tokens_in=reply.prompt_eval_count,
            tokens_out=reply.eval_count,
            finish_reason=reason,
            truncated=reason == "length",
        )

    def parse_models(self, body: bytes) -> list[str]:
        return [tag.name for tag in _TagList.model_validate_json(body).models]
