"""Provider profiles: parsing untrusted TOML, refusing inline keys, defaults, writing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from contextree.errors import ProviderConfigError
from contextree.providers import CompletionOptions, ProviderProfile, ProviderType
from contextree.providers.profiles import load_profile_bytes, parse_profile, write_profile_file


def parse(**data: object) -> ProviderProfile:
    return parse_profile(data, name="p", source="p.toml")


def test_defaults_per_type() -> None:
    openai = parse(type="openai", model="gpt-4o-mini")
    assert openai.effective_base_url == "https://api.openai.com/v1"
    assert openai.key_env == "OPENAI_API_KEY"
    assert (openai.timeouts.connect, openai.timeouts.total) == (10.0, 120.0)
    assert parse(type="anthropic", model="c").key_env == "ANTHROPIC_API_KEY"
    assert parse(type="anthropic", model="c").effective_base_url == "https://api.anthropic.com"
    assert parse(type="ollama", model="llama3").key_env is None
    assert parse(type="openai", model="m", api_key_env="").key_env is None  # keyless server
    assert parse(type="openai", model="m", api_key_env="VLLM_KEY").key_env == "VLLM_KEY"


def test_base_url_loses_its_trailing_slash() -> None:
    profile = parse(type="openai", model="m", base_url="http://127.0.0.1:8000/v1/")
    assert profile.effective_base_url == "http://127.0.0.1:8000/v1"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("base_url", "ftp://h", "must be an http:// or https:// URL"),
        ("base_url", "http://user:pw@h/v1", "must not hold credentials"),
        ("base_url", "http://h/v1 ", "must not contain whitespace"),
        ("type", "local", "Input should be 'openai', 'anthropic', 'ollama' or 'structural'"),
        ("timeouts", {"total": 0}, "Input should be greater than 0"),
        ("options", {"temperature": 3}, "less than or equal to 2"),
        ("max_concurrency", 0, "greater than or equal to 1"),
        ("colour", "blue", "Extra inputs are not permitted"),
    ],
)
def test_invalid_fields_are_named_with_the_source(field: str, value: object, message: str) -> None:
    with pytest.raises(ProviderConfigError) as caught:
        parse(**{"type": "openai", "model": "m", field: value})
    assert caught.value.message.startswith("invalid provider profile p.toml:\n")
    assert message in caught.value.message
    assert field in caught.value.message


@pytest.mark.parametrize(
    "data",
    [
        {"api_key": "sk-123456"},
        {"token": "t-123456"},
        {"options": {"apiKey": "sk-123456"}},
        {"Authorization": "Bearer sk-123456"},
    ],
)
def test_inline_keys_are_refused_and_never_repeated(data: dict[str, object]) -> None:
    with pytest.raises(ProviderConfigError) as caught:
        parse(type="openai", model="m", **data)
    assert "holds a key inline" in caught.value.message
    assert "api_key_env" in str(caught.value)
    assert "123456" not in str(caught.value)


def test_name_in_file_must_match_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "local.toml"
    path.write_text('name = "other"\ntype = "ollama"\nmodel = "m"\n')
    with pytest.raises(ProviderConfigError) as caught:
        load_profile_bytes(path)
    assert "does not match the file name 'local'" in caught.value.message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("type = \n")
    with pytest.raises(ProviderConfigError) as caught:
        load_profile_bytes(path)
    assert caught.value.message.startswith(f"{path} is not valid TOML")


def test_profile_options_merge_under_request_options() -> None:
    profile = parse(type="ollama", model="m", options={"temperature": 0.5, "max_tokens": 10})
    merged = profile.default_options().merged(CompletionOptions(temperature=0.1, seed=3))
    assert merged == CompletionOptions(temperature=0.1, max_tokens=10, seed=3)
    assert profile.default_options().merged(None) == profile.default_options()


def test_written_profile_round_trips_with_only_set_fields(tmp_path: Path) -> None:
    profile = parse(
        type="anthropic",
        model="claude-x",
        api_key_env="WORK_KEY",
        options={"max_tokens": 2000},
        requests_per_minute=50,
    )
    path = tmp_path / "providers" / "p.toml"
    write_profile_file(path, profile, force=False)
    assert tomllib.loads(path.read_text()) == {
        "name": "p",
        "type": "anthropic",
        "model": "claude-x",
        "api_key_env": "WORK_KEY",
        "options": {"max_tokens": 2000},
        "requests_per_minute": 50,
    }
    assert load_profile_bytes(path)[0] == profile
    assert load_profile_bytes(path)[0].type is ProviderType.ANTHROPIC


def test_writing_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("# mine\n")
    profile = parse(type="ollama", model="m")
    with pytest.raises(ProviderConfigError) as caught:
        write_profile_file(path, profile, force=False)
    assert path.read_text() == "# mine\n"
    assert caught.value.hint == "Pass --force to replace it, or pick another name."
    write_profile_file(path, profile, force=True)
    assert 'model = "m"' in path.read_text()
