"""Fault soak: ``generate`` over 133 nodes while the provider fails on a seeded schedule.

Faults are scripted per (node, attempt) from a printed seed (``RELIABILITY_SEED=<n>``
reproduces a run): 20% of the nodes get one to ``max_attempts - 1`` retryable faults (a 429 with
``retry-after-ms``, a 500, a 529, a hang until the 0.5 s per-attempt timeout, a dropped
connection) before the default answer, and 2% of the files get a non-retryable answer, possibly
after retryable ones. Each node's end is then known in advance: done after exactly its faults
plus one attempt, failed with the class of its fatal answer, or blocked above a failed file.
The test checks that against the ``--json`` document, the events, the run ledger and the
requests the server recorded, then reruns and checks only the unfinished nodes are asked for.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.cli import run_cli
from tests.helpers.profiles import write_fake_profile
from tests.helpers.trees import write_tree

from contextree.store.db import Store
from contextree.store.ledger import LedgerRows, RunRow

SEED = int(os.environ.get("RELIABILITY_SEED") or random.SystemRandom().randrange(2**32))
TASK_PATH = r"the (?:file|directory) at (\S+) \("
MAX_ATTEMPTS = 4
PACKAGES = 12
FILES = {
    f"pkg{j:02}/mod{i}.py": f"def f{j}_{i}(x):\n    return x + {i}\n"
    for j in range(PACKAGES)
    for i in range(10)
}
DIRS = frozenset(f"pkg{j:02}" for j in range(PACKAGES))
NODES = sorted({*FILES, *DIRS, "."})
ENV = {
    "CONTEXTREE_GENERATION__MAX_ATTEMPTS": str(MAX_ATTEMPTS),
    "CONTEXTREE_GENERATION__BACKOFF_BASE_S": "0.01",
    "CONTEXTREE_GENERATION__BACKOFF_CAP_S": "0.05",
    "CONTEXTREE_GENERATION__ATTEMPT_TIMEOUT_S": "0.5",
}


@dataclass(frozen=True, kw_only=True)
class Fault:
    error_class: str
    backoff: str  # how the queue waits before the next attempt, for a retryable fault
    reply: Callable[[random.Random], Reply]


RETRYABLE = (
    Fault(
        error_class="rate_limited",
        backoff="retry_after",
        reply=lambda rng: Reply.rate_limited(retry_after_ms=str(rng.randint(5, 40))),
    ),
    Fault(
        error_class="server_error",
        backoff="exponential_jitter",
        reply=lambda _: Reply.error(500, "The server had an error while processing your request."),
    ),
    Fault(
        error_class="overloaded",
        backoff="exponential_jitter",
        reply=lambda _: Reply.error(529, "Overloaded", type="overloaded_error"),
    ),
    Fault(error_class="client_timeout", backoff="exponential_jitter", reply=lambda _: Reply.hang()),
    Fault(
        error_class="connection_error", backoff="exponential_jitter", reply=lambda _: Reply.close()
    ),
)
FATAL = (
    Fault(error_class="bad_request", backoff="", reply=lambda _: Reply.error(400, "Invalid 'n'")),
    Fault(
        error_class="auth_failed",
        backoff="",
        reply=lambda _: Reply.error(401, "Incorrect API key provided.", code="invalid_api_key"),
    ),
    Fault(
        error_class="quota_exhausted",
        backoff="",
        reply=lambda _: Reply.error(
            429, "You exceeded your current quota.", code="insufficient_quota"
        ),
    ),
    Fault(
        error_class="quota_exhausted",  # a Retry-After beyond max_retry_after_s
        backoff="",
        reply=lambda _: Reply.rate_limited(retry_after="3600"),
    ),
    Fault(
        error_class="context_length_exceeded",
        backoff="",
        reply=lambda _: Reply.error(
            400, "This model's maximum context length is 8 tokens.", code="context_length_exceeded"
        ),
    ),
)


@dataclass(frozen=True, kw_only=True)
class Expected:
    status: str
    attempts: int
    #: (error class, backoff class) of each failed attempt that was retried, in order.
    retries: tuple[tuple[str, str], ...] = ()
    #: The class a failed node ends with.
    error_class: str | None = None


def parents(path: str) -> list[str]:
    if path == ".":
        return []
    head, _, _ = path.rpartition("/")
    return [head, *parents(head)] if head else ["."]


def schedule(server: FakeProviderServer, rng: random.Random) -> dict[str, Expected]:
    """Script the faults on ``server``; returns how every node must end."""
    faulty = rng.sample(NODES, k=round(0.2 * len(NODES)))
    fatal = rng.sample(sorted(set(FILES) - set(faulty)), k=round(0.02 * len(NODES)))
    blocked = {parent for path in fatal for parent in parents(path)}
    expected: dict[str, Expected] = {}
    for path in NODES:
        faults: list[Fault] = []
        if path in faulty:
            faults = [rng.choice(RETRYABLE) for _ in range(rng.randint(1, MAX_ATTEMPTS - 1))]
        elif path in fatal:
            faults = [rng.choice(RETRYABLE) for _ in range(rng.randint(0, MAX_ATTEMPTS - 2))]
            faults.append(rng.choice(FATAL))
        server.script_path(path, *(fault.reply(rng) for fault in faults))
        if path in blocked:
            expected[path] = Expected(status="blocked", attempts=0)
        elif path in fatal:
            expected[path] = Expected(
                status="failed",
                attempts=len(faults),
                retries=tuple((f.error_class, f.backoff) for f in faults[:-1]),
                error_class=faults[-1].error_class,
            )
        else:
            expected[path] = Expected(
                status="done",
                attempts=len(faults) + 1,
                retries=tuple((f.error_class, f.backoff) for f in faults),
            )
    return expected


def last_run_ledger(workspace: Path) -> tuple[RunRow, dict[str, tuple[str, int, str | None, int]]]:
    """The last run and, per path, its node's status, attempts, error class and tokens in."""
    with Store.open(workspace / ".contextree" / "store.db") as store:
        rows = LedgerRows(store.conn)
        run = rows.last_run()
        assert run is not None
        nodes = rows.nodes(run.run_id, ["pending", "done", "failed", "blocked", "cancelled"])
    return run, {
        n.path.decode() or ".": (n.status, n.attempts, n.error_class, n.tokens_in) for n in nodes
    }


def test_fault_soak_ends_every_node_as_scheduled_and_the_ledger_matches_the_server(
    workspace: Path, tmp_path: Path
) -> None:
    print(f"RELIABILITY_SEED={SEED}")
    write_tree(workspace, FILES)
    server = FakeProviderServer(path_pattern=TASK_PATH)
    expected = schedule(server, random.Random(SEED))
    events_file = tmp_path / "events.jsonl"
    url = server.start_in_thread()
    try:
        write_fake_profile(workspace, f"{url}/v1")
        args = ("-w", str(workspace), "generate", "--provider", "fake", "--concurrency", "8")
        first = run_cli(*args, "--json", "--events", str(events_file), env=ENV, timeout=100)
        soak_requests = server.completion_requests()
        soak_run, ledger = last_run_ledger(workspace)
    finally:
        server.stop()
    fault_free = FakeProviderServer(path_pattern=TASK_PATH)
    url = fault_free.start_in_thread()
    try:
        write_fake_profile(workspace, f"{url}/v1")
        rerun = run_cli(*args, "--json", env=ENV, timeout=100)
        rerun_requests = fault_free.completion_requests()
        rerun_run, _ = last_run_ledger(workspace)
    finally:
        fault_free.stop()

    failing = {path for path, e in expected.items() if e.status != "done"}
    faulted = sum(e.attempts > 1 or e.status == "failed" for e in expected.values())
    print(
        f"{len(NODES)} nodes: {faulted} with faults, {len(failing)} failed or blocked; "
        f"{len(soak_requests)} requests"
    )
    assert first.returncode == (1 if failing else 0), first.stderr

    # Every node ended as scheduled, with the right class, in the --json document.
    doc = json.loads(first.stdout)
    ended = {
        node["path"]: (node["status"], node["attempts"], node.get("error_class"))
        for node in doc["nodes"]
    }
    assert ended == {path: (e.status, e.attempts, e.error_class) for path, e in expected.items()}

    # The server saw attempts 1..n of each node, and nothing after a node succeeded.
    seen: dict[str, list[int]] = defaultdict(list)
    for request in soak_requests:
        seen[str(request.node_path)].append(request.attempt)
    assert dict(seen) == {
        path: list(range(1, e.attempts + 1)) for path, e in expected.items() if e.attempts
    }

    # Each retry was scheduled for the class of the fault before it, with the right backoff.
    retries: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for line in events_file.read_text().splitlines():
        event = json.loads(line)
        if event["name"] == "request_retry_scheduled":
            data = event["data"]
            retries[data["path"] or "."].append(
                (data["attempt"], data["error_class"], data["backoff_class"])
            )
    assert {path: sorted(r) for path, r in retries.items()} == {
        path: [(attempt, cls, backoff) for attempt, (cls, backoff) in enumerate(e.retries, start=1)]
        for path, e in expected.items()
        if e.retries
    }

    # The ledger says what the server saw: per node its status, attempts and final class.
    assert ledger == {
        path: (
            e.status,
            len(seen.get(path, [])),
            e.error_class,
            11 if e.status == "done" else 0,
        )
        for path, e in expected.items()
    }
    counts = {s: sum(e.status == s for e in expected.values()) for s in ("done", "failed")}
    assert (soak_run.run_id, soak_run.status) == (1, "failed" if failing else "succeeded")
    assert (soak_run.planned, soak_run.done, soak_run.failed, soak_run.blocked) == (
        len(NODES),
        counts["done"],
        counts["failed"],
        len(failing) - counts["failed"],
    )

    # A fault-free rerun asks only for the nodes that did not succeed, once each.
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(str(r.node_path) for r in rerun_requests) == sorted(failing)
    assert (rerun_run.run_id, rerun_run.status, rerun_run.done, rerun_run.skipped) == (
        2,
        "succeeded",
        len(failing),
        len(NODES) - len(failing),
    )
