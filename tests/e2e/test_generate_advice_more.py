"""The generate summary's advice for the failures ``test_generate_advice`` leaves out: a server
that is not there, one that never answers, a prompt over the model's context, an answer over
``max_response_bytes``, a model the server does not have. Each names what to change; none
says the failure will be retried (every attempt was already made)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Fault, Reply
from tests.helpers.cli import run_cli
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.config.paths import user_config_dir

ENV = {
    "CONTEXTREE_GENERATION__BACKOFF_BASE_S": "0",
    "CONTEXTREE_GENERATION__MAX_ATTEMPTS": "1",
    "CONTEXTREE_GENERATION__MAX_RESPONSE_BYTES": "1024",
}

#: error class -> (reply, words the advice must hold)
CASES: dict[str, tuple[Reply | None, str]] = {
    "connection_error": (None, "Check that the server is running and base_url is right."),
    "client_timeout": (Reply(fault=Fault.HANG), "Raise [timeouts] total in the provider profile"),
    "context_length_exceeded": (
        Reply.error(400, "maximum context length is 8192 tokens", code="context_length_exceeded"),
        "contextree then fits every prompt to it",
    ),
    "response_too_large": (Reply(content="x" * 4096), "max_response_bytes"),
    "model_not_found": (Reply.error(404, "no such model"), "Set `model` in the profile"),
}


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize("error_class", sorted(CASES))
def test_each_failure_gets_advice_that_does_not_promise_a_retry(
    error_class: str, workspace: Path
) -> None:
    reply, words = CASES[error_class]
    (workspace / "one.py").write_text("X = 1\n")
    server = FakeProviderServer(default=reply or Reply())
    url = server.start_in_thread()
    try:
        write_user_fake_profile(f"{url}/v1" if reply is not None else _closed_port_url())
        if error_class == "client_timeout":
            profile = user_config_dir() / "providers" / "fake.toml"
            profile.write_text(profile.read_text() + "\n[timeouts]\ntotal = 0.3\n")
        text = run_cli("generate", "--provider", "fake", cwd=workspace, env=ENV)
        as_json = run_cli("generate", "--provider", "fake", "--json", cwd=workspace, env=ENV)
    finally:
        server.stop()

    assert text.returncode == 1, text.stderr
    assert "Traceback" not in text.stderr + as_json.stderr
    lines = text.stderr.splitlines()
    failed = next(i for i, line in enumerate(lines) if line.startswith("  failed  one.py"))
    assert f"[{error_class}]" in lines[failed]
    advice = lines[failed + 1]
    assert advice.startswith("          -> ")
    assert words in advice
    for promise in ("retries this", "will be retried", "retried when"):
        assert promise not in text.stderr
    (node,) = [n for n in json.loads(as_json.stdout)["nodes"] if n["path"] == "one.py"]
    assert node["error_class"] == error_class
    assert words in node["advice"]
