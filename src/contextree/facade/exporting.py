"""Exporting frames: the use case behind ``Workspace.export`` and ``contextree export``.

Owns the ``markdown`` and ``jsonl`` documents of a subtree and where they go (returned, and
written atomically to ``out`` when given), and hands ``agents-md`` to ``agents_md``. The frames
are the chosen agent's heads of its default frame type (``context-<agent>``) for the nodes of
the last scan, read in one statement (``ContextApi.heads_under``) whatever the size of the
tree. Read-only on the store (opened read-only, never locked); an unadopted store serves
nothing, as for ``get``.

``jsonl`` is one JSON object per line per node, in pre-order (a directory, then its children
by name): ``path``, ``kind``, ``node_id``, ``size``, ``agent_id``, ``frame_type``,
``frame_id``, ``text``, ``metadata``, ``written_at`` and ``current`` (True when the record
carries the node's head as last scanned; a node without a frame has ``frame_id``, ``text``
and ``written_at`` null, empty ``metadata`` and ``current`` false). ``markdown`` is one
document: a title, then one section per node that has a frame, level by level from the
exported path down (its directories and files by depth, then by path), each headed by the
path and kind with the node and frame ids in an HTML comment (the frame's own headings are
moved two levels down, so they sit below the section's). With a ``budget`` (tokens, by
``core.tokens.estimate_tokens``) sections are added in that order while the whole stays within
it, and a last line says how many were left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from contextree.api import NodeContext
from contextree.bootstrap import (
    WorkspaceSetup,
)
from contextree.core.frame import default_frame_type
from contextree.core.tokens import estimate_tokens
from contextree.core.tree import display_path
from contextree.errors import UsageError
from contextree.facade.export_values import EXPORT_FORMATS, ExportFormat, ExportResult
from contextree.facade.reading import read_scope
from contextree.facade.values import FrameRecord, frame_record
from contextree.workspace.safe_write import replace_file

_SUFFIX = {"markdown": "md", "jsonl": "jsonl"}
#: A markdown heading a section's frame text may hold (four levels: two more still exist).
_HEADING = re.compile(r"#{1,4} ")


def check_format(fmt: str) -> ExportFormat:
    """``fmt`` as an ``ExportFormat``; ``UsageError`` naming the formats otherwise."""
    for known in EXPORT_FORMATS:
        if fmt == known:
            return known
    raise UsageError(
        f"unknown export format {fmt!r}",
        hint="Use --format markdown, jsonl or agents-md.",
    )


def export(
    setup: WorkspaceSetup,
    fmt: str,
    path: str | None,
    *,
    out: Path | None,
    budget: int | None,
    agent: str | None,
    cwd: Path | None,
) -> ExportResult:
    """One export of ``path`` (default: the whole workspace) in ``fmt``."""
    chosen = check_format(fmt)
    if budget is not None and (chosen != "markdown" or budget < 1):
        raise UsageError(
            "--budget applies to --format markdown only, and must be at least 1"
            if budget >= 1
            else f"the budget must be at least 1 token, not {budget}",
            hint="Drop --budget, or export --format markdown --budget N.",
        )
    if chosen == "agents-md":
        if out is not None:
            raise UsageError(
                "--format agents-md writes into the workspace's own directories; --out does "
                "not apply",
                hint="Choose the directories with [export] agents_md_dirs in "
                ".contextree/config.toml, or export --format markdown --out FILE.",
            )
        from contextree.facade.agents_md import export_agents_md

        return export_agents_md(setup, path, agent=agent, cwd=cwd)
    with read_scope(setup, command="export", agent=agent, cwd=cwd) as scope:
        profile = scope.agent
        frame_type = default_frame_type(profile.id)
        entry = scope.resolve(path if path is not None else ".")
        nodes = scope.api().heads_under(entry.path, agent_id=profile.id, frame_type=frame_type)
    records = [(node, frame_record(node.frames[0]) if node.frames else None) for node in nodes]
    without = sum(1 for _, record in records if record is None)
    base = ExportResult(
        format=chosen,
        path=display_path(entry.path),
        node_id=entry.node_id.hex(),
        agent_id=profile.id,
        frame_type=frame_type,
        nodes=0,
        without_frame=without,
        budget=budget,
    )
    if chosen == "jsonl":
        text, count, omitted = jsonl_document(records), len(records), 0
    else:
        text, count, omitted = markdown_document(base, records, budget=budget)
    target = _out_file(out, chosen, entry.path) if out is not None else None
    if target is not None:
        replace_file(target, text.encode("utf-8"))
    return ExportResult(
        format=chosen,
        path=base.path,
        node_id=base.node_id,
        agent_id=base.agent_id,
        frame_type=frame_type,
        nodes=count,
        without_frame=without,
        omitted=omitted,
        budget=budget,
        text=text,
        out=target,
    )


def jsonl_record(node: NodeContext, record: FrameRecord | None) -> dict[str, object]:
    """The JSON object of one node (see the module docstring for the fields)."""
    return {
        "path": display_path(node.path),
        "kind": str(node.kind),
        "node_id": node.node_id.hex(),
        "size": node.size,
        "agent_id": record.agent_id if record is not None else None,
        "frame_type": record.frame_type if record is not None else None,
        "frame_id": record.frame_id if record is not None else None,
        "text": record.text if record is not None else None,
        "metadata": dict(record.metadata) if record is not None else {},
        "written_at": record.written_at.isoformat() if record is not None else None,
        "current": record is not None and record.current,
    }


def jsonl_document(records: Sequence[tuple[NodeContext, FrameRecord | None]]) -> str:
    """One line per node, in the order given."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return "".join(encode(jsonl_record(node, record)) + "\n" for node, record in records)


def markdown_document(
    base: ExportResult,
    records: Sequence[tuple[NodeContext, FrameRecord | None]],
    *,
    budget: int | None,
) -> tuple[str, int, int]:
    """(the document, sections in it, sections a budget left out)."""
    title = (
        f"# Context: {base.path}\n\n"
        f"<!-- contextree export: node {base.node_id}, agent {base.agent_id}, "
        f"frame type {base.frame_type} -->\n"
    )
    framed = [(node, record) for node, record in records if record is not None]
    # Level by level: what is near the exported path first, so a budget keeps the overview.
    framed.sort(key=lambda item: (item[0].path.count(b"/") if item[0].path else -1, item[0].path))
    sections = [_section(node, record) for node, record in framed]
    if budget is None:
        return "\n".join([title, *sections]), len(sections), 0
    kept = [title]
    spent = estimate_tokens(title)
    for index, section in enumerate(sections):
        left = len(sections) - index - 1
        note = _omission_note(left, budget) if left else ""
        cost = estimate_tokens(section) + 1 + (estimate_tokens(note) + 1 if note else 0)
        if spent + cost > budget:
            break
        kept.append(section)
        spent += estimate_tokens(section) + 1
    omitted = len(sections) - (len(kept) - 1)
    if omitted:
        note = _omission_note(omitted, budget)
        if spent + estimate_tokens(note) + 1 > budget:
            smallest = estimate_tokens(title) + estimate_tokens(_omission_note(omitted, budget))
            raise UsageError(
                f"a budget of {budget} tokens cannot hold even the title of the export "
                f"(at least {smallest + 1} tokens)",
                hint="Give a larger --budget, or none.",
            )
        kept.append(note)
    return "\n".join(kept), len(kept) - 1 - (1 if omitted else 0), omitted


def _section(node: NodeContext, record: FrameRecord) -> str:
    kind = "directory" if str(node.kind) == "dir" else "file"
    text = (record.text if record.text is not None else "(frame content is not UTF-8)").rstrip()
    text = _demoted(text)
    return (
        f"## `{display_path(node.path)}` ({kind})\n\n"
        f"<!-- node {node.node_id.hex()} frame {record.frame_id} -->\n\n"
        f"{text}\n"
    )


def _demoted(text: str) -> str:
    """``text`` with its markdown headings two levels down (outside code fences), so a
    frame's own ``#`` and ``##`` sit below the document's sections."""
    lines = text.split("\n")
    fenced = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and _HEADING.match(line):
            lines[index] = "##" + line
    return "\n".join(lines)


def _omission_note(count: int, budget: int) -> str:
    nodes = "node" if count == 1 else "nodes"
    return f"<!-- {count} more {nodes} left out to fit the budget of {budget} tokens -->\n"


def _out_file(out: Path, fmt: ExportFormat, path: bytes) -> Path:
    """``out`` itself, or for a directory a file in it named after the exported path."""
    if out.is_dir() and not out.is_symlink():
        stem = "context" if not path else path.decode("utf-8", "replace").replace("/", "_")
        return out / f"{stem}.{_SUFFIX[fmt]}"
    return out
