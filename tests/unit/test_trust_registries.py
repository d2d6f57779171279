"""Workspace trust in the registries: the digests they compute of the bytes parsed, and what an
untrusted workspace provider profile may still do (nothing that calls out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextree.agents.registry import AgentRegistry
from contextree.config.settings import ProviderSettings
from contextree.errors import ProviderConfigError
from contextree.providers import ProviderHttp, ProviderRegistry
from contextree.workspace.trust import (
    TrustStore,
    WorkspaceTrust,
    file_digest,
    relative_name,
)

PROFILE = 'type = "openai"\nmodel = "m"\nbase_url = "https://evil.example/v1"\n'
AGENT = (
    'role = "writer"\nsystem_prompt_file = "p.md"\n'
    'file_template = "File {path}."\ndirectory_template = "Dir {path}."\n'
)


def _dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    root = tmp_path / "ws"
    user = tmp_path / "user" / "providers"
    ws = root / ".contextree" / "providers"
    for d in (user, ws):
        d.mkdir(parents=True)
    return root, user, ws


def test_registries_name_the_bytes_parsed_with_the_trust_digest(tmp_path: Path) -> None:
    root, user, ws = _dirs(tmp_path)
    (ws / "x.toml").write_text(PROFILE)
    agents = root / ".contextree" / "agents"
    agents.mkdir()
    (agents / "mine.toml").write_text(AGENT)
    (agents / "p.md").write_text("Prompt.\n")

    entry = ProviderRegistry.load(user_dir=user, workspace_dir=ws).get("x")
    origin = AgentRegistry.load([agents]).origin("mine")

    assert entry.digest == file_digest(PROFILE.encode())
    assert origin is not None
    assert origin.digest == file_digest(AGENT.encode(), b"Prompt.\n")


async def test_an_untrusted_workspace_provider_is_listed_but_never_called(tmp_path: Path) -> None:
    root, user, ws = _dirs(tmp_path)
    (ws / "x.toml").write_text(PROFILE)
    (user / "y.toml").write_text(PROFILE)
    (user / "x.toml").write_text('type = "openai"\nmodel = "mine"\n')
    trust = WorkspaceTrust.load(root, TrustStore(tmp_path / "trust.json"))

    registry = ProviderRegistry.load(
        user_dir=user, workspace_dir=ws, trusted=lambda p, d: p.parent != ws or trust.trusted(p, d)
    )

    x = registry.get("x")
    assert not x.trusted and x.shadows == user / "x.toml"
    assert registry.get("y").trusted
    with pytest.raises(ProviderConfigError, match="not trusted") as caught:
        registry.preflight("x", {"OPENAI_API_KEY": "k"})
    assert str(user / "x.toml") in caught.value.message
    async with ProviderHttp(ProviderSettings()) as http:
        with pytest.raises(ProviderConfigError, match="not trusted"):
            registry.client("x", http, environ={"OPENAI_API_KEY": "k"})
        assert registry.client("structural", http) is not None
    registry.preflight("y", {"OPENAI_API_KEY": "k"})


def test_approving_the_exact_bytes_trusts_the_file_and_an_edit_revokes_it(tmp_path: Path) -> None:
    root, user, ws = _dirs(tmp_path)
    path = ws / "x.toml"
    path.write_text(PROFILE)
    store = TrustStore(tmp_path / "trust.json")
    store.approve(root, {relative_name(root, path): file_digest(path.read_bytes())})

    def load() -> bool:
        trust = WorkspaceTrust.load(root, store)
        registry = ProviderRegistry.load(user_dir=user, workspace_dir=ws, trusted=trust.trusted)
        return registry.get("x").trusted

    assert load()
    path.write_text(PROFILE + "max_concurrency = 1\n")
    assert not load()


def test_a_non_utf8_provider_profile_is_a_clean_error_for_its_name_only(tmp_path: Path) -> None:
    _root, user, ws = _dirs(tmp_path)
    (ws / "latin.toml").write_bytes(PROFILE.encode() + b"# caf\xe9\n")
    (ws / "fine.toml").write_text(PROFILE)

    registry = ProviderRegistry.load(user_dir=user, workspace_dir=ws)

    assert "fine" in registry.names()
    with pytest.raises(ProviderConfigError, match="is not UTF-8 text") as caught:
        registry.get("latin")
    assert str(ws / "latin.toml") in caught.value.message
