"""Ctrl-C during ``generate``: intake stops, work in flight is cancelled after the grace
period, the ledger records what was cancelled, and the command exits 130 with a summary."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Fault, Reply
from tests.helpers.trees import write_tree
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.store.db import Store
from contextree.store.ledger import LedgerRows


def test_sigint_cancels_in_flight_work_records_it_and_exits_130(workspace: Path) -> None:
    write_tree(workspace, {f"src/m{i}.py": f"x = {i}\n" for i in range(6)})
    server = FakeProviderServer(default=Reply(fault=Fault.HANG))
    url = server.start_in_thread()
    try:
        write_user_fake_profile(f"{url}/v1")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "contextree",
                "-w",
                str(workspace),
                "generate",
                "--provider",
                "fake",
                "--concurrency",
                "2",
                "--grace",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            server.wait_for_requests_blocking(2)  # readiness: two calls are hanging
            os.kill(proc.pid, signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    finally:
        server.stop()
    assert proc.returncode == 130, stderr
    assert "Interrupted." in stderr
    assert "generated 0 frames" in stdout
    with Store.open(workspace / ".contextree" / "store.db") as store:
        rows = LedgerRows(store.conn)
        run = rows.last_run()
        assert run is not None
        assert run.status == "interrupted"
        assert (run.planned, run.done, run.cancelled) == (8, 0, 8)
        assert len(rows.nodes(run.run_id, ["cancelled"])) == 8
    assert len(server.completion_requests()) == 2  # nothing new was sent after Ctrl-C
