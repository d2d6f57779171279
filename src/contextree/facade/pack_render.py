"""A context pack's values, its three renderings and the cut to a token budget.

Owns ``PackBlock`` and ``ContextPack`` (the frozen results of ``Workspace.pack``), how a pack
is written out as Markdown, JSON or XML, and ``fit_blocks``: which blocks, in priority order,
fit a budget. Pure: no store, no files.

Every rendering is a sequence of segments that each end with a newline (the pack's head, one
per block, the note of what was left out, the tail), and ``estimate_tokens`` of a text joined
at newlines is at most the sum of its parts' estimates, so the cut adds up the parts' estimates
and the whole text's estimate (what the pack reports) is never above the budget.

The cut: the blocks come in priority order (the target, its ancestors nearest first, then its
children, or for a file its siblings, by subtree size, largest first, then by path). The pack
keeps the longest prefix of that order that fits whole; the first block that does not fit is
cut after as many of its lines as fit, with a ``[… N more lines]`` note (never mid-line), and
every block after it is left out. The note of what was left out is itself inside the budget.
The smallest pack is the target's header with all its lines cut and everything else left out:
a budget below it is a ``UsageError`` naming it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from contextree.core.tokens import estimate_tokens
from contextree.core.tree import DiskState
from contextree.errors import UsageError

PackRole = Literal["target", "ancestor", "child", "sibling"]
PackFormat = Literal["md", "json", "xml"]
FORMATS: tuple[PackFormat, ...] = ("md", "json", "xml")
#: The JSON rendering's ``format`` field.
JSON_FORMAT = "contextree.pack/1"
#: Hex digits of the ids the Markdown rendering shows (JSON and XML show them whole).
SHORT_ID = 12
_ROLES: tuple[PackRole, ...] = ("target", "ancestor", "child", "sibling")
_REASONS = ("budget", "no frame")


@dataclass(frozen=True, slots=True, kw_only=True)
class PackBlock:
    """One frame in a pack. ``role`` is how its path relates to the target; ``text`` is what
    the pack shows of the frame (a sibling's is its first sentence), ``more_lines`` how many
    further lines the budget cut off. ``current`` is True when the frame is the head of the
    node as last scanned (False: it was written for earlier content of the path). ``on_disk``
    says whether the file still matches the last scan (a directory is ``directory``)."""

    role: PackRole
    path: str
    node_id: str
    frame_id: str
    agent_id: str
    current: bool
    on_disk: DiskState
    text: str
    more_lines: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PackOmission:
    """A path whose frame the pack leaves out: ``reason`` is ``budget`` (it did not fit) or
    ``no frame`` (the agent has written none for it)."""

    role: PackRole
    path: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextPack:
    """What ``Workspace.pack`` returns: what an agent needs to work on ``path``, in one answer.

    ``blocks`` are in priority order (see ``contextree.facade.pack_render``); ``omitted`` names
    every path left out and why. ``estimate`` is ``estimate_tokens`` of ``render(fmt)`` for the
    ``fmt`` the pack was built for, never above ``budget`` (None: no budget). Same store, same
    arguments: byte-identical renderings."""

    path: str
    agent_id: str
    budget: int | None
    fmt: PackFormat
    estimate: int
    blocks: tuple[PackBlock, ...]
    omitted: tuple[PackOmission, ...]

    def render(self, fmt: str | None = None) -> str:
        """The pack as text: ``md`` (Markdown, short ids), ``json`` (one document, one block
        per line) or ``xml``; by default the format it was built (and budgeted) for."""
        return "".join(segments(self, check_format(fmt or self.fmt)))


def check_format(fmt: str) -> PackFormat:
    """``fmt`` as a pack format; ``UsageError`` when it is not one."""
    for known in FORMATS:
        if fmt == known:
            return known
    raise UsageError(f"unknown pack format {fmt!r}", hint="Use md, json or xml.")


# -- rendering ----------------------------------------------------------------------------------


def segments(pack: ContextPack, fmt: PackFormat) -> list[str]:
    """The rendering of ``pack`` as newline-ended segments (joined, they are the text)."""
    out = [_head(pack, fmt)]
    out.extend(block_segment(block, fmt, last=i == len(pack.blocks) - 1)
               for i, block in enumerate(pack.blocks))  # fmt: skip
    out.append(note_segment(pack.omitted, fmt))
    return [s for s in out if s]


def _head(pack: ContextPack, fmt: PackFormat) -> str:
    budget = "none" if pack.budget is None else str(pack.budget)
    if fmt == "md":
        return f"# Context pack: {pack.path}\nagent {pack.agent_id} · budget {budget}\n"
    if fmt == "json":
        head = {"format": JSON_FORMAT, "path": pack.path, "agent": pack.agent_id,
                "budget": pack.budget}  # fmt: skip
        return json.dumps(head, ensure_ascii=False)[:-1] + ', "blocks": [\n'
    return (
        f'<context-pack path="{_attr(pack.path)}" agent="{_attr(pack.agent_id)}" '
        f'budget="{budget}">\n'
    )


def block_segment(block: PackBlock, fmt: PackFormat, *, last: bool = False) -> str:
    """One block as text ending in a newline."""
    if fmt == "json":
        doc = {
            "role": block.role, "path": block.path, "node_id": block.node_id,
            "frame_id": block.frame_id, "agent": block.agent_id, "current": block.current,
            "on_disk": str(block.on_disk), "text": block.text, "more_lines": block.more_lines,
        }  # fmt: skip
        return json.dumps(doc, ensure_ascii=False) + ("\n" if last else ",\n")
    body = block.text if not block.text or block.text.endswith("\n") else block.text + "\n"
    if fmt == "md":
        state = "current" if block.current else "not current"
        more = f"[… {block.more_lines} more lines]\n" if block.more_lines else ""
        return (
            f"\n## {block.role}: {block.path}\n"
            f"node {block.node_id[:SHORT_ID]} · frame {block.frame_id[:SHORT_ID]} · "
            f"agent {block.agent_id} · {state} · on disk: {block.on_disk}\n\n{body}{more}"
        )
    more = f' more-lines="{block.more_lines}"' if block.more_lines else ""
    return (
        f'<block role="{block.role}" path="{_attr(block.path)}" node-id="{block.node_id}" '
        f'frame-id="{block.frame_id}" agent="{_attr(block.agent_id)}" '
        f'current="{str(block.current).lower()}" on-disk="{block.on_disk}"{more}>\n'
        f"{_xml_text(body)}</block>\n"
    )


def note_segment(omitted: Sequence[PackOmission], fmt: PackFormat) -> str:
    """What was left out, counted by reason and role, with the pack's tail."""
    return _note(_counts(omitted), fmt)


def _note(counts: dict[str, dict[str, int]], fmt: PackFormat) -> str:
    if fmt == "json":
        return "], " + json.dumps({"omitted": counts}, ensure_ascii=False)[1:] + "\n"
    words = [
        f"{reason}: " + ", ".join(f"{n} {role}" for role, n in by_role.items())
        for reason, by_role in counts.items()
    ]
    if fmt == "md":
        return f"\n_Left out — {'; '.join(words)}._\n" if words else ""
    inner = "".join(
        f'<omitted reason="{reason}" '
        + " ".join(f'{role}="{n}"' for role, n in by_role.items())
        + "/>\n"
        for reason, by_role in counts.items()
    )
    return inner + "</context-pack>\n"


def _counts(omitted: Sequence[PackOmission]) -> dict[str, dict[str, int]]:
    """reason -> role -> how many, in a fixed order, zero counts left out."""
    return _ordered(Counter[tuple[str, str]]((o.reason, o.role) for o in omitted))


def _ordered(tally: Mapping[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for reason in _REASONS:
        kept: dict[str, int] = {r: n for r in _ROLES if (n := tally.get((reason, r), 0))}
        if kept:
            counts[reason] = kept
    return counts


def _attr(text: str) -> str:
    return _xml_text(text).replace('"', "&quot;")


def _xml_text(text: str) -> str:
    cleaned = "".join(
        c if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd") or c > "\uffff"
        else "\ufffd"
        for c in text
    )  # fmt: skip
    return cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- the cut ------------------------------------------------------------------------------------


def fit_blocks(
    path: str,
    agent_id: str,
    candidates: Sequence[PackBlock],
    no_frame: Sequence[PackOmission],
    *,
    budget: int | None,
    fmt: PackFormat,
) -> ContextPack:
    """The pack of ``candidates`` (in priority order, the target first) that fits ``budget``.
    Raises ``UsageError`` naming the smallest budget when even the target's header does not
    fit."""
    check_format(fmt)
    shell = ContextPack(path=path, agent_id=agent_id, budget=budget, fmt=fmt, estimate=0,
                        blocks=(), omitted=())  # fmt: skip
    if budget is None:
        return _finish(shell, list(candidates), no_frame, left_out=[])
    head = estimate_tokens(_head(shell, fmt))
    # rest[k]: (reason, role) -> count of what is left out when candidates[k:] are.
    base = Counter[tuple[str, str]]((o.reason, o.role) for o in no_frame)
    rest: list[dict[tuple[str, str], int]] = [dict(base)]
    for block in reversed(candidates):
        tally = dict(rest[-1])
        tally["budget", block.role] = tally.get(("budget", block.role), 0) + 1
        rest.append(tally)
    rest.reverse()

    def cost(start: int, cut: PackBlock | None = None) -> int:
        """The head, ``cut`` and the note when ``candidates[start:]`` are left out."""
        note = estimate_tokens(_note(_ordered(rest[start]), fmt))
        return head + note + (0 if cut is None else estimate_tokens(block_segment(cut, fmt)))

    target = candidates[0]
    smallest = cost(1, _cut(target, 0))
    if budget < smallest:
        raise UsageError(
            f"a budget of {budget} tokens is below the smallest pack of {path} "
            f"({smallest} tokens: its header and the note of what is left out)",
            hint=f"Pass --budget {smallest} or more.",
        )
    kept, whole = 0, 0
    while kept < len(candidates):
        size = estimate_tokens(block_segment(candidates[kept], fmt))
        if whole + size + cost(kept + 1) > budget:
            break
        whole += size
        kept += 1
    blocks = list(candidates[:kept])
    if kept < len(candidates):
        cut = _largest_cut(candidates[kept], lambda b: whole + cost(kept + 1, b) <= budget)
        if cut is not None:
            blocks.append(cut)
    return _finish(shell, blocks, no_frame, left_out=list(candidates[len(blocks) :]))


def _largest_cut(block: PackBlock, fits: Callable[[PackBlock], bool]) -> PackBlock | None:
    """``block`` cut after the most lines that still fit (None: not even its header)."""
    lines = block.text.splitlines(keepends=True)
    low, high = 0, len(lines) - 1  # all lines would be the whole block, which did not fit
    if high < 0 or not fits(_cut(block, 0)):
        return None
    while low < high:  # the largest count of lines that fits
        mid = (low + high + 1) // 2
        if fits(_cut(block, mid)):
            low = mid
        else:
            high = mid - 1
    return _cut(block, low)


def _cut(block: PackBlock, lines: int) -> PackBlock:
    all_lines = block.text.splitlines(keepends=True)
    kept = "".join(all_lines[:lines])
    return replace(block, text=kept, more_lines=block.more_lines + len(all_lines) - lines)


def _left_out(block: PackBlock) -> PackOmission:
    return PackOmission(role=block.role, path=block.path, reason="budget")


def _finish(
    shell: ContextPack,
    blocks: list[PackBlock],
    no_frame: Sequence[PackOmission],
    *,
    left_out: list[PackBlock],
) -> ContextPack:
    pack = replace(
        shell,
        blocks=tuple(blocks),
        omitted=(*(_left_out(b) for b in left_out), *no_frame),
    )
    return replace(pack, estimate=estimate_tokens(pack.render()))
