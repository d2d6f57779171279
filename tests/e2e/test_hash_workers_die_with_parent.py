"""A SIGKILLed scan leaves no hashing worker behind and no traceback (issue 13, item 14)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.trees import write_tree

WORKER_MODULE = b"contextree.workspace.hash_worker"


def _workers_of(workspace: Path) -> list[int]:
    """Pids of live hashing workers for ``workspace`` (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if WORKER_MODULE in cmdline and os.fsencode(workspace) in cmdline and state != "Z":
            found.append(int(entry))
    return found


def _wait_until_gone(workspace: Path, bound_s: float = 30.0) -> list[int]:
    """Poll (bounded) until no worker of ``workspace`` is alive; the ones left at the bound."""
    deadline = time.monotonic() + bound_s
    while (left := _workers_of(workspace)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_killed_scan_leaves_no_worker_and_no_traceback(workspace: Path) -> None:
    if not sys.platform.startswith("linux"):
        return
    write_tree(workspace, {f"d{i % 40}/f{i}.txt": f"content {i}\n" * 200 for i in range(4000)})
    (workspace / ".contextree").mkdir()
    (workspace / ".contextree" / "config.toml").write_text("[scan]\nhash_processes = 3\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.kill_at_hash", "-w", str(workspace), "scan"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _, stderr = proc.communicate(timeout=120)  # returns once every writer of stderr exits
    finally:
        if proc.poll() is None:
            proc.kill()
    leftover = _wait_until_gone(workspace)
    for pid in leftover:  # do not leave them behind for other tests
        os.kill(pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert leftover == []
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")
    assert b"BrokenPipeError" not in stderr
