"""The structural provider: golden frames for a small tree, determinism, and edge cases.

Inputs live in ``tests/fixtures/structural/input`` with an extra ``.in`` suffix (so linters
leave the deliberately odd sources alone); expected frames mirror that tree under
``tests/fixtures/structural/expected`` (``__dir__.md`` for a directory). After an intended
change to the frame format, bump ``STRUCTURAL_MODEL`` and regenerate with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/providers/test_structural_provider.py

then review the diff before committing.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from contextree.errors import BadRequestError
from contextree.providers import (
    STRUCTURAL_MODEL,
    ChatMessage,
    ChildFrame,
    DirectorySubject,
    FileSubject,
    ProviderRequest,
    Role,
)
from contextree.providers.profiles import builtin_structural
from contextree.providers.structural import StructuralClient, render_directory, render_file
from contextree.providers.structural.render import first_meaningful_line

FIXTURES = Path(__file__).parents[2] / "fixtures" / "structural"
INPUT = FIXTURES / "input"
EXPECTED = FIXTURES / "expected"
PROMPT = (ChatMessage(role=Role.USER, content="ignored by the structural provider"),)


def subject_for(path: Path) -> FileSubject:
    data = path.read_bytes()
    rel = path.relative_to(INPUT).as_posix().removesuffix(".in")
    return FileSubject(path=rel, data=data, size=len(data))


def render_tree(folder: Path) -> dict[str, str]:
    """Frames for every node under ``folder``, children before parents, by relative path."""
    frames: dict[str, str] = {}
    children = []
    for entry in sorted(folder.iterdir()):
        rel = entry.relative_to(INPUT).as_posix().removesuffix(".in")
        if entry.is_dir():
            frames |= render_tree(entry)
            kind = "dir"
        else:
            frames[rel] = render_file(subject_for(entry))
            kind = "file"
        name = rel.rsplit("/", 1)[-1]
        children.append(ChildFrame(name=name, path=rel, kind=kind, content=frames[rel]))
    own = "" if folder == INPUT else folder.relative_to(INPUT).as_posix()
    frames[own] = render_directory(DirectorySubject(path=own, children=tuple(children)))
    return frames


def golden_path(rel: str, is_dir: bool) -> Path:
    if is_dir:
        return EXPECTED / rel / "__dir__.md" if rel else EXPECTED / "__dir__.md"
    return EXPECTED / f"{rel}.md"


def test_frames_match_the_golden_files() -> None:
    frames = render_tree(INPUT)
    dirs = {""} | {p.relative_to(INPUT).as_posix() for p in INPUT.rglob("*") if p.is_dir()}
    mismatched: dict[str, tuple[str, str]] = {}
    for rel, text in sorted(frames.items()):
        path = golden_path(rel, rel in dirs)
        if os.environ.get("UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        expected = path.read_text(encoding="utf-8") if path.is_file() else ""
        if expected != text:
            mismatched[rel or "."] = (text, expected)
    for text, expected in mismatched.values():  # the first drift, as a readable diff
        assert text == expected, f"drifted: {sorted(mismatched)}; see the module docstring"
    assert len(frames) == 20


def test_python_frame_carries_signatures_docstrings_and_private_names() -> None:
    text = render_file(subject_for(INPUT / "pkg" / "models.py.in"))
    assert text.startswith(
        "# pkg/models.py\n\nPython file, 1,395 bytes, 58 lines. "
        "Stock items and the warehouse that holds them.\n"
    )
    assert "- `@dataclass class Item`: One kind of thing the warehouse stocks.\n" in text
    assert "  - `def label(self, *, currency: str='EUR') -> str`: A shelf label" in text
    assert "  - `async def restock(self, sku: str, count: int) -> int`" in text
    assert "- `MAX_ITEMS: int`\n" in text
    assert "- private: `_validate`\n" in text
    assert "_secret_helper" not in text
    assert "Runs as a script" in text


def test_frames_are_deterministic_and_independent_of_child_order() -> None:
    first = render_tree(INPUT)
    assert render_tree(INPUT) == first
    root = render_tree(INPUT)[""]
    children = [
        ChildFrame(name=n, path=n, kind="file", content=f"# {n}\n\nAbout {n}.\n")
        for n in ("b.py", "a.md", "c.rs")
    ]
    shuffled = children[:]
    random.Random(7).shuffle(shuffled)
    assert render_directory(DirectorySubject(path="x", children=tuple(children))) == (
        render_directory(DirectorySubject(path="x", children=tuple(shuffled)))
    )
    assert str(INPUT) not in root
    assert "/work" not in "".join(first.values())


def test_directory_rolls_up_counts_languages_and_child_summaries() -> None:
    text = render_directory(
        DirectorySubject(
            path="src",
            children=(
                ChildFrame(
                    name="util",
                    path="src/util",
                    kind="dir",
                    content="# src/util\n\nDirectory with 2 files and 0 subdirectories.\n",
                ),
                ChildFrame(
                    name="a.py",
                    path="src/a.py",
                    kind="file",
                    content="# Title\n\n## Scope\n\nParses the config.\n",
                ),
                ChildFrame(name="b.py", path="src/b.py", kind="file", content=""),
                ChildFrame(name="c.md", path="src/c.md", kind="file", content="---\n> Notes.\n"),
            ),
        )
    )
    assert text == (
        "# src\n\n"
        "Directory with 3 files and 1 subdirectory. Languages: Python (2), Markdown (1).\n\n"
        "## Contents\n\n"
        "- `util/`: Directory with 2 files and 0 subdirectories.\n"
        "- `a.py`: Parses the config.\n"
        "- `b.py`: (no frame text)\n"
        "- `c.md`: Notes.\n"
    )


def test_empty_directory_and_workspace_root_titles() -> None:
    assert render_directory(DirectorySubject(path="", children=())) == "# .\n\nEmpty directory.\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00rest", "Binary file (PNG image), 14 bytes."),
        (b"abc\x00def", "Binary file (binary data), 7 bytes."),
        (b"", "Empty file, 0 bytes."),
    ],
)
def test_binary_and_empty_files_get_a_placeholder_never_bytes(data: bytes, expected: str) -> None:
    text = render_file(FileSubject(path="assets/x.bin", data=data, size=len(data)))
    assert text == f"# assets/x.bin\n\n{expected}\n"


def test_truncated_subject_says_how_much_was_read() -> None:
    data = b'"""Big module."""\n\ndef f() -> None:\n    pass\n'
    text = render_file(FileSubject(path="big.py", data=data, size=10_000_000))
    assert text.startswith("# big.py\n\nPython file, 10,000,000 bytes, 4+ lines. Big module.\n")
    assert f"Only the first {len(data)} bytes were read" in text


def test_minified_code_is_not_outlined() -> None:
    data = ("var a=1;" * 400).encode()
    text = render_file(FileSubject(path="dist/app.min.js", data=data, size=len(data)))
    assert "Looks minified or generated" in text
    assert "## Definitions" not in text


def test_first_meaningful_line_skips_headings_rules_and_blanks() -> None:
    assert first_meaningful_line("# T\n\n---\n## S\n- **Purpose**: it parses\n") == (
        "**Purpose**: it parses"
    )
    assert first_meaningful_line("\n\n") == ""


async def test_client_answers_from_the_subject_with_a_versioned_model() -> None:
    client = StructuralClient(builtin_structural())
    subject = subject_for(INPUT / "cmd" / "main.go.in")
    response = await client.complete(ProviderRequest(messages=PROMPT, subject=subject))
    assert response.content == render_file(subject)
    assert (response.served_model, response.tokens_in, response.tokens_out) == (
        STRUCTURAL_MODEL,
        0,
        0,
    )
    assert (response.finish_reason, response.request_body) == ("stop", b"")
    assert await client.list_models() == [STRUCTURAL_MODEL]


async def test_large_files_are_outlined_off_the_event_loop_with_the_same_result() -> None:
    source = "".join(f"def f{i}(x: int) -> int:\n    return x\n\n" for i in range(3000))
    data = source.encode()
    subject = FileSubject(path="gen.py", data=data, size=len(data))
    response = await StructuralClient(builtin_structural()).complete(
        ProviderRequest(messages=PROMPT, subject=subject)
    )
    assert response.content == render_file(subject)
    assert "... and 2,920 more" in response.content


async def test_client_without_subject_is_a_bad_request() -> None:
    with pytest.raises(BadRequestError) as caught:
        await StructuralClient(builtin_structural()).complete(ProviderRequest(messages=PROMPT))
    assert caught.value.retryable is False
