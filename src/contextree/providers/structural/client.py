"""The structural provider: offline, deterministic frames with no network and no model.

Owns answering a ``ProviderRequest`` from its ``subject`` alone (the prompt text is ignored),
so generation works with zero configuration. Large files are outlined in a worker thread so
the event loop never parses megabytes.
"""

from __future__ import annotations

import asyncio
import time

from contextree.core.messages import ProviderResponse
from contextree.errors import BadRequestError
from contextree.providers.base import ProviderClient
from contextree.providers.profiles import STRUCTURAL_MODEL, ProviderProfile
from contextree.providers.structural.render import render_directory, render_file
from contextree.providers.types import FileSubject, ProviderRequest, ProviderType

_INLINE_BYTES = 64 * 1024


class StructuralClient(ProviderClient):
    """Writes structural frames: language, size, symbols, headings; directories roll up."""

    def __init__(self, profile: ProviderProfile) -> None:
        self.name = profile.name
        self.type = ProviderType.STRUCTURAL

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        subject = request.subject
        started = time.perf_counter()
        if subject is None:
            raise BadRequestError(
                f"{self.name}: the structural provider needs the node's subject (its bytes "
                "or its children's frames) in the request",
                hint="This is a bug in the caller: pass ProviderRequest(subject=...).",
            )
        if isinstance(subject, FileSubject):
            if len(subject.data) > _INLINE_BYTES:
                content = await asyncio.to_thread(render_file, subject)
            else:
                content = render_file(subject)
        else:
            content = render_directory(subject)
        return ProviderResponse(
            content=content,
            served_model=STRUCTURAL_MODEL,
            tokens_in=0,
            tokens_out=0,
            finish_reason="stop",
            latency_s=time.perf_counter() - started,
            request_body=b"",
        )

    async def list_models(self) -> list[str]:
        return [STRUCTURAL_MODEL]
