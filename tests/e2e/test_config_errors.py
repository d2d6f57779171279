"""A config file contextree cannot read ends in one clear error naming the file, never a
traceback (issue 13, item 13)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.helpers.cli import run_cli


def test_a_non_utf8_workspace_config_is_a_clean_config_error(workspace: Path) -> None:
    config = workspace / ".contextree" / "config.toml"
    config.parent.mkdir()
    config.write_bytes(b"\xff\xfe")
    result = run_cli("-w", str(workspace), "status")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "UnicodeDecodeError" not in result.stderr
    assert str(config) in result.stderr
    assert "UTF-8" in result.stderr


def test_a_non_utf8_user_config_is_a_clean_config_error(workspace: Path) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "contextree" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_bytes(b'default_agent = "\xe9"\n')
    result = run_cli("-w", str(workspace), "status")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert str(config) in result.stderr
