"""The Anthropic Messages wire format.

Owns ``POST {base}/v1/messages`` and ``GET {base}/v1/models`` (a base URL ending in ``/v1``
counts as the same base without it): the key in ``x-api-key``, the
pinned ``anthropic-version``, system prompts in their own ``system`` field, ``max_tokens``
always sent (the profile's, else 4096), ``stop`` sent as ``stop_sequences``. Options the API
does not have (penalties, seed) are left out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from contextree.core.messages import ChatMessage, Role
from contextree.providers.profiles import ANTHROPIC_DEFAULT_MAX_TOKENS
from contextree.providers.types import CompletionOptions
from contextree.providers.wire import Completion, HttpProviderClient, without_suffix

ANTHROPIC_VERSION = "2023-06-01"
# Natural ends all mean "the model finished"; contextree records them as ``stop``.
_NATURAL_ENDS = frozenset({"end_turn", "stop_sequence"})


class _Block(BaseModel):
    type: str
    text: str | None = None


class _Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0


class _Reply(BaseModel):
    model: str | None = None
    content: list[_Block]
    stop_reason: str | None = None
    usage: _Usage | None = None


class _ListedModel(BaseModel):
    id: str


class _ModelList(BaseModel):
    data: list[_ListedModel]


class AnthropicClient(HttpProviderClient):
    chat_path = "/v1/messages"
    models_path = "/v1/models?limit=1000"

    def api_base(self, base: str) -> str:
        # The paths carry the API version: a base URL copied with its /v1 must not double it.
        return without_suffix(base, "/v1")

    def auth_headers(self, key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if key:
            headers["x-api-key"] = key
        return headers

    def build_body(
        self, messages: tuple[ChatMessage, ...], model: str, options: CompletionOptions
    ) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in messages if m.role is Role.SYSTEM)
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": options.max_tokens or ANTHROPIC_DEFAULT_MAX_TOKENS,
        }
        if system:
            body["system"] = system
        body["messages"] = [
            {"role": m.role.value, "content": m.content}
            for m in messages
            if m.role is not Role.SYSTEM
        ]
        optional = {
            "temperature": options.temperature,
            "top_p": options.top_p,
            "stop_sequences": list(options.stop) if options.stop is not None else None,
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        return body

    def parse_completion(self, body: bytes) -> Completion:
        reply = _Reply.model_validate_json(body)
        usage = reply.usage or _Usage()
        reason = reply.stop_reason or "end_turn"
        text = "".join(block.text or "" for block in reply.content if block.type == "text")
        return Completion(
            content=text,
            model=reply.model,
            tokens_in=usage.input_tokens,
            tokens_out=usage.output_tokens,
            finish_reason="stop" if reason in _NATURAL_ENDS else reason,
            truncated=reason == "max_tokens",
            filtered=reason == "refusal",
        )

    def parse_models(self, body: bytes) -> list[str]:
        return [entry.id for entry in _ModelList.model_validate_json(body).data]
