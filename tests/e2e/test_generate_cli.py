"""``contextree generate`` and ``regenerate`` as a user runs them: the real command in a
subprocess, talking real HTTP to the fake provider server running in a thread of the test.

The fake answers every node with text naming the node (``# PATH`` ...), so a frame's content
says which prompt it came from and a node generated twice yields the same frame. The fake
finds the node in the task line the built-in templates render ("... the file at PATH (File,
...)"), and records every request: counting them is how these tests see which nodes a run sent
to the provider. Each scenario shares one workspace and one server across its steps.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree
from tests.helpers.trust import trust_workspace

from contextree.workspace.lock import writer_lock

KEY_ENV = "E2E_FAKE_PROVIDER_KEY"
KEY = "sk-e2e-4f1d9a0c77-SECRET"
#: The node path in the task line of the built-in (and the test's own) templates.
PATH_IN_TASK = r"(?:file|directory) at (\S+) \("

FILES = {
    "src/pkg/a.py": "def a():\n    return 1\n",
    "src/pkg/b.py": "B = 2\n",
    "src/util.py": "def util():\n    return 'u'\n",
    "docs/readme.md": "# Readme\n\nHow to use it.\n",
}
DIRS = (".", "docs", "src", "src/pkg")
ALL_NODES = sorted([*FILES, *DIRS])
ANCESTORS_OF_A = ["src/pkg", "src", "."]


def summary(path: str) -> str:
    """What the fake answers for ``path`` unless scripted otherwise."""
    return f"# {path}\n\nSummary of {path} from the fake provider.\n"


def depth(path: str) -> int:
    return 0 if path == "." else path.count("/") + 1


@dataclass(frozen=True)
class Ran:
    proc: subprocess.CompletedProcess[str]
    #: Node paths the provider was asked for during the command, in arrival order.
    calls: list[str]

    @property
    def code(self) -> int:
        return self.proc.returncode

    @property
    def doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.proc.stdout)
        return doc

    def statuses(self) -> dict[str, str]:
        """path -> status of every node the ``--json`` document lists."""
        return {node["path"]: node["status"] for node in self.doc["nodes"]}


class Project:
    """A workspace and the fake provider it is configured to use."""

    def __init__(self, root: Path, fake: FakeProviderServer) -> None:
        self.root = root
        self.fake = fake

    def run(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        before = len(self.fake.completion_requests())
        proc = run_cli(*args, cwd=self.root, env={KEY_ENV: KEY} if env is None else env)
        calls = [r.node_path or "?" for r in self.fake.completion_requests()[before:]]
        return Ran(proc, calls)

    def generate(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        """``contextree generate --provider fake ARGS``."""
        return self.run("generate", "--provider", "fake", *args, env=env)

    def provider_add(self, name: str, model: str) -> Ran:
        """``contextree provider add NAME``: an OpenAI-compatible profile for the fake."""
        return self.run(
            "provider",
            "add",
            name,
            "--type",
            "openai",
            "--model",
            model,
            "--base-url",
            self.fake.openai_url,
            "--api-key-env",
            KEY_ENV,
        )

    def write_profile(self, name: str = "fake", model: str = "fake-model") -> None:
        """The profile ``provider_add(name, model)`` writes, without running a command."""
        folder = self.root / ".contextree" / "providers"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.toml").write_text(
            f'name = "{name}"\ntype = "openai"\nmodel = "{model}"\n'
            f'base_url = "{self.fake.openai_url}"\napi_key_env = "{KEY_ENV}"\n'
        )
        trust_workspace(self.root)  # as `contextree trust --yes` would


@pytest.fixture
def fake() -> Iterator[FakeProviderServer]:
    server = FakeProviderServer(api_key=KEY, path_pattern=PATH_IN_TASK)
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bare(workspace: Path, fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The small tree, no configuration at all."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    write_tree(workspace, FILES)
    return Project(workspace, fake)


@pytest.fixture
def project(bare: Project) -> Project:
    """The small tree with a provider profile ``fake`` pointing at the fake server."""
    bare.write_profile()
    return bare


def user_message(request_body: Any) -> str:
    content: str = request_body["messages"][-1]["content"]
    return content


# -- a first run ------------------------------------------------------------------------------


def test_generate_writes_a_frame_for_every_file_and_directory(bare: Project) -> None:
    added = bare.provider_add("fake", "fake-model")
    assert added.code == 0, added.proc.stderr

    ran = bare.generate("--json")

    assert ran.code == 0, ran.proc.stderr
    doc = ran.doc
    assert (doc["status"], doc["agent"], doc["provider"], doc["frame_type"], doc["target"]) == (
        "succeeded",
        "docs-writer",
        "fake",
        "context-docs-writer",
        ".",
    )
    assert doc["scanned"] is True
    assert doc["totals"] == {
        "planned": 8,
        "done": 8,
        "skipped": 0,
        "failed": 0,
        "blocked": 0,
        "cancelled": 0,
        "tokens_in": 8 * 11,
        "tokens_out": 8 * 7,
    }
    nodes = {n["path"]: (n["kind"], n["status"], n["attempts"]) for n in doc["nodes"]}
    assert nodes == {p: ("dir" if p in DIRS else "file", "done", 1) for p in ALL_NODES}
    # Every node exactly once, each directory after all of its children.
    assert sorted(ran.calls) == ALL_NODES
    for path in ALL_NODES:
        if path != ".":
            parent = path.rpartition("/")[0] or "."
            assert ran.calls.index(path) < ran.calls.index(parent), (path, ran.calls)
    requests = {r.node_path: r for r in bare.fake.completion_requests()}
    assert {r.key for r in requests.values()} == {KEY}
    # A directory's prompt is built from its children's frames.
    pkg_prompt = user_message(requests["src/pkg"].body)
    assert summary("src/pkg/a.py") in pkg_prompt
    assert summary("src/pkg/b.py") in pkg_prompt
    assert "def a():" in user_message(requests["src/pkg/a.py"].body)

    got = bare.run("get", "src/pkg", "--json", "--include-metadata")
    assert got.code == 0, got.proc.stderr
    (frame,) = got.doc["frames"]
    frame_ids = {n["path"]: n["frame_id"] for n in doc["nodes"]}
    assert (frame["content"], frame["frame_id"]) == (summary("src/pkg"), frame_ids["src/pkg"])
    assert (frame["metadata"]["provider"], frame["metadata"]["model"]) == ("fake", "fake-model")
    assert got.calls == []


def test_structural_provider_needs_no_configuration(bare: Project) -> None:
    ran = bare.run("generate")

    assert ran.code == 0, ran.proc.stderr
    assert ran.proc.stdout.startswith("docs-writer via structural: generated 8 frames, 0 already")
    assert ran.calls == []
    status = bare.run("status", "--json")
    assert status.code == 0, status.proc.stderr
    doc = status.doc
    assert (doc["files"], doc["directories"]) == (4, 4)
    assert doc["frames"]["coverage"] == {
        "agent": "docs-writer",
        "frame_type": "context-docs-writer",
        "provider": "structural",
        "nodes": 8,
        "current": 8,
        "missing": 0,
    }
    assert doc["frames"]["heads"] == [
        {"agent": "docs-writer", "frame_type": "context-docs-writer", "nodes": 8}
    ]


def test_events_file_holds_the_run_as_json_lines_without_the_key(
    project: Project, tmp_path: Path
) -> None:
    events_path = tmp_path / "events.jsonl"
    ran = project.generate("--events", str(events_path))

    assert ran.code == 0, ran.proc.stderr
    assert {r.key for r in project.fake.completion_requests()} == {KEY}  # the key was used...
    text = events_path.read_text(encoding="utf-8")
    assert KEY not in text  # ...and never written down
    events = [json.loads(line) for line in text.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    names = [e["name"] for e in events]
    for name in (
        "node_generation_started",
        "node_generation_completed",
        "request_enqueued",
        "request_processing",
        "request_completed",
        "provider_request_sent",
        "provider_response_received",
    ):
        assert names.count(name) == 8, name
    (plan,) = [e["data"] for e in events if e["name"] == "plan_constructed"]
    assert (plan["total_nodes"], plan["skipped_nodes"], plan["provider_name"]) == (8, 0, "fake")
    (totals,) = [e["data"] for e in events if e["name"] == "generation_completed"]
    assert (totals["generated"], totals["skipped"], totals["failed"]) == (8, 0, 0)
    assert names.index("plan_constructed") < names.index("node_generation_started")
    completed = [e["data"] for e in events if e["name"] == "node_generation_completed"]
    assert {d["status"] for d in completed} == {"done"}
    # Every layer names a node the same way (the root is "."), so events join on paths.
    for name in ("node_generation_completed", "request_completed", "provider_request_sent"):
        paths = [e["data"]["path"] for e in events if e["name"] == name]
        assert sorted(paths) == ALL_NODES, name


# -- failures -----------------------------------------------------------------------------


def test_a_failed_file_blocks_its_ancestors_and_a_rerun_finishes_the_rest(
    project: Project, tmp_path: Path
) -> None:
    # A careless server echoes the presented key in its error: it must not reach any output.
    refused = Reply.error(400, "bad request (key {presented_key})")
    project.fake.script_path("src/pkg/a.py", refused, refused)
    events_path = tmp_path / "events.jsonl"

    first = project.generate("--events", str(events_path))

    assert first.code == 1
    assert sorted(first.calls) == [
        "docs",
        "docs/readme.md",
        "src/pkg/a.py",
        "src/pkg/b.py",
        "src/util.py",
    ]
    assert first.proc.stdout.startswith("docs-writer via fake: generated 4 frames, 0 already")
    err = first.proc.stderr.splitlines()
    assert err[0] == "1 failed, 3 blocked (a descendant failed), 0 not run."
    assert err[1].startswith("  failed  src/pkg/a.py  [bad_request] fake: HTTP 400")
    assert err[3:6] == [
        "  blocked .  (by src/pkg/a.py)",
        "  blocked src  (by src/pkg/a.py)",
        "  blocked src/pkg  (by src/pkg/a.py)",
    ]
    assert "Traceback" not in first.proc.stderr
    events_text = events_path.read_text(encoding="utf-8")
    for output in (first.proc.stdout, first.proc.stderr, events_text):
        assert KEY not in output
    failed_events = [
        json.loads(line)["data"]
        for line in events_text.splitlines()
        if json.loads(line)["name"] == "node_generation_failed"
    ]
    assert [(e["path"], e["error_class"]) for e in failed_events] == [
        ("src/pkg/a.py", "bad_request")
    ]

    # Only the failed file and what it blocked are planned again; it fails once more.
    second = project.generate("--json")
    assert second.code == 1
    assert second.calls == ["src/pkg/a.py"]
    doc = second.doc
    assert doc["status"] == "failed"
    assert doc["totals"] == {
        "planned": 4,
        "done": 0,
        "skipped": 4,
        "failed": 1,
        "blocked": 3,
        "cancelled": 0,
        "tokens_in": 0,
        "tokens_out": 0,
    }
    (failed,) = [n for n in doc["nodes"] if n["status"] == "failed"]
    assert (failed["path"], failed["error_class"], failed["attempts"]) == (
        "src/pkg/a.py",
        "bad_request",
        1,
    )
    assert "HTTP 400" in failed["message"] and KEY not in failed["message"]
    assert failed["advice"] == (
        "The server refused the request: check model and options in the profile."
    )
    blocked = {n["path"]: n["blocked_by"] for n in doc["nodes"] if n["status"] == "blocked"}
    assert blocked == dict.fromkeys(ANCESTORS_OF_A, "src/pkg/a.py")

    # The server answers now: the rerun generates exactly the missing chain, leaf to root.
    third = project.generate("--json")
    assert third.code == 0, third.proc.stderr
    assert third.calls == ["src/pkg/a.py", *ANCESTORS_OF_A]
    assert third.doc["totals"]["skipped"] == 4


def test_failure_policy_stop_submits_nothing_after_a_failure(project: Project) -> None:
    project.fake.script_path("src/pkg/a.py", Reply.error(400, "refused"))

    # One call at a time, two submitted: a.py (deepest, first) fails, b.py still finishes.
    ran = project.generate("--failure-policy", "stop", "--concurrency", "1", "--json")

    assert ran.code == 1
    assert sorted(ran.calls) == ["src/pkg/a.py", "src/pkg/b.py"]
    assert ran.statuses() == {
        "src/pkg/a.py": "failed",
        "src/pkg/b.py": "done",
        "src/pkg": "blocked",
        "src": "blocked",
        ".": "blocked",
        "docs/readme.md": "cancelled",
        "src/util.py": "cancelled",
        "docs": "cancelled",
    }
    assert {n["reason"] for n in ran.doc["nodes"] if n["status"] == "cancelled"} == {"stop"}


def test_failure_policy_fail_fast_cancels_calls_in_flight(project: Project) -> None:
    # Everything but a.py hangs: only cancellation can end this run.
    project.fake.default = Reply.hang()
    project.fake.script_path("src/pkg/a.py", Reply.error(400, "refused"))

    ran = project.generate("--failure-policy", "fail-fast", "--concurrency", "4", "--json")

    assert ran.code == 1
    assert "src/pkg/a.py" in ran.calls
    assert ran.statuses() == {
        "src/pkg/a.py": "failed",
        "src/pkg": "blocked",
        "src": "blocked",
        ".": "blocked",
        "src/pkg/b.py": "cancelled",
        "docs/readme.md": "cancelled",
        "src/util.py": "cancelled",
        "docs": "cancelled",
    }
    assert ran.doc["totals"]["done"] == 0


# -- what a rerun sends --------------------------------------------------------------------


def test_reruns_call_the_provider_only_for_what_changed(project: Project) -> None:
    assert sorted(project.generate().calls) == ALL_NODES

    nothing = project.generate()
    assert nothing.code == 0, nothing.proc.stderr
    assert nothing.calls == []
    assert "0 frames, 8 already current" in nothing.proc.stdout
    assert "Everything is current; use --force to generate again." in nothing.proc.stdout

    # One edited file at depth 3: the file and each ancestor, leaf to root (depth + 1 calls).
    write_tree(project.root, {"src/pkg/a.py": "def a():\n    return 42\n"}, old=False)
    edited = project.generate("--json")
    assert edited.code == 0, edited.proc.stderr
    assert edited.calls == ["src/pkg/a.py", *ANCESTORS_OF_A]
    assert edited.doc["totals"]["done"] == 4
    assert edited.doc["totals"]["skipped"] == 4

    # A deleted file: only its ancestors have anything new to say.
    (project.root / "src/pkg/b.py").unlink()
    deleted = project.generate("--json")
    assert deleted.code == 0, deleted.proc.stderr
    assert deleted.calls == ANCESTORS_OF_A
    assert deleted.doc["totals"]["skipped"] == 4
    src_pkg = project.fake.completion_requests()[-3]
    assert src_pkg.node_path == "src/pkg"
    assert "src/pkg/b.py" not in user_message(src_pkg.body)

    forced = project.generate("--force", "--json")
    assert forced.code == 0, forced.proc.stderr
    remaining = [p for p in ALL_NODES if p != "src/pkg/b.py"]
    assert sorted(forced.calls) == remaining
    assert forced.doc["totals"]["done"] == 7


@pytest.mark.parametrize("change", ["provider", "agent_template"])
def test_a_new_provider_or_prompt_regenerates_every_node_once(
    project: Project, change: str
) -> None:
    assert sorted(project.generate().calls) == ALL_NODES
    if change == "provider":
        added = project.provider_add("fake-b", "fake-large")
        assert added.code == 0, added.proc.stderr
        args = ["generate", "--provider", "fake-b", "--json"]
    else:
        agents = project.root / ".contextree" / "agents"
        agents.mkdir()
        (agents / "docs-writer.toml").write_text(
            'role = "writer"\n'
            'system_prompt = "You write one-line summaries."\n'
            'file_template = "Summarise in one line the file at {path} ({node_type})."\n'
            'directory_template = "Summarise in one line the directory at {path} ({node_type})."\n'
        )
        trust_workspace(project.root)  # as `contextree trust --yes` would
        args = ["generate", "--provider", "fake", "--json"]

    changed = project.run(*args)

    assert changed.code == 0, changed.proc.stderr
    assert sorted(changed.calls) == ALL_NODES
    assert changed.doc["totals"]["done"] == 8
    last = project.fake.completion_requests()[-8:]
    if change == "provider":
        assert changed.doc["provider"] == "fake-b"
        assert {r.body["model"] for r in last} == {"fake-large"}
    else:
        assert {r.body["messages"][0]["content"] for r in last} == {"You write one-line summaries."}
        assert all("Summarise in one line the" in user_message(r.body) for r in last)

    again = project.run(*args)
    assert again.code == 0, again.proc.stderr
    assert again.calls == []
    assert again.doc["totals"]["skipped"] == 8


def test_regenerating_a_file_to_the_same_frame_leaves_its_ancestors_current(
    project: Project,
) -> None:
    first = project.generate("--json")
    frame_of_a = {n["path"]: n["frame_id"] for n in first.doc["nodes"]}["src/pkg/a.py"]

    same = project.run("regenerate", "src/pkg/a.py", "--provider", "fake", "--json")
    assert same.code == 0, same.proc.stderr
    assert same.calls == ["src/pkg/a.py"]
    assert [(n["path"], n["frame_id"]) for n in same.doc["nodes"]] == [("src/pkg/a.py", frame_of_a)]
    rerun = project.generate("--json")
    assert rerun.code == 0, rerun.proc.stderr
    assert rerun.calls == []
    assert rerun.doc["totals"]["skipped"] == 8

    # The contrast: a frame that differs makes src/pkg stale. Its new frame is the same as
    # before (the fake's answer names only the path), so src and . are re-checked when it is
    # done and skipped at run time: planned 3, generated 1.
    project.fake.script_for("src/pkg/a.py", 3, Reply(content="A different summary of a."))
    different = project.run("regenerate", "src/pkg/a.py", "--provider", "fake", "--json")
    assert different.calls == ["src/pkg/a.py"]
    assert different.doc["nodes"][0]["frame_id"] != frame_of_a
    after = project.generate("--json")
    assert after.code == 0, after.proc.stderr
    assert after.calls == ["src/pkg"]
    assert after.statuses() == {"src/pkg": "done"}
    totals = after.doc["totals"]
    assert (totals["planned"], totals["done"], totals["skipped"]) == (3, 1, 7)


# -- scheduling -----------------------------------------------------------------------------


def test_levels_schedule_finishes_each_level_before_starting_the_next(project: Project) -> None:
    # A slow a.py: the dependency schedule would send docs/ and docs/readme.md meanwhile.
    project.fake.script_path("src/pkg/a.py", Reply().with_latency(0.3))

    ran = project.generate("--schedule", "levels", "--json")

    assert ran.code == 0, ran.proc.stderr
    assert sorted(ran.calls) == ALL_NODES
    depths = [depth(p) for p in ran.calls]
    assert depths == sorted(depths, reverse=True), ran.calls


def test_no_recursive_directory_needs_current_descendants(project: Project) -> None:
    ran = project.generate("src", "--no-recursive")

    assert ran.code == 2
    assert ran.calls == []
    assert ran.proc.stderr.splitlines()[:5] == [
        "error: 4 nodes under src have no current frame:",
        "  src/pkg",
        "  src/pkg/a.py",
        "  src/pkg/b.py",
        "  src/util.py",
    ]
    assert "drop --no-recursive" in ran.proc.stderr


# -- usage and configuration errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["--agent", "nobody"],
            None,
            "error: unknown agent 'nobody'; known agents: code-analyzer, docs-writer, reader",
        ),
        (
            ["--provider", "nope"],
            None,
            "error: unknown provider 'nope'; known providers: fake, structural",
        ),
        (
            [],
            {},
            f"error: provider 'fake' needs an API key, but the environment variable {KEY_ENV} "
            "is not set",
        ),
    ],
    ids=["unknown-agent", "unknown-provider", "unset-key"],
)
def test_configuration_errors_exit_2_before_any_request(
    project: Project, args: list[str], env: dict[str, str] | None, message: str
) -> None:
    ran = project.generate(*args, env=env)

    assert ran.code == 2
    assert ran.proc.stderr.splitlines()[0] == message
    assert "Traceback" not in ran.proc.stderr
    assert ran.proc.stdout == ""
    assert project.fake.requests == []


def test_a_held_writer_lock_exits_75(project: Project) -> None:
    with writer_lock(project.root / ".contextree" / "lock"):
        ran = project.generate()

    assert ran.code == 75
    assert ran.proc.stderr.splitlines()[0] == f"error: workspace busy (pid {os.getpid()})"
    assert project.fake.requests == []
