"""Asking a server for a model's context window, where the server says it.

Owns where each kind of server reports a window and how its answer is read: an OpenAI-style
``GET {base}/models`` listing whose entry for the model carries ``context_length``
(OpenRouter, LM Studio and others) or ``max_model_len`` (vLLM); llama.cpp's server
``GET /props``, ``default_generation_settings.n_ctx`` (older builds: the same under
``params``); Ollama's ``POST /api/show``, ``model_info["<arch>.context_length"]``. Anthropic
reports none. The answer is a ``WindowAnswer``: whether a server answered at all (an
unreachable one is asked again next run) and the window it said, if any. Never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contextree.errors import ContextreeError
from contextree.providers.types import ProviderType
from contextree.providers.wire import HttpProviderClient

_LISTING_FIELDS = ("context_length", "max_model_len", "context_window")


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowAnswer:
    """``answered``: some server answered (so the answer may be kept); ``context_window``:
    the window it reported in tokens, None when it said none."""

    answered: bool
    context_window: int | None = None


def _positive(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def from_listing(data: Any, model: str) -> int | None:
    """The window an OpenAI-style model listing gives ``model``."""
    entries = data.get("data") if isinstance(data, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and entry.get("id") == model:
            for name in _LISTING_FIELDS:
                found = _positive(entry.get(name))
                if found is not None:
                    return found
    return None


def from_props(data: Any) -> int | None:
    """The slot window llama.cpp's ``/props`` reports."""
    settings = data.get("default_generation_settings") if isinstance(data, Mapping) else None
    if not isinstance(settings, Mapping):
        return None
    params = settings.get("params")
    nested = params.get("n_ctx") if isinstance(params, Mapping) else None
    return _positive(settings.get("n_ctx")) or _positive(nested)


def from_show(data: Any) -> int | None:
    """The model's window in Ollama's ``/api/show`` answer."""
    info = data.get("model_info") if isinstance(data, Mapping) else None
    if not isinstance(info, Mapping):
        return None
    for name, value in info.items():
        if isinstance(name, str) and name.endswith(".context_length"):
            found = _positive(value)
            if found is not None:
                return found
    return None


async def probe_window(client: HttpProviderClient) -> WindowAnswer:
    """Ask ``client``'s server for its model's context window; failures are silent."""
    model = client.profile.effective_model
    answered = False
    try:
        if client.type is ProviderType.OLLAMA:
            data = await client.fetch_json(
                "POST", client.server_root + "/api/show", {"model": model}
            )
            return WindowAnswer(answered=True, context_window=from_show(data))
        if client.type is not ProviderType.OPENAI:
            return WindowAnswer(answered=False)
        listing = await client.fetch_json("GET", client.models_url)
        answered = True
        found = from_listing(listing, model)
        if found is None:
            found = from_props(await client.fetch_json("GET", client.server_root + "/props"))
        return WindowAnswer(answered=True, context_window=found)
    except ContextreeError:
        return WindowAnswer(answered=answered)
