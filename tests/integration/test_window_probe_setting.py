"""The window probe is opt-in (``[providers] probe_context_window``, off by default) and, when
on, reaches a real ``generate`` through the composition root: the server is asked once, the
prompt is fitted to the answer, and a run with no calls asks nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.user_profiles import write_user_fake_profile

import contextree
from contextree.config.settings import Settings
from contextree.core.tokens import estimate_tokens


def test_probing_is_off_by_default() -> None:
    assert Settings().providers.probe_context_window is False


@pytest.mark.parametrize("probe", [False, True])
async def test_generate_probes_once_when_asked_and_fits_the_prompt(
    workspace: Path, probe: bool
) -> None:
    (workspace / "big.py").write_text("".join(f"x_{i} = {i}  # line {i}\n" for i in range(3000)))
    async with FakeProviderServer() as server:
        server.props_n_ctx = 2048
        write_user_fake_profile(server.openai_url)
        overrides = {"providers": {"probe_context_window": probe}}

        def run() -> contextree.Workspace:
            ws = contextree.open_workspace(workspace, settings_overrides=overrides)
            assert asyncio.run(ws.generate(provider="fake")).result.succeeded
            return ws

        await asyncio.to_thread(run)
        probes = len(server.window_probes())
        requests = server.completion_requests()
        await asyncio.to_thread(run)  # nothing changed: no call, and no probe either

    assert len(server.window_probes()) == probes
    assert len(server.completion_requests()) == len(requests)
    file_request = next(r for r in requests if "big.py" in str(r.body))
    prompt = sum(estimate_tokens(m["content"]) for m in file_request.body["messages"])
    if probe:
        assert probes == 2  # /v1/models said nothing, /props said 2048
        assert prompt + file_request.body["max_tokens"] <= 2048
    else:
        assert probes == 0
        assert prompt > 2048  # unfitted: the whole 60 KB file went
