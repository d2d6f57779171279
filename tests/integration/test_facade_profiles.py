"""Agent and provider profiles from Python: ``Workspace.agents``, ``agent``, ``check_agents``,
``providers``, ``provider``, ``add_provider`` and ``test_provider`` on a temporary workspace,
against the fake provider server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer

from contextree.errors import AgentNotFoundError, ProviderConfigError
from contextree.facade import (
    AgentCheck,
    AgentInfo,
    AgentList,
    KeyStatus,
    NewProvider,
    ProbeResult,
    ProfileSource,
    ProviderInfo,
    ProviderList,
    ProviderType,
    Workspace,
    open_workspace,
)
from contextree.facade.agent_profiles import BUILTIN_IDS

KEY_ENV = "CONTEXTREE_TEST_FAKE_KEY"
WRITER = (
    'role = "writer"\nsystem_prompt = "You summarise code."\n'
    'file_template = "Summarise the file at {path} ({node_type})."\n'
    'directory_template = "Summarise the directory at {path} ({node_type})."\n'
)


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    fake = FakeProviderServer()
    fake.start_in_thread()
    yield fake
    fake.stop()


def _open(root: Path) -> Workspace:
    return open_workspace(root, discover=False)


def _agents_dir(root: Path) -> Path:
    path = root / ".contextree" / "agents"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_agents_lists_the_built_ins_and_the_workspace_s_own(workspace: Path) -> None:
    (_agents_dir(workspace) / "mine.toml").write_text(WRITER + 'provider = "structural"\n')
    (_agents_dir(workspace) / "broken.toml").write_text("role = 3\n")
    with _open(workspace) as ws:
        listing = ws.agents()
    assert isinstance(listing, AgentList)
    assert {a.id for a in listing.agents} == {*BUILTIN_IDS, "mine"}
    mine = next(a for a in listing.agents if a.id == "mine")
    assert (mine.profile.provider, mine.trusted, mine.default) == ("structural", False, False)
    assert [a.id for a in listing.agents if a.default] == [listing.default_agent]
    assert [c.path.name for c in listing.problems] == ["broken.toml"]


def test_agent_shows_one_and_names_an_unknown_id(workspace: Path) -> None:
    with _open(workspace) as ws:
        reader = ws.agent("reader")
        assert isinstance(reader, AgentInfo)
        assert not reader.profile.can_write
        assert reader.trusted  # built in
        with pytest.raises(AgentNotFoundError, match="known agents"):
            ws.agent("nobody")


def test_check_agents_reports_broken_files_and_the_default_agent(workspace: Path) -> None:
    with _open(workspace) as ws:
        clean = ws.check_agents()
        assert isinstance(clean, AgentCheck)
        assert clean.ok
        assert (clean.files, clean.builtins) == ((), BUILTIN_IDS)

    (_agents_dir(workspace) / "broken.toml").write_text("role = 3\n")
    with _open(workspace) as ws:
        broken = ws.check_agents()
        assert not broken.ok
        assert [c.error is not None for c in broken.files] == [True]
        assert ws.check_agents("reader").builtins == ("reader",)
        with pytest.raises(AgentNotFoundError, match="not built in"):
            ws.check_agents("nobody")


def test_check_agents_says_when_the_default_agent_cannot_write(workspace: Path) -> None:
    data = workspace / ".contextree"
    data.mkdir()
    (data / "config.toml").write_text('default_agent = "reader"\n')
    with _open(workspace) as ws:
        report = ws.check_agents()
    assert not report.ok
    assert report.default_agent_problem == (
        "default_agent 'reader' is a reader and cannot generate frames"
    )


def test_add_provider_writes_a_trusted_workspace_profile_that_lists_and_shows(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    new = NewProvider(
        name="local",
        type=ProviderType.OLLAMA,
        model="m",
        base_url="http://127.0.0.1:9",
        api_key_env=KEY_ENV,
        max_tokens=64,
    )
    with _open(workspace) as ws:
        added = ws.add_provider(new)
        assert added.path == workspace / ".contextree" / "providers" / "local.toml"
        assert added.approved
        assert ws.untrusted() == []
        listing = ws.providers()
        info = ws.provider("local")
        with pytest.raises(ProviderConfigError, match="already exists"):
            ws.add_provider(new)
        ws.add_provider(new, force=True)
    assert isinstance(listing, ProviderList)
    assert {p.name for p in listing.providers} >= {"structural", "local"}
    assert listing.problems == ()
    assert isinstance(info, ProviderInfo)
    assert (info.type, info.model, info.source, info.trusted) == (
        ProviderType.OLLAMA,
        "m",
        ProfileSource.WORKSPACE,
        True,
    )
    assert (info.api_key_env, info.key_status) == (KEY_ENV, KeyStatus.NOT_SET)
    assert info.profile.options.max_tokens == 64


def test_add_provider_for_the_user_writes_the_user_profile(workspace: Path) -> None:
    new = NewProvider(name="shared", type="ollama", model="u")
    with _open(workspace) as ws:
        added = ws.add_provider(new, user=True)
        assert not added.approved  # a user profile needs no approval
        assert ws.provider("shared").source is ProfileSource.USER
    assert not (workspace / ".contextree" / "providers").exists()


def test_an_invalid_new_provider_is_refused_before_anything_is_written(workspace: Path) -> None:
    with _open(workspace) as ws, pytest.raises(ProviderConfigError, match="max_concurrency"):
        ws.add_provider(NewProvider(name="bad", type="openai", model="m", max_concurrency=0))
    assert not (workspace / ".contextree" / "providers" / "bad.toml").exists()


def test_provider_names_an_unknown_profile(workspace: Path) -> None:
    with _open(workspace) as ws, pytest.raises(ProviderConfigError):
        ws.provider("nowhere")


def test_test_provider_answers_through_a_profile_the_user_added(
    workspace: Path, server: FakeProviderServer
) -> None:
    with _open(workspace) as ws:
        ws.add_provider(
            NewProvider(
                name="fake",
                type="openai",
                model="fake-model",
                base_url=server.openai_url,
                api_key_env="",
            )
        )
        result = asyncio.run(ws.test_provider("fake"))
    assert isinstance(result, ProbeResult)
    assert result.ok, result.error
    assert (result.name, result.type, result.served_model) == ("fake", "openai", "fake-model")
    assert len(server.completion_requests()) == 1


def test_test_provider_refuses_an_untrusted_workspace_profile_before_any_request(
    workspace: Path, server: FakeProviderServer
) -> None:
    providers = workspace / ".contextree" / "providers"
    providers.mkdir(parents=True)
    (providers / "cloned.toml").write_text(
        f'type = "openai"\nmodel = "fake-model"\nbase_url = "{server.openai_url}"\n'
        'api_key_env = ""\n'
    )
    with _open(workspace) as ws:
        assert not ws.provider("cloned").trusted
        with pytest.raises(ProviderConfigError, match="is not trusted"):
            asyncio.run(ws.test_provider("cloned"))
        assert server.requests == []
        ws.trust()
        assert asyncio.run(ws.test_provider("cloned")).ok
