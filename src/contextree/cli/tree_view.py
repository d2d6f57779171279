"""What ``contextree get PATH --recursive`` prints: every node under a path and its frames.

Presentation only, over the ``NodeFrames`` list ``Workspace.get_tree`` returns: text (each
node's path, then its frame texts), one JSON document with a ``nodes`` list, or JSON lines
(one object per node, so a script can stream a big tree). Written straight to stdout: a
3,000-node tree is printed in one pass, not one console call per line. Names and texts are
escaped as everywhere else (``term_name``/``term_text``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from contextree.cli.output import JSON_SCHEMA_VERSION, emit_json, human_bytes, term_name, term_text
from contextree.facade import NodeFrames

#: Builds one node's JSON object (``get``'s own shape), given whether to add metadata.
NodeJson = Callable[[NodeFrames, bool], dict[str, Any]]


def tree_node_json(node: NodeFrames, node_json: NodeJson, include_metadata: bool) -> dict[str, Any]:
    """``get --json``'s node object plus whether the file changed on disk since the scan."""
    return node_json(node, include_metadata) | {"on_disk": str(node.on_disk)}


def emit_tree_json(
    path: str, nodes: list[NodeFrames], node_json: NodeJson, include_metadata: bool
) -> None:
    """One document: the path asked for, the agent, and every node in pre-order."""
    first = nodes[0] if nodes else None
    emit_json(
        {
            "path": path,
            "agent": first.agent_id if first is not None else None,
            "frame_type": first.frame_type if first is not None else None,
            "node_count": len(nodes),
            "nodes": [tree_node_json(n, node_json, include_metadata) for n in nodes],
        }
    )


def emit_jsonl(nodes: Iterable[NodeFrames], node_json: NodeJson, include_metadata: bool) -> None:
    """One JSON object per line per node (schema-versioned, keys sorted, no indentation)."""
    encoder = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    out = sys.stdout
    for node in nodes:
        doc = {"schema_version": JSON_SCHEMA_VERSION} | tree_node_json(
            node, node_json, include_metadata
        )
        out.write(encoder.encode(doc) + "\n")
    out.flush()


def print_tree(nodes: Iterable[NodeFrames]) -> None:
    """Each node as ``==> path (kind) <==`` and its frame texts, newest first."""
    parts: list[str] = []
    for node in nodes:
        kind = "directory" if node.kind == "dir" else f"file, {human_bytes(node.size or 0)}"
        parts.append(f"==> {term_name(node.path)} ({kind}) <==\n")
        if not node.frames:
            parts.append("(no frame yet)\n\n")
        for frame in node.frames:
            if len(node.frames) > 1:
                parts.append(f"--- {term_name(frame.frame_type)} ---\n")
            text = frame.text
            if text is None:
                parts.append(f"[binary content, {len(frame.content):,} bytes]\n\n")
            else:
                parts.append(term_text(text.rstrip("\n")) + "\n\n")
    sys.stdout.write("".join(parts))
    sys.stdout.flush()
