"""Provider execution (C2): one provider call with an explicit request and response contract.

Owns turning an assembled prompt into a ``ProviderRequest``, calling the client, enriching a
model-not-found error with the models the provider lists, cutting an answer longer than
``max_frame_bytes`` at a line (``frame_text.cap_answer``), and emitting
``provider_request_sent``, ``provider_response_received`` and ``provider_request_failed``,
and the context window prompts to a provider are fitted to: the profile's ``context_window``,
else the one its server reported, asked once per (base URL, model) the first time a run is
about to call it and kept in the store (``store.provider_facts``); a failed probe is silent.
It returns a typed ``ProviderResponse`` or raises the adapter's classified error unchanged in
kind. It never retries (the queue does) and never writes anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import replace

from contextree.config.generation import GenerationSettings
from contextree.context.generation.frame_text import cap_answer
from contextree.context.generation.window_fit import Window, window_for
from contextree.core.messages import ChatMessage, ProviderResponse
from contextree.errors import ModelNotFoundError, ProviderError
from contextree.providers import ProviderHttp, ProviderRegistry
from contextree.providers.base import ProviderClient
from contextree.providers.enrich import enrich_model_not_found
from contextree.providers.profiles import STRUCTURAL, ProviderProfile
from contextree.providers.types import CompletionOptions, ProviderRequest, Subject
from contextree.providers.window_probe import probe_window
from contextree.providers.wire import HttpProviderClient
from contextree.store.provider_facts import ProviderFacts
from contextree.telemetry import Event, EventValue, Observer, safe_emit

#: Bytes of one frame's text at most unless told otherwise (the documented default).
DEFAULT_MAX_FRAME_BYTES: int = GenerationSettings.model_fields["max_frame_bytes"].default


class ProviderExecution:
    """Calls providers by name; one client per provider, sharing one HTTP session."""

    def __init__(
        self,
        registry: ProviderRegistry,
        http: ProviderHttp | None,
        observer: Observer,
        *,
        environ: Mapping[str, str] | None = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        facts: ProviderFacts | None = None,
        probe_windows: bool = False,
    ) -> None:
        self._registry = registry
        self._max_frame_bytes = max_frame_bytes
        self._http = http
        self._observer = observer
        self._environ = environ
        self._clients: dict[str, ProviderClient] = {}
        self._facts = facts
        #: Ask servers for their window (``[providers] probe_context_window``, opt-in); a window
        #: already in the store is used either way.
        self._probe_windows = probe_windows
        #: Provider name -> the window its server reported (None: none known), once per run.
        self._windows: dict[str, int | None] = {}
        self._probing = asyncio.Lock()

    def profile(self, name: str) -> ProviderProfile:
        """The profile of ``name`` (``ProviderConfigError`` if unknown or broken)."""
        return self._registry.get(name).profile

    def preflight(self, name: str) -> ProviderProfile:
        """Fail before any work is queued if ``name`` is unknown or its key variable is unset."""
        return self._registry.preflight(name, self._environ)

    async def window(self, name: str) -> Window | None:
        """The context window prompts to ``name`` are fitted to: the profile's
        ``context_window``, else the one its server reported (asked at most once per base
        URL and model, ever, unless ``provider test`` asks again), else None (not fitted)."""
        profile = self.profile(name)
        if name == STRUCTURAL:
            return None
        if profile.context_window is not None:
            return window_for(profile, None)
        if name not in self._windows:
            async with self._probing:  # concurrent first calls ask the server once
                if name not in self._windows:
                    self._windows[name] = await self._reported(name, profile)
        return window_for(profile, self._windows[name])

    async def _reported(self, name: str, profile: ProviderProfile) -> int | None:
        base, model = profile.effective_base_url, profile.effective_model
        known = self._facts.get(base, model) if self._facts is not None else None
        if known is not None:
            return known.context_window
        client = self._client(name) if self._http is not None and self._probe_windows else None
        if not isinstance(client, HttpProviderClient):
            return None
        answer = await probe_window(client)
        if answer.answered and self._facts is not None:
            self._facts.put(base, model, answer.context_window)
        return answer.context_window

    def _client(self, name: str) -> ProviderClient:
        client = self._clients.get(name)
        if client is None:
            client = self._registry.client(
                name, self._http, environ=self._environ, enrich_model_errors=False
            )
            self._clients[name] = client
        return client

    async def call(
        self,
        provider_name: str,
        messages: tuple[ChatMessage, ...],
        subject: Subject | None,
        *,
        event_data: Mapping[str, EventValue],
        options: CompletionOptions | None = None,
    ) -> ProviderResponse:
        """Send one request (``options`` over the profile's) and return what the provider
        answered."""
        client = self._client(provider_name)
        request = ProviderRequest(messages=messages, subject=subject, options=options)
        data = {**event_data, "provider_name": provider_name}
        self._emit("provider_request_sent", data)
        started = time.perf_counter()
        try:
            response = await client.complete(request)
        except ModelNotFoundError as exc:
            enriched = await enrich_model_not_found(exc, client.list_models)
            self._failed(data, enriched, started)
            raise enriched from exc
        except ProviderError as exc:
            self._failed(data, exc, started)
            raise
        self._emit(
            "provider_response_received",
            {
                **data,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "served_model": response.served_model,
                "tokens_in": response.tokens_in,
                "tokens_out": response.tokens_out,
            },
        )
        capped = cap_answer(response.content, self._max_frame_bytes)
        return replace(response, content=capped.text, truncated_bytes=capped.truncated_bytes)

    def _failed(self, data: Mapping[str, EventValue], error: ProviderError, started: float) -> None:
        self._emit(
            "provider_request_failed",
            {
                **data,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "error_class": error.error_class,
                "error": error.message,
            },
        )

    def _emit(self, name: str, data: Mapping[str, EventValue]) -> None:
        safe_emit(self._observer, Event(name=name, data=dict(data)))
