"""A workspace the user cannot write (0555, root-owned, run as uid 65534): every writer gives
one clean "cannot write .contextree/ in WS" error, nothing is created (issue 13, item 13)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers.trees import write_tree
from tests.helpers.unprivileged import (
    NOBODY,
    public_temp_dir,
    run_cli_as_nobody,
    unprivileged_skip,
)

_SKIP = unprivileged_skip()
pytestmark = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")


@pytest.fixture
def public_dir() -> Iterator[Path]:
    with public_temp_dir("ctx-ro-ws-") as path:
        yield path


@pytest.mark.parametrize("with_data_dir", [False, True])
def test_writers_in_a_read_only_workspace_say_what_to_do(
    public_dir: Path, with_data_dir: bool
) -> None:
    ws = public_dir / "ws"
    write_tree(ws, {"src/a.py": "x = 1\n"})
    if with_data_dir:
        (ws / ".contextree").mkdir()
    home = public_dir / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    for dirpath, _dirs, files in os.walk(ws):
        os.chmod(dirpath, 0o555)
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o444)
    before = sorted(p.name for p in ws.rglob("*"))

    for command in (["init"], ["scan"], ["generate"], ["gc"]):
        result = run_cli_as_nobody("-w", str(ws), *command, home=home)
        assert result.returncode in {1, 2}, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, (command, result.stderr)
        if command != ["gc"]:  # gc on a never-scanned workspace says to scan first
            assert f"cannot write .contextree/ in {ws}: permission denied" in result.stderr, (
                command,
                result.stderr,
            )
    status = run_cli_as_nobody("-w", str(ws), "status", home=home)
    assert status.returncode == 0, status.stderr
    assert "Not scanned yet" in status.stdout
    assert sorted(p.name for p in ws.rglob("*")) == before
