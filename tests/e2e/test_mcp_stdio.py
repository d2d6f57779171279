"""``contextree mcp`` over stdio, driven by the MCP SDK's own client against a generated
workspace: the tool listing (pinned by ``tests/fixtures/mcp/tools.json``), every tool called,
freshness in every answer, refusals as tool errors, and nothing but JSON-RPC on stdout.

After an intended change to a tool's name, description or schema,
``CONTEXTREE_UPDATE_PARITY=1 python3 -m uv run --frozen pytest tests/e2e/test_mcp_stdio.py``
rewrites the fixture (the test is then skipped); review the diff and commit it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tests.helpers.cli import run_cli
from tests.helpers.mcp import answer_data, error_text, stdio_session, stdout_lines
from tests.helpers.trees import write_tree

FIXTURE = Path(__file__).parents[1] / "fixtures" / "mcp" / "tools.json"
#: Read at import: the hermetic environment fixture clears every CONTEXTREE_* variable.
UPDATE = os.environ.get("CONTEXTREE_UPDATE_PARITY") == "1"
FILES = {
    "src/app.py": "def serve(port):\n    return port\n",
    "src/util.py": "def parse_config(text):\n    return text.split()\n",
    "README.md": "# Demo\n\nA demo project.\n",
    ".env": "API_KEY=sk-not-a-real-key\n",
}


@pytest.fixture
def generated(workspace: Path) -> Path:
    write_tree(workspace, FILES)
    done = run_cli("-w", str(workspace), "generate")
    assert done.returncode == 0, done.stderr
    return workspace


def _listing(tools: Any) -> list[dict[str, Any]]:
    return [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in tools.tools]


async def test_tool_listing_matches_the_golden_schemas(generated: Path, tmp_path: Path) -> None:
    async with stdio_session(generated, "--allow-generate", record=tmp_path / "a") as client:
        full = _listing(await client.list_tools())
    async with stdio_session(generated, record=tmp_path / "b") as client:
        read_only = _listing(await client.list_tools())

    if UPDATE:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n")
        pytest.skip(f"rewrote {FIXTURE}")
    assert full == json.loads(FIXTURE.read_text())
    assert [t["name"] for t in full] == [
        "get_context",
        "get_frame",
        "list_children",
        "search",
        "workspace_status",
        "refresh",
    ]
    assert read_only == full[:-1]  # read-only by default: no refresh
    for tool in full:
        assert tool["inputSchema"]["type"] == "object"
        assert tool["inputSchema"]["additionalProperties"] is False
        assert tool["annotations"]["readOnlyHint"] is (tool["name"] != "refresh")


async def test_every_tool_answers_with_freshness_and_stdout_is_only_protocol(
    generated: Path, tmp_path: Path
) -> None:
    record = tmp_path / "stdout.jsonl"
    async with stdio_session(generated, record=record) as client:
        frame = await client.call_tool("get_frame", {"path": "src/app.py"})
        context = await client.call_tool("get_context", {"path": "src/app.py", "budget": 2000})
        children = await client.call_tool("list_children", {"path": "src"})
        found = await client.call_tool("search", {"query": "parse_config"})
        status = await client.call_tool("workspace_status", {})
        root = await client.call_tool("get_frame", {"path": "."})

    got = answer_data(frame)
    assert (got["path"], got["kind"], got["on_disk"]) == ("src/app.py", "file", "unchanged")
    assert got["scanned_at"] is not None
    [head] = got["frames"]
    assert (head["current"], head["on_disk"], head["fresh"]) == (True, "unchanged", True)
    assert "def serve(port)" in head["text"]
    assert "note" not in got
    assert json.loads(frame.content[0].text) == got  # the text is the same facts

    pack = answer_data(context)
    assert context.content[0].text.startswith("# Context pack: src/app.py\n")
    assert pack["blocks"][0]["path"] == "src/app.py"
    assert [b["role"] for b in pack["blocks"]][:2] == ["target", "ancestor"]
    assert all(b["current"] and b["fresh"] for b in pack["blocks"])
    assert {b["on_disk"] for b in pack["blocks"]} <= {"unchanged", "directory"}
    assert pack["stale"] == []
    assert pack["estimate"] <= 2000

    kids = answer_data(children)
    assert [c["path"] for c in kids["children"]] == ["src/app.py", "src/util.py"]
    assert [c["on_disk"] for c in kids["children"]] == ["unchanged", "unchanged"]
    assert all(c["frame"]["current"] for c in kids["children"])
    assert kids["stale"] == [] and kids["scanned_at"] is not None

    hits = answer_data(found)["hits"]
    assert hits[0]["path"] == "src/util.py"
    assert (hits[0]["current"], hits[0]["on_disk"]) == (True, "unchanged")
    assert "«" in hits[0]["snippet"]

    state = answer_data(status)
    assert (state["scanned"], state["files"]) == (True, len(FILES))
    assert state["coverage"]["missing"] == 0
    assert state["coverage"]["current"] == state["coverage"]["nodes"] == len(FILES) + 2
    assert state["last_run"]["status"] == "succeeded"

    assert answer_data(root)["on_disk"] == "directory"

    lines = stdout_lines(record)
    assert len(lines) >= 8  # initialisation, the listing and six answers at least
    assert [x for x in lines if not x["ok"]] == []


async def test_an_edited_file_is_served_as_changed_on_disk(generated: Path, tmp_path: Path) -> None:
    (generated / "src" / "app.py").write_text("def serve(port, host):\n    return host\n")
    async with stdio_session(generated, record=tmp_path / "r") as client:
        frame = answer_data(await client.call_tool("get_frame", {"path": "src/app.py"}))
        kids = answer_data(await client.call_tool("list_children", {"path": "src"}))
        pack = answer_data(await client.call_tool("get_context", {"path": "src/app.py"}))

    assert frame["on_disk"] == "changed"
    assert (frame["frames"][0]["current"], frame["frames"][0]["fresh"]) == (True, False)
    assert "changed since this frame was written" in frame["note"]
    assert "contextree generate" in frame["note"]  # read-only: no refresh to point at
    assert kids["stale"] == ["src/app.py"]
    assert pack["stale"] == ["src/app.py"]


async def test_bad_paths_withheld_files_and_bad_arguments_are_tool_errors(
    generated: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not in the workspace\n")
    async with stdio_session(generated, record=tmp_path / "r") as client:
        calls = {
            "up": await client.call_tool("get_frame", {"path": "../outside.txt"}),
            "absolute": await client.call_tool("get_context", {"path": str(outside)}),
            "missing": await client.call_tool("list_children", {"path": "nope"}),
            "env": await client.call_tool("get_frame", {"path": ".env"}),
            "env_pack": await client.call_tool("get_context", {"path": "./.env"}),
            "env_search": await client.call_tool("search", {"query": "withheld"}),
            "refresh": await client.call_tool("refresh", {"path": "src"}),
            "type": await client.call_tool("get_frame", {"path": 3}),
            "extra": await client.call_tool("get_frame", {"path": "src", "depth": 2}),
            "budget": await client.call_tool("get_context", {"path": "src", "budget": 0}),
        }
        still_serving = await client.call_tool("get_frame", {"path": "src/app.py"})

    assert "../outside.txt is outside the workspace" in error_text(calls["up"])
    assert "is outside the workspace" in error_text(calls["absolute"])
    assert "nope does not exist in the workspace" in error_text(calls["missing"])
    for key in ("env", "env_pack"):
        text = error_text(calls[key])
        assert "is withheld" in text and "sk-not-a-real-key" not in text
        assert answer_data(calls[key])["error"]["class"] == "path_not_found_error"
    assert not calls["env_search"].is_error
    assert ".env" not in [h["path"] for h in answer_data(calls["env_search"])["hits"]]
    assert "refresh is off" in error_text(calls["refresh"])
    assert "--allow-generate" in error_text(calls["refresh"])
    assert "path must be a string, not int" in error_text(calls["type"])
    assert "get_frame takes no argument 'depth'" in error_text(calls["extra"])
    assert "budget must be between 1 and" in error_text(calls["budget"])
    for result in calls.values():
        assert "Traceback" not in result.content[0].text
    assert not still_serving.is_error


async def test_refresh_regenerates_what_changed_with_allow_generate(
    generated: Path, tmp_path: Path
) -> None:
    (generated / "src" / "util.py").write_text("def parse_toml(text):\n    return {}\n")
    async with stdio_session(generated, "--allow-generate", record=tmp_path / "r") as client:
        before = answer_data(await client.call_tool("get_frame", {"path": "src/util.py"}))
        refreshed = await client.call_tool("refresh", {"path": "src"})
        after = answer_data(await client.call_tool("get_frame", {"path": "src/util.py"}))

    assert "call refresh on the path" in before["note"]
    done = answer_data(refreshed)
    assert not refreshed.is_error, refreshed.content[0].text
    assert (done["succeeded"], done["generated"], done["failed"]) == (True, 2, 0)  # util.py and src
    assert after["on_disk"] == "unchanged" and after["frames"][0]["fresh"]
    assert "parse_toml" in after["frames"][0]["text"]
    assert "note" not in after
