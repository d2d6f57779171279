"""Provider execution (C2) with a scripted provider: the typed result, every provider error
class passed through with its class and a failure event, model-not-found enrichment, and no
retries (one client call per ``call``)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping

import pytest

from contextree import errors
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.errors import (
    ModelNotFoundError,
    ProviderConfigError,
    ProviderError,
    ServerError,
)
from contextree.providers import (
    ChatMessage,
    FileSubject,
    LoadedProfile,
    ProfileSource,
    ProviderClient,
    ProviderHttp,
    ProviderProfile,
    ProviderRegistry,
    ProviderRequest,
    ProviderResponse,
    ProviderType,
    Role,
)
from contextree.telemetry import RecordingObserver

PROFILE = ProviderProfile(
    name="scripted", type=ProviderType.OPENAI, model="asked-model", api_key_env="SCRIPTED_KEY"
)
MESSAGES = (
    ChatMessage(role=Role.SYSTEM, content="Be brief."),
    ChatMessage(role=Role.USER, content="Context:\nPath: a.py\n\nTask: Describe a.py."),
)
SUBJECT = FileSubject(path="a.py", data=b"x = 1\n", size=6)
EVENT_DATA = {"node_id": "ab" * 32, "path": "a.py", "agent_id": "tester", "frame_type": "t"}
RESPONSE = ProviderResponse(
    content="# a.py\n\nSets x.",
    served_model="asked-model-2024-06-01",
    tokens_in=42,
    tokens_out=9,
    finish_reason="stop",
    latency_s=0.25,
    request_body=b'{"model":"asked-model"}',
)


class ScriptedClient(ProviderClient):
    """Answers ``complete`` from a script (a response or an error per call) and lists models
    (or fails to)."""

    def __init__(
        self,
        replies: list[ProviderResponse | Exception],
        *,
        models: list[str] | Exception | None = None,
    ) -> None:
        self.name = PROFILE.name
        self.type = PROFILE.type
        self.replies = list(replies)
        self.models = models if models is not None else []
        self.requests: list[ProviderRequest] = []
        self.list_calls = 0

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def list_models(self) -> list[str]:
        self.list_calls += 1
        if isinstance(self.models, Exception):
            raise self.models
        return self.models


class ScriptedRegistry(ProviderRegistry):
    """The real registry with one profile, handing out the scripted client for it."""

    def __init__(self, client: ScriptedClient) -> None:
        entry = LoadedProfile(profile=PROFILE, source=ProfileSource.WORKSPACE, path=None)
        super().__init__({PROFILE.name: entry})
        self.scripted = client
        self.built: list[tuple[str, bool]] = []

    def client(
        self,
        name: str,
        http: ProviderHttp | None,
        *,
        environ: Mapping[str, str] | None = None,
        enrich_model_errors: bool = True,
    ) -> ProviderClient:
        self.built.append((name, enrich_model_errors))
        return self.scripted


def execution(
    client: ScriptedClient, environ: Mapping[str, str] | None = None
) -> tuple[ProviderExecution, ScriptedRegistry, RecordingObserver]:
    registry = ScriptedRegistry(client)
    observer = RecordingObserver()
    return ProviderExecution(registry, None, observer, environ=environ), registry, observer


async def call(unit: ProviderExecution) -> ProviderResponse:
    return await unit.call("scripted", MESSAGES, SUBJECT, event_data=EVENT_DATA)


def _provider_error_classes() -> list[type[ProviderError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, ProviderError) and cls is not ProviderError
    ]


PROVIDER_ERRORS = _provider_error_classes()


def test_every_provider_error_class_is_covered() -> None:
    # The error tree in contextree.errors lists 17 provider error classes.
    assert len(PROVIDER_ERRORS) == 17
    assert len({cls.error_class for cls in PROVIDER_ERRORS}) == 17


async def test_success_is_a_typed_result_of_what_the_provider_answered() -> None:
    client = ScriptedClient([RESPONSE])
    unit, registry, observer = execution(client)
    result = await call(unit)
    assert result == ProviderResponse(
        content="# a.py\n\nSets x.",
        served_model="asked-model-2024-06-01",
        tokens_in=42,
        tokens_out=9,
        finish_reason="stop",
        latency_s=0.25,
        request_body=b'{"model":"asked-model"}',
    )
    assert client.requests == [
        ProviderRequest(
            messages=(
                ChatMessage(role=Role.SYSTEM, content="Be brief."),
                ChatMessage(role=Role.USER, content="Context:\nPath: a.py\n\nTask: Describe a.py."),
            ),
            subject=SUBJECT,
        )
    ]
    # Model-not-found is enriched here, so the adapter is asked not to do it too.
    assert registry.built == [("scripted", False)]
    assert observer.names() == ["provider_request_sent", "provider_response_received"]
    sent, received = observer.events
    assert dict(sent.data) == {**EVENT_DATA, "provider_name": "scripted"}
    received_data = dict(received.data)
    duration = received_data.pop("duration_ms")
    assert isinstance(duration, float) and duration >= 0
    assert received_data == {
        **EVENT_DATA,
        "provider_name": "scripted",
        "served_model": "asked-model-2024-06-01",
        "tokens_in": 42,
        "tokens_out": 9,
    }


async def test_one_client_per_provider_is_built_and_reused() -> None:
    client = ScriptedClient([RESPONSE, RESPONSE, RESPONSE])
    unit, registry, _ = execution(client)
    for _ in range(3):
        await call(unit)
    assert registry.built == [("scripted", False)]
    assert len(client.requests) == 3


@pytest.mark.parametrize("error_class", PROVIDER_ERRORS, ids=lambda c: c.error_class)
async def test_a_provider_error_propagates_with_its_class_after_exactly_one_call(
    error_class: type[ProviderError],
) -> None:
    error = error_class(f"scripted {error_class.error_class}", status=599, retry_after=3.0)
    client = ScriptedClient([error, RESPONSE], models=["m1"])
    unit, _, observer = execution(client)
    with pytest.raises(ProviderError) as raised:
        await call(unit)
    assert type(raised.value) is error_class
    assert raised.value.error_class == error_class.error_class
    assert (raised.value.status, raised.value.retry_after) == (599, 3.0)
    assert raised.value.retryable is error_class.default_retryable
    if error_class is not ModelNotFoundError:
        assert raised.value is error
        assert client.list_calls == 0
    # No retry here, whether or not the class is retryable: the queue owns retries.
    assert len(client.requests) == 1
    assert client.replies == [RESPONSE]
    assert observer.names() == ["provider_request_sent", "provider_request_failed"]
    failed = dict(observer.named("provider_request_failed")[0].data)
    assert isinstance(failed.pop("duration_ms"), float)
    assert failed == {
        **EVENT_DATA,
        "provider_name": "scripted",
        "error_class": error_class.error_class,
        "error": raised.value.message,
    }


async def test_an_instance_retryable_override_survives_the_unit() -> None:
    # x-should-retry: false on a 503 makes this one error final; the unit must not reset it.
    error = errors.OverloadedError("busy", status=503, retryable=False)
    unit, _, _ = execution(ScriptedClient([error]))
    with pytest.raises(errors.OverloadedError) as raised:
        await call(unit)
    assert raised.value.retryable is False


async def test_model_not_found_is_enriched_once_with_the_listed_models() -> None:
    bare = ModelNotFoundError(
        "scripted: model 'asked-model' does not exist", status=404, hint="Pick one."
    )
    client = ScriptedClient([bare], models=["fake-large", "fake-model"])
    unit, _, observer = execution(client)
    with pytest.raises(ModelNotFoundError) as raised:
        await call(unit)
    assert raised.value.message == (
        "scripted: model 'asked-model' does not exist\navailable models: fake-large, fake-model"
    )
    assert (raised.value.status, raised.value.hint) == (404, "Pick one.")
    assert raised.value.__cause__ is bare
    assert client.list_calls == 1
    assert len(client.requests) == 1
    (failed,) = observer.named("provider_request_failed")
    assert failed.data["error"] == raised.value.message
    assert failed.data["error_class"] == "model_not_found"


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        (
            ServerError("the model list is down", status=500),
            "the models could not be listed (server_error: the model list is down)",
        ),
        (
            ProviderConfigError("SCRIPTED_KEY is not set"),
            "the models could not be listed (configuration: SCRIPTED_KEY is not set)",
        ),
        ([], "the provider lists no models"),
    ],
    ids=["listing-failed", "listing-misconfigured", "nothing-listed"],
)
async def test_model_not_found_says_when_the_models_could_not_be_listed(
    listing: list[str] | Exception, expected: str
) -> None:
    bare = ModelNotFoundError("scripted: no such model", status=404)
    client = ScriptedClient([bare], models=listing)
    unit, _, _ = execution(client)
    with pytest.raises(ModelNotFoundError) as raised:
        await call(unit)
    assert raised.value.message == f"scripted: no such model\n{expected}"
    assert client.list_calls == 1


def test_profile_and_preflight_come_from_the_registry() -> None:
    unit, _, _ = execution(ScriptedClient([]), environ={})
    assert unit.profile("scripted") is PROFILE
    assert unit.profile("structural").type is ProviderType.STRUCTURAL
    with pytest.raises(ProviderConfigError) as unset:
        unit.preflight("scripted")
    assert "SCRIPTED_KEY is not set" in unset.value.message
    with pytest.raises(ProviderConfigError) as unknown:
        unit.profile("nope")
    assert unknown.value.message.startswith("unknown provider 'nope'")
    keyed, _, _ = execution(ScriptedClient([]), environ={"SCRIPTED_KEY": "k"})
    assert keyed.preflight("scripted") is PROFILE


async def test_an_answer_over_max_frame_bytes_is_cut_and_says_how_much() -> None:
    long = dataclasses.replace(RESPONSE, content="".join(f"line {n}\n" for n in range(500)))
    registry = ScriptedRegistry(ScriptedClient([long]))
    unit = ProviderExecution(registry, None, RecordingObserver(), max_frame_bytes=1024)
    result = await call(unit)
    total = len(long.content.encode())
    assert len(result.content.encode()) <= 1024
    assert long.content.startswith(result.content.rpartition("\n\n")[0])
    assert result.content.endswith(f" bytes of {total:,}]")
    assert 0 < result.truncated_bytes < total
