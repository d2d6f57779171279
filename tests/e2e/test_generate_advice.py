"""What ``contextree generate`` tells a user to do about each class of provider failure.

A node in the summary failed for good: retryable errors were asked again up to
``max_attempts`` times first, so the advice must never say the failure will be retried. Each
case scripts the fake provider to fail one way on every attempt and pins the advice line the
summary prints under the failed node, and the ``advice`` of the ``--json`` document.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.cli import run_cli

KEY_ENV = "ADVICE_FAKE_KEY"
KEY = "advice-test-key-0000"

#: Error class -> (reply on every attempt, the advice line, extra settings).
CASES: dict[str, tuple[Reply, str]] = {
    "server_error": (
        Reply.error(500, "boom"),
        "The provider kept failing through every attempt; rerun `contextree generate` later "
        "(only unfinished nodes run).",
    ),
    "overloaded": (
        Reply.error(503, "busy"),
        "The provider stayed overloaded through every attempt; rerun `contextree generate` "
        "later (only unfinished nodes run).",
    ),
    "rate_limited": (
        Reply.rate_limited(retry_after="0"),
        "Lower requests_per_minute or tokens_per_minute in the fake profile if this keeps "
        "happening.",
    ),
    "auth_failed": (
        Reply.error(401, "bad key"),
        f"Check the key in {KEY_ENV}, and that it may use this model.",
    ),
    "quota_exhausted": (
        Reply.error(429, "You exceeded your current quota", code="insufficient_quota"),
        "Add credit or raise the spend limit with the provider; retrying will not help until then.",
    ),
    "bad_request": (
        Reply.error(400, "nope"),
        "The server refused the request: check model and options in the profile.",
    ),
    "malformed_response": (
        Reply.malformed(),
        "Check that base_url points at the API itself and type matches the server.",
    ),
    "empty_completion": (
        Reply.empty(),
        "It was asked again up to [generation] max_attempts times; if every answer is empty, "
        "try another model or check the prompt template.",
    ),
    "truncated": (
        Reply.truncated(),
        "Raise max_tokens under [options] in the 'fake' provider profile, then rerun (a "
        "cut-off completion is never stored as if it were whole).",
    ),
    "content_filtered": (
        Reply(content="no", finish="content_filter"),
        "The provider will refuse this content again: leave the file out (an ignore pattern) "
        "or use another model.",
    ),
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    server = FakeProviderServer(api_key=KEY)
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop()


def _user_profile(base_url: str) -> None:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "contextree" / "providers"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fake.toml").write_text(
        f'name = "fake"\ntype = "openai"\nmodel = "fake-model"\n'
        f'base_url = "{base_url}"\napi_key_env = "{KEY_ENV}"\n'
    )


@pytest.mark.parametrize("error_class", sorted(CASES))
def test_each_failure_class_gets_its_own_advice(
    error_class: str, fake: FakeProviderServer, workspace: Path
) -> None:
    reply, advice = CASES[error_class]
    fake.default = reply
    (workspace / "one.py").write_text("X = 1\n")
    _user_profile(fake.openai_url)
    env = {
        KEY_ENV: KEY,
        "CONTEXTREE_GENERATION__BACKOFF_BASE_S": "0",
        "CONTEXTREE_GENERATION__MAX_ATTEMPTS": "2",
        "CONTEXTREE_GENERATION__MAX_RETRY_AFTER_S": "5",
    }

    text = run_cli("generate", "--provider", "fake", cwd=workspace, env=env)
    doc_run = run_cli("generate", "--provider", "fake", "--json", cwd=workspace, env=env)

    assert text.returncode == 1, text.stderr
    assert "Traceback" not in text.stderr + doc_run.stderr
    lines = text.stderr.splitlines()
    failed = next(i for i, line in enumerate(lines) if line.startswith("  failed  one.py"))
    assert f"[{error_class}]" in lines[failed]
    assert lines[failed + 1] == f"          -> {advice}"
    assert "retries this" not in text.stderr
    doc = json.loads(doc_run.stdout)
    (node,) = [n for n in doc["nodes"] if n["path"] == "one.py"]
    assert (node["error_class"], node["advice"]) == (error_class, advice)
