"""The OpenAI chat-completions wire format, for OpenAI and every compatible server.

Owns ``POST {base}/chat/completions`` and ``GET {base}/models`` as OpenAI defines them (a
base URL that is a bare host gets the usual ``/v1``), which vLLM, llama.cpp's server, LM
Studio and Ollama's ``/v1`` also speak: a Bearer key (if the profile names one), ``messages``
with role strings, unset options left out, ``stream: false``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from contextree.core.messages import ChatMessage
from contextree.providers.types import CompletionOptions
from contextree.providers.wire import Completion, HttpProviderClient, option_fields, url_path


class _Message(BaseModel):
    content: str | None = None
    refusal: str | None = None


class _Choice(BaseModel):
    message: _Message
    finish_reason: str | None = None


class _Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Reply(BaseModel):
    model: str | None = None
    choices: list[_Choice] = Field(min_length=1)
    usage: _Usage | None = None


class _ListedModel(BaseModel):
    id: str


class _ModelList(BaseModel):
    data: list[_ListedModel]


def openai_options(options: CompletionOptions) -> dict[str, Any]:
    """The options OpenAI accepts, named as it names them, unset ones left out."""
    return option_fields(options, max_tokens_name="max_tokens")


class OpenAIClient(HttpProviderClient):
    chat_path = "/chat/completions"
    models_path = "/models"

    def api_base(self, base: str) -> str:
        # A bare host means the API at its usual /v1; any path (a gateway's) is kept as given.
        return base if url_path(base) else base + "/v1"

    def auth_headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def build_body(
        self, messages: tuple[ChatMessage, ...], model: str, options: CompletionOptions
    ) -> dict[str, Any]:
        return {
            "model": model,
            "messages": [{"role": m.role.value, "content": m.content} for m in messages],
            **openai_options(options),
            "stream": False,
        }

    def parse_completion(self, body: bytes) -> Completion:
        reply = _Reply.model_validate_json(body)
        choice = reply.choices[0]
        usage = reply.usage or _Usage()
        finish = choice.finish_reason or "stop"
        refused = choice.message.refusal is not None and not choice.message.content
        return Completion(
            content=choice.message.content or "",
            model=reply.model,
            tokens_in=usage.prompt_tokens,
            tokens_out=usage.completion_tokens,
            finish_reason=finish,
            truncated=finish == "length",
            filtered=finish == "content_filter" or refused,
        )

    def parse_models(self, body: bytes) -> list[str]:
        return [entry.id for entry in _ModelList.model_validate_json(body).data]
