"""Size caps on what a provider answers.

``max_response_bytes`` (default 4 MiB) is checked while the answer streams: a 50 MB answer ends
its node as ``response_too_large`` after reading a little more than the cap, with one request
(it is not retried) and nothing stored. ``max_frame_bytes`` (default 256 KiB) cuts a longer
answer text at a line, with a note, and records ``truncated_bytes`` in the frame's metadata.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from tests.fakes.clock import FakeClock
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.trees import write_tree
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi
from contextree.bootstrap import load_workspace, open_store
from contextree.bootstrap.generation import generation_environment
from contextree.context.generation.inputs import GenerateOptions
from contextree.context.generation.run import GenerateOutcome, run_generate
from contextree.core.ids import FrameId
from contextree.store.db import Store
from contextree.telemetry import NullObserver

MIB = 1 << 20
BIG = 50 * 1000 * 1000
CHUNK = 64 << 10
HEAD = b'{"model":"fake-model","choices":[{"message":{"role":"assistant","content":"'
TAIL = b'"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}'


class HugeAnswerServer:
    """Answers every chat request with a valid OpenAI completion of ``size`` bytes, streamed
    from a generator in 64 KiB chunks (never held whole), counting what it managed to send."""

    def __init__(self, size: int, *, declare_length: bool) -> None:
        self.size = size
        self.declare_length = declare_length
        self.requests = 0
        self.sent = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    def _chunks(self) -> AsyncIterator[bytes]:
        async def gen() -> AsyncIterator[bytes]:
            yield HEAD
            filler = self.size - len(HEAD) - len(TAIL)
            line = b"x" * 63 + b"\\n"  # a JSON-escaped newline every 65 bytes
            block = line * (CHUNK // len(line))
            while filler > 0:
                piece = block[:filler]
                filler -= len(piece)
                yield piece
            yield TAIL

        return gen()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if self.declare_length:
            response.content_length = self.size
        await response.prepare(request)
        try:
            async for chunk in self._chunks():
                await response.write(chunk)
                self.sent += len(chunk)
            await response.write_eof()
        except (ConnectionError, RuntimeError):  # the client hung up, as it should
            pass
        return response

    async def __aenter__(self) -> HugeAnswerServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def generate(workspace: Path, base_url: str) -> GenerateOutcome:
    write_user_fake_profile(base_url)
    ws = load_workspace(str(workspace))
    clock = FakeClock()
    with open_store(ws.layout, ws.settings) as store:
        env = dataclasses.replace(generation_environment(ws, store), clock=clock, retry_seed=0)
        return await clock.run(
            run_generate(env, GenerateOptions(provider="fake"), observer=NullObserver())
        )


def frame_count(workspace: Path) -> int:
    with Store.open(workspace / ".contextree" / "store.db") as store:
        return int(store.conn.execute("SELECT COUNT(*) FROM frames").fetchone()[0])


@pytest.mark.parametrize("declare_length", [False, True], ids=["chunked", "content-length"])
async def test_a_50_mb_answer_fails_its_node_after_one_request_reading_little(
    workspace: Path, declare_length: bool
) -> None:
    write_tree(workspace, {"a.py": "A = 1\n"})
    async with HugeAnswerServer(BIG, declare_length=declare_length) as server:
        outcome = await generate(workspace, server.url)
        requests, sent = server.requests, server.sent

    node = outcome.result.nodes[b"a.py"]
    assert (node.status.value, node.error_class, node.attempts) == (
        "failed",
        "response_too_large",
        1,
    )
    assert requests == 1  # never retried: the next answer would be as large
    # Reading stopped at the cap (4 MiB); what the server got out is the cap plus what the
    # sockets buffer, far from the 50 MB it meant to send.
    assert sent < 24 * MIB
    assert node.message is not None
    assert "max_response_bytes" in node.message
    assert f"{4 * MIB:,}" in node.message
    if declare_length:
        assert f"{BIG:,}" in node.message
    assert frame_count(workspace) == 0


def answer_of(size: int) -> str:
    """Numbered lines of 100 bytes, ``size`` bytes in all."""
    lines = [f"line {n:06d} " + "y" * 87 + "\n" for n in range(size // 100)]
    return "".join(lines)


async def test_an_answer_over_max_frame_bytes_is_cut_at_a_line_with_a_note(
    workspace: Path,
) -> None:
    answer = answer_of(300 << 10)
    total = len(answer.encode())
    write_tree(workspace, {"a.py": "A = 1\n"})
    async with FakeProviderServer(default=Reply(content=answer)) as server:
        outcome = await generate(workspace, server.openai_url)
    assert outcome.result.succeeded

    frame_id = outcome.result.nodes[b"a.py"].frame_id
    assert frame_id is not None
    with Store.open(workspace / ".contextree" / "store.db") as store:
        frame = ContextApi(store, AgentRegistry.builtin()).get_frame(FrameId(frame_id))
    assert frame is not None
    content = frame.content
    assert len(content) <= 256 << 10
    kept, _, note = content.decode().rpartition("\n\n")
    kept_bytes = len(kept.encode()) + 1  # with the newline that ended its last line
    assert answer.startswith(kept + "\n")  # cut at a line, nothing rewritten
    assert note == f"[contextree: answer cut at {kept_bytes:,} bytes of {total:,}]"
    assert frame.metadata["truncated_bytes"] == str(total - kept_bytes)
    # Close to the cap: only the line that did not fit and the note are missing.
    assert kept_bytes > (256 << 10) - 200


async def test_an_answer_within_max_frame_bytes_is_stored_whole(workspace: Path) -> None:
    answer = answer_of(200 << 10)
    write_tree(workspace, {"a.py": "A = 1\n"})
    async with FakeProviderServer(default=Reply(content=answer)) as server:
        outcome = await generate(workspace, server.openai_url)
    frame_id = outcome.result.nodes[b"a.py"].frame_id
    assert frame_id is not None
    with Store.open(workspace / ".contextree" / "store.db") as store:
        frame = ContextApi(store, AgentRegistry.builtin()).get_frame(FrameId(frame_id))
    assert frame is not None
    assert frame.content == answer.encode()
    assert "truncated_bytes" not in frame.metadata
