"""Fixtures for provider tests through real HTTP: the fake server, the shared session, clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from tests.fakes.provider_server import FakeProviderServer

from contextree.config.settings import ProviderSettings
from contextree.providers import LoadedProfile, ProfileSource, ProviderHttp, ProviderProfile
from contextree.providers.registry import ProviderRegistry
from contextree.providers.wire import HttpProviderClient

KEY_ENV = "FAKE_PROVIDER_KEY"
KEY = "sk-fake-0123456789abcdef-SECRET"
WIRES = ("openai", "anthropic", "ollama")

ClientFactory = Callable[..., HttpProviderClient]


def base_url_for(server: FakeProviderServer, wire: str) -> str:
    return server.openai_url if wire == "openai" else server.base_url


def profile_for(server: FakeProviderServer, wire: str, **fields: Any) -> ProviderProfile:
    data: dict[str, Any] = {
        "name": f"fake-{wire}",
        "type": wire,
        "model": "fake-model",
        "base_url": base_url_for(server, wire),
        "api_key_env": KEY_ENV,
        **fields,
    }
    return ProviderProfile.model_validate(data)


def client_for(profile: ProviderProfile, http: ProviderHttp) -> HttpProviderClient:
    """The client the registry builds for ``profile``, on the shared session."""
    entry = LoadedProfile(profile=profile, source=ProfileSource.WORKSPACE, path=None)
    client = ProviderRegistry({profile.name: entry}).client(profile.name, http)
    assert isinstance(client, HttpProviderClient)
    return client


@pytest.fixture
def provider_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviderServer]:
    async with FakeProviderServer(api_key=KEY) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[ProviderHttp]:
    async with ProviderHttp(ProviderSettings()) as session:
        yield session


@pytest.fixture
def make_client(fake: FakeProviderServer, http: ProviderHttp, provider_key: str) -> ClientFactory:
    """``make_client(wire, **profile_fields)``: a client of that wire format on the fake."""

    def build(wire: str, **fields: Any) -> HttpProviderClient:
        return client_for(profile_for(fake, wire, **fields), http)

    return build
