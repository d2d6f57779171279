"""Marked blocks: the parts of ``AGENTS.md`` / ``CLAUDE.md`` that ``contextree export`` owns.

Owns the one grammar of a marked block, finding blocks in a file's bytes, removing them
before the file is hashed (so that exporting never changes a node id), and rendering a block.
The scanner's hashing and the exporter both import it; nothing else decides what a block is.

The grammar, on raw bytes (a "line" ends with ``\\n``; a ``\\r`` before it is part of the
line ending)::

    block = begin-line *body-line end-line
    begin-line = "<!-- contextree:begin node=" 64HEX " frame=" 64HEX " -->" EOL
    end-line = "<!-- contextree:end -->" ( EOL / end of file )
    body-line = any line that is not a begin-line
    HEX = "0"-"9" / "a"-"f"  (lowercase)
    EOL = "\\n" / "\\r\\n"

Marker lines match exactly: they start at the beginning of a line, with nothing else on it.
A block runs from its begin line to the first end line after it. Anything that does not
form a block is text a person wrote and is never removed or replaced: an end line with no
begin line, a begin line with no end line before the next begin line or the end of the file
(unterminated), a marker with a missing, short or uppercase id, extra spaces, anything else
on the line. Removing a block removes its lines and nothing around them.

Only files named like one of ``MARKED_FILE_NAMES`` (the name compared without regard to
ASCII case, so a case-insensitive file system's ``agents.md`` counts too) have their blocks
removed before hashing, and only up to ``MARKED_FILE_CAP`` bytes; every other file is hashed
byte for byte. The set is fixed rather than read from the settings, so a node id never
depends on anyone's configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The file names whose marked blocks are left out of their content hash (and that
#: ``[export] agents_md_files`` may name).
MARKED_FILE_NAMES: tuple[str, ...] = ("AGENTS.md", "CLAUDE.md")
#: Marked files larger than this are hashed byte for byte (and the exporter refuses them).
MARKED_FILE_CAP = 8 << 20

BEGIN_PREFIX = b"<!-- contextree:begin "
END_LINE = b"<!-- contextree:end -->"
#: What every marker line starts with; a body line starting with it is written indented.
MARKER_START = b"<!-- contextree:"

_BEGIN = re.compile(
    rb"^<!-- contextree:begin node=([0-9a-f]{64}) frame=([0-9a-f]{64}) -->\r?\n", re.MULTILINE
)
_END = re.compile(rb"^<!-- contextree:end -->(?:\r?\n|\Z)", re.MULTILINE)
_LOWER_NAMES = frozenset(name.lower().encode("ascii") for name in MARKED_FILE_NAMES)
_NAME_LENGTHS = frozenset(len(name) for name in _LOWER_NAMES)
_NOTE = (
    b"<!-- Written by `contextree export --format agents-md` from the directory's context "
    b"frame; edits inside this block are replaced, text outside it is kept. -->\n"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkedBlock:
    """One well-formed block: ``data[start:end]`` is its bytes, marker lines included."""

    start: int
    end: int
    node_id: str
    frame_id: str


def is_marked_name(path: bytes) -> bool:
    """Whether the last name of ``path`` (raw bytes, ``/``-separated) is a marked file name."""
    cut = path.rfind(b"/")
    name = path[cut + 1 :]
    return len(name) in _NAME_LENGTHS and name.lower() in _LOWER_NAMES


def find_blocks(data: bytes) -> list[MarkedBlock]:
    """The well-formed blocks of ``data``, in order."""
    if BEGIN_PREFIX not in data:
        return []
    blocks: list[MarkedBlock] = []
    pos = 0
    while (begin := _BEGIN.search(data, pos)) is not None:
        end = _END.search(data, begin.end())
        following = _BEGIN.search(data, begin.end())
        if end is None:
            break  # unterminated, and so is every later begin line: all of it is user text
        if following is not None and following.start() < end.start():
            pos = following.start()  # this begin line is text; the next one may open a block
            continue
        blocks.append(
            MarkedBlock(
                start=begin.start(),
                end=end.end(),
                node_id=begin.group(1).decode("ascii"),
                frame_id=begin.group(2).decode("ascii"),
            )
        )
        pos = end.end()
    return blocks


def strip_blocks(data: bytes) -> bytes:
    """``data`` without its well-formed blocks: what a marked file's content hash covers."""
    if BEGIN_PREFIX not in data:
        return data
    blocks = find_blocks(data)
    if not blocks:
        return data
    parts: list[bytes] = []
    pos = 0
    for block in blocks:
        parts.append(data[pos : block.start])
        pos = block.end
    parts.append(data[pos:])
    return b"".join(parts)


def render_block(node_id: str, frame_id: str, text: str) -> bytes:
    """The block for ``text`` (a directory's frame), describing node ``node_id`` with frame
    ``frame_id`` (lowercase hex). A body line that starts like a marker is written with one
    leading space, so no frame text can end the block early or open another one."""
    for value in (node_id, frame_id):
        if len(value) != 64 or value.strip("0123456789abcdef"):
            raise ValueError(f"not a 64-digit lowercase hex id: {value!r}")
    body: list[bytes] = []
    for line in text.encode("utf-8").splitlines():
        body.append(b" " + line if line.startswith(MARKER_START) else line)
    rendered = b"\n".join(body).rstrip(b"\n")
    return (
        BEGIN_PREFIX
        + f"node={node_id} frame={frame_id} -->\n".encode("ascii")
        + _NOTE
        + rendered
        + (b"\n" if rendered else b"")
        + END_LINE
        + b"\n"
    )


def with_block(data: bytes, block: bytes) -> bytes:
    """``data`` with its first well-formed block replaced by ``block``, every other byte kept;
    with no block, ``block`` appended (after a newline when ``data`` does not end with one:
    that newline is text outside the block, so it changes the file's content hash)."""
    blocks = find_blocks(data)
    if blocks:
        first = blocks[0]
        return data[: first.start] + block + data[first.end :]
    if data and not data.endswith(b"\n"):
        return data + b"\n" + block
    return data + block
