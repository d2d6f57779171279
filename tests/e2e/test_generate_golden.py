"""Characterization of ``contextree generate`` as a user runs it: golden text and ``--json``.

Each test runs the real command in a subprocess on a small fresh workspace, against the fake
provider server (in a background thread) configured as an OpenAI-compatible provider profile,
and compares what it printed, normalised, with a golden file in ``tests/fixtures/generate_cli/``:
a successful run and a partial failure (one file refused with HTTP 400, so its directory and
the root are blocked while everything else completes).

Normalised: the workspace root becomes ``<ROOT>``, the server's port ``<PORT>``, the run's
duration ``<SECONDS>``; in JSON, ``duration_s`` is dropped and plan, node and frame ids become
``<PLAN_ID>``, ``<NODE_ID>`` and ``<FRAME_ID>``. Regenerate on purpose with::

    CONTEXTREE_UPDATE_PARITY=1 .venv/bin/pytest tests/e2e/test_generate_golden.py

(read when this module is imported; ``tests/conftest.py`` strips ``CONTEXTREE_*`` per test).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree
from tests.helpers.trust import trust_workspace

UPDATE = os.environ.get("CONTEXTREE_UPDATE_PARITY") == "1"
UPDATE_COMMAND = "CONTEXTREE_UPDATE_PARITY=1 .venv/bin/pytest tests/e2e/test_generate_golden.py"
GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "generate_cli"

KEY_ENV = "GOLDEN_PROVIDER_KEY"
KEY = "sk-golden-0123456789abcdef"
FILES = {
    "README.md": "# Demo\n\nA tiny project.\n",
    "src/a.py": "def a():\n    return 1\n",
    "src/b.py": "B = 2\n",
    "docs/guide.md": "# Guide\n\nRun it.\n",
    ".env": "TOKEN=never-sent\n",
}
FAILING = "src/b.py"


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    fake = FakeProviderServer(api_key=KEY)
    fake.start_in_thread()
    try:
        yield fake
    finally:
        fake.stop()


def _workspace(root: Path, server: FakeProviderServer) -> Path:
    write_tree(root, FILES)
    providers = root / ".contextree" / "providers"
    providers.mkdir(parents=True)
    (providers / "fake.toml").write_text(
        f'type = "openai"\nmodel = "fake-model"\nbase_url = "{server.openai_url}"\n'
        f'api_key_env = "{KEY_ENV}"\n',
        encoding="utf-8",
    )
    # One call at a time, so the order of calls (and so the fake's answers) never varies.
    (root / ".contextree" / "config.toml").write_text(
        "[scan]\nhash_processes = 1\n\n[generation]\nconcurrency = 1\n", encoding="utf-8"
    )
    trust_workspace(root)  # the user approved the workspace profile (contextree trust --yes)
    return root


def _generate(root: Path, *extra: str) -> tuple[int, str, str]:
    args = ("--workspace", str(root), "generate", "--provider", "fake", *extra)
    done = run_cli(*args, env={KEY_ENV: KEY})
    assert KEY not in done.stdout + done.stderr
    assert "never-sent" not in done.stdout + done.stderr
    return done.returncode, done.stdout, done.stderr


def _normalise_text(text: str, root: Path, server: FakeProviderServer) -> str:
    for spelling in {str(root.resolve()), str(root)}:
        text = text.replace(spelling, "<ROOT>")
    text = text.replace(server.base_url, "http://127.0.0.1:<PORT>")
    return re.sub(r"\bin \d+(?:\.\d+)? s\b", "in <SECONDS> s", text)


_ID_KEYS = {"plan_id": "<PLAN_ID>", "node_id": "<NODE_ID>", "frame_id": "<FRAME_ID>"}


def _normalise_json(value: Any, root: Path, server: FakeProviderServer) -> Any:
    if isinstance(value, dict):
        return {
            k: _ID_KEYS.get(k) or _normalise_json(v, root, server)
            for k, v in value.items()
            if k != "duration_s"
        }
    if isinstance(value, list):
        return [_normalise_json(v, root, server) for v in value]
    if isinstance(value, str):
        return _normalise_text(value, root, server)
    return value


def _transcript(command: str, code: int, stdout: str, stderr: str) -> str:
    return (
        f"$ contextree {command}\n[exit code {code}]\n"
        f"--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
    )


def _check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    expected = path.read_text(encoding="utf-8") if path.exists() else None
    if expected == actual:
        return
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        pytest.skip(f"rewrote tests/fixtures/generate_cli/{name}")
    if expected is None:
        pytest.fail(f"no golden file {name}; create it with `{UPDATE_COMMAND}`", pytrace=False)
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{name} (golden)",
            tofile=f"{name} (this run)",
        )
    )
    pytest.fail(
        f"`contextree generate` output drifted from {name}:\n{diff}\n"
        f"If the change is intended, regenerate with `{UPDATE_COMMAND}` and commit the file.",
        pytrace=False,
    )


def test_generate_success_text(server: FakeProviderServer, tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws", server)
    code, out, err = _generate(root)
    assert code == 0
    _check_golden(
        "success.txt",
        _transcript(
            "generate --provider fake",
            code,
            *(_normalise_text(s, root, server) for s in (out, err)),
        ),
    )


def test_generate_success_json(server: FakeProviderServer, tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws", server)
    code, out, err = _generate(root, "--json")
    assert (code, err) == (0, "")
    doc = _normalise_json(json.loads(out), root, server)
    assert doc["status"] == "succeeded"
    _check_golden("success.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")


def test_generate_partial_failure_text(server: FakeProviderServer, tmp_path: Path) -> None:
    server.script_path(FAILING, Reply.error(400, "the request was malformed"))
    root = _workspace(tmp_path / "ws", server)
    code, out, err = _generate(root)
    assert code == 1
    _check_golden(
        "partial_failure.txt",
        _transcript(
            "generate --provider fake",
            code,
            *(_normalise_text(s, root, server) for s in (out, err)),
        ),
    )


def test_generate_partial_failure_json(server: FakeProviderServer, tmp_path: Path) -> None:
    server.script_path(FAILING, Reply.error(400, "the request was malformed"))
    root = _workspace(tmp_path / "ws", server)
    code, out, err = _generate(root, "--json")
    assert (code, err) == (1, "")
    doc = _normalise_json(json.loads(out), root, server)
    assert doc["status"] == "failed"
    _check_golden("partial_failure.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")


def test_every_golden_file_has_a_test() -> None:
    names = {"success.txt", "success.json", "partial_failure.txt", "partial_failure.json"}
    assert {p.name for p in GOLDEN.iterdir()} <= names
