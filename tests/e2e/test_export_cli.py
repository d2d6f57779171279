"""``contextree export`` as a user runs it: documents on stdout, AGENTS.md blocks, and
``export --check`` as a CI gate (exit 0 when current, 1 naming a stale block, 2 for misuse)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

ENV = {"CONTEXTREE_SCAN__HASH_PROCESSES": "1"}


def _cli(root: Path, *args: str) -> tuple[int, str, str]:
    done = run_cli("--workspace", str(root), *args, env=ENV)
    return done.returncode, done.stdout, done.stderr


def test_generate_export_generate_check_then_an_edit_fails_the_check(workspace: Path) -> None:
    write_tree(workspace, {"app.py": "A = 1\n", "AGENTS.md": "# Notes\n\nmine\n"})
    assert _cli(workspace, "generate", "-q")[0] == 0
    code, out, err = _cli(workspace, "export", "--format", "agents-md")
    assert code == 0, err
    assert out == "updated: AGENTS.md\n"
    assert "1 file written" in err
    text = (workspace / "AGENTS.md").read_text()
    assert text.startswith("# Notes\n\nmine\n<!-- contextree:begin node=")
    code, out, _ = _cli(workspace, "generate", "--json")
    assert code == 0
    assert json.loads(out)["totals"]["done"] == 0
    code, out, err = _cli(workspace, "export", "--check")
    assert (code, out) == (0, ""), err
    assert "1 block current" in err
    write_tree(workspace, {"app.py": "A = 2\n"})
    code, out, err = _cli(workspace, "export", "--check")
    assert code == 1
    assert out == "stale: AGENTS.md (the directory changed since the block was written)\n"
    assert "Run `contextree generate` then `contextree export --format agents-md`" in err
    code, out, _ = _cli(workspace, "export", "--check", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert [(b["path"], b["status"]) for b in doc["blocks"]] == [("AGENTS.md", "stale")]


def test_jsonl_and_markdown_go_to_stdout_and_misuse_exits_2(workspace: Path) -> None:
    write_tree(workspace, {"src/a.py": "A = 1\n", "b.md": "# B\n"})
    assert _cli(workspace, "generate", "-q")[0] == 0
    code, out, err = _cli(workspace, "export", "--format", "jsonl")
    assert code == 0, err
    assert [json.loads(line)["path"] for line in out.splitlines()] == [
        ".",
        "b.md",
        "src",
        "src/a.py",
    ]
    assert "export: 4 nodes as jsonl" in err
    code, out, _ = _cli(workspace, "export", "--format", "markdown", "src")
    assert code == 0
    assert out.startswith("# Context: src\n")
    assert "## `src/a.py` (file)" in out
    target = workspace.parent / "out.md"
    code, out, err = _cli(workspace, "export", "--format", "markdown", "--out", str(target))
    assert (code, out) == (0, "")
    assert target.read_text().startswith("# Context: .\n")
    for args in (
        ("export",),
        ("export", "--format", "html"),
        ("export", "--check", "--format", "jsonl"),
        ("export", "--format", "agents-md", "--out", str(target)),
        ("export", "--format", "jsonl", "--budget", "100"),
    ):
        code, _, err = _cli(workspace, *args)
        assert code == 2, (args, err)
        assert err.startswith("error: "), err


def test_a_symlinked_agents_md_is_refused_with_exit_2(workspace: Path, tmp_path: Path) -> None:
    write_tree(workspace, {"app.py": "A = 1\n"})
    secret = tmp_path / "bashrc"
    secret.write_text("alias ls=ls\n")
    (workspace / "AGENTS.md").symlink_to(secret)
    assert _cli(workspace, "generate", "-q")[0] == 0
    code, _, err = _cli(workspace, "export", "--format", "agents-md")
    assert code == 2
    assert "is a symbolic link; contextree never reads or writes a file through a symlink" in err
    assert secret.read_text() == "alias ls=ls\n"
