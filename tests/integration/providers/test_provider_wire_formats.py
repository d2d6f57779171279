"""What each adapter sends and how it reads the answer, checked against the fake server.

The exact request bodies are golden files (the parity fixtures) in
``tests/fixtures/providers/``. After an intended change to a wire format, regenerate them with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/integration/providers/test_provider_wire_formats.py

and review the diff before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.integration.providers.conftest import KEY, WIRES, ClientFactory

from contextree.errors import ProviderConfigError
from contextree.providers import ChatMessage, CompletionOptions, ProviderRequest, Role

GOLDEN = Path(__file__).parents[2] / "fixtures" / "providers"

MESSAGES = (
    ChatMessage(role=Role.SYSTEM, content="You write documentation for code."),
    ChatMessage(
        role=Role.USER,
        content="Context:\nPath: src/app.py\nType: File\nContent:\nprint('héllo')\n\n"
        "Task: Document src/app.py.",
    ),
)
PROFILE_OPTIONS = {"temperature": 0.5, "max_tokens": 300, "seed": 7}
REQUEST_OPTIONS = CompletionOptions(
    temperature=0.2, top_p=0.9, stop=("END",), frequency_penalty=0.1, presence_penalty=0.2
)


def assert_golden(name: str, body: bytes) -> None:
    text = json.dumps(json.loads(body), indent=2, ensure_ascii=False) + "\n"
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} drifted; see the module docstring"


@pytest.mark.parametrize("wire", WIRES)
async def test_request_body_with_options_matches_golden(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    client = make_client(wire, options=PROFILE_OPTIONS)
    response = await client.complete(ProviderRequest(messages=MESSAGES, options=REQUEST_OPTIONS))
    assert_golden(f"{wire}_request_with_options.json", response.request_body)
    assert fake.requests[0].raw == response.request_body  # what was sent, byte for byte


@pytest.mark.parametrize("wire", WIRES)
async def test_request_body_without_options_matches_golden(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    response = await make_client(wire).complete(ProviderRequest(messages=MESSAGES))
    assert_golden(f"{wire}_request_minimal.json", response.request_body)
    assert fake.requests[0].raw == response.request_body


async def test_anthropic_always_sends_max_tokens_and_moves_system_out(
    make_client: ClientFactory, fake: FakeProviderServer
) -> None:
    response = await make_client("anthropic").complete(ProviderRequest(messages=MESSAGES))
    body = json.loads(response.request_body)
    assert body["max_tokens"] == 4096
    assert body["system"] == "You write documentation for code."
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert fake.requests[0].headers["anthropic-version"] == "2023-06-01"


@pytest.mark.parametrize(
    ("wire", "header"), [("openai", "authorization"), ("anthropic", "x-api-key")]
)
async def test_key_is_sent_in_the_wire_formats_header(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str, header: str
) -> None:
    await make_client(wire).complete(ProviderRequest(messages=MESSAGES))
    seen = fake.requests[0]
    assert seen.key == KEY
    assert header not in seen.headers  # the recorder drops credential headers
    assert seen.headers["content-type"] == "application/json"


async def test_openai_compatible_server_without_key_gets_no_authorization(
    fake: FakeProviderServer, make_client: ClientFactory
) -> None:
    fake.api_key = None  # a local vLLM / llama.cpp server
    response = await make_client("openai", api_key_env="").complete(
        ProviderRequest(messages=MESSAGES)
    )
    assert fake.requests[0].key is None
    assert response.content.startswith("# src/app.py")


@pytest.mark.parametrize("wire", WIRES)
async def test_response_fields_come_from_the_body(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    fake.script(Reply(content="A summary.", model="fake-model-2024-01-01", tokens_in=120))
    response = await make_client(wire).complete(ProviderRequest(messages=MESSAGES))
    assert response.content == "A summary."
    assert response.served_model == "fake-model-2024-01-01"
    assert (response.tokens_in, response.tokens_out) == (120, 7)
    assert response.finish_reason == "stop"
    assert response.latency_s > 0


@pytest.mark.parametrize("wire", WIRES)
async def test_request_model_overrides_the_profile_model(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    response = await make_client(wire).complete(
        ProviderRequest(messages=MESSAGES, model="fake-large")
    )
    assert fake.requests[0].body["model"] == "fake-large"
    assert response.served_model == "fake-large"


@pytest.mark.parametrize("wire", WIRES)
async def test_list_models_reads_the_wire_formats_listing(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    assert await make_client(wire).list_models() == ["fake-large", "fake-model"]
    expected_path = {"openai": "/v1/models", "anthropic": "/v1/models", "ollama": "/api/tags"}
    assert [r.path for r in fake.requests] == [expected_path[wire]]


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
async def test_unset_key_fails_before_any_request(
    make_client: ClientFactory, fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch, wire: str
) -> None:
    client = make_client(wire)
    monkeypatch.delenv("FAKE_PROVIDER_KEY")
    with pytest.raises(ProviderConfigError) as caught:
        await client.complete(ProviderRequest(messages=MESSAGES))
    with pytest.raises(ProviderConfigError):
        await client.list_models()
    assert "FAKE_PROVIDER_KEY is not set" in caught.value.message
    assert fake.requests == []


async def test_ollama_sends_options_under_its_own_names(
    make_client: ClientFactory, fake: FakeProviderServer
) -> None:
    await make_client("ollama", options={"max_tokens": 99}).complete(
        ProviderRequest(messages=MESSAGES, options=CompletionOptions(stop=("###",)))
    )
    body = fake.requests[0].body
    assert body["stream"] is False
    assert body["options"] == {"num_predict": 99, "stop": ["###"]}
