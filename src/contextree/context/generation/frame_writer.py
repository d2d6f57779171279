"""Group commit for the generation path: frames finished together are written together.

Owns when frames reach ``ContextApi.put_frames``: every write handed in during one event-loop
turn is checked and committed in one transaction at the end of that turn, and each caller gets
its own frame id or its own error back. A lone frame waits one loop turn, no more; under load,
when many provider answers arrive together, one commit serves them all (a commit is most of
what a frame write costs). A write whose caller was cancelled before the commit is dropped:
a cancelled request leaves nothing behind, as before. The checks and the rows are the API's;
this module only batches. It runs on the event loop, so it must not be called from threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from contextree.api import FrameWrite
from contextree.core.ids import FrameId
from contextree.errors import ContextreeError


class FrameSink(Protocol):
    """What the writer needs of ``ContextApi``."""

    def put_frames(self, writes: Sequence[FrameWrite]) -> list[FrameId | ContextreeError]: ...


class FrameWriter:
    """Batches ``put_frames`` calls per event-loop turn for one ``ContextApi``."""

    def __init__(self, api: FrameSink) -> None:
        self._api = api
        self._pending: list[tuple[FrameWrite, asyncio.Future[FrameId]]] = []
        self._scheduled = False

    async def put(self, write: FrameWrite) -> FrameId:
        """Write ``write`` with whatever else is written in this loop turn; its frame id, or
        the error ``put_frame`` would have raised for it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[FrameId] = loop.create_future()
        self._pending.append((write, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch = [(w, f) for w, f in self._pending if not f.cancelled()]
        self._pending = []
        self._scheduled = False
        if not batch:
            return
        try:
            results = self._api.put_frames([write for write, _ in batch])
        except Exception as exc:  # the store failed: every caller gets it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, ContextreeError):
                future.set_exception(result)
            else:
                future.set_result(result)
