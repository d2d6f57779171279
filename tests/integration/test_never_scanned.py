"""``.git`` and ``.contextree`` are never scanned, whatever a (cloned) ignore file says.

A repository's ``.contextreeignore`` with ``!.git/`` would otherwise put ``.git/config``
(remote URLs often carry a token) into the tree and so into a provider's prompt.
"""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import run_cli


def test_negating_the_builtin_skips_does_not_scan_git_or_contextree(workspace: Path) -> None:
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text('[remote "origin"]\n\turl = https://t@x/r\n')
    (workspace / "sub" / ".git").mkdir(parents=True)
    (workspace / "sub" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (workspace / "a.py").write_text("A = 1\n")
    (workspace / ".contextreeignore").write_text("!.git\n!.git/**\n!.contextree\n!.contextree/**\n")

    scan = run_cli("scan", "--json", cwd=workspace)
    got = run_cli("get", ".git/config", cwd=workspace)
    listed = run_cli("status", "--json", cwd=workspace)

    assert scan.returncode == 0, scan.stderr
    assert got.returncode == 2
    assert "never scans" in got.stderr and "Traceback" not in got.stderr
    assert ".git" not in scan.stdout + listed.stdout
    assert ".contextree/" not in scan.stdout
