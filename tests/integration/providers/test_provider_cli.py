"""``contextree provider list | show | test | add`` as a user runs them, against the fake server."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.integration.providers.conftest import KEY, KEY_ENV, WIRES
from typer.testing import CliRunner

from contextree.cli.app import app


@pytest.fixture
def threaded_fake() -> Iterator[FakeProviderServer]:
    server = FakeProviderServer(api_key=KEY)
    server.start_in_thread()
    yield server
    server.stop()


def cli(workspace: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--workspace", str(workspace), *args])


def json_of(result: Result) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def add(workspace: Path, server: FakeProviderServer, wire: str, *extra: str) -> Result:
    base = server.openai_url if wire == "openai" else server.base_url
    args = ["provider", "add", f"fake-{wire}", "--type", wire, "--model", "fake-model"]
    args += ["--base-url", base, "--api-key-env", KEY_ENV, *extra]
    result = cli(workspace, *args)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("wire", WIRES)
def test_provider_test_answers_for_each_wire_format(
    workspace: Path, threaded_fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch, wire: str
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    add(workspace, threaded_fake, wire)
    result = cli(workspace, "provider", "test", f"fake-{wire}", "--json")
    assert result.exit_code == 0, result.output
    probe = json_of(result)["probe"]
    assert probe["ok"] is True
    assert (probe["type"], probe["served_model"], probe["finish_reason"]) == (
        wire,
        "fake-model",
        "stop",
    )
    assert (probe["tokens_in"], probe["tokens_out"]) == (11, 7)
    assert probe["latency_s"] > 0
    assert probe["reply"].startswith("# contextree-provider-test.md")
    [sent] = threaded_fake.completion_requests()
    assert sent.node_path == "contextree-provider-test.md"


def test_provider_test_structural_works_offline(workspace: Path) -> None:
    result = cli(workspace, "provider", "test", "structural", "--json")
    assert result.exit_code == 0, result.output
    probe = json_of(result)["probe"]
    assert (probe["ok"], probe["served_model"], probe["tokens_in"]) == (True, "structural-1", 0)
    assert probe["reply"].startswith("# contextree-provider-test.md Markdown file, 65 bytes")


def test_provider_test_text_output_names_latency_and_model(workspace: Path) -> None:
    result = cli(workspace, "provider", "test", "structural")
    assert result.exit_code == 0
    assert result.stdout.startswith("ok  structural (structural) answered in ")
    assert "served by structural-1" in result.stdout


def test_failed_probe_reports_the_error_class_and_exits_1(
    workspace: Path, threaded_fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    add(workspace, threaded_fake, "ollama", "--model", "missing")
    result = cli(workspace, "provider", "test", "fake-ollama", "--json")
    assert result.exit_code == 1
    probe = json_of(result)["probe"]
    assert (probe["ok"], probe["error_class"], probe["status"]) == (False, "model_not_found", 404)
    assert probe["retryable"] is False
    assert "available models: fake-large, fake-model" in probe["error"]


def test_failed_probe_text_says_whether_it_is_retryable(
    workspace: Path, threaded_fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    add(workspace, threaded_fake, "openai")
    threaded_fake.script(Reply.rate_limited(retry_after="12"))
    result = cli(workspace, "provider", "test", "fake-openai")
    assert result.exit_code == 1
    assert "rate_limited (HTTP 429, retryable, retry after 12 s)" in result.stderr


def test_unset_key_exits_2_before_anything_is_sent(
    workspace: Path, threaded_fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    add(workspace, threaded_fake, "anthropic")
    result = cli(workspace, "provider", "test", "fake-anthropic")
    assert result.exit_code == 2
    assert f"the environment variable {KEY_ENV} is not set" in result.stderr
    assert threaded_fake.requests == []


def test_add_writes_the_workspace_profile_and_refuses_to_overwrite(
    workspace: Path, threaded_fake: FakeProviderServer
) -> None:
    result = add(workspace, threaded_fake, "openai", "--max-tokens", "2048")
    path = workspace / ".contextree" / "providers" / "fake-openai.toml"
    assert f"wrote {path}" in result.stdout
    data = tomllib.loads(path.read_text())
    assert data == {
        "name": "fake-openai",
        "type": "openai",
        "model": "fake-model",
        "base_url": threaded_fake.openai_url,
        "api_key_env": KEY_ENV,
        "options": {"max_tokens": 2048},
    }
    again = cli(workspace, "provider", "add", "fake-openai", "--type", "openai", "--model", "x")
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    forced = cli(
        workspace, "provider", "add", "fake-openai", "--type", "openai", "--model", "x", "--force"
    )
    assert forced.exit_code == 0
    assert tomllib.loads(path.read_text())["model"] == "x"


def test_workspace_profile_wins_over_the_user_profile(workspace: Path) -> None:
    user = cli(workspace, "provider", "add", "shared", "--type", "ollama", "--model", "u", "--user")
    assert user.exit_code == 0, user.output
    user_file = Path.home() / ".config" / "contextree" / "providers" / "shared.toml"
    assert user_file.is_file()
    assert (
        json_of(cli(workspace, "provider", "show", "shared", "--json"))["provider"]["source"]
        == "user"
    )
    cli(workspace, "provider", "add", "shared", "--type", "ollama", "--model", "w")
    shown = json_of(cli(workspace, "provider", "show", "shared", "--json"))["provider"]
    assert (shown["model"], shown["source"]) == ("w", "workspace")


def test_list_shows_builtin_profiles_and_broken_files(workspace: Path) -> None:
    folder = workspace / ".contextree" / "providers"
    folder.mkdir(parents=True)
    (folder / "broken.toml").write_text('type = "openai"\nmodel = 5\n')
    (folder / "structural.toml").write_text('type = "openai"\nmodel = "m"\n')
    (folder / "good.toml").write_text('type = "ollama"\nmodel = "llama3"\n')
    result = cli(workspace, "provider", "list", "--json")
    assert result.exit_code == 0, result.output
    doc = json_of(result)
    rows = {row["name"]: row for row in doc["providers"]}
    assert sorted(rows) == ["good", "structural"]
    assert (rows["structural"]["source"], rows["structural"]["key_status"]) == (
        "built-in",
        "not needed",
    )
    assert rows["good"]["base_url"] == "http://localhost:11434"
    assert [p["name"] for p in doc["problems"]] == ["broken", "structural"]
    text = cli(workspace, "provider", "list")
    assert "warning: invalid provider profile" in text.stderr


def test_show_unknown_provider_exits_2_and_lists_known_names(workspace: Path) -> None:
    result = cli(workspace, "provider", "show", "nope")
    assert result.exit_code == 2
    assert "unknown provider 'nope'; known providers: structural" in result.stderr


def test_add_refuses_the_builtin_name(workspace: Path) -> None:
    result = cli(workspace, "provider", "add", "structural", "--type", "openai", "--model", "m")
    assert result.exit_code == 2
    assert "cannot be redefined" in result.stderr
