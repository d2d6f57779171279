"""Every error class, for every wire adapter, through real HTTP to the fake server."""

from __future__ import annotations

import asyncio
import socket
import time
from email.utils import formatdate

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.integration.providers.conftest import WIRES, ClientFactory, client_for, profile_for

from contextree.config.settings import ProviderSettings
from contextree.errors import (
    AuthFailedError,
    BadRequestError,
    ClientTimeoutError,
    ConflictError,
    ConnectionFailedError,
    ContentFilteredError,
    ContextLengthError,
    EmptyCompletionError,
    MalformedResponseError,
    ModelNotFoundError,
    OverloadedError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TruncatedError,
)
from contextree.providers import ChatMessage, ProviderHttp, ProviderRequest, Role

NODE = "src/app.py"


def request(path: str = NODE) -> ProviderRequest:
    return ProviderRequest(
        messages=(
            ChatMessage(role=Role.SYSTEM, content="You summarise code."),
            ChatMessage(
                role=Role.USER,
                content=f"Context:\nPath: {path}\nType: File\nContent:\nprint(1)\n\nTask: go",
            ),
        )
    )


async def failure(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str, reply: Reply, **fields: object
) -> ProviderError:
    fake.script(reply)
    client = make_client(wire, **fields)
    with pytest.raises(ProviderError) as caught:
        await client.complete(request())
    return caught.value


STATUS_CASES = [
    pytest.param(Reply.error(529, "Overloaded"), OverloadedError, True, id="overloaded-529"),
    pytest.param(
        Reply.error(503, "Service Unavailable"), OverloadedError, True, id="overloaded-503"
    ),
    pytest.param(Reply.error(500, "internal"), ServerError, True, id="server-error-500"),
    pytest.param(Reply.error(502, "bad gateway"), ServerError, True, id="server-error-502"),
    pytest.param(Reply.error(408, "request timeout"), RequestTimeoutError, True, id="timeout-408"),
    pytest.param(Reply.error(409, "conflict"), ConflictError, True, id="conflict-409"),
    pytest.param(Reply.error(401, "invalid key"), AuthFailedError, False, id="auth-401"),
    pytest.param(Reply.error(403, "no permission"), AuthFailedError, False, id="auth-403"),
    pytest.param(Reply.error(400, "bad field"), BadRequestError, False, id="bad-request-400"),
    pytest.param(Reply.error(422, "unprocessable"), BadRequestError, False, id="bad-request-422"),
]


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize(("reply", "expected", "retryable"), STATUS_CASES)
async def test_http_status_maps_to_its_error_class(
    *,
    make_client: ClientFactory,
    fake: FakeProviderServer,
    wire: str,
    reply: Reply,
    expected: type[ProviderError],
    retryable: bool,
) -> None:
    error = await failure(make_client, fake, wire, reply)
    assert type(error) is expected
    assert error.retryable is retryable
    assert error.status == reply.status
    assert reply.error_message is not None
    assert reply.error_message in error.message
    assert error.retry_after is None


@pytest.mark.parametrize("wire", WIRES)
async def test_rate_limited_is_retryable_with_retry_after(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    error = await failure(make_client, fake, wire, Reply.rate_limited(retry_after="3"))
    assert type(error) is RateLimitedError
    assert (error.retryable, error.retry_after, error.status) == (True, 3.0, 429)


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        pytest.param({"retry_after": "7"}, 7.0, 7.0, id="seconds"),
        pytest.param({"retry_after_ms": "1500", "retry_after": "9"}, 1.5, 1.5, id="milliseconds"),
        pytest.param({"retry_after": "date"}, 28.0, 30.0, id="http-date"),
    ],
)
async def test_retry_after_is_parsed_in_all_three_forms(
    *,
    make_client: ClientFactory,
    fake: FakeProviderServer,
    wire: str,
    headers: dict[str, str],
    low: float,
    high: float,
) -> None:
    if headers.get("retry_after") == "date":
        headers = {"retry_after": formatdate(time.time() + 30, usegmt=True)}
    error = await failure(make_client, fake, wire, Reply.rate_limited(**headers))
    assert type(error) is RateLimitedError
    assert error.retry_after is not None
    assert low <= error.retry_after <= high


QUOTA = {
    "openai": Reply.error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        type="insufficient_quota",
        code="insufficient_quota",
    ),
    "anthropic": Reply.error(
        429,
        "Your organization has reached its monthly usage limit.",
        type="rate_limit_error",
        code="enforced_spend_limit_reached",
    ),
    "ollama": Reply.error(429, "you have exceeded your current quota; upgrade for more"),
}
CONTEXT = {
    "openai": Reply.error(
        400,
        "This model's maximum context length is 8192 tokens. However, your messages resulted "
        "in 9000 tokens.",
        code="context_length_exceeded",
    ),
    "anthropic": Reply.error(400, "prompt is too long: 210000 tokens > 200000 maximum"),
    "ollama": Reply.error(400, "input length exceeds maximum context length"),
}
FILTERED = {
    "openai": Reply(content="", finish="content_filter"),
    "anthropic": Reply(content="", finish="content_filter"),  # stop_reason "refusal"
    "ollama": Reply.error(400, "request blocked by content filter"),
}


@pytest.mark.parametrize("wire", WIRES)
async def test_quota_exhausted_429_is_not_retryable(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    error = await failure(make_client, fake, wire, QUOTA[wire])
    assert type(error) is QuotaExhaustedError
    assert error.retryable is False
    assert "spend limit" in (error.hint or "")


@pytest.mark.parametrize("wire", WIRES)
async def test_context_length_exceeded_is_its_own_class(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    error = await failure(make_client, fake, wire, CONTEXT[wire])
    assert type(error) is ContextLengthError
    assert error.retryable is False


@pytest.mark.parametrize("wire", WIRES)
async def test_content_filtered_is_not_retryable(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    error = await failure(make_client, fake, wire, FILTERED[wire])
    assert type(error) is ContentFilteredError
    assert error.retryable is False


@pytest.mark.parametrize("wire", WIRES)
async def test_malformed_json_is_malformed_response(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    error = await failure(make_client, fake, wire, Reply.malformed())
    assert type(error) is MalformedResponseError
    assert error.retryable is False
    assert '{"choices": [{"message":' in error.message


@pytest.mark.parametrize("wire", WIRES)
async def test_empty_completion_is_an_error(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    error = await failure(make_client, fake, wire, Reply.empty())
    assert type(error) is EmptyCompletionError
    assert error.retryable is True  # a blip as often as not: the queue asks again, bounded


@pytest.mark.parametrize("wire", WIRES)
async def test_length_cut_off_is_truncated_and_names_the_setting(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    error = await failure(make_client, fake, wire, Reply.truncated(), options={"max_tokens": 64})
    assert type(error) is TruncatedError
    assert error.retryable is False
    assert "max_tokens=64" in error.message
    assert "raise max_tokens under [options]" in error.message


@pytest.mark.parametrize("wire", WIRES)
async def test_hanging_server_is_a_client_timeout(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    # A deliberate 0.2 s per-attempt timeout against a server that never answers.
    error = await failure(make_client, fake, wire, Reply.hang(), timeouts={"total": 0.2})
    assert type(error) is ClientTimeoutError
    assert error.retryable is True
    assert "within 0.2 s" in error.message


@pytest.mark.parametrize("wire", WIRES)
async def test_closed_connection_is_a_connection_error(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    error = await failure(make_client, fake, wire, Reply.close())
    assert type(error) is ConnectionFailedError
    assert error.retryable is True


@pytest.mark.parametrize("wire", WIRES)
async def test_refused_connection_is_a_connection_error(
    fake: FakeProviderServer, http: ProviderHttp, provider_key: str, wire: str
) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}" + ("/v1" if wire == "openai" else "")
    profile = profile_for(fake, wire, base_url=base)
    client = client_for(profile, http)
    with pytest.raises(ConnectionFailedError) as caught:
        await client.complete(request())
    assert caught.value.retryable is True
    assert f"127.0.0.1:{port}" in caught.value.message


@pytest.mark.parametrize("wire", WIRES)
async def test_model_not_found_lists_the_available_models(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    client = make_client(wire, model="missing-model")
    with pytest.raises(ModelNotFoundError) as caught:
        await client.complete(request())
    error = caught.value
    assert (error.status, error.retryable) == (404, False)
    assert "missing-model" in error.message
    assert error.message.endswith("available models: fake-large, fake-model")
    assert [r.method for r in fake.requests] == ["POST", "GET"]


@pytest.mark.parametrize("wire", WIRES)
async def test_model_not_found_says_when_models_cannot_be_listed(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    fake.models_reply = Reply.error(500, "listing is down")
    client = make_client(wire, model="missing-model")
    with pytest.raises(ModelNotFoundError) as caught:
        await client.complete(request())
    assert "the models could not be listed (server_error:" in caught.value.message


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
async def test_wrong_key_is_auth_failed(
    make_client: ClientFactory, fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch, wire: str
) -> None:
    monkeypatch.setenv("FAKE_PROVIDER_KEY", "sk-wrong-key-000000")
    with pytest.raises(AuthFailedError) as caught:
        await make_client(wire).complete(request())
    assert caught.value.status == 401
    assert "FAKE_PROVIDER_KEY" in (caught.value.hint or "")


@pytest.mark.parametrize("wire", WIRES)
async def test_x_should_retry_overrides_the_class_default(
    make_client: ClientFactory, fake: FakeProviderServer, wire: str
) -> None:
    no = await failure(
        make_client, fake, wire, Reply.error(500, "fatal", headers={"x-should-retry": "false"})
    )
    yes = await failure(
        make_client, fake, wire, Reply.error(400, "try again", headers={"x-should-retry": "true"})
    )
    assert (type(no), no.retryable) == (ServerError, False)
    assert (type(yes), yes.retryable) == (BadRequestError, True)


async def test_settings_connector_limit_bounds_concurrent_requests(
    fake: FakeProviderServer, provider_key: str
) -> None:
    fake.default = Reply(content="done").with_latency(0.05)
    async with ProviderHttp(ProviderSettings(connector_limit=3)) as http:
        profile = profile_for(fake, "openai")
        client = client_for(profile, http)
        results = await asyncio.gather(*(client.complete(request(f"f{i}.py")) for i in range(9)))
    assert [r.content for r in results] == ["done"] * 9
    assert fake.peak_concurrency == 3
