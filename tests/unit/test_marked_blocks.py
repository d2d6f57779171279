"""Marked blocks: the grammar, what is never removed, and hashing AGENTS.md without them."""

from __future__ import annotations

import os
from pathlib import Path

import blake3
from hypothesis import given
from hypothesis import strategies as st

from contextree.workspace.hash_pool import HashPool
from contextree.workspace.hashing import hash_file, hash_path
from contextree.workspace.marked_blocks import (
    find_blocks,
    is_marked_name,
    render_block,
    strip_blocks,
    with_block,
)

NODE = "ab" * 32
FRAME = "cd" * 32
BEGIN = f"<!-- contextree:begin node={NODE} frame={FRAME} -->".encode()
END = b"<!-- contextree:end -->"


def test_a_block_is_removed_with_its_marker_lines_and_nothing_around_it() -> None:
    data = b"# Mine\n\nabove\n" + BEGIN + b"\nframe text\n" + END + b"\nbelow\n"
    assert strip_blocks(data) == b"# Mine\n\nabove\nbelow\n"
    (block,) = find_blocks(data)
    assert (block.node_id, block.frame_id) == (NODE, FRAME)
    assert data[block.start : block.end] == BEGIN + b"\nframe text\n" + END + b"\n"


def test_crlf_lines_and_an_end_marker_at_end_of_file_form_blocks() -> None:
    assert strip_blocks(b"a\r\n" + BEGIN + b"\r\nx\r\n" + END + b"\r\nb\r\n") == b"a\r\nb\r\n"
    assert strip_blocks(b"a\n" + BEGIN + b"\nx\n" + END) == b"a\n"


def test_malformed_markers_are_user_text_and_kept_byte_for_byte() -> None:
    cases = [
        BEGIN + b"\nunterminated\n",  # no end line
        END + b"\nan end line alone\n",
        BEGIN.replace(NODE.encode(), b"ab" * 31) + b"\nshort id\n" + END + b"\n",
        BEGIN.replace(NODE.encode(), NODE.upper().encode()) + b"\nuppercase\n" + END + b"\n",
        b" " + BEGIN + b"\nindented\n" + END + b"\n",
        BEGIN + b" \ntrailing space\n" + END + b"\n",
        BEGIN + b"\nbody\n" + END + b" trailing\n",  # the end line has more on it
        b"text " + BEGIN + b"\nmid-line begin\n" + END + b"\n",
    ]
    for data in cases:
        assert find_blocks(data) == [], data
        assert strip_blocks(data) == data, data


def test_a_begin_line_before_another_begin_is_text_and_the_second_opens_the_block() -> None:
    data = BEGIN + b"\nstray\n" + BEGIN + b"\ninner\n" + END + b"\nafter\n"
    assert strip_blocks(data) == BEGIN + b"\nstray\nafter\n"


def test_rendered_frame_text_cannot_end_the_block_early() -> None:
    text = f"line\n<!-- contextree:end -->\n<!-- contextree:begin node={NODE} frame={FRAME} -->"
    block = render_block(NODE, FRAME, text)
    data = b"mine\n" + block + b"tail\n"
    (found,) = find_blocks(data)
    assert data[found.start : found.end] == block
    assert strip_blocks(data) == b"mine\ntail\n"
    assert b"\n <!-- contextree:end -->\n" in block


def test_with_block_replaces_only_the_first_block_and_appends_when_there_is_none() -> None:
    old = b"top\n" + render_block(NODE, FRAME, "old") + b"bottom\n"
    new_block = render_block("ef" * 32, "01" * 32, "new")
    assert with_block(old, new_block) == b"top\n" + new_block + b"bottom\n"
    assert with_block(b"mine\n", new_block) == b"mine\n" + new_block
    assert with_block(b"", new_block) == new_block
    # A file without a final newline gets one before the block: text outside the block.
    assert with_block(b"mine", new_block) == b"mine\n" + new_block


@given(st.binary(max_size=300), st.text(max_size=200))
def test_stripping_after_writing_a_block_gives_the_text_a_person_wrote(
    data: bytes, text: str
) -> None:
    block = render_block(NODE, FRAME, text)
    once = with_block(data, block)
    expected = strip_blocks(data if not data or data.endswith(b"\n") else data + b"\n")
    assert strip_blocks(once) == expected
    assert with_block(once, block) == once  # idempotent


@given(st.binary(max_size=400))
def test_bytes_without_a_marker_are_never_changed(data: bytes) -> None:
    if b"<!-- contextree:begin " not in data:
        assert strip_blocks(data) == data


def test_marked_names_are_the_two_agent_files_in_any_ascii_case() -> None:
    assert is_marked_name(b"AGENTS.md") and is_marked_name(b"src/CLAUDE.md")
    assert is_marked_name(b"/abs/path/agents.md")
    for other in (b"README.md", b"xAGENTS.md", b"AGENTS.md.bak", b"AGENTS.md/x", b"src/AGENTS"):
        assert not is_marked_name(other), other


def test_agents_md_is_hashed_without_its_block_and_other_files_byte_for_byte(
    tmp_path: Path,
) -> None:
    user = b"# Notes\nkeep me\n"
    with_marks = user + render_block(NODE, FRAME, "generated") + b"more\n"
    (tmp_path / "AGENTS.md").write_bytes(with_marks)
    (tmp_path / "claude.md").write_bytes(with_marks)
    (tmp_path / "notes.md").write_bytes(with_marks)
    stripped = blake3.blake3(user + b"more\n").digest()
    plain = blake3.blake3(with_marks).digest()
    assert hash_file(os.fsencode(tmp_path / "AGENTS.md")).content_hash == stripped
    assert hash_file(os.fsencode(tmp_path / "claude.md")).content_hash == stripped
    assert hash_file(os.fsencode(tmp_path / "notes.md")).content_hash == plain
    assert stripped != plain
    # With the walk's signature (the quick path for small files) the answers are the same.
    for name, expected in (("AGENTS.md", stripped), ("notes.md", plain)):
        path = os.fsencode(tmp_path / name)
        sig = hash_file(path).sig
        assert hash_path(path, sig)[0] == expected


def test_a_hashing_worker_process_strips_blocks_too(tmp_path: Path) -> None:
    data = b"mine\n" + render_block(NODE, FRAME, "generated")
    (tmp_path / "AGENTS.md").write_bytes(data)
    (tmp_path / "other.md").write_bytes(data)
    pool = HashPool(workers=1, root=os.fsencode(tmp_path) + b"/")
    try:
        pool.send(0, [(b"AGENTS.md", None, len(data)), (b"other.md", None, len(data))])
        (agents, other) = pool.receive(0)
    finally:
        pool.close()
    assert agents[0] == blake3.blake3(b"mine\n").digest()
    assert other[0] == blake3.blake3(data).digest()
