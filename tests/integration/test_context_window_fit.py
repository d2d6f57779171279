"""Fitting prompts to a provider's context window (``context_window`` / ``reply_reserve``).

With a 4K window, a 40 KB file is cut at a line (with a note naming the window) so that what
the fake server receives, estimated, plus the request's ``max_tokens`` stays within the
window; ``max_tokens`` is capped to what the window leaves; a directory's children are
trimmed to fit; what was cut is in the frame's metadata; a prompt that cannot fit at all
fails its node once, naming the profile and ``context_window``; the settings enter the
input key (changing the window regenerates). Without a window the request is as before.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tests.fakes.clock import FakeClock
from tests.fakes.provider_server import FakeProviderServer, RecordedRequest
from tests.fakes.replies import Reply
from tests.helpers.trees import write_tree
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi
from contextree.bootstrap import load_workspace, open_store
from contextree.bootstrap.generation import generation_environment
from contextree.context.generation.inputs import GenerateOptions
from contextree.context.generation.run import GenerateOutcome, run_generate
from contextree.context.generation.window_fit import MESSAGE_OVERHEAD
from contextree.core.frame import Frame
from contextree.core.ids import FrameId
from contextree.core.tokens import estimate_tokens
from contextree.store.db import Store
from contextree.telemetry import NullObserver

WINDOW = 4096


def profile(base_url: str, extra: str = "", *, wire: str = "openai") -> None:
    path = write_user_fake_profile(base_url, wire=wire)
    path.write_text(path.read_text() + extra)


async def generate(workspace: Path, *, force: bool = False) -> GenerateOutcome:
    ws = load_workspace(str(workspace))
    clock = FakeClock()
    with open_store(ws.layout, ws.settings) as store:
        env = dataclasses.replace(generation_environment(ws, store), clock=clock, retry_seed=0)
        options = GenerateOptions(provider="fake", force=force)
        return await clock.run(run_generate(env, options, observer=NullObserver()))


def frame_of(workspace: Path, outcome: GenerateOutcome, path: bytes) -> Frame:
    frame_id = outcome.result.nodes[path].frame_id
    assert frame_id is not None
    with Store.open(workspace / ".contextree" / "store.db") as store:
        frame = ContextApi(store, AgentRegistry.builtin()).get_frame(FrameId(frame_id))
    assert frame is not None
    return frame


def sent_tokens(body: dict[str, Any]) -> int:
    """The prompt of a recorded request, estimated as contextree estimates it."""
    return sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD for m in body["messages"])


def user_text(record: RecordedRequest) -> str:
    return str(record.body["messages"][-1]["content"])


def is_directory_request(record: RecordedRequest) -> bool:
    return "for the file at" not in user_text(record)


def big_source(lines: int = 1000) -> str:
    return "".join(f"def function_{n}(value):\n    return value * {n}\n" for n in range(lines))


async def test_a_short_window_cuts_a_large_file_at_a_line_and_every_request_fits(
    workspace: Path,
) -> None:
    source = big_source()
    size = len(source.encode())
    assert size > 40_000
    write_tree(workspace, {"big.py": source, "small.py": "A = 1\n"})
    async with FakeProviderServer() as server:
        profile(server.openai_url, f"context_window = {WINDOW}\nreply_reserve = 512\n")
        outcome = await generate(workspace)
        requests = server.completion_requests()
    assert outcome.result.succeeded
    assert len(requests) == 3  # two files and the root
    for record in requests:
        assert sent_tokens(record.body) + record.body["max_tokens"] <= WINDOW
        assert "num_ctx" not in str(record.body)  # an OpenAI server has no such option
    big = next(r for r in requests if r.node_path == "big.py")
    text = user_text(big)
    note = f"bytes are shown (cut to fit context_window = {WINDOW:,} tokens of provider 'fake').]"
    assert note in text
    kept = text.split("Content:\n", 1)[1].split("\n\n[Truncated: the first ", 1)[0]
    kept_bytes = len(kept.encode())
    assert source.startswith(kept) and kept.endswith("\n")  # whole lines, nothing rewritten
    assert f"the first {kept_bytes:,} of {size:,} bytes" in text
    # Close to the budget: the prompt uses most of what the reserve leaves.
    assert sent_tokens(big.body) > WINDOW - 512 - 200
    assert big.body["max_tokens"] == 512
    meta = frame_of(workspace, outcome, b"big.py").metadata
    assert (meta["content_bytes_kept"], meta["content_bytes_total"]) == (
        str(kept_bytes),
        str(size),
    )
    small = next(r for r in requests if r.node_path == "small.py")
    assert "A = 1\n" in user_text(small) and "[Truncated" not in user_text(small)
    assert "content_bytes_kept" not in frame_of(workspace, outcome, b"small.py").metadata


async def test_max_tokens_is_capped_to_what_the_window_leaves(workspace: Path) -> None:
    write_tree(workspace, {"big.py": big_source()})
    async with FakeProviderServer() as server:
        # No reply_reserve: a quarter of the window (1,024) is kept; max_tokens asks for more.
        profile(server.openai_url, f"context_window = {WINDOW}\n[options]\nmax_tokens = 8000\n")
        outcome = await generate(workspace)
        requests = server.completion_requests()
    assert outcome.result.succeeded
    big = next(r for r in requests if r.node_path == "big.py")
    assert big.body["max_tokens"] == WINDOW - sent_tokens(big.body)
    assert 1024 <= big.body["max_tokens"] < 8000
    root = next(r for r in requests if is_directory_request(r))
    assert root.body["max_tokens"] == WINDOW - sent_tokens(root.body)


async def test_a_directory_trims_its_children_to_fit_and_says_so(workspace: Path) -> None:
    long_frame = "\n".join(f"Line {n} of a long summary for this child." for n in range(300))
    files = {f"pkg/m{n}.py": f"M = {n}\n" for n in range(6)}
    write_tree(workspace, files)
    async with FakeProviderServer() as server:
        for n in range(6):
            server.script_path(f"pkg/m{n}.py", Reply(content=long_frame))
        profile(server.openai_url, "context_window = 2048\nreply_reserve = 256\n")
        outcome = await generate(workspace)
        requests = server.completion_requests()
    assert outcome.result.succeeded
    pkg = next(r for r in requests if is_directory_request(r) and "Path: pkg/m0.py" in user_text(r))
    assert sent_tokens(pkg.body) + pkg.body["max_tokens"] <= 2048
    assert "[... cut to fit the directory context budget]" in user_text(pkg)
    meta = frame_of(workspace, outcome, b"pkg").metadata
    assert meta["children_trimmed"] == "6"


async def test_a_prompt_that_cannot_fit_fails_its_node_once_naming_the_setting(
    workspace: Path,
) -> None:
    write_tree(workspace, {"a.py": "A = 1\n"})
    async with FakeProviderServer() as server:
        profile(server.openai_url, "context_window = 40\nreply_reserve = 10\n")
        outcome = await generate(workspace)
        requests = server.completion_requests()
    assert requests == []  # nothing was sent
    node = outcome.result.nodes[b"a.py"]
    assert (node.status.value, node.error_class, node.attempts) == (
        "failed",
        "context_length_exceeded",
        1,
    )
    assert node.message is not None and node.hint is not None
    assert "context_window = 40" in node.message and "'fake'" in node.message
    assert "context_window" in node.hint and "max_tokens" not in node.hint


async def test_the_window_settings_enter_the_input_key(workspace: Path) -> None:
    write_tree(workspace, {"a.py": "A = 1\n"})
    async with FakeProviderServer() as server:
        profile(server.openai_url)
        await generate(workspace)
        assert len(server.completion_requests()) == 2
        profile(server.openai_url, f"context_window = {WINDOW}\n")
        await generate(workspace)  # the window changes the prompt: regenerated
        assert len(server.completion_requests()) == 4
        await generate(workspace)  # and now current
        assert len(server.completion_requests()) == 4


async def test_without_a_window_the_request_is_unchanged(workspace: Path) -> None:
    write_tree(workspace, {"big.py": big_source()})
    async with FakeProviderServer() as server:
        profile(server.openai_url)
        outcome = await generate(workspace)
        requests = server.completion_requests()
    assert outcome.result.succeeded
    big = next(r for r in requests if r.node_path == "big.py")
    assert "max_tokens" not in big.body
    assert big_source() in user_text(big) and "[Truncated" not in user_text(big)
    assert "content_bytes_kept" not in frame_of(workspace, outcome, b"big.py").metadata


async def test_a_context_length_error_hints_at_context_window_not_max_tokens(
    workspace: Path,
) -> None:
    write_tree(workspace, {"a.py": "A = 1\n"})
    refusal = Reply.error(
        400,
        "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens.",
        code="context_length_exceeded",
    )
    async with FakeProviderServer() as server:
        server.script_path("a.py", refusal)
        profile(server.openai_url)
        outcome = await generate(workspace)
        assert len(server.completion_requests()) == 1  # not retried
    node = outcome.result.nodes[b"a.py"]
    assert node.error_class == "context_length_exceeded"
    assert node.hint == (
        "Set context_window = N (the model's window in tokens) in the provider profile 'fake' "
        "(fake.toml); contextree then fits every prompt to it, cutting large files and trimming "
        "directory context."
    )
    async with FakeProviderServer() as server:
        server.script_path("a.py", refusal)
        profile(server.openai_url, "context_window = 8192\n")
        outcome = await generate(workspace)
    hint = outcome.result.nodes[b"a.py"].hint
    assert hint is not None and "it is 8,192 now" in hint and "max_tokens" not in hint


async def test_ollama_requests_carry_num_ctx_the_window(workspace: Path) -> None:
    write_tree(workspace, {"big.py": big_source()})
    async with FakeProviderServer() as server:
        profile(server.base_url, f"context_window = {WINDOW}\nreply_reserve = 512\n", wire="ollama")
        outcome = await generate(workspace)
        requests = server.completion_requests()
    assert outcome.result.succeeded
    assert [r.path for r in requests] == ["/api/chat", "/api/chat"]
    for record in requests:
        options = record.body["options"]
        assert options["num_ctx"] == WINDOW
        assert sent_tokens(record.body) + options["num_predict"] <= WINDOW
    big = next(r for r in requests if r.node_path == "big.py")
    assert big.body["options"]["num_predict"] == 512


async def test_ollama_without_a_window_sends_no_options(workspace: Path) -> None:
    write_tree(workspace, {"a.py": "A = 1\n"})
    async with FakeProviderServer() as server:
        profile(server.base_url, wire="ollama")
        await generate(workspace)
        requests = server.completion_requests()
    assert len(requests) == 2 and all("options" not in r.body for r in requests)
