"""Workspace trust from Python: ``Workspace.untrusted``, ``trust_review``, ``trust``, ``revoke``,
``trusted_list`` and ``trust_notice`` on a temporary clone, and the refusals a library caller
cannot get around (``generate`` and ``test_provider`` through an untrusted workspace provider
send nothing)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.trees import write_tree

from contextree.errors import ProviderConfigError, UntrustedWorkspaceError, UsageError
from contextree.facade import TrustItem, Workspace, open_workspace
from contextree.facade.trusting import relative_name

FILES = {"src/app.py": "def app():\n    return 1\n", "README.md": "# App\n"}
PROVIDER = ".contextree/providers/x.toml"
AGENT = ".contextree/agents/mine.toml"
ONE_PROCESS = {"scan": {"hash_processes": 1}}


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    fake = FakeProviderServer()
    fake.start_in_thread()
    yield fake
    fake.stop()


@pytest.fixture
def clone(workspace: Path, server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository as cloned: files, a workspace provider profile pointing at the fake server
    (made the default) and a workspace agent; the user's key is in the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-facade")
    write_tree(workspace, FILES)
    data = workspace / ".contextree"
    (data / "providers").mkdir(parents=True)
    (workspace / PROVIDER).write_text(
        f'type = "openai"\nmodel = "fake-model"\nbase_url = "{server.base_url}/v1"\n'
        'api_key_env = "OPENAI_API_KEY"\n'
    )
    (data / "agents").mkdir()
    (workspace / AGENT).write_text(
        'role = "writer"\nsystem_prompt = "You summarise code."\n'
        'file_template = "Summarise the file at {path} ({node_type})."\n'
        'directory_template = "Summarise the directory at {path} ({node_type})."\n'
    )
    (data / "config.toml").write_text('default_provider = "x"\n')
    return workspace


def _open(root: Path) -> Workspace:
    return open_workspace(root, discover=False, settings_overrides=ONE_PROCESS)


def test_a_clone_s_profile_files_are_untrusted_and_reviewed(clone: Path) -> None:
    with _open(clone) as ws:
        untrusted = ws.untrusted()
        review = ws.trust_review()
        notice = ws.trust_notice()

    assert untrusted == [clone / PROVIDER, clone / AGENT]
    assert all(isinstance(i, TrustItem) and not i.trusted for i in review)
    by_kind = {i.kind: i for i in review}
    assert by_kind["provider"].name == "x"
    assert dict(by_kind["provider"].does)["API key variable"] == "OPENAI_API_KEY"
    assert by_kind["agent"].name == "mine"
    assert notice is not None
    assert "2 workspace profile files are not trusted" in notice
    assert "contextree trust" in notice


def test_trust_approves_the_chosen_files_then_the_rest(clone: Path) -> None:
    with _open(clone) as ws:
        first = ws.trust([PROVIDER])
        assert [relative_name(clone, i.path) for i in first] == [PROVIDER]
        assert all(i.trusted for i in first)
        assert ws.untrusted() == [clone / AGENT]
        assert ws.trust([clone / PROVIDER]) == []  # already trusted: nothing to do

        rest = ws.trust()
        assert [relative_name(clone, i.path) for i in rest] == [AGENT]
        assert ws.untrusted() == []
        assert ws.trust_notice() is None
        assert all(i.trusted for i in ws.trusted_list())


def test_only_the_files_the_review_lists_can_be_approved(clone: Path) -> None:
    with _open(clone) as ws:
        for path in ("src/app.py", ".contextree/config.toml", "../elsewhere.toml"):
            with pytest.raises(UsageError, match="not a workspace profile file"):
                ws.trust([path, PROVIDER])
        assert len(ws.untrusted()) == 2  # nothing was approved


def test_an_item_is_approved_as_reviewed_so_a_later_edit_stays_untrusted(clone: Path) -> None:
    with _open(clone) as ws:
        [provider] = [i for i in ws.trust_review() if i.kind == "provider"]
        path = clone / PROVIDER
        path.write_text(path.read_text() + "max_concurrency = 2\n")
        ws.trust([provider])
        assert clone / PROVIDER in ws.untrusted()


def test_an_edit_makes_an_approved_file_untrusted_again(clone: Path) -> None:
    with _open(clone) as ws:
        ws.trust()
        path = clone / AGENT
        path.write_text(path.read_text() + 'description = "edited"\n')
        assert ws.untrusted() == [path]
        [agent] = [i for i in ws.trusted_list() if i.kind == "agent"]
        assert not agent.trusted


def test_revoke_forgets_the_chosen_approvals_or_all(clone: Path) -> None:
    with _open(clone) as ws:
        ws.trust()
        assert ws.revoke([AGENT]) == 1
        assert ws.untrusted() == [clone / AGENT]
        assert ws.revoke([AGENT]) == 0
        assert ws.revoke() == 1
        assert len(ws.untrusted()) == 2
        assert ws.revoke() == 0


def test_generate_from_python_refuses_an_untrusted_workspace_provider(
    clone: Path, server: FakeProviderServer
) -> None:
    with _open(clone) as ws:
        with pytest.raises(ProviderConfigError, match="is not trusted") as refused:
            asyncio.run(ws.generate(agent="docs-writer"))
        assert str(clone / PROVIDER) in str(refused.value)
        assert "contextree trust" in (refused.value.hint or "")
        assert server.requests == []

        ws.trust()
        outcome = asyncio.run(ws.generate(agent="docs-writer"))
    assert outcome.result.succeeded
    assert server.completion_requests()


def test_test_provider_from_python_refuses_an_untrusted_workspace_provider(
    clone: Path, server: FakeProviderServer
) -> None:
    with _open(clone) as ws:
        with pytest.raises(ProviderConfigError, match="`contextree provider test x` refused"):
            asyncio.run(ws.test_provider("x"))
        assert server.requests == []

        ws.trust([PROVIDER])
        result = asyncio.run(ws.test_provider("x"))
    assert result.ok, result.error
    assert len(server.completion_requests()) == 1


def test_a_workspace_without_profile_files_has_nothing_to_trust(workspace: Path) -> None:
    with _open(workspace) as ws:
        assert ws.untrusted() == []
        assert ws.trust_review() == []
        assert ws.trust() == []
        assert ws.trust_notice() is None
        assert ws.revoke() == 0


def test_paths_may_be_path_like(clone: Path) -> None:
    with _open(clone) as ws:
        approved = ws.trust([Path(PROVIDER), os.fspath(clone / AGENT)])
    assert {relative_name(clone, i.path) for i in approved} == {PROVIDER, AGENT}


def test_generate_from_python_refuses_an_untrusted_workspace_agent(
    clone: Path, server: FakeProviderServer
) -> None:
    with _open(clone) as ws:
        ws.trust([PROVIDER])
        with pytest.raises(UntrustedWorkspaceError, match="agent profile") as refused:
            asyncio.run(ws.generate(agent="mine"))
        assert str(clone / AGENT) in str(refused.value)
        assert server.requests == []
