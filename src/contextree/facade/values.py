"""The values the library hands out: frozen, documented, free of store rows and byte paths.

Owns ``FrameRecord`` (one frame as a reader sees it) and ``NodeFrames`` (what ``get`` returns
for one path), and their construction from the API's read views. Paths are shown as text
(non-UTF-8 bytes escaped as ``\\xNN``), ids as lowercase hex, times as aware UTC datetimes;
metadata is the part of the frame metadata that reads show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from contextree.api import NodeContext, WrittenFrame
from contextree.core.tree import DiskState, display_path
from contextree.metadata.registry import project_for_read


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameRecord:
    """One frame written for a path.

    ``text`` is the frame's content as text (None when it is not UTF-8; ``content`` always has
    the bytes). ``current`` is True when the frame is the head for the path as last scanned:
    it describes the file or directory as it is in the store's tree now. History entries
    written for earlier content have ``current`` False. ``input_key`` is the digest of what
    the frame was generated from (None for frames written without lineage, which are never
    current for generation)."""

    path: str
    node_id: str
    frame_id: str
    agent_id: str
    frame_type: str
    text: str | None
    content: bytes
    metadata: Mapping[str, str]
    input_key: str | None
    written_at: dt.datetime
    current: bool
    #: The raw workspace-relative path (lossless for names that are not UTF-8).
    raw_path: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeFrames:
    """What ``Workspace.get`` returns: one file or directory and its frames for one agent.

    ``frames`` are the heads that passed the filters, newest first (capped by
    ``max_frames``); ``frame_count`` counts every head of the node before filtering;
    ``history`` (only when asked) holds earlier writes to the same path, newest first.
    ``on_disk`` and ``scanned_at`` say whether the file changed since the scan the frames
    are current for."""

    path: str
    node_id: str
    kind: str  # "file" or "dir"
    size: int | None
    agent_id: str
    frame_type: str | None
    frames: tuple[FrameRecord, ...]
    frame_count: int
    history: tuple[FrameRecord, ...] = ()
    raw_path: bytes = b""
    #: The path on disk now against the last scan, by one ``lstat``: ``unchanged`` means the
    #: frames marked ``current`` describe the file as it is; ``changed`` or ``missing`` that
    #: the file moved on since (run ``generate``); ``directory`` is not checked.
    on_disk: DiskState = DiskState.UNKNOWN
    #: When the last scan finished (what ``current`` is relative to); None before any scan.
    scanned_at: dt.datetime | None = None

    @property
    def frame(self) -> FrameRecord | None:
        """The newest matching frame, or None."""
        return self.frames[0] if self.frames else None

    @property
    def text(self) -> str | None:
        """The newest matching frame's text, or None."""
        first = self.frame
        return first.text if first is not None else None


def frame_record(entry: WrittenFrame) -> FrameRecord:
    """The reader's value of one frame write."""
    frame = entry.frame
    return FrameRecord(
        path=display_path(entry.path),
        node_id=entry.node_id.hex(),
        frame_id=frame.frame_id.hex(),
        agent_id=frame.agent_id,
        frame_type=frame.frame_type,
        text=frame.text(),
        content=frame.content,
        metadata=MappingProxyType(project_for_read(entry.metadata)),
        input_key=entry.input_key,
        written_at=dt.datetime.fromtimestamp(entry.written_at_ns / 1e9, tz=dt.UTC),
        current=entry.is_head,
        raw_path=entry.path,
    )


def scan_time(finished_at_ns: int | None) -> dt.datetime | None:
    """A scan's finish time as an aware UTC datetime."""
    if finished_at_ns is None:
        return None
    return dt.datetime.fromtimestamp(finished_at_ns / 1e9, tz=dt.UTC)


def node_frames(
    node: NodeContext,
    *,
    agent_id: str,
    frame_type: str | None,
    on_disk: DiskState = DiskState.UNKNOWN,
    scanned_at: dt.datetime | None = None,
) -> NodeFrames:
    """The reader's value of one ``get_node`` answer."""
    return NodeFrames(
        path=display_path(node.path),
        node_id=node.node_id.hex(),
        kind=str(node.kind),
        size=node.size,
        agent_id=agent_id,
        frame_type=frame_type,
        frames=tuple(frame_record(e) for e in node.frames),
        frame_count=node.frame_count,
        history=tuple(frame_record(e) for e in node.history),
        raw_path=node.path,
        on_disk=on_disk,
        scanned_at=scanned_at,
    )
