"""Text output never lets a control character from a file name or a frame reach the terminal:
names show escapes (``\\x1b``, ``\\n``) as ``ls`` does, frame text keeps its newlines and tabs
but shows every other control and bidi override as an escape; rich markup prints literally."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_get_cli import put
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

from contextree.cli.output import term_name, term_text

NAME = "a\x1b[31mb\nc.py"


def _no_raw_controls(text: str) -> None:
    assert "\x1b" not in text
    assert "\u202e" not in text


def test_term_name_and_term_text_escape_like_ls() -> None:
    assert term_name("a\x1b[31mb\nc\t.py") == "a\\x1b[31mb\\nc\\t.py"
    assert term_name("x\x7fy\x9bz\u202ew") == "x\\x7fy\\x9bz\\u202ew"
    assert term_text("line 1\n\tline 2\x1b[2J\r\u2066") == "line 1\n\tline 2\\x1b[2J\\r\\u2066"
    assert term_name("[red]plain[/red] é") == "[red]plain[/red] é"


def test_get_and_status_escape_a_hostile_name_and_frame_text(workspace: Path) -> None:
    write_tree(workspace, {NAME: "x = 1\n", "ok.py": "y = 2\n"})
    assert run_cli("-w", str(workspace), "scan").returncode == 0
    put(workspace, NAME, "Summary [red]not markup[/red]\n\tindented\x1b]0;pwned\x07 \u202eevil\n")

    got = run_cli("-w", str(workspace), "get", str(workspace / NAME))
    assert got.returncode == 0, got.stderr
    _no_raw_controls(got.stdout + got.stderr)
    assert "Path: a\\x1b[31mb\\nc.py (file" in got.stdout
    assert "Summary [red]not markup[/red]\n" in got.stdout  # rich markup is not interpreted
    assert "indented\\x1b]0;pwned\\a \\u202eevil" in got.stdout

    # JSON is unchanged: the name and the text round-trip exactly.
    doc = json.loads(run_cli("-w", str(workspace), "get", str(workspace / NAME), "--json").stdout)
    assert doc["path"] == NAME
    assert doc["frames"][0]["content"].startswith("Summary [red]")

    (workspace / NAME).write_text("x = 2\n")
    status = run_cli("-w", str(workspace), "status")
    assert status.returncode == 0, status.stderr
    _no_raw_controls(status.stdout + status.stderr)
    assert "  ~ a\\x1b[31mb\\nc.py" in status.stdout


def test_an_error_naming_a_hostile_path_is_escaped(workspace: Path) -> None:
    write_tree(workspace, {"ok.py": "y = 2\n"})
    assert run_cli("-w", str(workspace), "scan").returncode == 0
    got = run_cli("-w", str(workspace), "get", "missing\x1b[31m\nfile.py")
    assert got.returncode != 0
    _no_raw_controls(got.stdout + got.stderr)
    assert "Traceback" not in got.stderr
    assert "missing\\x1b[31m" in got.stderr
