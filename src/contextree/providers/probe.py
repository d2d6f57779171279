"""``provider test``: one tiny request to a provider, reported as a value.

Owns the probe request (a one-word answer, with a small file as its subject so the structural
provider answers too) and turning the outcome into a ``ProbeResult``: latency, served model,
tokens, or the error class and whether the queue would retry it. Configuration errors (unknown
provider, unset key variable) are raised, not reported, since nothing was sent.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from contextree.core.messages import ChatMessage, Role
from contextree.errors import ProviderError
from contextree.providers.http import ProviderHttp
from contextree.providers.registry import ProviderRegistry
from contextree.providers.structural.languages import one_line
from contextree.providers.types import FileSubject, ProviderRequest
from contextree.providers.window_probe import probe_window
from contextree.providers.wire import HttpProviderClient

PROBE_PATH = "contextree-provider-test.md"
_PROBE_FILE = b"# Provider test\n\nA tiny file sent by `contextree provider test`.\n"


@dataclass(frozen=True, kw_only=True, slots=True)
class ProbeResult:
    name: str
    type: str
    model: str
    ok: bool
    latency_s: float
    served_model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    finish_reason: str | None = None
    reply: str | None = None
    error_class: str | None = None
    error: str | None = None
    status: int | None = None
    retryable: bool | None = None
    retry_after: float | None = None
    #: The model's context window in tokens as the server reports it (None: it does not say).
    context_window: int | None = None


def probe_request() -> ProviderRequest:
    return ProviderRequest(
        messages=(
            ChatMessage(role=Role.SYSTEM, content="You check connectivity. Answer in one word."),
            ChatMessage(role=Role.USER, content=f"Path: {PROBE_PATH}\nReply with the word: ok"),
        ),
        subject=FileSubject(path=PROBE_PATH, data=_PROBE_FILE, size=len(_PROBE_FILE)),
    )


async def probe(
    registry: ProviderRegistry,
    name: str,
    http: ProviderHttp,
    *,
    environ: Mapping[str, str] | None = None,
) -> ProbeResult:
    """Send one tiny request to ``name`` over an open ``http`` session (the composition root
    makes it) and report what happened; after an answer, also ask the server for the model's
    context window (``window_probe``; silent when it does not say)."""
    profile = registry.preflight(name, environ)
    client = registry.client(name, http, environ=environ)
    started = time.perf_counter()
    try:
        response = await client.complete(probe_request())
    except ProviderError as exc:
        return ProbeResult(
            name=name,
            type=profile.type.value,
            model=profile.effective_model,
            ok=False,
            latency_s=time.perf_counter() - started,
            error_class=exc.error_class,
            error=str(exc),
            status=exc.status,
            retryable=exc.retryable,
            retry_after=exc.retry_after,
        )
    window = await probe_window(client) if isinstance(client, HttpProviderClient) else None
    return ProbeResult(
        name=name,
        type=profile.type.value,
        model=profile.effective_model,
        ok=True,
        context_window=window.context_window if window is not None else None,
        latency_s=response.latency_s,
        served_model=response.served_model,
        tokens_in=response.tokens_in,
        tokens_out=response.tokens_out,
        finish_reason=response.finish_reason,
        reply=one_line(response.content, 80),
    )
