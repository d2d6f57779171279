"""``-h`` works like ``--help`` on the app and every command; shell completion is offered."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests.helpers.cli import run_cli


@pytest.mark.parametrize(
    "command",
    [(), ("scan",), ("generate",), ("context", "get"), ("provider",), ("provider", "add")],
)
def test_dash_h_is_help(command: tuple[str, ...]) -> None:
    short = run_cli(*command, "-h")
    long = run_cli(*command, "--help")
    assert short.returncode == 0, short.stderr
    assert short.stdout == long.stdout
    assert "Usage:" in short.stdout
    assert "-h, --help" in short.stdout


def test_shell_completion_is_enabled() -> None:
    top = run_cli("--help")
    assert "--install-completion" in top.stdout
    assert "--show-completion" in top.stdout
    script = run_cli("--show-completion", "bash")
    assert script.returncode == 0, script.stderr
    assert "complete" in script.stdout
    # The completion protocol itself lists the (lazily loaded) commands.
    done = subprocess.run(
        [sys.executable, "-c", "from contextree.cli.app import app; app(prog_name='contextree')"],
        env=dict(
            os.environ,
            _CONTEXTREE_COMPLETE="complete_bash",
            COMP_WORDS="contextree gen",
            COMP_CWORD="1",
        ),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert "generate" in done.stdout.split()
