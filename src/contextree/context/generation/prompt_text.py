"""The text of a prompt: template rendering and the ``Context:`` blocks, as pure functions.

Owns the exact payload shape: a user message of ``Context:``, then ``Path:`` / ``Type:`` /
``Content:`` blocks separated by ``---`` lines, then ``Task:`` and the rendered template. A file's
bytes are capped with a note saying so; binary bytes never reach a prompt (a placeholder states
type and size instead); a directory's children's frames are fitted into a byte budget, keeping
every child's path and cutting the longest frames first. No I/O here: callers bring the bytes.
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


def directory_context(children: Sequence[ChildBlock], budget: int) -> DirectoryContext:
    """Join the children's blocks; over ``budget`` bytes, cut the longest frames first.

    Every child keeps its ``Path:`` and ``Type:`` header; frame contents share what is left
    of the budget (water-filling: short frames stay whole, long ones are cut to a common
    length), and cut frames say so.
    """
    paths = tuple(c.path for c in children)
    full = BLOCK_SEPARATOR.join(block(c.path, c.node_type, c.content) for c in children)
    if len(full.encode("utf-8")) <= budget:
        return DirectoryContext(text=full, included=paths, cut=())
    fixed = sum(len(block(c.path, c.node_type, "").encode("utf-8")) for c in children)
    fixed += len(BLOCK_SEPARATOR) * max(len(children) - 1, 0)
    room = max(budget - fixed, 0)
    sizes = [len(c.content.encode("utf-8")) for c in children]
    allowance = _water_fill(sizes, room, overhead=len(CUT_NOTE.encode("utf-8")))
    parts: list[str] = []
    cut: list[str] = []
    for child, size, allowed in zip(children, sizes, allowance, strict=True):
        content = child.content
        if allowed < size:
            kept = child.content.encode("utf-8")[:allowed].decode("utf-8", "ignore")
            content = kept + CUT_NOTE
            cut.append(child.path)
        parts.append(block(child.path, child.node_type, content))
    return DirectoryContext(text=BLOCK_SEPARATOR.join(parts), included=paths, cut=tuple(cut))


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
