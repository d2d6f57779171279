"""A ``generate`` whose provider profile spells its base URL with or without ``/v1`` (and a
trailing slash) reaches the same endpoints of the fake server, in every wire format: an
Anthropic base URL ending in ``/v1`` once became ``/v1/v1/messages``."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.trees import write_tree
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.bootstrap import load_workspace, open_store
from contextree.bootstrap.generation import generation_environment
from contextree.context.generation.inputs import GenerateOptions
from contextree.context.generation.run import run_generate
from contextree.telemetry import NullObserver

CHAT_PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "ollama": "/api/chat"}


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
@pytest.mark.parametrize("wire", sorted(CHAT_PATHS))
async def test_base_url_with_or_without_v1_reaches_the_chat_endpoint(
    workspace: Path, wire: str, suffix: str
) -> None:
    write_tree(workspace, {"a.py": "A = 1\n"})
    async with FakeProviderServer() as server:
        write_user_fake_profile(server.base_url + suffix, wire=wire)
        ws = load_workspace(str(workspace))
        with open_store(ws.layout, ws.settings) as store:
            env = generation_environment(ws, store)
            outcome = await run_generate(
                env, GenerateOptions(provider="fake"), observer=NullObserver()
            )
        paths = sorted({r.path for r in server.requests})
    assert outcome.result.succeeded
    assert paths == [CHAT_PATHS[wire]]
