"""``provider test`` also asks the server for the model's context window, prints it, and keeps
it in the workspace's store, where generation fits prompts to it."""

from __future__ import annotations

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.integration.providers.conftest import KEY, KEY_ENV
from tests.integration.providers.test_provider_cli import add, cli, json_of, threaded_fake

from contextree.bootstrap import load_workspace, open_store_for_reading, provider_facts

__all__ = ["threaded_fake"]  # the fixture, used by name


def test_the_window_the_server_reports_is_printed_and_kept(
    workspace, threaded_fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    threaded_fake.props_n_ctx = 4096
    add(workspace, threaded_fake, "openai")
    assert cli(workspace, "scan").exit_code == 0  # the workspace has a store

    doc = cli(workspace, "provider", "test", "fake-openai", "--json")
    text = cli(workspace, "provider", "test", "fake-openai")

    assert doc.exit_code == 0 and json_of(doc)["probe"]["context_window"] == 4096
    assert "context window: 4,096 tokens" in text.stdout
    setup = load_workspace(str(workspace))
    with open_store_for_reading(setup) as store:
        kept = provider_facts(store).get(threaded_fake.openai_url, "fake-model")
    assert kept is not None and kept.context_window == 4096


def test_a_server_that_says_nothing_gives_no_window(
    workspace, threaded_fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    add(workspace, threaded_fake, "openai")
    doc = cli(workspace, "provider", "test", "fake-openai", "--json")
    assert doc.exit_code == 0
    assert json_of(doc)["probe"]["context_window"] is None
    assert "context window" not in cli(workspace, "provider", "test", "fake-openai").stdout
