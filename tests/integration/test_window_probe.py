"""Asking a server for a model's context window (``providers.window_probe``) and keeping the
answer (``store.provider_facts``), against the fake server's ``/props``, ``/api/show`` and
model listing. Generation probes only when ``[providers] probe_context_window`` is on
(``test_window_probe_setting.py``); these tests call ``ProviderExecution`` directly."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.bootstrap import load_workspace, open_store
from contextree.bootstrap.profiles import load_providers
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.providers import ProviderHttp
from contextree.providers.window_probe import from_listing, from_props, from_show
from contextree.store.provider_facts import ProviderFacts
from contextree.telemetry import NullObserver


def test_the_parsers_read_each_servers_shape() -> None:
    listing = {"data": [{"id": "a", "max_model_len": 32768}, {"id": "b", "context_length": 8192}]}
    assert (from_listing(listing, "a"), from_listing(listing, "b")) == (32768, 8192)
    assert from_listing(listing, "c") is None and from_listing([], "a") is None
    assert from_props({"default_generation_settings": {"n_ctx": 4096}}) == 4096
    assert from_props({"default_generation_settings": {"params": {"n_ctx": 2048}}}) == 2048
    assert from_props({"default_generation_settings": {"n_ctx": True}}) is None
    assert from_show({"model_info": {"qwen2.context_length": 32768}}) == 32768
    assert from_show({"model_info": {}}) is None


async def _window(workspace: Path, server: FakeProviderServer, wire: str) -> int | None:
    base = server.openai_url if wire == "openai" else server.base_url
    write_user_fake_profile(base, wire=wire)
    ws = load_workspace(str(workspace))
    with open_store(ws.layout, ws.settings) as store:
        async with ProviderHttp(ws.settings.providers) as http:
            execution = ProviderExecution(
                load_providers(ws),
                http,
                NullObserver(),
                facts=ProviderFacts(store.conn),
                probe_windows=True,
            )
            first = await execution.window("fake")
            again = await execution.window("fake")
        assert first == again
        return first.size if first is not None else None


async def test_a_llama_cpp_window_is_probed_once_and_kept_in_the_store(workspace: Path) -> None:
    async with FakeProviderServer() as server:
        server.props_n_ctx = 4096
        assert await _window(workspace, server, "openai") == 4096
        assert [r.path for r in server.window_probes()] == ["/v1/models", "/props"]
        server.props_n_ctx = 9999  # kept: a second run does not ask again
        assert await _window(workspace, server, "openai") == 4096
        assert len(server.window_probes()) == 2


async def test_a_listing_window_wins_before_props_is_asked(workspace: Path) -> None:
    async with FakeProviderServer() as server:
        server.listing_windows = {"fake-model": 32768}
        server.listing_window_field = "max_model_len"
        assert await _window(workspace, server, "openai") == 32768
        assert [r.path for r in server.window_probes()] == ["/v1/models"]


async def test_ollama_reports_its_window_through_api_show(workspace: Path) -> None:
    async with FakeProviderServer() as server:
        server.show_context_length = 8192
        assert await _window(workspace, server, "ollama") == 8192
        probes = server.window_probes()
        assert [(r.path, r.body) for r in probes] == [("/api/show", {"model": "fake-model"})]


async def test_a_server_that_says_nothing_means_no_window_and_is_not_asked_again(
    workspace: Path,
) -> None:
    async with FakeProviderServer() as server:
        assert await _window(workspace, server, "openai") is None
        assert await _window(workspace, server, "openai") is None
        assert len(server.window_probes()) == 2  # listing and /props, once
