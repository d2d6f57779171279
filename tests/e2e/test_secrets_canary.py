"""A canary API key never leaks: not into the store, the events, the output or anything on disk.

The key is set in the environment (named by the provider profile) and written into the
workspace's ``.env``. ``generate`` runs against the fake server with each provider type, and
some answers are errors whose bodies echo the key the client presented (a careless server), so
the key does reach the client in error text. Afterwards no byte sequence of the key may appear
in the store files, anything else under ``.contextree`` or the (hermetic) home and XDG
directories, stdout or stderr of ``generate`` (``--json`` and verbose text) and
``status --json``, or the ``--events`` file. SQLite folds the WAL into ``store.db`` when the
last connection closes, so the store files are also copied while the first ``generate`` is
running (at its retry of a failed call), ``-wal`` and ``-shm`` included. The server checks it
did receive the key, so the test cannot pass by never using it.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer, RecordedRequest
from tests.fakes.replies import Reply
from tests.helpers.cli import run_cli
from tests.helpers.profiles import write_fake_profile
from tests.helpers.trees import write_tree

TASK_PATH = r"the (?:file|directory) at (\S+) \("
KEY_ENV = "CANARY_API_KEY"
FILES = {
    "src/fine.py": "def fine():\n    return 1\n",
    "src/retried.py": "def retried():\n    return 2\n",
    "src/rate.py": "def rate():\n    return 3\n",
    "src/bad.py": "def bad():\n    return 4\n",
    "src/denied.py": "def denied():\n    return 5\n",
}


def write_profile(workspace: Path, provider_type: str, url: str) -> None:
    base_url = f"{url}/v1" if provider_type == "openai" else url
    write_fake_profile(workspace, base_url, wire=provider_type, api_key_env=KEY_ENV)


def script_echoing_failures(server: FakeProviderServer) -> None:
    """Errors whose bodies quote the presented key: retried ones, and two that stay failed."""
    server.script_path(
        "src/retried.py", Reply.error(500, "upstream failed for key {presented_key}")
    )
    server.script_path(
        "src/rate.py",
        Reply.error(
            429, "slow down, {presented_key}", headers={"retry-after-ms": "10"}, type="requests"
        ),
    )
    # Refused in both runs: one attempt each, these errors are not retried.
    server.script_path(
        "src/bad.py", *[Reply.error(400, "invalid request from key {presented_key}")] * 2
    )
    server.script_path(
        "src/denied.py", *[Reply.error(403, "key {presented_key} may not use this model")] * 2
    )


def files_holding(root: Path, needle: bytes, *, skip: frozenset[Path] = frozenset()) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and path not in skip and needle in path.read_bytes()
    )


@pytest.mark.parametrize("provider_type", ["openai", "anthropic", "ollama"])
def test_canary_key_appears_nowhere_after_generate_with_echoing_errors(
    workspace: Path, tmp_path: Path, provider_type: str
) -> None:
    canary = f"sk-canary-{secrets.token_hex(16)}"
    env = {KEY_ENV: canary}
    write_tree(workspace, {**FILES, ".env": f"{KEY_ENV}={canary}\n"})
    events = tmp_path / "events.jsonl"
    data_dir = workspace / ".contextree"
    live: dict[str, bytes] = {}

    def copy_live_store(_: int, record: RecordedRequest) -> None:
        if record.node_path == "src/retried.py" and record.attempt == 2:
            live.update({path.name: path.read_bytes() for path in data_dir.glob("store.db*")})

    server = FakeProviderServer(path_pattern=TASK_PATH, api_key=canary, on_request=copy_live_store)
    script_echoing_failures(server)
    url = server.start_in_thread()
    try:
        write_profile(workspace, provider_type, url)
        ws = ("-w", str(workspace))
        outputs = [
            run_cli(
                *ws, "generate", "--provider", "fake", "--json", "--events", str(events), env=env
            ),
            run_cli(*ws, "-v", "generate", "--provider", "fake", env=env),
            run_cli(*ws, "status", "--json", "--provider", "fake", env=env),
        ]
    finally:
        server.stop()

    first, second = outputs[0], outputs[1]
    assert (first.returncode, second.returncode) == (1, 1), first.stderr + second.stderr
    failed = {
        node["path"]: (node["error_class"], node["message"])
        for node in json.loads(first.stdout)["nodes"]
        if node["status"] == "failed"
    }
    assert set(failed) == {"src/bad.py", "src/denied.py"}
    assert (failed["src/bad.py"][0], failed["src/denied.py"][0]) == ("bad_request", "auth_failed")
    # The echoed key reached the client, which scrubbed it from the message.
    assert "***" in failed["src/bad.py"][1]
    assert "src/bad.py" in second.stderr

    # The server was sent the canary as the key on every completion call, never as data.
    calls = server.completion_requests()
    assert {r.key for r in calls} == {canary}
    assert not [r.node_path for r in calls if canary.encode() in r.raw]
    assert ".env" not in {r.node_path for r in calls}
    echoed = {"src/retried.py", "src/rate.py", "src/bad.py", "src/denied.py"}
    assert echoed <= {str(r.node_path) for r in calls}

    needle = canary.encode()
    for result in outputs:
        assert canary not in result.stdout
        assert canary not in result.stderr
    assert needle not in events.read_bytes()
    assert sorted(live) == ["store.db", "store.db-shm", "store.db-wal"]
    assert [name for name, data in live.items() if needle in data] == []
    assert (data_dir / "store.db").exists()
    assert files_holding(data_dir, needle) == []
    assert files_holding(workspace, needle, skip=frozenset({workspace / ".env"})) == []
    assert files_holding(Path(os.environ["HOME"]), needle) == []
