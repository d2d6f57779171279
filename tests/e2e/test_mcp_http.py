"""``contextree mcp --http``: streamable HTTP with the SDK's client, the Host/Origin checks
against DNS rebinding, the bearer token, and the option rules (``contextree mcp`` without the
SDK installed is a usage error too, through an import seam: ``mcp`` blocked in
``sys.modules``)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from tests.helpers.cli import run_cli
from tests.helpers.mcp import answer_data, error_text
from tests.helpers.trees import write_tree

FILES = {"src/app.py": "def serve(port):\n    return port\n"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"},
    },
}


@pytest.fixture
def generated(workspace: Path) -> Path:
    write_tree(workspace, FILES)
    assert run_cli("-w", str(workspace), "generate").returncode == 0
    return workspace


@contextmanager
def http_server(
    workspace: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """``contextree mcp --http --port 0 ARGS``; yields the URL and the port it printed."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "contextree", "-w", str(workspace)),
            *("mcp", "--http", "--port", "0", *args),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # printed once the socket listens
        assert line.startswith("contextree mcp: serving http://127.0.0.1:"), line
        url = line.split("serving ", 1)[1].strip()
        yield url, int(url.rsplit(":", 1)[1].split("/")[0])
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def post(port: int, headers: dict[str, str]) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = json.dumps(INIT)
        base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        conn.request("POST", "/mcp", body=body, headers={**base, **headers})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


async def test_tools_over_streamable_http_with_the_sdk_client(generated: Path) -> None:
    with http_server(generated) as (url, _):
        async with Client(url) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            frame = await client.call_tool("get_frame", {"path": "src/app.py"})
            outside = await client.call_tool("get_frame", {"path": "/etc/passwd"})

    assert names == ["get_context", "get_frame", "list_children", "search", "workspace_status"]
    got = answer_data(frame)
    assert (got["path"], got["on_disk"], got["frames"][0]["current"]) == (
        "src/app.py",
        "unchanged",
        True,
    )
    assert "/etc/passwd is outside the workspace" in error_text(outside)


def test_a_foreign_host_or_origin_is_refused(generated: Path) -> None:
    with http_server(generated) as (_, port):
        evil_host = post(port, {"Host": f"evil.example:{port}"})
        evil_origin = post(port, {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example"})
        rebound = post(port, {"Host": f"127.0.0.1:{port}", "Origin": f"http://attacker:{port}"})
        local = post(port, {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"})

    assert evil_host == (421, "Invalid Host header")
    assert evil_origin == (403, "Invalid Origin header")
    assert rebound[0] == 403
    assert local[0] == 200, local


async def test_with_token_env_a_missing_or_wrong_bearer_is_refused(generated: Path) -> None:
    token = "t0ken-for-the-test-0123456789"
    args = ("--allow-generate", "--token-env", "MCP_TEST_TOKEN")
    with http_server(generated, *args, env={"MCP_TEST_TOKEN": token}) as (url, port):
        missing = post(port, {"Host": f"127.0.0.1:{port}"})
        wrong = post(port, {"Host": f"127.0.0.1:{port}", "Authorization": "Bearer nope"})
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http_client,
            Client(streamable_http_client(url, http_client=http_client)) as client,
        ):
            names = [t.name for t in (await client.list_tools()).tools]

    for status, body in (missing, wrong):
        assert status == 401
        assert "bearer token" in body and token not in body
    assert names[-1] == "refresh"  # --allow-generate, behind the token


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--http", "--allow-generate"), "needs a bearer token"),
        (("--http", "--host", "192.0.2.7"), "reachable from other machines"),
        (("--http", "--host", "0.0.0.0"), "would listen on every interface"),
        (("--http", "--token-env", "MCP_UNSET_VAR"), "MCP_UNSET_VAR: the variable is unset"),
        (("--port", "9000"), "--port only applies to the HTTP server"),
    ],
)
def test_unsafe_or_meaningless_options_are_usage_errors(
    generated: Path, args: tuple[str, ...], expected: str
) -> None:
    done = run_cli("-w", str(generated), "mcp", *args)
    assert done.returncode == 2
    assert expected in done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr


def test_without_the_sdk_installed_the_command_says_what_to_install(generated: Path) -> None:
    probe = (
        "import sys\n"
        "sys.modules['mcp'] = None  # as if the extra were not installed\n"
        "sys.argv = ['contextree', *sys.argv[1:]]\n"
        "from contextree.cli.app import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "-w", str(generated), "mcp"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "needs the MCP SDK, which is not installed" in done.stderr
    assert "contextree[mcp]" in done.stderr
    assert done.stdout == ""
