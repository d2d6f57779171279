"""Both spellings of a base URL work for every wire format: with or without the API's
``/v1`` and with or without a trailing slash, a request goes to the one right endpoint
(never ``/v1/v1``)."""

from __future__ import annotations

import pytest

from contextree.config.settings import ProviderSettings
from contextree.providers import ProviderHttp, ProviderProfile
from contextree.providers.anthropic import AnthropicClient
from contextree.providers.ollama import OllamaClient
from contextree.providers.openai import OpenAIClient
from contextree.providers.wire import HttpProviderClient

CLIENTS: dict[str, type[HttpProviderClient]] = {
    "openai": OpenAIClient,
    "anthropic": AnthropicClient,
    "ollama": OllamaClient,
}
#: (chat URL, model-list URL) every spelling of ``https://h`` must come to.
ENDPOINTS = {
    "openai": ("https://h/v1/chat/completions", "https://h/v1/models"),
    "anthropic": ("https://h/v1/messages", "https://h/v1/models?limit=1000"),
    "ollama": ("https://h/api/chat", "https://h/api/tags"),
}
SPELLINGS = ("https://h", "https://h/", "https://h/v1", "https://h/v1/")


def client(wire: str, base_url: str | None) -> HttpProviderClient:
    profile = ProviderProfile.model_validate(
        {"name": "p", "type": wire, "model": "m", "base_url": base_url, "api_key_env": ""}
    )
    return CLIENTS[wire](profile, ProviderHttp(ProviderSettings(), environ={}), environ={})


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("wire", sorted(CLIENTS))
def test_host_with_or_without_v1_reaches_the_same_endpoints(wire: str, spelling: str) -> None:
    made = client(wire, spelling)
    assert (made.chat_url, made.models_url) == ENDPOINTS[wire]


@pytest.mark.parametrize(
    ("wire", "base_url", "chat_url"),
    [
        # A path prefix of a gateway is kept; only the API's own /v1 is understood.
        ("openai", "https://h/openai/v1", "https://h/openai/v1/chat/completions"),
        ("openai", "https://h/api/v1/", "https://h/api/v1/chat/completions"),
        ("openai", "https://h/openai", "https://h/openai/chat/completions"),
        ("anthropic", "https://h/anthropic", "https://h/anthropic/v1/messages"),
        ("anthropic", "https://h/anthropic/v1", "https://h/anthropic/v1/messages"),
        ("ollama", "http://h:11434/api", "http://h:11434/api/chat"),
        ("ollama", "http://h:11434/proxy/v1", "http://h:11434/proxy/api/chat"),
    ],
)
def test_a_path_prefix_is_kept(wire: str, base_url: str, chat_url: str) -> None:
    assert client(wire, base_url).chat_url == chat_url


@pytest.mark.parametrize(
    ("wire", "chat_url"),
    [
        ("openai", "https://api.openai.com/v1/chat/completions"),
        ("anthropic", "https://api.anthropic.com/v1/messages"),
        ("ollama", "http://localhost:11434/api/chat"),
    ],
)
def test_default_base_urls_are_unchanged(wire: str, chat_url: str) -> None:
    assert client(wire, None).chat_url == chat_url
