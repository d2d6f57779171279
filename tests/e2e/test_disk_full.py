"""A store that fills up mid-``generate`` (SQLITE_FULL, as on a full disk, through
``PRAGMA max_page_count``): one clear error, no traceback, the ``--json`` document still
printed, the run finalised in the ledger, exit 1, and every frame written before is kept and
current."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.store.db import Store
from contextree.store.ledger import LedgerRows


def _capped_generate(workspace: Path, pages: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "tests.helpers.disk_full", str(pages)),
            *("-w", str(workspace), "generate", "--provider", "fake"),
            *("--concurrency", "2", "--no-scan", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, COLUMNS="200"),
        cwd=Path(__file__).resolve().parents[2],
    )


def test_disk_full_mid_generate_is_one_clear_error_and_loses_nothing(workspace: Path) -> None:
    # Distinct, incompressible-ish files: each frame's prompt artifact takes pages of its own.
    write_tree(
        workspace,
        {
            f"pkg/m{i:02}.py": "".join(f"v{i}_{j} = {j * 7919 + i}\n" for j in range(300))
            for i in range(40)
        },
    )
    server = FakeProviderServer()
    url = server.start_in_thread()
    try:
        write_user_fake_profile(f"{url}/v1")
        assert run_cli("-w", str(workspace), "scan").returncode == 0
        done = _capped_generate(workspace, pages=40)
    finally:
        server.stop()

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("disk full writing .contextree/store.db") == 1, done.stderr
    assert "free space and rerun" in done.stderr
    doc = json.loads(done.stdout)
    assert doc["status"] == "failed"
    assert doc["error"]["kind"] == "disk_full"
    kept = doc["error"]["frames_kept"]
    assert 0 < kept < 41
    assert f"{kept} frames kept" in done.stderr or f"{kept} frame kept" in done.stderr
    # Requests stop once the store is full: at most the calls already in flight go on.
    assert len(server.completion_requests()) <= kept + 1 + 2 * 2

    with Store.open(workspace / ".contextree" / "store.db") as store:
        run = LedgerRows(store.conn).last_run()
        assert run is not None
        assert run.status == "failed"
        assert run.finished_at_ns is not None

    status = run_cli("-w", str(workspace), "status", "--json", "--provider", "fake")
    assert status.returncode == 0, status.stderr
    frames = json.loads(status.stdout)["frames"]
    assert frames["coverage"]["current"] == kept
    assert frames["last_run"]["status"] == "failed"
