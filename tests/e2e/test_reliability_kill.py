"""SIGKILL during ``generate``: the store stays whole and a rerun picks up where it stopped.

The fake provider server kills the client's process group when a run's Nth request arrives,
for fixed N and for N drawn from a printed seed (``RELIABILITY_SEED=<n>`` reproduces a run;
the seeded scenario kills two runs in a row). With one call in flight at a time the state at the
kill is exact: request N is sent only after node N-1's frame was committed, so exactly the
nodes of requests 1..N-1 have heads. With more in flight, what was written depends on timing,
so the test checks what must hold whatever it was: ``contextree verify`` finds nothing wrong,
every head is a complete frame whose answer the server had already sent, no run asks for a node
that already had a frame, the next start reconciles each killed run as ``interrupted``, and the
last run asks only for the nodes without a head, once each.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.cli import run_cli
from tests.helpers.kills import (
    TASK_PATH,
    expected_content,
    generate_args,
    generate_argv,
    generate_until_killed,
)
from tests.helpers.profiles import write_fake_profile
from tests.helpers.trees import write_tree

from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi
from contextree.core.frame import default_frame_type
from contextree.core.ids import FrameId
from contextree.store.db import Store
from contextree.store.ledger import LedgerRows
from contextree.store.tree import TreeRows

AGENT = "docs-writer"
FRAME_TYPE = default_frame_type(AGENT)
FILES = {f"pkg{j}/m{i}.py": f"VALUE_{j}_{i} = {i}\n" for j in range(3) for i in range(6)}
NODES = frozenset({*FILES, "pkg0", "pkg1", "pkg2", "."})
SEED = int(os.environ.get("RELIABILITY_SEED") or random.SystemRandom().randrange(2**32))
#: Server latency when several calls are in flight, so that some are when the kill comes.
CONCURRENT_LATENCY = 0.05

#: Given how many nodes still lack a head, where to kill the next run: (request, concurrency).
KillPoint = Callable[[int], tuple[int, int]]


def stored_heads(workspace: Path) -> dict[str, bytes]:
    """path -> content of the head frame, for every node of the tree that has one."""
    with Store.open(workspace / ".contextree" / "store.db") as store:
        paths = {
            row[1]: path.decode() or "."
            for path, row in TreeRows(store.conn).load_entries().items()
        }
        api = ContextApi(store, AgentRegistry.builtin())
        heads: dict[str, bytes] = {}
        for node_id, (frame_id, input_key) in api.head_keys(AGENT, FRAME_TYPE).items():
            frame = api.get_frame(FrameId(frame_id))
            assert frame is not None
            assert input_key is not None  # a generated frame: current for the next run
            assert frame.metadata["provider"] == "fake"
            heads[paths[node_id]] = frame.content
    return heads


def verify_with_cli(workspace: Path, frames: int) -> None:
    result = run_cli("-w", str(workspace), "verify", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert (doc["ok"], doc["problem_count"], doc["problems"]) == (True, 0, [])
    assert (doc["checked"]["frames"], doc["checked"]["heads"]) == (frames, frames)


def crash_and_resume(workspace: Path, kills: list[KillPoint]) -> None:
    """Kill one run per kill point, checking the store after each, then finish with a rerun."""
    write_tree(workspace, FILES)
    server = FakeProviderServer(path_pattern=TASK_PATH)
    url = server.start_in_thread()
    written: list[int] = []  # heads each killed run wrote
    try:
        write_fake_profile(workspace, f"{url}/v1")
        heads: dict[str, bytes] = {}
        for kill_point in kills:
            kill_at, concurrency = kill_point(len(NODES) - len(heads))
            server.latency = CONCURRENT_LATENCY if concurrency > 1 else 0.0
            killed = generate_until_killed(
                server, generate_argv(workspace, concurrency), kill_at=kill_at, timeout=60
            )
            assert killed.killed, f"request {kill_at} never arrived: {killed.stderr}"
            assert len(killed.sent_before) == kill_at - 1
            # No call for a node that already had a frame.
            assert not set(killed.sent_before) & set(heads)

            now = stored_heads(workspace)
            new = set(now) - set(heads)
            assert {path: now[path] for path in heads} == heads  # earlier frames untouched
            # Every new head is a complete frame of an answer the server had already sent.
            assert new <= killed.answered
            assert {path: now[path] for path in new} == {p: expected_content(p) for p in new}
            if concurrency == 1:
                # One call at a time: request N went out after frame N-1 was committed.
                assert new == set(killed.sent_before)
            verify_with_cli(workspace, frames=len(now))
            written.append(len(new))
            heads = now

        server.latency = 0.0
        offset = len(server.requests)
        rerun = run_cli(*generate_args(workspace, 4))
        resumed = server.completion_requests()[offset:]
    finally:
        server.stop()

    assert rerun.returncode == 0, rerun.stderr
    missing = NODES - set(heads)
    # One call for each node without a frame, none for the others.
    assert sorted(str(r.node_path) for r in resumed) == sorted(missing)
    totals = json.loads(rerun.stdout)["totals"]
    assert (totals["done"], totals["skipped"], totals["failed"]) == (len(missing), len(heads), 0)
    assert stored_heads(workspace) == {path: expected_content(path) for path in NODES}

    with Store.open(workspace / ".contextree" / "store.db") as store:
        report = ContextApi(store, AgentRegistry.builtin()).verify()
        assert (report.ok, report.frames, report.heads) == (True, len(NODES), len(NODES))
        rows = LedgerRows(store.conn)
        interrupted = rows.runs_with_status("interrupted")
        last = rows.last_run()
    planned = len(NODES)
    for run, wrote in zip(interrupted, written, strict=True):
        assert (run.planned, run.done, run.interrupted) == (planned, wrote, planned - wrote)
        planned -= wrote
    assert [run.run_id for run in interrupted] == list(range(1, len(kills) + 1))
    assert last is not None
    assert (last.run_id, last.status, last.planned, last.done, last.skipped) == (
        len(kills) + 1,
        "succeeded",
        len(missing),
        len(missing),
        len(heads),
    )


@pytest.mark.parametrize(
    ("kill_at", "concurrency"),
    [
        pytest.param(1, 1, id="first-request"),
        pytest.param(len(NODES), 1, id="root-request"),
        pytest.param(14, 4, id="mid-run-concurrent"),
    ],
)
def test_sigkill_at_a_fixed_request_leaves_a_verified_store_and_a_rerun_finishes_the_rest(
    workspace: Path, kill_at: int, concurrency: int
) -> None:
    crash_and_resume(workspace, [lambda _: (kill_at, concurrency)])


def test_two_sigkills_at_seeded_requests_leave_a_verified_store_and_a_rerun_finishes(
    workspace: Path,
) -> None:
    rng = random.Random(SEED)

    def draw(remaining: int) -> tuple[int, int]:
        kill_at, concurrency = rng.randint(1, remaining), rng.choice([1, 4])
        print(
            f"RELIABILITY_SEED={SEED}: kill at request {kill_at} of {remaining}, "
            f"concurrency {concurrency}"
        )
        return kill_at, concurrency

    crash_and_resume(workspace, [draw, draw])
