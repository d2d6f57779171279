"""The frame writer: frames handed in during one event-loop turn share one ``put_frames``
call, each caller gets its own id or error, and a cancelled caller's frame is not written."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from contextree.api import FrameWrite
from contextree.context.generation.frame_writer import FrameWriter
from contextree.core.frame import Basis, Frame
from contextree.core.ids import FrameId, NodeId
from contextree.errors import ContextreeError, MetadataForbiddenValueError, StoreError


class RecordingSink:
    """Stands in for ``ContextApi.put_frames``: records each batch; a write whose content is
    b"bad" is refused, and ``fail`` makes the whole call raise."""

    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []
        self.fail: Exception | None = None

    def put_frames(self, writes: Sequence[FrameWrite]) -> list[FrameId | ContextreeError]:
        if self.fail is not None:
            raise self.fail
        self.batches.append([w.frame.content for w in writes])
        return [
            MetadataForbiddenValueError("refused", key="model", pattern="p")
            if w.frame.content == b"bad"
            else w.frame.frame_id
            for w in writes
        ]


def write(content: str) -> FrameWrite:
    node = NodeId(bytes(32))
    frame = Frame(
        basis=Basis.node(node),
        agent_id="docs-writer",
        frame_type="context-docs-writer",
        content=content.encode(),
        metadata={"agent_id": "docs-writer"},
    )
    return FrameWrite(node_id=node, frame=frame, agent_id="docs-writer")


async def test_writes_handed_in_during_one_turn_share_one_call() -> None:
    sink = RecordingSink()
    writer = FrameWriter(sink)
    writes = [write(f"frame {n}") for n in range(5)]
    ids = await asyncio.gather(*(writer.put(w) for w in writes))
    assert ids == [w.frame.frame_id for w in writes]
    assert sink.batches == [[w.frame.content for w in writes]]


async def test_a_lone_write_is_committed_after_one_loop_turn() -> None:
    sink = RecordingSink()
    writer = FrameWriter(sink)
    task = asyncio.ensure_future(writer.put(write("alone")))
    await asyncio.sleep(0)  # the task runs up to its await; the flush is scheduled
    assert sink.batches == []
    await asyncio.sleep(0)  # the flush ran in this turn
    assert sink.batches == [[b"alone"]]
    assert await task == write("alone").frame.frame_id


async def test_later_turns_get_their_own_batches() -> None:
    sink = RecordingSink()
    writer = FrameWriter(sink)
    await writer.put(write("first"))
    await asyncio.gather(writer.put(write("second")), writer.put(write("third")))
    assert sink.batches == [[b"first"], [b"second", b"third"]]


async def test_a_refused_write_raises_in_its_caller_only() -> None:
    sink = RecordingSink()
    writer = FrameWriter(sink)
    results = await asyncio.gather(
        writer.put(write("good")), writer.put(write("bad")), return_exceptions=True
    )
    assert results[0] == write("good").frame.frame_id
    assert isinstance(results[1], MetadataForbiddenValueError)


async def test_a_store_failure_reaches_every_caller_of_the_batch() -> None:
    sink = RecordingSink()
    sink.fail = StoreError("disk full")
    writer = FrameWriter(sink)
    results = await asyncio.gather(
        writer.put(write("a")), writer.put(write("b")), return_exceptions=True
    )
    assert [type(r) for r in results] == [StoreError, StoreError]
    sink.fail = None
    assert await writer.put(write("c")) == write("c").frame.frame_id  # the writer goes on


async def test_a_caller_cancelled_before_the_commit_writes_nothing() -> None:
    sink = RecordingSink()
    writer = FrameWriter(sink)
    doomed = asyncio.ensure_future(writer.put(write("cancelled")))
    kept = asyncio.ensure_future(writer.put(write("kept")))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await kept == write("kept").frame.frame_id
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert sink.batches == [[b"kept"]]
