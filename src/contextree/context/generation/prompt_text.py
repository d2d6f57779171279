"""The text of a prompt: template rendering and the ``Context:`` blocks, as pure functions.

Owns the exact payload shape: a user message of ``Context:``, then ``Path:`` / ``Type:`` /
``Content:`` blocks separated by ``---`` lines, then ``Task:`` and the rendered template. A file's
bytes are capped with a note saying so; binary bytes never reach a prompt (a placeholder states
type and size instead); a directory's children's frames are fitted into a byte budget, which
is a bound: the longest frames are cut first, and when not every child's block fits, the rest
are named, then counted. No I/O here: callers bring the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from contextree.sniff import binary_kind

BLOCK_SEPARATOR = "\n\n---\n\n"
# ``{{`` and ``}}`` are literal braces (as in ``str.format``, which agent validation uses).
_TOKEN = re.compile(r"\{\{|\}\}|\{(path|node_type|file_size)\}")
_LITERAL = {"{{": "{", "}}": "}"}


def render_template(template: str, *, path: str, node_type: str, file_size: int | None) -> str:
    """Replace ``{path}``, ``{node_type}`` and (files only) ``{file_size}`` in one pass, and
    ``{{``/``}}`` with single braces.

    A value that itself contains a placeholder is never substituted again; unknown
    placeholders stay as written.
    """
    values = {"path": path, "node_type": node_type}
    if file_size is not None:
        values["file_size"] = str(file_size)

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        return _LITERAL.get(token) or values.get(match.group(1), token)

    return _TOKEN.sub(one, template)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileText:
    text: str
    truncated: bool
    original_bytes: int
    kept_bytes: int
    binary: str | None


def file_text(data: bytes, cap: int, *, total_size: int | None = None) -> FileText:
    """What of a file's bytes goes into a prompt: text capped at ``cap`` bytes, or a placeholder.

    ``data`` may be a prefix of the file (at least ``cap + 1`` bytes of it) when
    ``total_size`` gives the whole file's size.
    """
    size = len(data) if total_size is None else total_size
    kind = binary_kind(data)
    if kind is not None:
        placeholder = f"[Binary file: {kind}, {size:,} bytes. Content not sent.]"
        return FileText(
            text=placeholder, truncated=False, original_bytes=size, kept_bytes=0, binary=kind
        )
    end = min(cap, len(data))
    # Never split a UTF-8 character: the first byte left out must start a character.
    while 0 < end < len(data) and end > cap - 4 and (data[end] & 0xC0) == 0x80:
        end -= 1
    kept = data[:end]
    text = kept.decode("utf-8", "replace")
    if size > cap:
        text += (
            f"\n\n[Truncated: the first {len(kept):,} of {size:,} bytes are shown "
            f"(prompt_file_cap = {cap:,}).]"
        )
    return FileText(
        text=text, truncated=size > cap, original_bytes=size, kept_bytes=len(kept), binary=None
    )


def block(path: str, node_type: str, content: str) -> str:
    return f"Path: {path}\nType: {node_type}\nContent:\n{content}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildBlock:
    path: str
    node_type: str  # "File" or "Directory"
    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryContext:
    text: str
    included: tuple[str, ...]
    cut: tuple[str, ...]


CUT_NOTE = "\n[... cut to fit the directory context budget]"
#: Heads the list of children whose frames did not fit (named only).
NAMES_HEADING = "Also in this directory (frames left out to fit the directory context budget):"
#: Content bytes a child's block keeps at least when not every child can have a block.
MIN_BLOCK_CONTENT = 256
_CUT_NOTE_BYTES = len(CUT_NOTE.encode("utf-8"))
_SEPARATOR_BYTES = len(BLOCK_SEPARATOR.encode("utf-8"))


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def directory_context(children: Sequence[ChildBlock], budget: int) -> DirectoryContext:
    """Join the children's blocks, at most ``budget`` UTF-8 bytes in all.

    Over budget, the longest frames are cut first (water-filling: short frames stay whole,
    long ones are cut to a common length, and cut frames say so), every child keeping its
    ``Path:`` and ``Type:`` header. When that does not fit either (too many children for
    every one to keep a header and a share), the first children keep blocks in at most half
    of the budget, the next ones are listed by name only, and the rest are counted
    (``[... and 19,874 more]``).
    """
    paths = tuple(c.path for c in children)
    sizes = [_utf8_len(c.content) for c in children]
    headers = [_utf8_len(block(c.path, c.node_type, "")) for c in children]
    fixed = sum(headers) + _SEPARATOR_BYTES * max(len(children) - 1, 0)
    if fixed + sum(sizes) <= budget:
        full = BLOCK_SEPARATOR.join(block(c.path, c.node_type, c.content) for c in children)
        return DirectoryContext(text=full, included=paths, cut=())
    if fixed <= budget:
        fitted = _fitted_blocks(children, sizes, budget - fixed)
        if _utf8_len(fitted[0]) <= budget:  # every cut frame kept room for its note
            return DirectoryContext(text=fitted[0], included=paths, cut=fitted[1])
    return _first_blocks_then_names(children, sizes, headers, budget)


def _fitted_blocks(
    children: Sequence[ChildBlock], sizes: Sequence[int], room: int
) -> tuple[str, tuple[str, ...]]:
    """Every child's block, contents water-filled into ``room`` bytes; the joined text and
    the paths of the cut frames."""
    allowance = _water_fill(sizes, room, overhead=_CUT_NOTE_BYTES)
    parts: list[str] = []
    cut: list[str] = []
    for child, size, allowed in zip(children, sizes, allowance, strict=True):
        content = child.content
        if allowed < size:
            kept = child.content.encode("utf-8")[:allowed].decode("utf-8", "ignore")
            content = kept + CUT_NOTE
            cut.append(child.path)
        parts.append(block(child.path, child.node_type, content))
    return BLOCK_SEPARATOR.join(parts), tuple(cut)


def _first_blocks_then_names(
    children: Sequence[ChildBlock],
    sizes: Sequence[int],
    headers: Sequence[int],
    budget: int,
) -> DirectoryContext:
    """Blocks for the first children (in at most half the budget, each keeping at least
    ``MIN_BLOCK_CONTENT`` bytes of its frame or all of a shorter one), their names for the
    next, a count for the rest."""
    room = budget // 2
    count, used = 0, 0
    for header, size in zip(headers, sizes, strict=True):
        least = header + (
            size if size <= MIN_BLOCK_CONTENT else MIN_BLOCK_CONTENT + _CUT_NOTE_BYTES
        )
        least += _SEPARATOR_BYTES if count else 0
        if used + least > room:
            break
        used += least
        count += 1
    text = ""
    cut: tuple[str, ...] = ()
    while count:
        fixed = sum(headers[:count]) + _SEPARATOR_BYTES * (count - 1)
        fitted = _fitted_blocks(children[:count], sizes[:count], room - fixed)
        if _utf8_len(fitted[0]) <= room:
            text, cut = fitted
            break
        count -= 1  # integer shares fell short by a little: one block fewer
    rest = children[count:]
    listing = _names(rest, budget - _utf8_len(text) - (_SEPARATOR_BYTES if text else 0))
    if listing:
        text = text + BLOCK_SEPARATOR + listing if text else listing
    return DirectoryContext(
        text=text,
        included=tuple(c.path for c in children[:count]),
        cut=(*cut, *(c.path for c in rest)),
    )


def _names(rest: Sequence[ChildBlock], room: int) -> str:
    """A heading and as many of ``rest``'s names as fit in ``room`` bytes (a directory's with
    a trailing slash), then how many more there are; ``""`` if not even the count fits."""
    if not rest:
        return ""
    names = [c.path.rpartition("/")[2] + ("/" if c.node_type == "Directory" else "") for c in rest]
    sizes = [_utf8_len(name) + 1 for name in names]  # each on a line of its own
    left = room - _utf8_len(NAMES_HEADING)
    if sum(sizes) <= left:
        return "\n".join([NAMES_HEADING, *names])
    left -= _utf8_len(f"\n[... and {len(rest):,} more]")  # the longest count it can be
    if left < 0:  # no room for the heading: the count alone, if even that fits
        only = f"[... {len(rest):,} more children]"
        return only if _utf8_len(only) <= room else ""
    shown = 0
    for size in sizes:
        if size > left:
            break
        left -= size
        shown += 1
    listed = "\n".join([NAMES_HEADING, *names[:shown]])
    return f"{listed}\n[... and {len(rest) - shown:,} more]"


def _water_fill(sizes: Sequence[int], room: int, *, overhead: int) -> list[int]:
    """Per-child byte allowances: small items whole, the rest an equal share (less a note)."""
    allowance = [0] * len(sizes)
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    left = room
    for rank, index in enumerate(order):
        share = left // (len(sizes) - rank)
        if sizes[index] <= share:
            allowance[index] = sizes[index]
        else:
            allowance[index] = max(share - overhead, 0)
        left -= min(sizes[index], share)
    return allowance


def user_message(context: str | None, task: str) -> str:
    """``Context:`` + blocks + ``Task:`` + the rendered template (just the task if no context)."""
    if not context:
        return task
    return f"Context:\n{context}\n\nTask: {task}"
