"""The registry: where profiles come from, which wins, and which client each one gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextree.config.settings import ProviderSettings
from contextree.errors import ProviderConfigError
from contextree.providers import KeyStatus, ProfileSource, ProviderHttp, ProviderRegistry
from contextree.providers.anthropic import AnthropicClient
from contextree.providers.ollama import OllamaClient
from contextree.providers.openai import OpenAIClient
from contextree.providers.registry import key_status
from contextree.providers.structural import StructuralClient


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "user" / "providers", tmp_path / "ws" / ".contextree" / "providers"


def test_structural_is_always_there(dirs: tuple[Path, Path]) -> None:
    registry = ProviderRegistry.load(user_dir=dirs[0], workspace_dir=dirs[1])
    entry = registry.get("structural")
    assert (registry.names(), entry.source, entry.path) == (
        ["structural"],
        ProfileSource.BUILTIN,
        None,
    )


def test_workspace_profile_wins_over_user_profile(dirs: tuple[Path, Path]) -> None:
    user, ws = dirs
    write(user, "shared", 'type = "ollama"\nmodel = "from-user"\n')
    write(user, "mine", 'type = "ollama"\nmodel = "only-user"\n')
    path = write(ws, "shared", 'type = "ollama"\nmodel = "from-workspace"\n')
    registry = ProviderRegistry.load(user_dir=user, workspace_dir=ws)
    shared = registry.get("shared")
    assert (shared.profile.model, shared.source, shared.path) == (
        "from-workspace",
        ProfileSource.WORKSPACE,
        path,
    )
    assert registry.get("mine").source is ProfileSource.USER
    assert registry.names() == ["mine", "shared", "structural"]


def test_structural_cannot_be_shadowed(dirs: tuple[Path, Path]) -> None:
    write(dirs[1], "structural", 'type = "openai"\nmodel = "gpt"\n')
    registry = ProviderRegistry.load(user_dir=dirs[0], workspace_dir=dirs[1])
    assert registry.get("structural").source is ProfileSource.BUILTIN
    [problem] = registry.problems()
    assert problem.name == "structural"
    assert "cannot be redefined" in problem.error.message


def test_a_broken_file_breaks_only_its_own_name(dirs: tuple[Path, Path]) -> None:
    user, ws = dirs
    write(user, "flaky", 'type = "ollama"\nmodel = "fine-in-user"\n')
    write(ws, "flaky", 'type = "ollama"\nmodel = ""\n')
    write(ws, "good", 'type = "ollama"\nmodel = "m"\n')
    registry = ProviderRegistry.load(user_dir=user, workspace_dir=ws)
    assert registry.get("good").profile.model == "m"
    with pytest.raises(ProviderConfigError) as caught:
        registry.get("flaky")
    assert "model: String should have at least 1 character" in caught.value.message
    assert "flaky.toml" in caught.value.message


def test_unknown_name_lists_known_names(dirs: tuple[Path, Path]) -> None:
    write(dirs[0], "alpha", 'type = "ollama"\nmodel = "m"\n')
    registry = ProviderRegistry.load(user_dir=dirs[0], workspace_dir=dirs[1])
    with pytest.raises(ProviderConfigError) as caught:
        registry.get("beta")
    assert caught.value.message == "unknown provider 'beta'; known providers: alpha, structural"
    assert caught.value.exit_code == 2


def test_preflight_fails_on_an_unset_key_and_passes_when_set(dirs: tuple[Path, Path]) -> None:
    write(dirs[0], "oa", 'type = "openai"\nmodel = "m"\napi_key_env = "OA_KEY"\n')
    registry = ProviderRegistry.load(user_dir=dirs[0], workspace_dir=None)
    with pytest.raises(ProviderConfigError) as caught:
        registry.preflight("oa", environ={})
    assert "the environment variable OA_KEY is not set" in caught.value.message
    assert registry.preflight("oa", environ={"OA_KEY": "k"}).name == "oa"
    assert registry.preflight("structural", environ={}).name == "structural"


def test_key_status_never_needs_the_value(dirs: tuple[Path, Path]) -> None:
    write(dirs[0], "oa", 'type = "openai"\nmodel = "m"\n')
    write(dirs[0], "ol", 'type = "ollama"\nmodel = "m"\n')
    registry = ProviderRegistry.load(user_dir=dirs[0], workspace_dir=None)
    oa, ol = registry.get("oa").profile, registry.get("ol").profile
    assert key_status(oa, {"OPENAI_API_KEY": "x"}) is KeyStatus.SET
    assert key_status(oa, {"OPENAI_API_KEY": "  "}) is KeyStatus.NOT_SET
    assert key_status(ol, {}) is KeyStatus.NOT_NEEDED


async def test_each_type_gets_its_wire_client(dirs: tuple[Path, Path]) -> None:
    for name, kind in (("a", "openai"), ("b", "anthropic"), ("c", "ollama")):
        write(dirs[0], name, f'type = "{kind}"\nmodel = "m"\n')
    registry = ProviderRegistry.load(user_dir=dirs[0], workspace_dir=None)
    async with ProviderHttp(ProviderSettings()) as http:
        clients = [registry.client(n, http) for n in ("a", "b", "c", "structural")]
    assert [type(c) for c in clients] == [
        OpenAIClient,
        AnthropicClient,
        OllamaClient,
        StructuralClient,
    ]
    assert [c.name for c in clients] == ["a", "b", "c", "structural"]
    assert isinstance(registry.client("structural", None), StructuralClient)
    with pytest.raises(RuntimeError, match="needs a ProviderHttp session"):
        registry.client("a", None)
