"""``contextree get PATH`` (also ``contextree context get PATH``): read frames back.

Presentation only: ``Workspace.get`` resolves the path, picks the agent and reads the frames
(``Workspace.get_tree`` for ``--recursive``, printed by ``tree_view``); this module turns its
``NodeFrames`` into text, JSON or JSON lines. Never takes the writer lock.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from contextree.cli.errors import user_errors
from contextree.cli.output import CliState, emit_json, human_bytes, plural, term_name
from contextree.cli.tree_view import emit_jsonl, emit_tree_json, print_tree
from contextree.cli.trust_cmds import print_trust_notice
from contextree.cli.workspace_open import open_cli_workspace
from contextree.errors import UsageError
from contextree.facade import FrameRecord, NodeFrames, Ordering

COMBINE_SEPARATOR = "\n\n---\n\n"


def register(app: typer.Typer, context_app: typer.Typer) -> None:
    app.command("get")(get_cmd)
    context_app.command("get")(get_cmd)


def get_cmd(  # noqa: PLR0917  # typer maps each option to a parameter
    ctx: typer.Context,
    path: Annotated[
        str, typer.Argument(metavar="PATH", help="File or directory (absolute or relative).")
    ],
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Agent whose frames to show (default: default_agent)."),
    ] = None,
    frame_type: Annotated[
        str | None, typer.Option("--frame-type", help="Show only this frame type.")
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Also show earlier frames written for this path.")
    ] = False,
    include_metadata: Annotated[
        bool, typer.Option("--include-metadata", help="Show provider, model, tokens, digests.")
    ] = False,
    combine: Annotated[
        bool,
        typer.Option("--combine", help="Print only the frame texts, joined, for a prompt."),
    ] = False,
    max_frames: Annotated[
        int,
        typer.Option(
            "--max-frames",
            min=1,
            help="At most this many frames (and history); ignored with --recursive, which "
            "shows every head of every node.",
        ),
    ] = 10,
    ordering: Annotated[
        Ordering, typer.Option("--ordering", help="Order of the frames shown.")
    ] = Ordering.RECENCY,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON document instead of text.")
    ] = False,
    recursive: Annotated[
        bool,
        typer.Option(
            "--recursive",
            "-r",
            help="Every node under PATH (itself first, then each child's subtree, by name) "
            "with its frames, in one read; nodes without a frame are listed too.",
        ),
    ] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Print one JSON object per line per node.")
    ] = False,
) -> None:
    """Show the current frame(s) for a path: what the agent wrote about it."""
    state: CliState = ctx.obj
    with user_errors(state):
        if combine and json_out:
            raise UsageError("--combine and --json cannot be used together")
        if jsonl and (json_out or combine):
            raise UsageError("--jsonl cannot be used with --json or --combine")
        if recursive:
            if history:
                raise UsageError(
                    "--history cannot be used with --recursive",
                    hint="Ask for one path's history: `contextree get PATH --history`.",
                )
            _get_tree(state, path, agent, frame_type, include_metadata, combine, json_out, jsonl)
            return
        with open_cli_workspace(state) as ws:
            print_trust_notice(state, ws)
            node = ws.get(
                path,
                agent=agent,
                frame_type=frame_type,
                history=history,
                max_frames=max_frames,
                ordering=ordering,
            )
    if json_out:
        emit_json(_node_json(node, history, include_metadata))
    elif jsonl:
        emit_jsonl([node], lambda n, meta: _node_json(n, history, meta), include_metadata)
    elif combine:
        texts = [e.text for e in node.frames if e.text is not None]
        sys.stdout.write(COMBINE_SEPARATOR.join(texts) + "\n")
    else:
        _print_node(state, node, include_metadata)


def _get_tree(  # noqa: PLR0917  # the options of get_cmd that apply
    state: CliState,
    path: str,
    agent: str | None,
    frame_type: str | None,
    include_metadata: bool,
    combine: bool,
    json_out: bool,
    jsonl: bool,
) -> None:
    with open_cli_workspace(state) as ws:
        print_trust_notice(state, ws)
        nodes = ws.get_tree(path, agent=agent, frame_type=frame_type)

    def node_json(node: NodeFrames, meta: bool) -> dict[str, Any]:
        return _node_json(node, False, meta)

    if json_out:
        emit_tree_json(path, nodes, node_json, include_metadata)
    elif jsonl:
        emit_jsonl(nodes, node_json, include_metadata)
    elif combine:
        texts = [e.text for n in nodes for e in n.frames if e.text is not None]
        sys.stdout.write(COMBINE_SEPARATOR.join(texts) + "\n")
    else:
        print_tree(nodes)


def _time(record: FrameRecord) -> str:
    return record.written_at.isoformat(timespec="seconds")


def _entry_json(entry: FrameRecord, include_metadata: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "frame_id": entry.frame_id,
        "agent_id": entry.agent_id,
        "frame_type": entry.frame_type,
        "node_id": entry.node_id,
        "path": entry.path,
        "written_at": _time(entry),
        "input_key": entry.input_key,
        "is_head": entry.current,
        "content": entry.text,
        "content_binary": entry.text is None,
    }
    if include_metadata:
        doc["metadata"] = dict(entry.metadata)
    return doc


def _node_json(node: NodeFrames, history: bool, include_metadata: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "path": node.path,
        "node_id": node.node_id,
        "kind": node.kind,
        "size": node.size,
        "agent": node.agent_id,
        "frame_type": node.frame_type,
        "frame_count": node.frame_count,
        "frames": [_entry_json(e, include_metadata) for e in node.frames],
    }
    if history:
        doc["history"] = [_entry_json(e, include_metadata) for e in node.history]
    return doc


def _print_entry(state: CliState, entry: FrameRecord, title: str, include_metadata: bool) -> None:
    out = state.out
    out.print(
        term_name(
            f"--- {title} · {entry.agent_id} · {entry.frame_type} · "
            f"{_time(entry)} · frame {entry.frame_id[:16]} ---"
        ),
        markup=False,
    )
    if include_metadata:
        for key, value in entry.metadata.items():
            out.print(f"  {key}: {value}", markup=False)
        out.print(f"  input_key: {entry.input_key or '(none: never current)'}", markup=False)
        out.print("", markup=False)
    text = entry.text
    if text is None:
        out.print(f"[binary content, {plural(len(entry.content), 'byte')}]", markup=False)
    else:
        out.print(text.rstrip("\n"), markup=False)
    out.print("", markup=False)


def _print_node(state: CliState, node: NodeFrames, include_metadata: bool) -> None:
    out = state.out
    kind = "directory" if node.kind == "dir" else f"file, {human_bytes(node.size or 0)}"
    out.print(f"Path: {term_name(node.path)} ({kind})", markup=False)
    out.print(f"Node: {node.node_id}", markup=False)
    out.print(f"Agent: {node.agent_id}", markup=False)
    out.print(
        f"Frames: {len(node.frames)} shown, {plural(node.frame_count, 'head')} in all",
        markup=False,
    )
    out.print("", markup=False)
    for i, entry in enumerate(node.frames, 1):
        _print_entry(state, entry, f"frame {i}", include_metadata)
    if not node.history:
        return
    if not node.frames:
        out.print("No current frame: the path changed since these were written.", markup=False)
    out.print(f"History: {plural(len(node.history), 'write')}, newest first", markup=False)
    out.print("", markup=False)
    for entry in node.history:
        title = "current" if entry.current else f"node {entry.node_id[:12]}"
        _print_entry(state, entry, title, include_metadata)
