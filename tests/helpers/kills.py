"""Killing ``contextree generate`` at a deterministic point: when its Nth request reaches the
fake provider server. Shared by the SIGKILL tests and the reliability benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.provider_server import FakeProviderServer, RecordedRequest

#: Names files and directories alike by the task line every built-in template renders.
TASK_PATH = r"the (?:file|directory) at (\S+) \("


def expected_content(path: str) -> bytes:
    """What the fake server answers for ``path`` by default."""
    return f"# {path}\n\nSummary of {path} from the fake provider.\n".encode()


def generate_args(workspace: Path, concurrency: int) -> list[str]:
    """The arguments of ``contextree generate`` on the ``fake`` profile."""
    return [
        *("-w", str(workspace), "generate", "--provider", "fake"),
        *("--concurrency", str(concurrency), "--json"),
    ]


def generate_argv(workspace: Path, concurrency: int) -> list[str]:
    """``generate_args`` as a command line run by this interpreter."""
    return [sys.executable, "-m", "contextree", *generate_args(workspace, concurrency)]


@dataclass(kw_only=True)
class KilledRun:
    """What the server had seen of one run when it killed the client."""

    #: Paths of this run's requests before request N, in arrival order.
    sent_before: tuple[str, ...] = ()
    #: Paths of this run's requests the server had answered when it killed the client.
    answered: frozenset[str] = frozenset()
    #: The kill was delivered and the process died of it.
    killed: bool = False
    stderr: str = ""


def generate_until_killed(
    server: FakeProviderServer,
    argv: list[str],
    *,
    kill_at: int,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> KilledRun:
    """Run ``argv`` in a process group of its own; SIGKILL the group as the run's request
    ``kill_at`` arrives at ``server``."""
    offset = len(server.requests)
    started = threading.Event()
    pid: list[int] = []
    report = KilledRun()
    delivered = threading.Event()

    def on_request(number: int, record: RecordedRequest) -> None:
        if number != offset + kill_at:
            return
        started.wait()
        mine = [r for r in server.completion_requests() if offset <= r.index < record.index]
        report.sent_before = tuple(str(r.node_path) for r in mine)
        report.answered = frozenset(
            str(r.node_path) for r in server.answered_requests() if r.index >= offset
        )
        delivered.set()
        os.killpg(pid[0], signal.SIGKILL)

    server.on_request = on_request
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill takes any helper with it
    )
    pid.append(proc.pid)
    started.set()
    try:
        _, report.stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        server.on_request = None
    report.killed = delivered.is_set() and proc.returncode == -signal.SIGKILL
    return report
