"""The fake provider server itself: it must behave like the real APIs, or tests prove nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from typer.testing import CliRunner

from contextree.cli.app import app

REPO = Path(__file__).parents[3]
USER = {"role": "user", "content": "Path: src/a.py\nSummarise."}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def server() -> AsyncIterator[FakeProviderServer]:
    async with FakeProviderServer() as fake:
        yield fake


async def post(
    session: aiohttp.ClientSession, url: str, body: object, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    async with session.post(url, json=body, headers=headers or {}) as response:
        return response.status, await response.text()


async def test_anthropic_requires_the_version_header(
    session: aiohttp.ClientSession, server: FakeProviderServer
) -> None:
    body = {"model": "fake-model", "max_tokens": 10, "messages": [USER]}
    status, text = await post(session, server.base_url + "/v1/messages", body)
    assert status == 400
    error = json.loads(text)
    assert error["type"] == "error"
    assert error["error"] == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }


async def test_anthropic_requires_max_tokens_and_refuses_system_role(
    session: aiohttp.ClientSession, server: FakeProviderServer
) -> None:
    headers = {"anthropic-version": "2023-06-01"}
    url = server.base_url + "/v1/messages"
    status, text = await post(session, url, {"model": "fake-model", "messages": [USER]}, headers)
    assert (status, json.loads(text)["error"]["message"]) == (400, "max_tokens: Field required")
    system = {"role": "system", "content": "x"}
    body = {"model": "fake-model", "max_tokens": 5, "messages": [system, USER]}
    status, text = await post(session, url, body, headers)
    assert status == 400
    assert 'Unexpected role "system"' in json.loads(text)["error"]["message"]


async def test_openai_errors_have_the_openai_shape(
    session: aiohttp.ClientSession, server: FakeProviderServer
) -> None:
    url = server.openai_url + "/chat/completions"
    status, text = await post(session, url, {"model": "nope", "messages": [USER]})
    assert status == 404
    error = json.loads(text)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "model_not_found"


async def test_ollama_streams_unless_stream_is_false(
    session: aiohttp.ClientSession, server: FakeProviderServer
) -> None:
    server.default = Reply(content="three word answer")
    url = server.base_url + "/api/chat"
    status, text = await post(session, url, {"model": "fake-model", "messages": [USER]})
    lines = [json.loads(line) for line in text.splitlines()]
    assert status == 200
    assert [line["done"] for line in lines] == [False, False, False, True]
    assert "".join(line["message"]["content"] for line in lines) == "three word answer"
    body = {"model": "fake-model", "messages": [USER], "stream": False}
    status, text = await post(session, url, body)
    whole = json.loads(text)
    assert (whole["done"], whole["message"]["content"]) == (True, "three word answer")


async def test_scripts_per_node_path_and_attempt_then_in_order_then_default(
    session: aiohttp.ClientSession, server: FakeProviderServer
) -> None:
    server.script_path("src/a.py", Reply.error(500, "first"), Reply(content="second"))
    server.script(Reply(content="queued"))
    url = server.openai_url + "/chat/completions"
    other = {"role": "user", "content": "Path: src/b.py\n"}
    results = [
        await post(session, url, {"model": "fake-model", "messages": [msg]})
        for msg in (USER, USER, other, other)
    ]
    assert [status for status, _ in results] == [500, 200, 200, 200]
    contents = [json.loads(t)["choices"][0]["message"]["content"] for _, t in results[1:]]
    assert contents[0:2] == ["second", "queued"]
    assert contents[2].startswith("# src/b.py")
    assert [(r.node_path, r.attempt) for r in server.requests] == [
        ("src/a.py", 1),
        ("src/a.py", 2),
        ("src/b.py", 1),
        ("src/b.py", 2),
    ]


async def test_hanging_request_ends_when_the_server_stops(session: aiohttp.ClientSession) -> None:
    server = FakeProviderServer(default=Reply.hang())
    await server.start()
    url = server.openai_url + "/chat/completions"
    async with asyncio.TaskGroup() as group:
        answer = group.create_task(post(session, url, {"model": "fake-model", "messages": [USER]}))
        await server.wait_for_requests(1)
        assert server.in_flight == 1
        await server.aclose()
    assert answer.result()[0] == 503
    assert server.in_flight == 0


def test_runs_in_a_background_thread_for_synchronous_tests() -> None:
    import urllib.request

    server = FakeProviderServer()
    url = server.start_in_thread()
    try:
        with urllib.request.urlopen(url + "/api/tags", timeout=5) as response:
            names = [m["name"] for m in json.loads(response.read())["models"]]
    finally:
        server.stop()
    assert names == ["fake-model", "fake-large"]
    assert [r.path for r in server.requests] == ["/api/tags"]


def test_runs_as_a_process_that_provider_test_can_reach(workspace: Path) -> None:
    reply = Reply(content="from a process").to_json()
    command = [sys.executable, "-m", "tests.fakes.provider_server", "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--default-reply", reply], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()  # blocks until the server listens
        assert ready[0] == "READY"
        runner = CliRunner()
        base = ["--workspace", str(workspace), "provider"]
        added = runner.invoke(
            app,
            [
                *base,
                "add",
                "proc",
                "--type",
                "ollama",
                "--model",
                "fake-model",
                "--base-url",
                ready[1],
            ],
        )
        probe = runner.invoke(app, [*base, "test", "proc", "--json"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
    assert added.exit_code == 0, added.output
    assert probe.exit_code == 0, probe.output
    result = json.loads(probe.stdout)["probe"]
    assert (result["ok"], result["reply"]) == (True, "from a process")
    assert proc.returncode == 0
