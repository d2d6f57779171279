"""``contextree init``, ``scan`` and ``status`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

from contextree import __version__


def test_version_prints_the_package_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"contextree {__version__}"


def test_scan_works_without_init_and_creates_what_it_needs(workspace: Path) -> None:
    write_tree(workspace, {"src/a.py": "x = 1\n", "README.md": "# hi\n"})
    result = run_cli("scan", cwd=workspace)
    assert result.returncode == 0, result.stderr
    assert "Scanned 2 files and 2 directories" in result.stdout
    assert (workspace / ".contextree" / "store.db").is_file()


def test_init_creates_store_config_and_ignore_file_and_is_idempotent(workspace: Path) -> None:
    first = run_cli("--workspace", str(workspace), "init", "--json")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["schema_version"] == 1
    assert sorted(Path(p).name for p in doc["created"]) == [
        ".contextreeignore",
        "config.toml",
        "store.db",
    ]
    config = (workspace / ".contextree" / "config.toml").read_text()
    assert '# default_agent = "docs-writer"' in config
    second = run_cli("--workspace", str(workspace), "init", "--json")
    assert json.loads(second.stdout)["created"] == []


def test_scan_json_and_status_json_agree(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "a", "d/b.txt": "b"})
    scanned = json.loads(run_cli("-w", str(workspace), "scan", "--json").stdout)
    status = json.loads(run_cli("-w", str(workspace), "status", "--json").stdout)
    assert scanned["root_id"] == status["root_id"]
    assert (status["files"], status["directories"]) == (2, 2)
    assert status["changes_since_scan"] == {"added": [], "modified": [], "removed": []}
    assert sorted(scanned["changes"]["added"]) == [".", "a.txt", "d", "d/b.txt"]


def test_status_shows_changes_since_the_last_scan(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "a", "b.txt": "b"})
    run_cli("-w", str(workspace), "scan")
    write_tree(workspace, {"a.txt": "changed", "c.txt": "new"})
    (workspace / "b.txt").unlink()
    result = run_cli("-w", str(workspace), "status")
    assert result.returncode == 0
    assert "1 added, 1 modified, 1 removed since the last scan" in result.stdout
    assert "+ c.txt" in result.stdout and "~ a.txt" in result.stdout
    assert "- b.txt" in result.stdout


def test_commands_run_in_a_subdirectory_find_the_workspace(workspace: Path) -> None:
    write_tree(workspace, {"deep/er/a.txt": "a"})
    run_cli("-w", str(workspace), "init")
    result = run_cli("status", "--json", cwd=workspace / "deep" / "er")
    assert json.loads(result.stdout)["workspace"] == str(workspace.resolve())


def test_missing_workspace_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    result = run_cli("--workspace", str(tmp_path / "nope"), "scan")
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_is_a_usage_error_naming_file_and_setting(workspace: Path) -> None:
    (workspace / ".contextree").mkdir()
    (workspace / ".contextree" / "config.toml").write_text("[scan]\nhash_processes = -1\n")
    result = run_cli("-w", str(workspace), "scan")
    assert result.returncode == 2
    assert "config.toml" in result.stderr and "scan.hash_processes" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_damaged_store_gives_a_clear_message(workspace: Path) -> None:
    (workspace / ".contextree").mkdir()
    (workspace / ".contextree" / "store.db").write_bytes(b"garbage" * 1000)
    result = run_cli("-w", str(workspace), "scan")
    assert result.returncode == 1
    assert "not a usable contextree store" in result.stderr
    assert "Traceback" not in result.stderr


def test_scan_reports_odd_files_on_stderr(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "a"})
    (workspace / "link").symlink_to("a.txt")
    result = run_cli("-w", str(workspace), "-v", "scan")
    assert "1 symlinks not followed" in result.stderr
    assert "symlink: link -> a.txt" in result.stderr


def test_global_options_may_follow_the_command_name() -> None:
    from contextree.cli.app import hoist_global_options

    assert hoist_global_options(["scan", "-q", "--json"]) == ["-q", "scan", "--json"]
    assert hoist_global_options(["get", "a", "-w", "/ws", "-v"]) == ["-w", "/ws", "-v", "get", "a"]
    assert hoist_global_options(["get", "--", "-q"]) == ["get", "--", "-q"]


def test_status_reports_frame_coverage_and_check_gates_on_it(workspace: Path) -> None:
    write_tree(workspace, {"src/a.py": "x = 1\n", "README.md": "# r\n"})
    assert run_cli("-w", str(workspace), "generate", "-q").returncode == 0
    current = run_cli("-w", str(workspace), "status", "--check", "--json")
    assert current.returncode == 0, current.stderr
    frames = json.loads(current.stdout)["frames"]
    assert frames["coverage"] == {
        "agent": "docs-writer",
        "provider": "structural",
        "frame_type": "context-docs-writer",
        "nodes": 4,
        "current": 4,
        "missing": 0,
    }
    write_tree(workspace, {"src/a.py": "x = 2\n"})
    run_cli("-w", str(workspace), "scan", "-q")
    stale = run_cli("-w", str(workspace), "status", "--check")
    assert stale.returncode == 1
    assert "1/4 nodes current for docs-writer via structural" in stale.stdout
    assert "run `contextree generate` for the other 3" in stale.stdout
