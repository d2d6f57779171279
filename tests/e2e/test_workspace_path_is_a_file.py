"""A workspace path that is a file, and a ``.contextree`` that is a file, give one clean error
(issue 13, item 13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helpers.cli import run_cli


@pytest.mark.parametrize("command", [["status"], ["scan"], ["get", "."], ["verify"], ["init"]])
def test_a_workspace_path_that_is_a_file(tmp_path: Path, command: list[str]) -> None:
    somefile = tmp_path / "somefile"
    somefile.write_text("not a directory\n")
    result = run_cli("-w", str(somefile), *command)
    assert result.returncode == 2, result.stderr
    assert f"workspace {somefile} is not a directory" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["status"], ["scan"], ["generate"]])
def test_a_data_dir_that_is_a_file(workspace: Path, command: list[str]) -> None:
    (workspace / "a.txt").write_text("a\n")
    (workspace / ".contextree").write_text("a file where the directory belongs\n")
    result = run_cli("-w", str(workspace), *command)
    assert result.returncode in {1, 2}, result.stderr
    assert ".contextree" in result.stderr
    assert "Traceback" not in result.stderr
