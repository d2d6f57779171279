"""Two ``generate`` commands on one workspace: the second is refused, or with ``--wait`` runs
after the first, and the provider never sees a node twice.

The first command is held on a gated fake server: its first provider call is recorded and then
not answered until the test opens the gate, so it holds the writer lock for exactly as long as
the test needs. With ``--wait`` the test opens the gate only once the kernel lists the second
command as a waiter on the lock file (``/proc/locks``), so the waiting path is what runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.cli import run_cli
from tests.helpers.profiles import write_fake_profile
from tests.helpers.trees import write_tree

from contextree.store.db import Store
from contextree.store.ledger import LedgerRows

TASK_PATH = r"the (?:file|directory) at (\S+) \("
FILES = {f"src/m{i}.py": f"N = {i}\n" for i in range(4)}
NODES = sorted({*FILES, "src", "."})
PROC_LOCKS = Path("/proc/locks")


def start_generate(workspace: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "contextree", "-w", str(workspace), "generate"),
            *("--provider", "fake", "--concurrency", "1", "--json", *extra),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def waits_for_lock(pid: int, lock_path: Path) -> bool:
    """Whether the kernel lists ``pid`` as blocked on a lock of ``lock_path``."""
    inode = str(os.stat(lock_path).st_ino)
    # A waiter's line: "3: -> FLOCK  ADVISORY  WRITE <pid> <major>:<minor>:<inode> <start> <end>"
    return any(
        len(fields) > 6
        and fields[1] == "->"
        and fields[5] == str(pid)
        and fields[6].endswith(":" + inode)
        for fields in (line.split() for line in PROC_LOCKS.read_text().splitlines())
    )


def wait_until_waiting(proc: subprocess.Popen[str], lock_path: Path, timeout: float = 30) -> None:
    """Readiness probe: poll ``/proc/locks`` until ``proc`` blocks on the writer lock."""
    deadline = time.monotonic() + timeout
    while not waits_for_lock(proc.pid, lock_path):
        assert proc.poll() is None, "the second generate ended instead of waiting"
        assert time.monotonic() < deadline, "the second generate never waited for the lock"
        time.sleep(0.01)


def test_second_generate_is_refused_as_busy_while_the_first_runs(workspace: Path) -> None:
    write_tree(workspace, FILES)
    server = FakeProviderServer(path_pattern=TASK_PATH)
    server.close_gate()
    url = server.start_in_thread()
    try:
        write_fake_profile(workspace, f"{url}/v1")
        first = start_generate(workspace)
        try:
            server.wait_for_requests_blocking(1, timeout=30)  # the first holds the lock
            second = run_cli("-w", str(workspace), "generate", "--provider", "fake", "--json")
            held = len(server.requests)
        finally:
            server.open_gate()
            first_out, first_err = finish(first)
    finally:
        server.stop()

    assert second.returncode == 75, second.stderr
    assert f"workspace busy (pid {first.pid})" in second.stderr
    assert second.stdout == ""
    assert held == 1  # the refused command sent nothing
    assert first.returncode == 0, first_err
    assert json.loads(first_out)["totals"]["done"] == len(NODES)
    assert sorted(str(r.node_path) for r in server.completion_requests()) == NODES
    with Store.open(workspace / ".contextree" / "store.db") as store:
        last = LedgerRows(store.conn).last_run()
    assert last is not None
    assert (last.run_id, last.status, last.pid) == (1, "succeeded", first.pid)


@pytest.mark.skipif(not PROC_LOCKS.exists(), reason="needs /proc/locks to see the waiting writer")
def test_second_generate_with_wait_runs_after_the_first_and_finds_everything_current(
    workspace: Path,
) -> None:
    write_tree(workspace, FILES)
    lock_path = workspace / ".contextree" / "lock"
    server = FakeProviderServer(path_pattern=TASK_PATH)
    server.close_gate()
    url = server.start_in_thread()
    try:
        write_fake_profile(workspace, f"{url}/v1")
        first = start_generate(workspace)
        second: subprocess.Popen[str] | None = None
        try:
            server.wait_for_requests_blocking(1, timeout=30)
            second = start_generate(workspace, "--wait")
            wait_until_waiting(second, lock_path)
            assert len(server.requests) == 1  # still held: the first has not finished
        finally:
            server.open_gate()
            first_out, first_err = finish(first)
            second_out, second_err = finish(second) if second is not None else ("", "")
    finally:
        server.stop()

    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert json.loads(first_out)["totals"]["done"] == len(NODES)
    totals = json.loads(second_out)["totals"]
    assert (totals["planned"], totals["done"], totals["skipped"]) == (0, 0, len(NODES))
    # No duplicate provider calls: every node was asked for once, by the first command.
    assert sorted(str(r.node_path) for r in server.completion_requests()) == NODES
    with Store.open(workspace / ".contextree" / "store.db") as store:
        runs = LedgerRows(store.conn).runs_with_status("succeeded")
    assert [(r.run_id, r.pid, r.planned) for r in runs] == [
        (1, first.pid, len(NODES)),
        (2, second.pid, 0),
    ]
    assert runs[0].finished_at_ns is not None
    assert runs[1].started_at_ns > runs[0].finished_at_ns
