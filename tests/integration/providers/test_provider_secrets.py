"""A key set in the environment never shows up in logs, errors, responses, files or output."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.integration.providers.conftest import KEY, KEY_ENV, WIRES, ClientFactory
from typer.testing import CliRunner

from contextree.cli.app import app
from contextree.errors import AuthFailedError, ProviderConfigError, ProviderError
from contextree.providers import ChatMessage, ProviderRequest, Role
from contextree.providers.profiles import load_profile_bytes

REQUEST = ProviderRequest(messages=(ChatMessage(role=Role.USER, content="Path: a.py\nGo."),))


def leaks(error: BaseException) -> bool:
    texts = [str(error), repr(error), getattr(error, "hint", None) or ""]
    return any(KEY in text for text in texts)


@pytest.mark.parametrize("wire", WIRES)
async def test_key_never_appears_in_logs_errors_or_responses(
    make_client: ClientFactory,
    fake: FakeProviderServer,
    caplog: pytest.LogCaptureFixture,
    wire: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(wire)
    response = await client.complete(REQUEST)
    fake.script(Reply.error(500, "upstream refused key {presented_key} for this model"))
    with pytest.raises(ProviderError) as echoed:
        await client.complete(REQUEST)
    assert KEY not in repr(dataclasses.asdict(response))
    assert "upstream refused key *** for this model" in echoed.value.message
    assert not leaks(echoed.value)
    assert KEY not in caplog.text


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
async def test_server_echoing_a_wrong_key_is_scrubbed(
    make_client: ClientFactory,
    fake: FakeProviderServer,
    monkeypatch: pytest.MonkeyPatch,
    wire: str,
) -> None:
    wrong = "sk-this-one-is-wrong-but-still-secret"
    monkeypatch.setenv(KEY_ENV, wrong)
    with pytest.raises(AuthFailedError) as caught:
        await make_client(wire).complete(REQUEST)
    assert all(wrong not in text for text in (str(caught.value), repr(caught.value)))


def test_inline_key_in_a_profile_is_refused_without_repeating_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'type = "openai"\nmodel = "m"\napi_key = "{KEY}"\n')
    with pytest.raises(ProviderConfigError) as caught:
        load_profile_bytes(path)
    assert "use api_key_env" in caught.value.message
    assert not leaks(caught.value)


def test_key_pasted_into_api_key_env_is_refused_without_repeating_it(tmp_path: Path) -> None:
    path = tmp_path / "pasted.toml"
    path.write_text(f'type = "openai"\nmodel = "m"\napi_key_env = "{KEY}"\n')
    with pytest.raises(ProviderConfigError) as caught:
        load_profile_bytes(path)
    assert "api_key_env: Value error, must be the NAME of an environment variable" in str(
        caught.value
    )
    assert not leaks(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_key_never_appears_in_cli_output_or_profile_files(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeProviderServer(api_key=KEY)
    server.start_in_thread()
    try:
        monkeypatch.setenv(KEY_ENV, KEY)
        runner = CliRunner()
        base = ["--workspace", str(workspace), "provider"]
        outputs = [
            runner.invoke(
                app,
                [
                    *base,
                    "add",
                    "p",
                    "--type",
                    "openai",
                    "--model",
                    "fake-model",
                    "--base-url",
                    server.openai_url,
                    "--api-key-env",
                    KEY_ENV,
                ],
            ),
            runner.invoke(app, [*base, "list"]),
            runner.invoke(app, [*base, "list", "--json"]),
            runner.invoke(app, [*base, "show", "p"]),
            runner.invoke(app, [*base, "show", "p", "--json"]),
            runner.invoke(app, [*base, "test", "p"]),
            runner.invoke(app, [*base, "test", "p", "--json"]),
        ]
        server.script(Reply.error(502, "proxy saw {presented_key}"))
        outputs.append(runner.invoke(app, [*base, "test", "p", "--json"]))
    finally:
        server.stop()
    assert [r.exit_code for r in outputs] == [0, 0, 0, 0, 0, 0, 0, 1]
    assert "proxy saw ***" in outputs[-1].stdout
    for result in outputs:
        assert KEY not in result.stdout
        assert KEY not in result.stderr
    profile = workspace / ".contextree" / "providers" / "p.toml"
    assert KEY not in profile.read_text()
    assert f'api_key_env = "{KEY_ENV}"' in profile.read_text()
