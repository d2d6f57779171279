"""A request enqueued for a real scanned node produces a frame through real HTTP: real scan,
``FrameGenerationQueue``, ``Orchestrator``, prompt collection, provider execution and wire
adapter, against the fake provider server speaking each wire format."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.generation import (
    SYSTEM_PROMPT,
    WRITER,
    World,
    fake_profile,
    generation_queue,
    registry_of,
    scanned_world,
)

from contextree.config.settings import ProviderSettings
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.context.queue import FrameGenerationQueue, OutcomeStatus
from contextree.core.ids import digest_bytes
from contextree.providers import ProviderHttp
from contextree.telemetry import RecordingObserver

KEY_ENV = "FAKE_PROVIDER_KEY"
KEY = "sk-fake-0123456789abcdef"
FILES = {"src/a.py": "def a():\n    return 1\n", "src/b.py": "B = 2\n"}
USER_MESSAGE = (
    "Context:\nPath: src/a.py\nType: File\nContent:\ndef a():\n    return 1\n\n\n"
    "Task: Describe src/a.py (File, 22 bytes)."
)
SYSTEM = {"role": "system", "content": SYSTEM_PROMPT}
USER = {"role": "user", "content": USER_MESSAGE}
#: (endpoint, exact request body) per wire format, for the test agent's prompt for src/a.py.
EXPECTED: dict[str, tuple[str, dict[str, Any]]] = {
    "openai": (
        "/v1/chat/completions",
        {"model": "fake-model", "messages": [SYSTEM, USER], "stream": False},
    ),
    "anthropic": (
        "/v1/messages",
        {"model": "fake-model", "max_tokens": 4096, "system": SYSTEM_PROMPT, "messages": [USER]},
    ),
    "ollama": ("/api/chat", {"model": "fake-model", "messages": [SYSTEM, USER], "stream": False}),
}
MODEL_LIST_PATHS = {"openai": "/v1/models", "anthropic": "/v1/models", "ollama": "/api/tags"}


@pytest.fixture
def world(workspace: Path) -> Iterator[World]:
    with scanned_world(workspace, FILES) as scanned:
        yield scanned


@pytest.fixture
async def server() -> AsyncIterator[FakeProviderServer]:
    async with FakeProviderServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[ProviderHttp]:
    async with ProviderHttp(ProviderSettings(), environ={}) as session:
        yield session


def queue_for(
    world: World,
    server: FakeProviderServer,
    http: ProviderHttp,
    wire: str,
    observer: RecordingObserver,
    **profile_fields: Any,
) -> FrameGenerationQueue:
    profile = fake_profile(server, wire, api_key_env=KEY_ENV, **profile_fields)
    providers = ProviderExecution(registry_of(profile), http, observer, environ={KEY_ENV: KEY})
    return generation_queue(world.orchestrator(providers), observer=observer)


@pytest.mark.parametrize("wire", ["openai", "anthropic", "ollama"])
async def test_an_enqueued_file_node_becomes_a_frame_through_real_http(
    world: World, server: FakeProviderServer, http: ProviderHttp, wire: str
) -> None:
    observer = RecordingObserver()
    async with queue_for(world, server, http, wire, observer) as queue:
        outcome = await queue.enqueue_and_wait(world.request("src/a.py", provider="fake"))

    assert outcome.status is OutcomeStatus.DONE
    assert (outcome.attempts, outcome.error) == (1, None)
    (sent,) = server.completion_requests()
    endpoint, body = EXPECTED[wire]
    assert (sent.path, sent.wire, sent.key) == (endpoint, wire, KEY)
    assert sent.body == body
    assert server.requests == [sent]

    node = world.api.get_node(world.node("src/a.py"))
    (entry,) = node.frames
    assert outcome.result is not None
    assert entry.frame.frame_id == outcome.result.frame_id
    assert entry.frame.content == b"# src/a.py\n\nSummary of src/a.py from the fake provider.\n"
    assert entry.metadata["provider"] == "fake"
    assert entry.metadata["provider_type"] == wire
    assert (entry.metadata["tokens_in"], entry.metadata["tokens_out"]) == ("11", "7")
    assert entry.metadata["prompt_link_id"] == digest_bytes(sent.raw)
    assert world.api.artifact(digest_bytes(sent.raw)) == sent.raw
    names = observer.names()
    assert names.index("provider_request_sent") < names.index("provider_response_received")
    assert names.index("provider_response_received") < names.index("request_completed")


@pytest.mark.parametrize("wire", ["openai", "anthropic", "ollama"])
async def test_an_unknown_model_fails_once_with_the_listed_models(
    world: World, server: FakeProviderServer, http: ProviderHttp, wire: str
) -> None:
    observer = RecordingObserver()
    async with queue_for(world, server, http, wire, observer, model="missing-model") as queue:
        outcome = await queue.enqueue_and_wait(world.request("src/a.py", provider="fake"))

    assert outcome.status is OutcomeStatus.FAILED
    assert (outcome.error_class, outcome.attempts) == ("model_not_found", 1)
    message = str(outcome.error)
    # Enriched exactly once: by provider execution, not by the adapter as well.
    assert message.count("available models:") == 1
    assert "available models: fake-large, fake-model" in message
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", EXPECTED[wire][0]),
        ("GET", MODEL_LIST_PATHS[wire]),
    ]
    (failed,) = observer.named("provider_request_failed")
    assert failed.data["error"] == outcome.error.message  # type: ignore[union-attr]
    assert world.api.get_node(world.node("src/a.py")).frames == ()


async def test_a_directory_is_generated_from_the_frames_its_children_got_over_http(
    world: World, server: FakeProviderServer, http: ProviderHttp
) -> None:
    observer = RecordingObserver()
    async with queue_for(world, server, http, "openai", observer) as queue:
        children = [
            await queue.enqueue(world.request(path, provider="fake"))
            for path in ("src/a.py", "src/b.py")
        ]
        assert [(await c.wait()).status for c in children] == [OutcomeStatus.DONE] * 2
        outcome = await queue.enqueue_and_wait(world.request("src", provider="fake"))
    assert outcome.status is OutcomeStatus.DONE
    last = server.completion_requests()[-1]
    context = (
        "Path: src/a.py\nType: File\nContent:\n"
        "# src/a.py\n\nSummary of src/a.py from the fake provider.\n"
        "\n\n---\n\n"
        "Path: src/b.py\nType: File\nContent:\n"
        "# src/b.py\n\nSummary of src/b.py from the fake provider.\n"
    )
    assert last.body["messages"] == [
        SYSTEM,
        {"role": "user", "content": f"Context:\n{context}\n\nTask: Describe src (Directory)."},
    ]
    assert len(server.completion_requests()) == 3
    assert world.api.head(world.node("src"), WRITER, "context-tester") is not None


async def test_a_netrc_default_entry_is_never_attached_to_provider_requests(
    world: World,
    server: FakeProviderServer,
    http: ProviderHttp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A netrc "default" entry matches every host; attaching it would send those credentials
    # to the provider, and aiohttp refuses a request that has both it and a Bearer key.
    netrc = tmp_path / "netrc"
    netrc.write_text("default login someone password netrc-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    observer = RecordingObserver()
    async with queue_for(world, server, http, "openai", observer) as queue:
        outcome = await queue.enqueue_and_wait(world.request("src/a.py", provider="fake"))
    assert (outcome.status, outcome.error_class) == (OutcomeStatus.DONE, None)
    (sent,) = server.completion_requests()
    assert sent.key == KEY  # the Bearer key, not Basic credentials from the netrc


async def test_requests_go_through_the_proxy_the_environment_names(
    world: World, server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The provider's host does not resolve; only the proxy (the fake server) can answer.
    monkeypatch.setenv("HTTP_PROXY", server.base_url)
    for name in ("http_proxy", "NO_PROXY", "no_proxy"):  # the lowercase ones would win
        monkeypatch.delenv(name, raising=False)
    observer = RecordingObserver()
    async with ProviderHttp(ProviderSettings(), environ={}) as http:
        queue = queue_for(
            world, server, http, "openai", observer, base_url="http://provider.invalid/v1"
        )
        async with queue:
            outcome = await queue.enqueue_and_wait(world.request("src/a.py", provider="fake"))
    assert outcome.status is OutcomeStatus.DONE
    (sent,) = server.completion_requests()
    assert (sent.path, sent.headers["host"]) == ("/v1/chat/completions", "provider.invalid")
