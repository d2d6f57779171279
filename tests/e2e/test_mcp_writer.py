"""``contextree mcp`` beside a writer: reads never wait for a running ``generate`` (the server's
SQLite busy timeout is 0 here, so any wait for a lock would fail the read at once; nothing is
timed), and ``refresh`` goes through the workspace trust check and the writer lock.

The running ``generate`` is held by the fake provider server's gate: its first provider call
is recorded and left unanswered while the test reads through MCP, so the writer holds the lock
(and its store open, in WAL mode) for exactly as long as the reads take.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.cli import run_cli
from tests.helpers.mcp import answer_data, error_text, stdio_session
from tests.helpers.profiles import write_fake_profile
from tests.helpers.trees import write_tree

TASK_PATH = r"the (?:file|directory) at (\S+) \("
FILES = {f"src/m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(4)}


async def test_reads_succeed_while_a_generate_holds_the_writer_lock(
    workspace: Path, tmp_path: Path
) -> None:
    write_tree(workspace, FILES)
    assert run_cli("-w", str(workspace), "generate").returncode == 0  # structural frames
    server = FakeProviderServer(path_pattern=TASK_PATH)
    server.close_gate()
    url = server.start_in_thread()
    try:
        write_fake_profile(workspace, f"{url}/v1")
        (workspace / "src" / "m0.py").write_text("def f0(x):\n    return x\n")
        writer = subprocess.Popen(
            [
                *(sys.executable, "-m", "contextree", "-w", str(workspace), "generate"),
                *("--provider", "fake", "--concurrency", "1"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            server.wait_for_requests_blocking(1, timeout=30)  # held mid-call, lock taken
            async with stdio_session(workspace, record=tmp_path / "r", busy_timeout_ms=0) as c:
                results = {
                    "frame": await c.call_tool("get_frame", {"path": "src/m1.py"}),
                    "pack": await c.call_tool("get_context", {"path": "src"}),
                    "children": await c.call_tool("list_children", {"path": "src"}),
                    "search": await c.call_tool("search", {"query": "f2"}),
                    "status": await c.call_tool("workspace_status", {}),
                }
            assert writer.poll() is None  # the reads ran while the writer was still held
        finally:
            server.open_gate()
            _, err = writer.communicate(timeout=60)
    finally:
        server.stop()

    for name, result in results.items():
        assert not result.is_error, (name, result.content[0].text)
    assert answer_data(results["frame"])["frames"][0]["fresh"] is True
    kids = answer_data(results["children"])
    assert kids["stale"] == ["src/m0.py"]  # edited before the held run: stale, and said so
    assert [h["path"] for h in answer_data(results["search"])["hits"]] == ["src/m2.py"]
    assert answer_data(results["status"])["scanned"] is True
    assert writer.returncode == 0, err


async def test_refresh_is_refused_for_an_untrusted_workspace_provider(
    workspace: Path, tmp_path: Path
) -> None:
    write_tree(workspace, FILES)
    assert run_cli("-w", str(workspace), "generate").returncode == 0
    server = FakeProviderServer(path_pattern=TASK_PATH)
    url = server.start_in_thread()
    try:
        data = workspace / ".contextree"
        (data / "providers").mkdir(parents=True, exist_ok=True)
        (data / "providers" / "x.toml").write_text(
            f'name = "x"\ntype = "openai"\nmodel = "m"\nbase_url = "{url}/v1"\n'
            'api_key_env = "OPENAI_API_KEY"\n'
        )
        (data / "config.toml").write_text('default_provider = "x"\n')
        (workspace / "src" / "m1.py").write_text("def f1(y):\n    return y\n")
        async with stdio_session(workspace, "--allow-generate", record=tmp_path / "r") as c:
            refused = await c.call_tool("refresh", {"path": "src/m1.py"})
            frame = await c.call_tool("get_frame", {"path": "src/m1.py"})
    finally:
        server.stop()

    text = error_text(refused)
    assert "providers/x.toml" in text and "contextree trust" in text
    assert answer_data(refused)["error"]["class"] == "provider_config_error"
    assert server.requests == []  # refused before any request
    assert answer_data(frame)["on_disk"] == "changed"  # nothing was regenerated


async def test_refresh_while_another_writer_runs_is_a_busy_tool_error(
    workspace: Path, tmp_path: Path
) -> None:
    write_tree(workspace, FILES)
    server = FakeProviderServer(path_pattern=TASK_PATH)
    server.close_gate()
    url = server.start_in_thread()
    try:
        write_fake_profile(workspace, f"{url}/v1")
        writer = subprocess.Popen(
            [
                *(sys.executable, "-m", "contextree", "-w", str(workspace), "generate"),
                *("--provider", "fake", "--concurrency", "1"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            server.wait_for_requests_blocking(1, timeout=30)
            async with stdio_session(workspace, "--allow-generate", record=tmp_path / "r") as c:
                busy = await c.call_tool("refresh", {"path": "src"})
            held = len(server.requests)
        finally:
            server.open_gate()
            writer.communicate(timeout=60)
    finally:
        server.stop()

    assert f"workspace busy (pid {writer.pid})" in error_text(busy)
    assert answer_data(busy)["error"]["class"] == "workspace_busy_error"
    assert held == 1  # the refused refresh sent nothing
