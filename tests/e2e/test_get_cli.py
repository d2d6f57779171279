"""``contextree get`` / ``context get`` and ``contextree agent`` as a user runs them.

Most tests drive the typer app in-process (the same code path, minus interpreter start-up);
``test_subprocess_*`` runs ``python -m contextree`` as a separate process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree
from typer.testing import CliRunner

from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi, Lineage
from contextree.cli.app import app
from contextree.core.frame import Basis, Frame, default_frame_type
from contextree.core.ids import NodeId, digest_text
from contextree.metadata.contract import build_frame_metadata
from contextree.store.db import Store
from contextree.store.tree import TreeRows

FILES = {
    "src/a.py": "def a():\n    return 1\n",
    "src/pkg/b.py": "B = 2\n",
    "build/out.txt": "generated\n",
    ".gitignore": "build/\n",
}


def put(root: Path, rel: str, content: str, *, agent: str = "docs-writer") -> str:
    """Write one generated frame for ``rel`` through the real API; returns the frame id."""
    with Store.open(root / ".contextree" / "store.db") as store:
        entry = TreeRows(store.conn).entry(rel.encode())
        assert entry is not None
        node = NodeId(entry.node_id)
        digests = [digest_text(f"{kind} {content}") for kind in ("p", "c", "r")]
        frame = Frame(
            basis=Basis.node(node),
            agent_id=agent,
            frame_type=default_frame_type(agent),
            content=content.encode(),
            metadata=build_frame_metadata(
                agent_id=agent,
                provider="structural",
                provider_type="structural",
                model="structural-1",
                prompt_digest=digests[0],
                context_digest=digests[1],
                prompt_link_id=digests[2],
                tokens_in=0,
                tokens_out=0,
                finish_reason="stop",
            ),
        )
        lineage = Lineage(
            input_key=digest_text(f"inputs {content}"),
            prompt_digest=digests[0],
            context_digest=digests[1],
            request_digest=digests[2],
        )
        ContextApi(store, AgentRegistry.builtin()).put_frame(node, frame, agent, lineage)
        return frame.frame_id.hex()


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Ran]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``cli(*args, cwd=DIR)``: run contextree in-process from ``DIR``."""

    def run(*args: str, cwd: Path | None = None) -> Ran:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        return Ran(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def scanned(workspace: Path, cli: Cli) -> Path:
    write_tree(workspace, FILES)
    result = cli("scan", cwd=workspace)
    assert result.returncode == 0, result.stderr
    return workspace


def test_get_prints_the_head_frame_with_a_header(scanned: Path, cli: Cli) -> None:
    frame_id = put(scanned, "src/a.py", "# a.py\nReturns one.")
    result = cli("get", "src/a.py", cwd=scanned)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Path: src/a.py (file, 22 B)"
    assert lines[2] == "Agent: docs-writer"
    assert lines[3] == "Frames: 1 shown, 1 head in all"
    assert frame_id[:16] in result.stdout
    assert "# a.py\nReturns one." in result.stdout
    assert "prompt_digest" not in result.stdout


def test_get_json_with_metadata_and_the_context_alias(scanned: Path, cli: Cli) -> None:
    frame_id = put(scanned, "src/a.py", "about a")
    result = cli("context", "get", "src/a.py", "--json", "--include-metadata", cwd=scanned)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["path"], doc["kind"], doc["agent"], doc["frame_count"]) == (
        "src/a.py",
        "file",
        "docs-writer",
        1,
    )
    (frame,) = doc["frames"]
    assert (frame["frame_id"], frame["content"], frame["is_head"]) == (frame_id, "about a", True)
    assert frame["metadata"]["provider"] == "structural"
    assert "agent_id" not in frame["metadata"]
    assert "history" not in doc


def test_get_takes_paths_relative_to_the_current_directory_or_absolute(
    scanned: Path, cli: Cli
) -> None:
    put(scanned, "src/pkg/b.py", "about b")
    from_subdir = cli("get", "pkg/b.py", "--combine", cwd=scanned / "src")
    absolute = cli("-w", str(scanned), "get", str(scanned / "src/pkg/b.py"), "--combine")
    assert from_subdir.stdout == absolute.stdout == "about b\n"


def test_combine_joins_only_the_frame_texts(scanned: Path, cli: Cli) -> None:
    put(scanned, "src/a.py", "from docs")
    put(scanned, "src/a.py", "from analysis", agent="code-analyzer")
    docs = cli("get", "src/a.py", "--combine", cwd=scanned)
    assert docs.stdout == "from docs\n"
    analysis = cli("get", "src/a.py", "--agent", "code-analyzer", "--combine", cwd=scanned)
    assert analysis.stdout == "from analysis\n"


def test_history_shows_earlier_frames_after_an_edit(scanned: Path, cli: Cli) -> None:
    put(scanned, "src/a.py", "first")
    put(scanned, "src/a.py", "second")
    write_tree(scanned, {"src/a.py": "def a():\n    return 2\n"})
    assert cli("scan", cwd=scanned).returncode == 0
    plain = cli("get", "src/a.py", cwd=scanned)
    assert plain.returncode == 2
    assert "it changed since its last frame was written" in plain.stderr
    result = cli("get", "src/a.py", "--history", "--json", cwd=scanned)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["frames"] == []
    assert [h["content"] for h in doc["history"]] == ["second", "first"]
    text = cli("get", "src/a.py", "--history", cwd=scanned).stdout
    assert "No current frame" in text
    assert text.index("\nsecond\n") < text.index("\nfirst\n")


def test_a_scanned_path_without_a_frame_says_what_to_run(scanned: Path, cli: Cli) -> None:
    result = cli("get", "src/pkg", cwd=scanned)
    assert result.returncode == 2
    assert "no frame yet for agent docs-writer on src/pkg" in result.stderr
    assert "contextree generate src/pkg" in result.stderr


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/missing.py", "src/missing.py does not exist in the workspace"),
        ("build/out.txt", "build/out.txt is ignored by .gitignore (it is inside build)"),
        ("../elsewhere.py", "is outside the workspace"),
    ],
    ids=["unknown", "ignored", "outside"],
)
def test_get_explains_paths_that_are_not_nodes(
    scanned: Path, path: str, expected: str, cli: Cli
) -> None:
    result = cli("get", path, cwd=scanned)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_get_on_a_file_added_since_the_scan_says_to_scan(scanned: Path, cli: Cli) -> None:
    write_tree(scanned, {"src/new.py": "N = 1\n"})
    result = cli("get", "src/new.py", cwd=scanned)
    assert result.returncode == 2
    assert "src/new.py is not in the tree yet" in result.stderr
    assert "contextree scan" in result.stderr


def test_get_in_a_workspace_never_scanned_says_to_scan(workspace: Path, cli: Cli) -> None:
    write_tree(workspace, {"a.py": "A = 1\n"})
    result = cli("get", "a.py", cwd=workspace)
    assert result.returncode == 2
    assert "has not been scanned yet" in result.stderr
    assert "contextree scan" in result.stderr
    assert not (workspace / ".contextree").exists()


def test_get_with_an_unknown_agent_lists_the_agents(scanned: Path, cli: Cli) -> None:
    result = cli("get", "src/a.py", "--agent", "nobody", cwd=scanned)
    assert result.returncode == 2
    assert "unknown agent 'nobody'; known agents: code-analyzer, docs-writer, reader" in (
        result.stderr
    )


def test_agent_list_show_and_validate(scanned: Path, cli: Cli) -> None:
    listed = json.loads(cli("agent", "list", "--json", cwd=scanned).stdout)
    assert [a["id"] for a in listed["agents"]] == ["code-analyzer", "docs-writer", "reader"]
    assert [a["id"] for a in listed["agents"] if a["default"]] == ["docs-writer"]
    shown = json.loads(cli("agent", "show", "docs-writer", "--json", cwd=scanned).stdout)
    assert shown["role"] == "writer" and "{path}" in shown["file_template"]
    assert len(shown["prompt_digest"]) == 64
    ok = cli("agent", "validate", cwd=scanned)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok     built-in docs-writer" in ok.stdout


def test_agent_validate_names_the_broken_file_and_field(scanned: Path, cli: Cli) -> None:
    agents = scanned / ".contextree" / "agents"
    agents.mkdir()
    (agents / "mine.toml").write_text('role = "writer"\nsystem_prompt = "x"\n')
    result = cli("agent", "validate", cwd=scanned)
    assert result.returncode == 2
    assert f"{agents / 'mine.toml'}: field `file_template`" in result.stdout
    # Listing is not a run: the other agents are listed, the broken file named on stderr.
    listing = cli("agent", "list", cwd=scanned)
    assert listing.returncode == 0
    assert "field `file_template`" in listing.stderr


def test_subprocess_get_prints_the_frame_and_explains_a_miss(scanned: Path) -> None:
    put(scanned, "src/a.py", "through the real entry point")
    found = run_cli("context", "get", "src/a.py", "--combine", cwd=scanned)
    assert (found.returncode, found.stdout) == (0, "through the real entry point\n")
    missing = run_cli("get", "src/none.py", cwd=scanned)
    assert missing.returncode == 2
    assert "src/none.py does not exist in the workspace" in missing.stderr
    assert missing.stdout == ""
