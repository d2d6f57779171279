"""The prompt payload's exact text: templates, file blocks, directory budget."""

from __future__ import annotations

from contextree.context.generation.prompt_text import (
    BLOCK_SEPARATOR,
    CUT_NOTE,
    ChildBlock,
    binary_kind,
    block,
    directory_context,
    file_text,
    render_template,
    user_message,
)


def test_template_placeholders_are_replaced_in_one_pass() -> None:
    out = render_template(
        "Doc {path} ({node_type}, {file_size} bytes) {unknown}",
        path="src/{node_type}.py",
        node_type="File",
        file_size=12,
    )
    assert out == "Doc src/{node_type}.py (File, 12 bytes) {unknown}"


def test_doubled_braces_render_as_literal_braces_like_str_format() -> None:
    template = 'Answer as {{"summary": "..."}} for {path}, not {{path}}.'
    out = render_template(template, path="a.py", node_type="File", file_size=3)
    assert out == 'Answer as {"summary": "..."} for a.py, not {path}.'
    assert out == template.format(path="a.py")


def test_file_size_stays_literal_for_directories() -> None:
    assert render_template("{file_size}", path="d", node_type="Directory", file_size=None) == (
        "{file_size}"
    )


def test_user_message_shape_for_a_file() -> None:
    text = file_text(b"alpha\n", cap=1024)
    message = user_message(block("src/a.py", "File", text.text), "Summarize src/a.py")
    assert (
        message
        == "Context:\nPath: src/a.py\nType: File\nContent:\nalpha\n\n\nTask: Summarize src/a.py"
    )


def test_user_message_without_context_is_just_the_task() -> None:
    assert user_message(None, "Do it") == "Do it"


def test_files_over_the_cap_are_truncated_with_a_note() -> None:
    text = file_text(b"x" * 100, cap=10)
    assert text.truncated and (text.original_bytes, text.kept_bytes) == (100, 10)
    assert text.text == "x" * 10 + (
        "\n\n[Truncated: the first 10 of 100 bytes are shown (prompt_file_cap = 10).]"
    )


def test_truncation_never_splits_a_utf8_character() -> None:
    data = "é".encode() * 10  # two bytes each
    text = file_text(data, cap=5)
    assert text.kept_bytes == 4
    assert text.text.startswith("éé\n\n[Truncated")


def test_binary_files_become_a_placeholder_never_raw_bytes() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    text = file_text(png, cap=1 << 20)
    assert text.binary == "PNG image"
    assert text.text == "[Binary file: PNG image, 1,032 bytes. Content not sent.]"
    assert binary_kind(b"abc\x00def") == "binary data"
    assert binary_kind("naïve text".encode()) is None
    assert binary_kind(b"\xff\xfe" * 200) == "binary data"


def test_directory_context_joins_children_in_order_within_budget() -> None:
    children = [
        ChildBlock(path="d/a.py", node_type="File", content="A"),
        ChildBlock(path="d/sub", node_type="Directory", content="B"),
    ]
    ctx = directory_context(children, budget=10_000)
    assert ctx.text == (
        "Path: d/a.py\nType: File\nContent:\nA"
        + BLOCK_SEPARATOR
        + "Path: d/sub\nType: Directory\nContent:\nB"
    )
    assert ctx.included == ("d/a.py", "d/sub") and ctx.cut == ()


def test_over_budget_keeps_every_path_and_cuts_the_longest_frames() -> None:
    children = [
        ChildBlock(path="d/small", node_type="File", content="s" * 20),
        ChildBlock(path="d/big1", node_type="File", content="b" * 5000),
        ChildBlock(path="d/big2", node_type="File", content="c" * 5000),
    ]
    ctx = directory_context(children, budget=1000)
    assert len(ctx.text.encode()) <= 1000
    assert ctx.cut == ("d/big1", "d/big2")
    assert "s" * 20 + BLOCK_SEPARATOR in ctx.text  # the short frame stays whole
    for path in ("d/small", "d/big1", "d/big2"):
        assert f"Path: {path}\n" in ctx.text
    assert ctx.text.count(CUT_NOTE) == 2
