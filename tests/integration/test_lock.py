"""The workspace writer lock: fail fast when busy, released by the kernel on SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

from contextree.errors import WorkspaceBusyError
from contextree.workspace.lock import writer_lock


def test_second_writer_in_process_is_refused_with_the_holder_pid(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    with writer_lock(lock), pytest.raises(WorkspaceBusyError) as info, writer_lock(lock):
        pass
    assert info.value.pid == os.getpid()
    assert info.value.message == f"workspace busy (pid {os.getpid()})"
    assert info.value.exit_code == 75


def test_lock_is_free_again_after_release(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    with writer_lock(lock):
        pass
    with writer_lock(lock):
        pass


def test_scan_exits_75_at_once_while_another_writer_holds_the_lock(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "a"})
    with writer_lock(workspace / ".contextree" / "lock"):
        busy = run_cli("--workspace", str(workspace), "scan")
        status = run_cli("--workspace", str(workspace), "status")
    assert busy.returncode == 75, busy.stderr
    assert f"workspace busy (pid {os.getpid()})" in busy.stderr
    assert "Traceback" not in busy.stderr
    # Readers never wait for the writer lock.
    assert status.returncode == 0, status.stderr
    assert "Not scanned yet" in status.stdout


_HOLDER = """
import sys, pathlib
from contextree.workspace.lock import writer_lock
with writer_lock(pathlib.Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_lock_is_released_when_the_holder_is_killed(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WorkspaceBusyError) as info, writer_lock(lock):
            pass
        assert info.value.pid == holder.pid
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        with writer_lock(lock):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()


def test_waiting_writer_says_whom_it_waits_for_then_gets_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    told: list[int | None] = []

    def release_when_told(pid: int | None) -> None:
        told.append(pid)
        assert holder.stdin is not None
        holder.stdin.close()  # the holder exits and the kernel drops its lock

    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with writer_lock(lock, wait=True, on_wait=release_when_told):
            assert told == [holder.pid]
    finally:
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
