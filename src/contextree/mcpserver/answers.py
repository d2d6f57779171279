"""What each MCP tool answers: the facade's frozen values as JSON a model reads, freshness
included.

Owns the answer shapes. Every frame in an answer carries ``current`` (it is the head for its
path as last scanned) and ``on_disk`` (the file now against that scan, by one stat the facade
made: ``unchanged``, ``changed``, ``missing``, ``directory`` or ``unknown``), and ``fresh``
when both say the frame describes the file as it is. A directory's answer carries the scan
time and which files in the answer changed since; nothing here walks a subtree, hashes or
reads a file. ``note`` says, in a sentence, what to do about a stale answer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contextree.core.tree import DiskState
from contextree.facade import FrameRecord, NodeFrames

if TYPE_CHECKING:
    from contextree.facade.frame_report import FrameReport
    from contextree.facade.workspace_cases import StatusReport

#: ``on_disk`` values under which a current frame still describes the path as it is now.
_FRESH_STATES = frozenset({DiskState.UNCHANGED.value, DiskState.DIRECTORY.value})
_STALE_STATES = frozenset({DiskState.CHANGED.value, DiskState.MISSING.value})


@dataclass(frozen=True, slots=True)
class ToolAnswer:
    """One tool result: ``text`` for the model (JSON, or Markdown for ``get_context``) and
    ``data``, the same facts as a JSON object (the result's structured content)."""

    text: str
    data: Mapping[str, Any] = field(default_factory=dict)


def json_answer(data: dict[str, Any]) -> ToolAnswer:
    """An answer whose text is its data as indented JSON."""
    return ToolAnswer(text=json.dumps(data, indent=2, ensure_ascii=False), data=data)


def iso(moment: dt.datetime | None) -> str | None:
    """A time as ISO 8601 UTC to the second, or None."""
    return None if moment is None else moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def is_fresh(current: bool, on_disk: str) -> bool:
    """Whether a frame describes its path as it is on disk now."""
    return current and on_disk in _FRESH_STATES


def stale_note(current: bool, on_disk: str, *, can_refresh: bool) -> str | None:
    """One sentence on what a stale frame means and what to do, or None for a fresh one."""
    if is_fresh(current, on_disk):
        return None
    todo = (
        "call refresh on the path" if can_refresh else "ask the user to run `contextree generate`"
    )
    if on_disk == DiskState.MISSING.value:
        return f"The file is gone since the last scan; {todo}."
    if on_disk == DiskState.CHANGED.value:
        return f"The file changed since this frame was written; read the file itself, or {todo}."
    if not current:
        return f"This frame was written for an earlier version; {todo}."
    return None


def frame_json(frame: FrameRecord, on_disk: str) -> dict[str, Any]:
    """One frame: ids, when it was written, freshness and its text."""
    return {
        "frame_id": frame.frame_id,
        "agent_id": frame.agent_id,
        "frame_type": frame.frame_type,
        "written_at": iso(frame.written_at),
        "current": frame.current,
        "on_disk": on_disk,
        "fresh": is_fresh(frame.current, on_disk),
        "text": frame.text,
    }


def node_json(node: NodeFrames, *, can_refresh: bool) -> dict[str, Any]:
    """One file or directory with its frames (what ``get_frame`` answers)."""
    on_disk = str(node.on_disk)
    frames = [frame_json(f, on_disk) for f in node.frames]
    head = node.frame
    answer: dict[str, Any] = {
        "path": node.path or ".",
        "kind": node.kind,
        "size": node.size,
        "node_id": node.node_id,
        "agent": node.agent_id,
        "scanned_at": iso(node.scanned_at),
        "on_disk": on_disk,
        "frames": frames,
    }
    note = stale_note(head.current, on_disk, can_refresh=can_refresh) if head else None
    if note:
        answer["note"] = note
    return answer


def children_json(
    path: str, children: Iterable[NodeFrames], *, can_refresh: bool
) -> dict[str, Any]:
    """A directory's children, each with its newest frame, and which of them are stale
    (changed or gone on disk since the last scan, or without a current frame)."""
    entries: list[dict[str, Any]] = []
    stale: list[str] = []
    scanned_at: dt.datetime | None = None
    for child in children:
        on_disk = str(child.on_disk)
        scanned_at = scanned_at or child.scanned_at
        head = child.frame
        entries.append(
            {
                "path": child.path,
                "kind": child.kind,
                "size": child.size,
                "node_id": child.node_id,
                "on_disk": on_disk,
                "frame": frame_json(head, on_disk) if head is not None else None,
            }
        )
        if on_disk in _STALE_STATES or head is None or not head.current:
            stale.append(child.path)
    answer: dict[str, Any] = {
        "path": path,
        "scanned_at": iso(scanned_at),
        "children": entries,
        "stale": stale,
    }
    if stale:
        todo = "call refresh on the path" if can_refresh else "run `contextree generate`"
        answer["note"] = (
            f"{len(stale)} of these changed since the last scan or lack a current frame; "
            f"their frames may be out of date ({todo})."
        )
    return answer


def status_json(report: StatusReport, frames: FrameReport) -> dict[str, Any]:
    """``workspace_status``: the last scan, coverage and the last run."""
    last = report.last_scan
    coverage = frames.coverage
    answer: dict[str, Any] = {
        "workspace": str(report.root),
        "scanned": last is not None,
        "files": report.files,
        "directories": report.dirs,
        "store_adopted": report.adopted,
        "last_scan": None,
        "coverage": None,
        "last_run": None,
    }
    if last is not None:
        finished = dt.datetime.fromtimestamp(last.finished_at_ns / 1e9, tz=dt.UTC)
        answer["last_scan"] = {
            "finished_at": iso(finished),
            "age_seconds": max(0, int((dt.datetime.now(dt.UTC) - finished).total_seconds())),
            "root_id": last.root_id.hex(),
        }
    if coverage is not None:
        answer["coverage"] = {
            "agent": coverage.resolved.agent.id,
            "provider": coverage.resolved.provider_name,
            "nodes": coverage.nodes,
            "current": coverage.current,
            "missing": coverage.missing,
        }
    elif frames.coverage_error is not None:
        answer["coverage_error"] = frames.coverage_error.message
    if frames.last_run is not None:
        run = frames.last_run.run
        answer["last_run"] = {
            "status": run.status,
            "started_at": _ns_iso(run.started_at_ns),
            "finished_at": _ns_iso(run.finished_at_ns) if run.finished_at_ns else None,
            "agent": run.agent_id,
            "provider": run.provider,
            "generated": run.done,
            "failed": run.failed,
            "blocked": run.blocked,
        }
    pending = report.pending
    if pending is not None:
        answer["changed_since_scan"] = {
            "added": len(pending.added),
            "modified": len(pending.modified),
            "removed": len(pending.removed),
        }
    return answer


def _ns_iso(ns: int) -> str | None:
    return iso(dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC))
