"""A store that came with a clone is not trusted: its frames are neither reused by generation
nor served as current by ``get`` or ``status`` until ``contextree verify --adopt`` (issue 13,
item 6). A store contextree creates is recorded (real path, random store id) in the user state
directory, which a repository cannot write."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree


def _generate(ws: Path) -> dict[str, Any]:
    result = run_cli("-w", str(ws), "generate", "--json")
    assert result.returncode == 0, result.stderr
    totals: dict[str, Any] = json.loads(result.stdout)["totals"]
    return totals


def _cloned(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace whose store this user made, and a copy of it (store included) elsewhere,
    as a clone that ships .contextree/store.db would be."""
    mine = tmp_path / "mine"
    write_tree(mine, {"src/a.py": "def a():\n    return 1\n", "README.md": "# r\n"})
    assert _generate(mine)["done"] == 4
    clone = tmp_path / "clone"
    shutil.copytree(mine, clone)
    return mine, clone


def test_a_store_contextree_made_stays_current(tmp_path: Path) -> None:
    mine, _clone = _cloned(tmp_path)
    assert _generate(mine)["skipped"] == 4
    assert run_cli("-w", str(mine), "status", "--check").returncode == 0
    assert run_cli("-w", str(mine), "get", "src/a.py").returncode == 0


def test_a_cloned_store_is_neither_reused_nor_served_until_adopted(tmp_path: Path) -> None:
    _mine, clone = _cloned(tmp_path)

    status = run_cli("-w", str(clone), "status", "--check", "--json")
    assert status.returncode == 1
    doc = json.loads(status.stdout)
    assert doc["store_adopted"] is False
    assert doc["frames"]["coverage"]["current"] == 0
    assert "contextree verify --adopt" in status.stderr

    get = run_cli("-w", str(clone), "get", "src/a.py")
    assert get.returncode == 2
    assert "came with the workspace" in get.stderr and "verify --adopt" in get.stderr
    assert "Summary" not in get.stdout and "def a" not in get.stdout

    # Generation reuses nothing: every node is generated again.
    assert _generate(clone)["done"] == 4

    adopt = run_cli("-w", str(clone), "verify", "--adopt")
    assert adopt.returncode == 0, adopt.stderr
    assert "Adopted" in adopt.stdout
    assert run_cli("-w", str(clone), "status", "--check").returncode == 0
    assert run_cli("-w", str(clone), "get", "src/a.py").returncode == 0
    assert _generate(clone)["skipped"] == 4


def test_a_forged_store_without_an_id_is_adopted_only_on_request(tmp_path: Path) -> None:
    _mine, clone = _cloned(tmp_path)
    store = clone / ".contextree" / "store.db"
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM meta")
    assert run_cli("-w", str(clone), "status", "--check").returncode == 1
    adopt = run_cli("-w", str(clone), "verify", "--adopt", "--json")
    assert adopt.returncode == 0, adopt.stderr
    assert json.loads(adopt.stdout)["adopted"] is True
    assert run_cli("-w", str(clone), "status", "--check").returncode == 0


def test_plain_verify_adopts_nothing(tmp_path: Path) -> None:
    _mine, clone = _cloned(tmp_path)
    assert run_cli("-w", str(clone), "verify").returncode == 0
    assert run_cli("-w", str(clone), "status", "--check").returncode == 1


def test_a_provider_run_on_an_unadopted_store_is_refused_before_any_request(
    tmp_path: Path,
) -> None:
    """Regenerating every frame of a store nobody adopted would cost a provider call per
    node (an upgraded store from before store records is in the same place): exit 2 naming
    `verify --adopt`, no request; once adopted, the same run makes no call at all."""
    from tests.fakes.provider_server import FakeProviderServer
    from tests.helpers.user_profiles import write_user_fake_profile

    server = FakeProviderServer()
    server.start_in_thread()
    try:
        write_user_fake_profile(server.openai_url)
        mine = tmp_path / "mine"
        write_tree(mine, {"src/a.py": "def a():\n    return 1\n", "README.md": "# r\n"})
        first = run_cli("-w", str(mine), "generate", "--provider", "fake")
        assert first.returncode == 0, first.stderr
        sent = len(server.completion_requests())
        assert sent == 4
        clone = tmp_path / "clone"
        shutil.copytree(mine, clone)

        refused = run_cli("-w", str(clone), "generate", "--provider", "fake")

        assert refused.returncode == 2, refused.stderr
        assert "verify --adopt" in refused.stderr and "4 frames" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert len(server.completion_requests()) == sent
        assert run_cli("-w", str(clone), "verify", "--adopt").returncode == 0
        again = run_cli("-w", str(clone), "generate", "--provider", "fake", "--json")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["totals"]["skipped"] == 4
        assert len(server.completion_requests()) == sent
    finally:
        server.stop()
