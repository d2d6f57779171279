"""Prompt collection (C1) over a real scanned workspace: the exact messages for files and
directories, binary and secret files, budgets, a file edited after the scan, and digests."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.helpers.generation import (
    OTHER_WRITER,
    SYSTEM_PROMPT,
    TEST_AGENT,
    World,
    dir_task,
    file_task,
    scanned_world,
)

from contextree.context.generation import prompt_collection
from contextree.context.generation.contracts import TruncationFacts
from contextree.context.generation.prompt_collection import CollectionLimits
from contextree.context.generation.prompt_text import BLOCK_SEPARATOR, CUT_NOTE
from contextree.core.ids import EMPTY_DIGEST, digest_text
from contextree.core.messages import ChatMessage, Role
from contextree.errors import FileChangedSinceScanError
from contextree.providers.types import ChildFrame, DirectorySubject, FileSubject
from contextree.workspace.scope import Scope

A_PY = "def a():\n    return 1\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2
FILES: dict[str, bytes | str] = {
    "src/a.py": A_PY,
    "src/b.py": "B = 2\n",
    "src/sub/c.py": "C = 3\n",
    "src/zz_unframed.py": "Z = 26\n",
    "img/logo.png": PNG,
    "config/.env": "API_TOKEN=hunter2\n",
    "empty.txt": "",
    "poetry.lock": "[[package]]\nname = 'x'\n",
    "big.txt": "0123456789" * 4,
    "exact.txt": "0123456789abcdef",
}


@pytest.fixture
def world(workspace: Path) -> Iterator[World]:
    with scanned_world(workspace, FILES) as scanned:
        yield scanned


class OpenRecorder:
    """Stands in for ``open`` inside the collector: records every path it is asked to open."""

    def __init__(self) -> None:
        self.paths: list[bytes] = []

    def __call__(self, file: Any, *args: Any, **kwargs: Any) -> Any:
        self.paths.append(bytes(file))
        return builtins.open(file, *args, **kwargs)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> OpenRecorder:
    recorder = OpenRecorder()
    # The collector calls the builtin by its bare name; a module global shadows it.
    monkeypatch.setattr(prompt_collection, "open", recorder, raising=False)
    return recorder


async def test_a_file_prompt_is_the_context_block_then_the_rendered_task(
    world: World, opened: OpenRecorder
) -> None:
    collected = await world.collector().collect(
        world.request("src/a.py"), world.entry("src/a.py"), TEST_AGENT
    )
    task = file_task("src/a.py", 22)
    assert task == "Describe src/a.py (File, 22 bytes)."
    context = "Path: src/a.py\nType: File\nContent:\ndef a():\n    return 1\n"
    prompt = collected.prompt
    assert prompt.messages == (
        ChatMessage(role=Role.SYSTEM, content=SYSTEM_PROMPT),
        ChatMessage(role=Role.USER, content=f"Context:\n{context}\n\nTask: {task}"),
    )
    assert prompt.user_prompt == task
    assert prompt.system_prompt == SYSTEM_PROMPT
    assert prompt.prompt_digest == digest_text(task)
    assert prompt.context_digest == digest_text(context)
    assert collected.context_text == context
    assert prompt.truncation == TruncationFacts(
        file_truncated=False, original_bytes=22, kept_bytes=22
    )
    assert prompt.included_children == ()
    assert collected.scope is Scope.LLM
    assert collected.subject == FileSubject(path="src/a.py", data=A_PY.encode(), size=22)
    assert opened.paths == [bytes(world.root) + b"/src/a.py"]


async def test_an_agent_without_a_system_prompt_sends_only_the_user_message(
    world: World,
) -> None:
    bare = replace(TEST_AGENT, system_prompt="")
    collected = await world.collector().collect(
        world.request("src/b.py"), world.entry("src/b.py"), bare
    )
    assert collected.prompt.messages == (
        ChatMessage(
            role=Role.USER,
            content="Context:\nPath: src/b.py\nType: File\nContent:\nB = 2\n\n\n"
            "Task: Describe src/b.py (File, 6 bytes).",
        ),
    )


async def test_a_directory_prompt_holds_its_childrens_frames_of_the_same_agent_and_type(
    world: World,
) -> None:
    # Written out of name order; frames of another agent or another type must stay out.
    world.hand_frame("src/sub", "SUB frame")
    world.hand_frame("src/b.py", "B frame")
    world.hand_frame("src/a.py", "A frame")
    world.hand_frame("src/a.py", "A by someone else", agent=OTHER_WRITER)
    world.hand_frame("src/b.py", "B notes", frame_type="notes")
    world.hand_frame("src/zz_unframed.py", "Z notes", frame_type="notes")

    collected = await world.collector().collect(
        world.request("src"), world.entry("src"), TEST_AGENT
    )
    context = BLOCK_SEPARATOR.join(
        [
            "Path: src/a.py\nType: File\nContent:\nA frame",
            "Path: src/b.py\nType: File\nContent:\nB frame",
            "Path: src/sub\nType: Directory\nContent:\nSUB frame",
        ]
    )
    task = dir_task("src")
    prompt = collected.prompt
    assert prompt.messages == (
        ChatMessage(role=Role.SYSTEM, content=SYSTEM_PROMPT),
        ChatMessage(role=Role.USER, content=f"Context:\n{context}\n\nTask: {task}"),
    )
    assert prompt.included_children == ("src/a.py", "src/b.py", "src/sub")
    assert prompt.truncation == TruncationFacts()
    assert prompt.prompt_digest == digest_text("Describe src (Directory).")
    assert prompt.context_digest == digest_text(context)
    assert collected.context_text == context
    assert collected.scope is Scope.LLM
    assert collected.subject == DirectorySubject(
        path="src",
        children=(
            ChildFrame(name="a.py", path="src/a.py", kind="file", content="A frame"),
            ChildFrame(name="b.py", path="src/b.py", kind="file", content="B frame"),
            ChildFrame(name="sub", path="src/sub", kind="dir", content="SUB frame"),
        ),
    )


async def test_a_directory_without_child_frames_gets_the_task_alone(world: World) -> None:
    collected = await world.collector().collect(
        world.request("src"), world.entry("src"), TEST_AGENT
    )
    assert collected.prompt.messages[-1] == ChatMessage(
        role=Role.USER, content="Describe src (Directory)."
    )
    assert collected.prompt.context_digest == EMPTY_DIGEST
    assert collected.prompt.included_children == ()


async def test_a_binary_file_is_a_placeholder_never_its_bytes(world: World) -> None:
    collected = await world.collector().collect(
        world.request("img/logo.png"), world.entry("img/logo.png"), TEST_AGENT
    )
    context = (
        "Path: img/logo.png\nType: File\nContent:\n"
        "[Binary file: PNG image, 520 bytes. Content not sent.]"
    )
    user = collected.prompt.messages[-1].content
    assert user == f"Context:\n{context}\n\nTask: Describe img/logo.png (File, 520 bytes)."
    assert "PNG\r\n" not in user and "\x00" not in user
    assert collected.context_text == context
    assert collected.prompt.truncation == TruncationFacts(
        file_truncated=False, original_bytes=520, kept_bytes=0
    )


async def test_a_secret_file_is_withheld_without_ever_being_opened(
    world: World, opened: OpenRecorder
) -> None:
    # Were it read, the changed bytes would also fail the scan's hash check.
    (world.root / "config" / ".env").write_text("API_TOKEN=changed\n")
    collected = await world.collector().collect(
        world.request("config/.env"), world.entry("config/.env"), TEST_AGENT
    )
    assert opened.paths == []
    assert collected.scope is Scope.WITHHELD
    assert collected.subject is None
    assert collected.context_text == ""
    assert collected.prompt.messages == (
        ChatMessage(role=Role.SYSTEM, content=SYSTEM_PROMPT),
        ChatMessage(role=Role.USER, content="Describe config/.env (File, 18 bytes)."),
    )
    assert collected.prompt.context_digest == EMPTY_DIGEST
    assert "hunter2" not in repr(collected)


async def test_an_empty_file_needs_no_read(world: World, opened: OpenRecorder) -> None:
    collected = await world.collector().collect(
        world.request("empty.txt"), world.entry("empty.txt"), TEST_AGENT
    )
    assert opened.paths == []
    assert collected.scope is Scope.EMPTY
    assert collected.subject is None
    assert collected.prompt.messages[-1].content == "Describe empty.txt (File, 0 bytes)."


async def test_a_lockfile_is_collected_for_the_structural_provider(world: World) -> None:
    collected = await world.collector().collect(
        world.request("poetry.lock"), world.entry("poetry.lock"), TEST_AGENT
    )
    data = b"[[package]]\nname = 'x'\n"
    assert collected.scope is Scope.STRUCTURAL
    assert collected.subject == FileSubject(path="poetry.lock", data=data, size=len(data))


async def test_a_file_over_the_cap_is_cut_with_a_note(world: World) -> None:
    collector = world.collector(limits=CollectionLimits(prompt_file_cap=16))
    collected = await collector.collect(
        world.request("big.txt"), world.entry("big.txt"), TEST_AGENT
    )
    context = (
        "Path: big.txt\nType: File\nContent:\n0123456789012345"
        "\n\n[Truncated: the first 16 of 40 bytes are shown (prompt_file_cap = 16).]"
    )
    assert collected.context_text == context
    assert collected.prompt.messages[-1].content == (
        f"Context:\n{context}\n\nTask: Describe big.txt (File, 40 bytes)."
    )
    assert collected.prompt.truncation == TruncationFacts(
        file_truncated=True, original_bytes=40, kept_bytes=16
    )
    subject = collected.subject
    assert isinstance(subject, FileSubject)
    assert (subject.size, subject.truncated) == (40, True)
    assert ("0123456789" * 4).encode().startswith(subject.data)


async def test_a_file_exactly_at_the_cap_is_whole(world: World) -> None:
    collector = world.collector(limits=CollectionLimits(prompt_file_cap=16))
    collected = await collector.collect(
        world.request("exact.txt"), world.entry("exact.txt"), TEST_AGENT
    )
    assert collected.context_text == "Path: exact.txt\nType: File\nContent:\n0123456789abcdef"
    assert collected.prompt.truncation == TruncationFacts(
        file_truncated=False, original_bytes=16, kept_bytes=16
    )


async def test_an_over_budget_directory_keeps_every_child_path_and_records_the_cuts(
    world: World,
) -> None:
    world.hand_frame("src/a.py", "short")
    world.hand_frame("src/b.py", "b" * 500)
    world.hand_frame("src/sub", "s" * 400)
    budget = 300
    collector = world.collector(limits=CollectionLimits(directory_context_budget=budget))
    collected = await collector.collect(world.request("src"), world.entry("src"), TEST_AGENT)
    text = collected.context_text
    assert len(text.encode()) <= budget
    blocks = text.split(BLOCK_SEPARATOR)
    assert [b.split("\n", 1)[0] for b in blocks] == [
        "Path: src/a.py",
        "Path: src/b.py",
        "Path: src/sub",
    ]
    assert blocks[0] == "Path: src/a.py\nType: File\nContent:\nshort"
    assert blocks[1].endswith(CUT_NOTE) and blocks[2].endswith(CUT_NOTE)
    assert collected.prompt.included_children == ("src/a.py", "src/b.py", "src/sub")
    assert collected.prompt.truncation == TruncationFacts(children_cut=("src/b.py", "src/sub"))
    assert collected.prompt.context_digest == digest_text(text)


async def test_a_file_edited_after_the_scan_is_refused(world: World) -> None:
    (world.root / "src" / "a.py").write_text("def a():\n    return 2\n")  # same size
    with pytest.raises(FileChangedSinceScanError) as raised:
        await world.collector().collect(
            world.request("src/a.py"), world.entry("src/a.py"), TEST_AGENT
        )
    assert raised.value.message == "src/a.py changed since the last scan"
    assert raised.value.hint is not None and "contextree scan" in raised.value.hint


async def test_a_file_deleted_after_the_scan_is_refused(world: World) -> None:
    (world.root / "src" / "b.py").unlink()
    with pytest.raises(FileChangedSinceScanError) as raised:
        await world.collector().collect(
            world.request("src/b.py"), world.entry("src/b.py"), TEST_AGENT
        )
    assert raised.value.message == "cannot read src/b.py: No such file or directory"
