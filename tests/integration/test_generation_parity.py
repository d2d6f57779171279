"""Generation parity gates P1-P3: what a generation run sends, writes and retries, pinned.

Every scenario runs the real path: ``run_generate`` scans a temporary workspace, plans, and
drives the real queue and orchestration, which call the real adapter over real HTTP to the fake
provider server (``tests/fakes/provider_server.py``) on a ``FakeClock``. Nothing is
synthesised: ``provider_request`` is the body the fake server received, ``frame_output`` is
read back from the store, and ``retry`` is counted from the telemetry events the queue emitted,
with the virtual time between a retry's scheduling and the next attempt read off the clock.

- P1 (hand-written expectations): the ``test_p1_*`` tests state, from the payload
  specification alone, the exact user message of a file, the exact OpenAI, Anthropic and
  Ollama request bytes, the generated metadata keys and values, the directory context and the
  retry outcomes. They were written before any artifact existed and do not read the artifacts.
- P2 (artifact parity): ``test_p2_*`` compares each scenario with its committed artifact in
  ``tests/fixtures/generation_parity/<scenario>.json``; a drift fails with a unified diff of the
  JSON naming the scenario.
- P3 (retry semantics): the ``retry`` section comes from ``request_processing``,
  ``request_retry_scheduled`` and ``request_failed`` events; ``test_p3_*`` checks that it agrees
  with the queue's outcome, the requests the server saw and the waits on the fake clock.

Regenerate the artifacts on purpose with::

    CONTEXTREE_UPDATE_PARITY=1 .venv/bin/pytest tests/integration/test_generation_parity.py

which rewrites only the artifacts whose content changed (each is reported as a skipped test
"rewrote ...") and deletes artifacts of scenarios that no longer exist. Review the diff, then
commit. The variable is read when this module is imported, because ``tests/conftest.py`` removes
``CONTEXTREE_*`` variables while each test runs.

The agent is a test agent with short fixed prompts (not the shipped ones), so rewording a
built-in prompt does not churn the artifacts. Prompt collection is observed with a spy that
wraps ``PromptCollector.collect`` and records what it returned (``run_generate`` offers no
seam to inject a collector, so ``monkeypatch`` is used for that one observation).
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import blake3
import pytest
from tests.fakes.clock import FakeClock
from tests.fakes.provider_server import FakeProviderServer, RecordedRequest
from tests.fakes.replies import Reply
from tests.helpers.trees import write_tree
from tests.helpers.trust import trust_workspace

from contextree.api import ContextApi, NodeView
from contextree.bootstrap import configured_secret_values, load_workspace, open_store
from contextree.bootstrap.generation import generation_environment
from contextree.context.generation.inputs import GenerateOptions
from contextree.context.generation.prompt_collection import CollectedPrompt, PromptCollector
from contextree.context.generation.run import GenerateOutcome, run_generate
from contextree.core.ids import Digest, NodeId
from contextree.errors import ContextreeError
from contextree.store.tree import TreeRows
from contextree.telemetry import Event

#: Read at import time: the autouse fixture in tests/conftest.py strips CONTEXTREE_* per test.
UPDATE = os.environ.get("CONTEXTREE_UPDATE_PARITY") == "1"
UPDATE_COMMAND = (
    "CONTEXTREE_UPDATE_PARITY=1 .venv/bin/pytest tests/integration/test_generation_parity.py"
)
ARTIFACTS = Path(__file__).resolve().parent.parent / "fixtures" / "generation_parity"
SCHEMA_VERSION = 1

AGENT_ID = "parity-writer"
FRAME_TYPE = f"context-{AGENT_ID}"
SYSTEM_PROMPT = "system prompt"
KEY_ENV = "PARITY_PROVIDER_KEY"
KEY = "sk-parity-0123456789abcdef"
WRONG_KEY = "sk-parity-wrong-key-9876543210"
#: Seeds the queue's backoff jitter, so exponential_jitter delays are reproducible.
RETRY_SEED = 20240601
#: The fake server finds the node of a request in the task line the test agent renders.
NODE_PATTERN = r"summarize (?:file|directory) (\S+)"
AGENT_TOML = f"""\
role = "writer"
description = "Parity gate test agent with short, fixed prompts."
system_prompt = "{SYSTEM_PROMPT}"
file_template = "summarize file {{path}}"
directory_template = "summarize directory {{path}}"
"""

APP_PY = "def add(a, b):\n    return a + b\n"


# --- scenarios -----------------------------------------------------------------------------


Script = Callable[[FakeProviderServer], None]


def _no_script(server: FakeProviderServer) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """One generation run. ``target`` is the path generated and the node the artifact is about."""

    id: str
    description: str
    files: Mapping[str, str | bytes]
    target: str
    wire: str = "openai"
    model: str = "fake-model"
    options: Mapping[str, Any] = field(default_factory=dict)
    generation: Mapping[str, Any] = field(default_factory=dict)
    script: Script = _no_script
    #: The value of the profile's key variable; None leaves it unset.
    key: str | None = KEY
    #: Runs of ``generate``; the artifact describes the last one.
    runs: int = 1

    @property
    def provider(self) -> str:
        return f"fake-{self.wire}"


def _always(path: str, reply: Reply, times: int = 12) -> Script:
    def script(server: FakeProviderServer) -> None:
        server.script_path(path, *([reply] * times))

    return script


def _in_turn(path: str, *replies: Reply) -> Script:
    def script(server: FakeProviderServer) -> None:
        server.script_path(path, *replies)

    return script


def _contents(by_path: Mapping[str, str]) -> Script:
    def script(server: FakeProviderServer) -> None:
        for path, content in by_path.items():
            server.script_path(path, Reply(content=content))

    return script


def _long_frame(name: str, size: int) -> str:
    line = f"{name} keeps a detailed account of its part of the documentation set.\n"
    return (line * (size // len(line) + 1))[:size]


OPTIONS = {"temperature": 0.2, "max_tokens": 256}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
LONG_FILE = "".join(
    f"line {i:03d}: the quick brown fox jumps over the lazy dog\n" for i in range(30)
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        id="file_success",
        description="A file, OpenAI wire format with profile options, answered at once.",
        files={"src/app.py": APP_PY},
        target="src/app.py",
        options=OPTIONS,
    ),
    Scenario(
        id="directory_success",
        description="A directory after its two files; its context is the children's frames.",
        files={"src/a.py": "A = 1\n", "src/b.md": "# B\n\nNotes.\n"},
        target="src",
    ),
    Scenario(
        id="retryable_5xx_exhausted",
        description="HTTP 500 on every attempt: retried with exponential jitter until "
        "max_attempts, then server_error.",
        files={"src/app.py": APP_PY},
        target="src/app.py",
        script=_always("src/app.py", Reply.error(500, "upstream exploded")),
    ),
    Scenario(
        id="retryable_429_then_success",
        description="HTTP 429 with Retry-After: 2, then success: one retry after exactly 2 s.",
        files={"src/app.py": APP_PY},
        target="src/app.py",
        script=_in_turn("src/app.py", Reply.rate_limited(retry_after="2"), Reply()),
    ),
    Scenario(
        id="non_retryable_401",
        description="The server refuses the key (HTTP 401): auth_failed after one attempt, "
        "the key scrubbed from the message.",
        files={"src/app.py": APP_PY},
        target="src/app.py",
        key=WRONG_KEY,
    ),
    Scenario(
        id="retry_after_beyond_cap",
        description="HTTP 429 with Retry-After: 3600, beyond max_retry_after_s: "
        "quota_exhausted, no retry.",
        files={"src/app.py": APP_PY},
        target="src/app.py",
        script=_always("src/app.py", Reply.rate_limited(retry_after="3600")),
    ),
    Scenario(
        id="config_missing_api_key",
        description="The profile's API key variable is unset: a configuration error before "
        "any scan, queue or provider call.",
        files={"src/app.py": APP_PY},
        target="src/app.py",
        key=None,
    ),
    Scenario(
        id="model_not_found_enriched",
        description="The profile names a model the server does not offer: model_not_found, "
        "enriched with the models it lists, not retried.",
        files={"src/app.py": APP_PY},
        target="src/app.py",
        model="fake-missing",
    ),
    Scenario(
        id="binary_file_placeholder",
        description="A PNG file: the prompt carries a placeholder naming type and size, never "
        "the bytes.",
        files={"assets/logo.png": PNG},
        target="assets/logo.png",
    ),
    Scenario(
        id="secret_file_withheld",
        description="A .env file: never read or sent; a withheld frame is written without any "
        "provider call.",
        files={"config/.env": "API_TOKEN=hunter2-do-not-send\n"},
        target="config/.env",
    ),
    Scenario(
        id="file_over_byte_cap",
        description="A file over prompt_file_cap (1024 bytes): cut, with a truncation note.",
        files={"src/long.txt": LONG_FILE},
        target="src/long.txt",
        generation={"prompt_file_cap": 1024},
    ),
    Scenario(
        id="directory_over_budget",
        description="A directory whose children's frames exceed directory_context_budget "
        "(1024 bytes): the longest frames are cut, every path kept.",
        files={"docs/a.md": "# A\n", "docs/b.md": "# B\n", "docs/c.md": "# C\n"},
        target="docs",
        generation={"directory_context_budget": 1024},
        script=_contents(
            {
                "docs/a.md": "A is short.\n",
                "docs/b.md": _long_frame("B", 700),
                "docs/c.md": _long_frame("C", 1100),
            }
        ),
    ),
    Scenario(
        id="child_failure_blocks_parent",
        description="One child fails (HTTP 400): its parent is blocked, never generated; the "
        "sibling completes.",
        files={"src/a.py": "A = 1\n", "src/b.py": "B = 2\n"},
        target="src",
        script=_always("src/b.py", Reply.error(400, "the request was malformed")),
    ),
    Scenario(
        id="unchanged_rerun_skipped",
        description="generate twice on an unchanged tree: the second run makes no provider "
        "call and skips every node as current.",
        files={"src/a.py": "A = 1\n"},
        target="src",
        runs=2,
    ),
    Scenario(
        id="anthropic_file_success",
        description="A file through the Anthropic Messages format (system apart, max_tokens "
        "defaulted).",
        files={"src/app.py": APP_PY},
        target="src/app.py",
        wire="anthropic",
    ),
    Scenario(
        id="ollama_file_success",
        description="A file through Ollama's native chat format (options under its own names).",
        files={"src/app.py": APP_PY},
        target="src/app.py",
        wire="ollama",
        options=OPTIONS,
    ),
)
BY_ID = {s.id: s for s in SCENARIOS}


# --- running a scenario --------------------------------------------------------------------


class TimedObserver:
    """Records every event with the fake clock's time when it was emitted."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.events: list[tuple[float, Event]] = []

    def emit(self, event: Event) -> None:
        self.events.append((self._clock.now(), event))

    def for_path(self, path: str, *names: str) -> list[tuple[float, Event]]:
        return [(t, e) for t, e in self.events if e.name in names and e.data.get("path") == path]


@dataclass
class Run:
    """What one scenario did, before it is shaped into an artifact."""

    scenario: Scenario
    root: Path
    base_url: str
    outcome: GenerateOutcome | None = None
    error: ContextreeError | None = None
    #: Requests the server saw during the described (last) run.
    requests: list[RecordedRequest] = field(default_factory=list)
    collected: dict[str, CollectedPrompt] = field(default_factory=dict)
    observer: TimedObserver | None = None
    frame: dict[str, Any] | None = None
    #: Bodies the store keeps for the target's frame, by the metadata key naming them.
    stored: dict[str, bytes] = field(default_factory=dict)

    def posts(self, path: str | None = None) -> list[RecordedRequest]:
        return [
            r for r in self.requests if r.method == "POST" and (path is None or r.node_path == path)
        ]


def _write_workspace(root: Path, scenario: Scenario, base_url: str) -> None:
    write_tree(root, scenario.files)
    data = root / ".contextree"
    (data / "agents").mkdir(parents=True)
    (data / "providers").mkdir()
    (data / "agents" / f"{AGENT_ID}.toml").write_text(AGENT_TOML, encoding="utf-8")
    url = base_url + "/v1" if scenario.wire == "openai" else base_url
    profile = [
        f'type = "{scenario.wire}"',
        f'model = "{scenario.model}"',
        f'base_url = "{url}"',
        f'api_key_env = "{KEY_ENV}"',
    ]
    if scenario.options:
        profile.append("[options]")
        profile += [f"{k} = {json.dumps(v)}" for k, v in scenario.options.items()]
    (data / "providers" / f"{scenario.provider}.toml").write_text(
        "\n".join(profile) + "\n", encoding="utf-8"
    )
    # One provider call at a time: the order of the traffic is the queue's, not the network's.
    config = ["[scan]", "hash_processes = 1", "", "[generation]", "concurrency = 1"]
    config += [f"{k} = {json.dumps(v)}" for k, v in scenario.generation.items()]
    (data / "config.toml").write_text("\n".join(config) + "\n", encoding="utf-8")
    trust_workspace(root)  # the user approved these profiles (contextree trust --yes)


async def _run_scenario(
    scenario: Scenario, root: Path, collected: dict[str, CollectedPrompt]
) -> Run:
    async with FakeProviderServer(api_key=KEY, path_pattern=NODE_PATTERN) as server:
        scenario.script(server)
        run = Run(scenario=scenario, root=root, base_url=server.base_url)
        _write_workspace(root, scenario, server.base_url)
        ws = load_workspace(str(root))
        environ = {KEY_ENV: scenario.key} if scenario.key is not None else {}
        clock = FakeClock()
        with open_store(ws.layout, ws.settings) as store:
            env = replace(
                generation_environment(ws, store),
                environ=environ,
                clock=clock,
                cwd=root,
                retry_seed=RETRY_SEED,
            )
            env = replace(env, secret_values=configured_secret_values(env.providers, environ))
            options = GenerateOptions(
                target=scenario.target, agent=AGENT_ID, provider=scenario.provider
            )
            for _ in range(scenario.runs):
                seen = len(server.requests)
                collected.clear()
                run.observer = TimedObserver(clock)
                try:
                    async with clock.auto_advance():
                        run.outcome = await run_generate(env, options, observer=run.observer)
                except ContextreeError as exc:
                    run.error = exc
                run.requests = server.requests[seen:]
            run.collected = dict(collected)
            _read_back(run, ContextApi(store, env.agents), TreeRows(store.conn))
    return run


def _read_back(run: Run, api: ContextApi, tree: TreeRows) -> None:
    """The target's head frame and the prompt, context and request bodies stored with it."""
    entry = tree.entry(run.scenario.target.encode())
    if entry is None:
        return
    context = api.get_node(NodeId(entry.node_id), NodeView(agent_id=AGENT_ID))
    if not context.frames:
        return
    head = context.frames[0]
    run.frame = {
        "content": head.frame.content.decode("utf-8"),
        "frame_type": head.frame.frame_type,
        "metadata": dict(head.metadata),
    }
    for key in ("prompt_digest", "context_digest", "prompt_link_id"):
        body = api.artifact(Digest(head.metadata[key]))
        if body is not None:
            run.stored[key] = body


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    """``runs(scenario_id)``: the scenario's run, made once per module, shared by P1-P3."""
    done: dict[str, Run] = {}

    def get(scenario_id: str) -> Run:
        if scenario_id not in done:
            root = tmp_path_factory.mktemp(scenario_id) / "ws"
            root.mkdir()
            collected: dict[str, CollectedPrompt] = {}
            original = PromptCollector.collect

            async def spy(
                self: PromptCollector,
                request: Any,
                entry: Any,
                agent: Any,
                child_heads: Any = None,
                **options: Any,
            ) -> CollectedPrompt:
                result = await original(self, request, entry, agent, child_heads, **options)
                collected[request.path.decode("utf-8", "backslashreplace")] = result
                return result

            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(PromptCollector, "collect", spy)
                done[scenario_id] = asyncio.run(_run_scenario(BY_ID[scenario_id], root, collected))
        return done[scenario_id]

    return get


# --- the artifact --------------------------------------------------------------------------


def artifact(run: Run) -> dict[str, Any]:
    """The scenario's parity artifact: everything observable, volatile values normalised."""
    scenario = run.scenario
    doc = {
        "schema_version": SCHEMA_VERSION,
        "scenario_id": scenario.id,
        "description": scenario.description,
        "wire": scenario.wire,
        "target": scenario.target,
        "prompt_request": _prompt_request(run),
        "provider_request": _provider_request(run),
        "provider_traffic": [
            f"{r.method} {r.path} node={r.node_path or '-'}" for r in run.requests
        ],
        "frame_output": run.frame,
        "retry": retry_section(run),
        "nodes": _nodes(run),
    }
    normalised: dict[str, Any] = _normalise(doc, run)
    return normalised


def render(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _prompt_request(run: Run) -> dict[str, Any] | None:
    collected = run.collected.get(run.scenario.target)
    if collected is None:
        return None
    return {
        "scope": collected.scope.value,
        "messages": [{"role": m.role, "content": m.content} for m in collected.prompt.messages],
    }


def _provider_request(run: Run) -> dict[str, Any] | None:
    posts = run.posts(run.scenario.target)
    if not posts:
        return None
    first = posts[0]
    headers = {k: v for k, v in first.headers.items() if k in _PINNED_HEADERS}
    return {
        "method": first.method,
        "path": first.path,
        "headers": headers,
        "presented_key": _KEY_NAMES.get(first.key or "", first.key and "<OTHER>"),
        "body": first.body,
        # The body above is parsed (and its keys sorted here); this pins the exact bytes sent.
        "body_blake3": b3(first.raw),
    }


_PINNED_HEADERS = frozenset({"accept", "anthropic-version", "content-type"})
_KEY_NAMES = {KEY: "<KEY>", WRONG_KEY: "<WRONG_KEY>"}


def retry_section(run: Run) -> dict[str, Any]:
    """Attempts, retries and the terminal error of the target, from the queue's events and the
    fake clock alone (P3): nothing here is inferred from counts or outcomes."""
    target = run.scenario.target
    events = run.observer.for_path(target, *_RETRY_EVENTS) if run.observer else []
    attempts = 0
    retries: list[dict[str, Any]] = []
    scheduled_at: float | None = None
    for at, event in events:
        if event.name == "request_processing":
            attempts += 1
            if scheduled_at is not None:
                # The virtual time between scheduling the retry and starting the next attempt.
                retries[-1]["waited_s"] = _seconds(at - scheduled_at)
                scheduled_at = None
        elif event.name == "request_retry_scheduled":
            scheduled_at = at
            retries.append(
                {
                    "attempt": event.data["attempt"],
                    "backoff_class": event.data["backoff_class"],
                    "error_class": event.data["error_class"],
                    "delay_s": _seconds(event.data["delay_s"]),
                    "waited_s": None,
                }
            )
    failed = [e for _, e in events if e.name == "request_failed"]
    terminal_class: str | None = None
    terminal_message: str | None = None
    if failed:
        terminal_class = str(failed[-1].data["error_class"])
        terminal_message = str(failed[-1].data["message"])
    elif run.error is not None:
        terminal_class, terminal_message = run.error.error_class, run.error.message
    return {
        "attempt_count": attempts,
        "retry_event_count": len(retries),
        "retries": retries,
        "terminal_error_class": terminal_class,
        "terminal_error_message": terminal_message,
    }


_RETRY_EVENTS = ("request_processing", "request_retry_scheduled", "request_failed")


def _seconds(value: object) -> float:
    assert isinstance(value, int | float)
    return round(float(value), 6)


def _nodes(run: Run) -> dict[str, dict[str, Any]]:
    if run.outcome is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    # Nodes already current when the plan was made are counted by the result, not listed.
    for current in run.outcome.plan.skipped:
        path = current.path.decode("utf-8", "backslashreplace") or "."
        out[path] = {"status": "skipped", "attempts": 0, "reason": current.reason}
    for node in run.outcome.result.nodes.values():
        entry: dict[str, Any] = {"status": node.status.value, "attempts": node.attempts}
        if node.error_class is not None:
            entry["error_class"] = node.error_class
        if node.blocked_by is not None:
            entry["blocked_by"] = node.blocked_by.decode("utf-8", "backslashreplace")
        if node.reason is not None:
            entry["reason"] = node.reason
        out[node.path.decode("utf-8", "backslashreplace") or "."] = entry
    return out


def _normalise(value: Any, run: Run) -> Any:
    if isinstance(value, str):
        for root in {str(run.root.resolve()), str(run.root)}:
            value = value.replace(root, "<ROOT>")
        value = value.replace(run.base_url, "<PROVIDER_URL>")
        return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<PORT>", value)
    if isinstance(value, dict):
        return {k: _normalise(v, run) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, run) for v in value]
    return value


# --- P1: expectations written by hand from the payload specification -----------------------

FILE_CONTEXT = "Path: src/app.py\nType: File\nContent:\ndef add(a, b):\n    return a + b\n"
FILE_USER_MESSAGE = (
    "Context:\n"
    "Path: src/app.py\n"
    "Type: File\n"
    "Content:\n"
    "def add(a, b):\n"
    "    return a + b\n"
    "\n\n"
    "Task: summarize file src/app.py"
)
_WIRE_USER = (
    b'"Context:\\nPath: src/app.py\\nType: File\\nContent:\\n'
    b'def add(a, b):\\n    return a + b\\n\\n\\nTask: summarize file src/app.py"'
)
OPENAI_BODY = (
    b'{"model":"fake-model","messages":['
    b'{"role":"system","content":"system prompt"},'
    b'{"role":"user","content":' + _WIRE_USER + b"}],"
    b'"temperature":0.2,"max_tokens":256,"stream":false}'
)
ANTHROPIC_BODY = (
    b'{"model":"fake-model","max_tokens":4096,"system":"system prompt",'
    b'"messages":[{"role":"user","content":' + _WIRE_USER + b"}]}"
)
OLLAMA_BODY = (
    b'{"model":"fake-model","messages":['
    b'{"role":"system","content":"system prompt"},'
    b'{"role":"user","content":' + _WIRE_USER + b"}],"
    b'"stream":false,"options":{"temperature":0.2,"num_predict":256}}'
)
FAKE_SUMMARY = "# {path}\n\nSummary of {path} from the fake provider.\n"
GENERATED_KEYS = {
    "agent_id",
    "provider",
    "provider_type",
    "model",
    "prompt_digest",
    "context_digest",
    "prompt_link_id",
    "tokens_in",
    "tokens_out",
    "finish_reason",
}


def b3(data: str | bytes) -> str:
    return blake3.blake3(data.encode() if isinstance(data, str) else data).hexdigest()


def test_p1_file_prompt_is_the_system_prompt_then_context_and_task(
    runs: Callable[[str], Run],
) -> None:
    run = runs("file_success")
    prompt = _prompt_request(run)
    assert prompt == {
        "scope": "llm",
        "messages": [
            {"role": "system", "content": "system prompt"},
            {"role": "user", "content": FILE_USER_MESSAGE},
        ],
    }


@pytest.mark.parametrize(
    ("scenario_id", "path", "body"),
    [
        ("file_success", "/v1/chat/completions", OPENAI_BODY),
        ("anthropic_file_success", "/v1/messages", ANTHROPIC_BODY),
        ("ollama_file_success", "/api/chat", OLLAMA_BODY),
    ],
)
def test_p1_the_adapter_sends_exactly_the_specified_bytes(
    runs: Callable[[str], Run], scenario_id: str, path: str, body: bytes
) -> None:
    run = runs(scenario_id)
    (post,) = run.posts()
    assert (post.path, post.raw) == (path, body)
    assert post.key == KEY
    assert post.headers["content-type"] == "application/json"
    if scenario_id == "anthropic_file_success":
        assert post.headers["anthropic-version"] == "2023-06-01"
    # The store keeps the very bytes that were sent, named by the frame's prompt_link_id.
    assert run.stored["prompt_link_id"] == body


def test_p1_generated_metadata_has_exactly_the_specified_keys_and_values(
    runs: Callable[[str], Run],
) -> None:
    run = runs("file_success")
    assert run.frame is not None
    assert run.frame["frame_type"] == "context-parity-writer"
    assert run.frame["content"] == FAKE_SUMMARY.format(path="src/app.py")
    metadata = run.frame["metadata"]
    assert set(metadata) == GENERATED_KEYS
    assert metadata == {
        "agent_id": "parity-writer",
        "provider": "fake-openai",
        "provider_type": "openai",
        "model": "fake-model",
        "prompt_digest": b3("summarize file src/app.py"),
        "context_digest": b3(FILE_CONTEXT),
        "prompt_link_id": b3(OPENAI_BODY),
        "tokens_in": "11",
        "tokens_out": "7",
        "finish_reason": "stop",
    }
    assert run.stored["prompt_digest"] == b"summarize file src/app.py"
    assert run.stored["context_digest"] == FILE_CONTEXT.encode()


def test_p1_a_directory_is_summarised_from_its_childrens_frames(
    runs: Callable[[str], Run],
) -> None:
    run = runs("directory_success")
    (post,) = run.posts("src")
    assert post.body["messages"] == [
        {"role": "system", "content": "system prompt"},
        {
            "role": "user",
            "content": "Context:\n"
            "Path: src/a.py\nType: File\nContent:\n"
            "# src/a.py\n\nSummary of src/a.py from the fake provider.\n"
            "\n\n---\n\n"
            "Path: src/b.md\nType: File\nContent:\n"
            "# src/b.md\n\nSummary of src/b.md from the fake provider.\n"
            "\n\nTask: summarize directory src",
        },
    ]
    assert "A = 1" not in post.raw.decode()  # the children's frames, never their bytes


def test_p1_a_binary_file_is_sent_as_a_placeholder(runs: Callable[[str], Run]) -> None:
    run = runs("binary_file_placeholder")
    (post,) = run.posts()
    assert post.body["messages"][1]["content"] == (
        "Context:\nPath: assets/logo.png\nType: File\nContent:\n"
        "[Binary file: PNG image, 80 bytes. Content not sent.]"
        "\n\nTask: summarize file assets/logo.png"
    )
    assert b"IHDR" not in post.raw


def test_p1_a_file_over_the_cap_is_cut_with_a_note(runs: Callable[[str], Run]) -> None:
    run = runs("file_over_byte_cap")
    (post,) = run.posts()
    assert len(LONG_FILE) == 1620
    assert post.body["messages"][1]["content"] == (
        "Context:\nPath: src/long.txt\nType: File\nContent:\n"
        + LONG_FILE[:1024]
        + "\n\n[Truncated: the first 1,024 of 1,620 bytes are shown (prompt_file_cap = 1,024).]"
        + "\n\nTask: summarize file src/long.txt"
    )


def test_p1_a_directory_over_budget_keeps_every_path_and_cuts_the_longest(
    runs: Callable[[str], Run],
) -> None:
    run = runs("directory_over_budget")
    (post,) = run.posts("docs")
    context = run.stored["context_digest"].decode()
    assert len(context.encode()) <= 1024
    blocks = context.split("\n\n---\n\n")
    assert [b.split("\n")[0] for b in blocks] == [
        "Path: docs/a.md",
        "Path: docs/b.md",
        "Path: docs/c.md",
    ]
    assert blocks[0] == "Path: docs/a.md\nType: File\nContent:\nA is short.\n"
    cut_note = "\n[... cut to fit the directory context budget]"
    assert blocks[1].endswith(cut_note) and blocks[2].endswith(cut_note)
    assert post.body["messages"][1]["content"] == (
        f"Context:\n{context}\n\nTask: summarize directory docs"
    )


def test_p1_a_secret_file_is_never_read_or_sent(runs: Callable[[str], Run]) -> None:
    run = runs("secret_file_withheld")
    assert run.requests == []
    assert run.frame is not None
    assert run.frame["content"].startswith("# config/.env\n\nWithheld: ")
    assert run.frame["metadata"] == {
        "agent_id": "parity-writer",
        "provider": "structural",
        "provider_type": "structural",
        "model": "structural-1",
        "prompt_digest": b3(b""),
        "context_digest": b3(b""),
        "prompt_link_id": b3(b""),
        "tokens_in": "0",
        "tokens_out": "0",
        "finish_reason": "withheld",
    }
    assert "hunter2" not in render(artifact(run))
    assert all(b"hunter2" not in body for body in run.stored.values())


def test_p1_a_failed_child_blocks_its_parent_and_spares_the_sibling(
    runs: Callable[[str], Run],
) -> None:
    run = runs("child_failure_blocks_parent")
    assert _nodes(run) == {
        "src": {"status": "blocked", "attempts": 0, "blocked_by": "src/b.py"},
        "src/a.py": {"status": "done", "attempts": 1},
        "src/b.py": {"status": "failed", "attempts": 1, "error_class": "bad_request"},
    }
    assert run.posts("src") == []
    assert run.frame is None


def test_p1_an_unchanged_rerun_calls_no_provider(runs: Callable[[str], Run]) -> None:
    run = runs("unchanged_rerun_skipped")
    assert run.requests == []
    assert run.collected == {}
    assert {n["status"] for n in _nodes(run).values()} == {"skipped"}
    assert {n["reason"] for n in _nodes(run).values()} == {"head_reuse"}
    assert run.frame is not None and run.frame["content"] == FAKE_SUMMARY.format(path="src")


@pytest.mark.parametrize(
    ("scenario_id", "attempts", "backoff", "terminal"),
    [
        ("file_success", 1, [], None),
        ("retryable_429_then_success", 2, ["retry_after"], None),
        ("retryable_5xx_exhausted", 4, ["exponential_jitter"] * 3, "server_error"),
        ("non_retryable_401", 1, [], "auth_failed"),
        ("retry_after_beyond_cap", 1, [], "quota_exhausted"),
        ("model_not_found_enriched", 1, [], "model_not_found"),
        ("config_missing_api_key", 0, [], "provider_config_error"),
    ],
)
def test_p1_retry_outcomes_follow_the_policy(
    runs: Callable[[str], Run],
    scenario_id: str,
    attempts: int,
    backoff: list[str],
    terminal: str | None,
) -> None:
    retry = retry_section(runs(scenario_id))
    assert retry["attempt_count"] == attempts
    assert [r["backoff_class"] for r in retry["retries"]] == backoff
    assert retry["terminal_error_class"] == terminal


def test_p1_a_retry_after_is_waited_out_exactly_on_the_clock(runs: Callable[[str], Run]) -> None:
    (retry,) = retry_section(runs("retryable_429_then_success"))["retries"]
    assert retry == {
        "attempt": 1,
        "backoff_class": "retry_after",
        "error_class": "rate_limited",
        "delay_s": 2.0,
        "waited_s": 2.0,
    }


def test_p1_exponential_backoff_stays_under_its_doubling_ceiling(
    runs: Callable[[str], Run],
) -> None:
    retries = retry_section(runs("retryable_5xx_exhausted"))["retries"]
    # Defaults: base 1 s, cap 60 s; the n-th retry waits uniform(0, min(60, 1 * 2**(n-1))).
    for n, retry in enumerate(retries, start=1):
        assert 0 <= retry["delay_s"] <= min(60.0, 2.0 ** (n - 1))


def test_p1_errors_say_what_happened_without_leaking_the_key(runs: Callable[[str], Run]) -> None:
    enriched = retry_section(runs("model_not_found_enriched"))["terminal_error_message"]
    assert enriched.endswith("\navailable models: fake-large, fake-model")
    auth = retry_section(runs("non_retryable_401"))["terminal_error_message"]
    assert "HTTP 401" in auth and WRONG_KEY not in auth
    config = retry_section(runs("config_missing_api_key"))["terminal_error_message"]
    assert KEY_ENV in config
    assert runs("config_missing_api_key").requests == []


# --- P2: the committed artifacts ------------------------------------------------------------


@pytest.mark.parametrize("scenario_id", [s.id for s in SCENARIOS])
def test_p2_generation_matches_its_parity_artifact(
    runs: Callable[[str], Run], scenario_id: str
) -> None:
    run = runs(scenario_id)
    actual = render(artifact(run))
    for secret in (KEY, WRONG_KEY):
        assert secret not in actual
    path = ARTIFACTS / f"{scenario_id}.json"
    expected = path.read_text(encoding="utf-8") if path.exists() else None
    if expected == actual:
        return
    if UPDATE:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        pytest.skip(f"rewrote {path.relative_to(ARTIFACTS.parent.parent.parent)}")
    if expected is None:
        pytest.fail(
            f"generation parity: scenario {scenario_id!r} has no artifact {path.name}; "
            f"create it with `{UPDATE_COMMAND}`",
            pytrace=False,
        )
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{scenario_id}.json (committed artifact)",
            tofile=f"{scenario_id} (this run)",
        )
    )
    pytest.fail(
        f"generation parity drift in scenario {scenario_id!r} ({BY_ID[scenario_id].description})"
        f"\n{diff}\nIf the change is intended, regenerate with `{UPDATE_COMMAND}` and commit "
        "the artifact.",
        pytrace=False,
    )


def test_p2_every_artifact_belongs_to_a_scenario() -> None:
    names = {f"{s.id}.json" for s in SCENARIOS}
    orphans = sorted(p.name for p in ARTIFACTS.glob("*.json") if p.name not in names)
    if orphans and UPDATE:
        for name in orphans:
            (ARTIFACTS / name).unlink()
        pytest.skip(f"deleted artifacts of removed scenarios: {', '.join(orphans)}")
    assert orphans == [], f"artifacts without a scenario (delete them or `{UPDATE_COMMAND}`)"


def test_p2_artifacts_are_sorted_indented_and_end_with_a_newline() -> None:
    for path in sorted(ARTIFACTS.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
        assert text == render(doc), path.name
        assert doc["schema_version"] == SCHEMA_VERSION
        assert doc["scenario_id"] == path.stem


# --- P3: retry semantics from events and the clock agree with everything else --------------


@pytest.mark.parametrize("scenario_id", [s.id for s in SCENARIOS])
def test_p3_retry_section_agrees_with_the_outcome_the_server_and_the_clock(
    runs: Callable[[str], Run], scenario_id: str
) -> None:
    run = runs(scenario_id)
    retry = retry_section(run)
    # Every attempt but the last was followed by exactly one scheduled retry.
    assert retry["retry_event_count"] == max(retry["attempt_count"] - 1, 0)
    for scheduled in retry["retries"]:
        # The queue really waited the delay it announced, on the fake clock.
        assert scheduled["waited_s"] == scheduled["delay_s"]
    node = run.outcome.result.nodes.get(run.scenario.target.encode()) if run.outcome else None
    if node is not None:
        assert (node.attempts, node.error_class) == (
            retry["attempt_count"],
            retry["terminal_error_class"],
        )
    posts = run.posts(run.scenario.target)
    prompt = _prompt_request(run)
    if prompt is not None and prompt["scope"] == "llm":
        assert len(posts) == retry["attempt_count"]
    else:
        assert posts == []
    # Every attempt sent the same bytes; a written frame names them by prompt_link_id.
    assert len({p.raw for p in posts}) <= 1
    if posts and run.frame is not None:
        assert run.frame["metadata"]["prompt_link_id"] == b3(posts[0].raw)
