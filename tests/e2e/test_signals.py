"""SIGTERM and SIGHUP stop ``generate`` as Ctrl-C does (intake stops, in-flight calls get
``--grace``, the run is recorded ``interrupted``, the summary is printed, exit 128+signal); a
signal during the scan sends no provider call; writing to a closed terminal is no traceback;
``status`` never calls a run whose process is gone ``running``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Fault, Reply
from tests.helpers.cli import run_cli
from tests.helpers.kills import generate_until_killed
from tests.helpers.trees import write_tree
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.store.db import Store
from contextree.store.ledger import LedgerRows

REPO = Path(__file__).resolve().parents[2]
FILES = {f"src/m{i}.py": f"x = {i}\n" for i in range(6)}


def _generate(workspace: Path, *front: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(front or (sys.executable, "-m", "contextree")),
            *("-w", str(workspace), "generate", "--provider", "fake"),
            *("--concurrency", "2", "--grace", "0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=REPO,
        env=dict(os.environ, COLUMNS="200"),
    )


def _last_run_status(workspace: Path) -> str:
    with Store.open(workspace / ".contextree" / "store.db") as store:
        run = LedgerRows(store.conn).last_run()
        assert run is not None
        return run.status


def _status_says(workspace: Path) -> str:
    done = run_cli("-w", str(workspace), "status", "--json", "--no-changes")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["frames"]["last_run"]["status"])


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_stop_like_ctrl_c(
    workspace: Path, sig: signal.Signals, code: int
) -> None:
    write_tree(workspace, FILES)
    server = FakeProviderServer(default=Reply(fault=Fault.HANG))
    url = server.start_in_thread()
    try:
        write_user_fake_profile(f"{url}/v1")
        proc = _generate(workspace)
        try:
            server.wait_for_requests_blocking(2)  # two calls are hanging
            os.kill(proc.pid, sig)
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    finally:
        server.stop()
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert f"Interrupted by {sig.name}." in stderr
    assert "generated 0 frames" in stdout  # the summary
    assert len(server.completion_requests()) == 2  # nothing new after the signal
    assert _last_run_status(workspace) == "interrupted"
    assert _status_says(workspace) == "interrupted"


def test_sighup_with_the_terminal_gone_is_no_traceback(workspace: Path) -> None:
    write_tree(workspace, FILES)
    server = FakeProviderServer(default=Reply(fault=Fault.HANG))
    url = server.start_in_thread()
    try:
        write_user_fake_profile(f"{url}/v1")
        proc = _generate(workspace)
        try:
            server.wait_for_requests_blocking(2)
            assert proc.stdout is not None and proc.stderr is not None
            proc.stdout.close()  # the terminal went away: the summary meets EPIPE
            os.kill(proc.pid, signal.SIGHUP)
            with proc.stderr:
                stderr = proc.stderr.read()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        server.stop()
    assert proc.returncode == 129, stderr
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr
    assert _last_run_status(workspace) == "interrupted"


def test_ctrl_c_during_the_scan_sends_no_provider_call(workspace: Path) -> None:
    write_tree(workspace, {f"src/m{i:02}.py": f"x = {i}\n" for i in range(40)})
    server = FakeProviderServer()
    url = server.start_in_thread()
    try:
        write_user_fake_profile(f"{url}/v1")
        proc = _generate(workspace, sys.executable, "-m", "tests.helpers.signal_at_scan", "SIGINT")
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        server.stop()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert server.completion_requests() == []
    assert "generated 0 frames" in stdout
    assert _last_run_status(workspace) == "interrupted"


def test_status_reports_a_killed_run_as_interrupted_not_running(workspace: Path) -> None:
    write_tree(workspace, FILES)
    server = FakeProviderServer(default=Reply(fault=Fault.HANG))
    url = server.start_in_thread()
    try:
        write_user_fake_profile(f"{url}/v1")
        argv = [sys.executable, "-m", "contextree", "-w", str(workspace), "generate"]
        argv += ["--provider", "fake", "--concurrency", "2"]
        killed = generate_until_killed(server, argv, kill_at=2)
    finally:
        server.stop()
    assert killed.killed, killed.stderr
    assert _last_run_status(workspace) == "running"  # nobody closed it: the process died
    assert _status_says(workspace) == "interrupted"


def test_a_second_ctrl_c_during_the_scan_stops_there(workspace: Path) -> None:
    write_tree(workspace, {f"src/m{i:02}.py": f"x = {i}\n" for i in range(10)})
    server = FakeProviderServer()
    url = server.start_in_thread()
    try:
        write_user_fake_profile(f"{url}/v1")
        argv = (sys.executable, "-m", "tests.helpers.signal_at_scan", "SIGINT,SIGINT")
        proc = _generate(workspace, *argv)
        _, stderr = proc.communicate(timeout=60)
    finally:
        server.stop()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "Interrupted before any provider request was sent" in stderr
    assert server.completion_requests() == []
