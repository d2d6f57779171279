"""``contextree get PATH`` (also ``contextree context get PATH``): read frames back.

Presentation only: the path is resolved by ``workspace.paths``, frames come from
``ContextApi.get_node``. Opens the store for reading; never takes the writer lock.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from contextree.api import FrameEntry, NodeContext, NodeView, Ordering
from contextree.bootstrap import (
    context_api,
    ignore_options,
    load_agents,
    load_workspace,
    open_store_for_reading,
)
from contextree.cli.errors import user_errors
from contextree.cli.output import CliState, emit_json, human_bytes, plural, term_name
from contextree.cli.trust_cmds import print_trust_notice
from contextree.core.ids import NodeId, NodeKind
from contextree.core.tree import display_path
from contextree.errors import FrameNotFoundError, UsageError
from contextree.metadata.registry import project_for_read
from contextree.store.tree import TreeRows
from contextree.workspace.paths import resolve_typed_path

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
        int, typer.Option("--max-frames", min=1, help="At most this many frames (and history).")
    ] = 10,
    ordering: Annotated[
        Ordering, typer.Option("--ordering", help="Order of the frames shown.")
    ] = Ordering.RECENCY,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON document instead of text.")
    ] = False,
) -> None:
    """Show the current frame(s) for a path: what the agent wrote about it."""
    state: CliState = ctx.obj
    with user_errors(state):
        if combine and json_out:
            raise UsageError("--combine and --json cannot be used together")
        ws = load_workspace(state.workspace)
        print_trust_notice(state, ws)
        with open_store_for_reading(ws) as store:
            if not store.input_keys_trusted:
                raise unadopted_store_error(ws.layout.store_path, command="get")
            agents = load_agents(ws)
            agent_id = agent or ws.settings.default_agent
            can_write = agents.get(agent_id).can_write
            entry = resolve_typed_path(
                path,
                root=ws.layout.root,
                rows=TreeRows(store.conn),
                options=ignore_options(ws.settings),
            )
            api = context_api(store, agents)
            view = NodeView(
                max_frames=max_frames,
                ordering=ordering,
                frame_type=frame_type,
                agent_id=agent_id,
                history=history,
            )
            node = api.get_node(NodeId(entry.node_id), view)
            if not node.frames and not node.history:
                earlier = api.get_node(
                    NodeId(entry.node_id),
                    NodeView(max_frames=1, frame_type=frame_type, agent_id=agent_id, history=True),
                ).history
                raise _no_frame(
                    path, agent_id, frame_type, changed=bool(earlier), can_write=can_write
                )
    if json_out:
        emit_json(_node_json(node, agent_id, frame_type, history, include_metadata))
    elif combine:
        texts = [t for e in node.frames if (t := e.frame.text()) is not None]
        sys.stdout.write(COMBINE_SEPARATOR.join(texts) + "\n")
    else:
        _print_node(state, node, agent_id, include_metadata)


def unadopted_store_error(store_path: Path, *, command: str) -> UsageError:
    """``get`` never serves a frame of a store contextree did not create for this user here:
    a cloned repository can ship one whose frames say anything."""
    return UsageError(
        f"`contextree {command}` refused: {store_path} came with the workspace (contextree did "
        "not create it for you here), so its frames are not served as current",
        hint="If you trust where it came from (or you moved the workspace), run `contextree "
        "verify --adopt`; otherwise move it aside and run `contextree generate`.",
    )


def _no_frame(
    path: str, agent_id: str, frame_type: str | None, *, changed: bool, can_write: bool
) -> FrameNotFoundError:
    of_type = f" of type {frame_type}" if frame_type else ""
    why = " (it changed since its last frame was written)" if changed else ""
    hint = (
        f"Run `contextree generate {path} --agent {agent_id}`; add --history to see earlier frames."
        if can_write
        else f"Agent {agent_id} is a reader and never writes frames; pick a writer with "
        "--agent (`contextree agent list` shows them)."
    )
    return FrameNotFoundError(
        f"no frame{of_type} yet for agent {agent_id} on {path}{why}", hint=hint
    )


def _time(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).isoformat(timespec="seconds")


def _entry_json(entry: FrameEntry, include_metadata: bool) -> dict[str, Any]:
    text = entry.frame.text()
    doc: dict[str, Any] = {
        "frame_id": entry.frame.frame_id.hex(),
        "agent_id": entry.frame.agent_id,
        "frame_type": entry.frame.frame_type,
        "node_id": entry.node_id.hex(),
        "path": display_path(entry.path),
        "written_at": _time(entry.written_at_ns),
        "input_key": entry.input_key,
        "is_head": entry.is_head,
        "content": text,
        "content_binary": text is None,
    }
    if include_metadata:
        doc["metadata"] = project_for_read(entry.metadata)
    return doc


def _node_json(
    node: NodeContext,
    agent_id: str,
    frame_type: str | None,
    history: bool,
    include_metadata: bool,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "path": display_path(node.path),
        "node_id": node.node_id.hex(),
        "kind": node.kind,
        "size": node.size,
        "agent": agent_id,
        "frame_type": frame_type,
        "frame_count": node.frame_count,
        "frames": [_entry_json(e, include_metadata) for e in node.frames],
    }
    if history:
        doc["history"] = [_entry_json(e, include_metadata) for e in node.history]
    return doc


def _print_entry(state: CliState, entry: FrameEntry, title: str, include_metadata: bool) -> None:
    out = state.out
    out.print(
        term_name(
            f"--- {title} · {entry.frame.agent_id} · {entry.frame.frame_type} · "
            f"{_time(entry.written_at_ns)} · frame {entry.frame.frame_id.hex()[:16]} ---"
        ),
        markup=False,
    )
    if include_metadata:
        for key, value in project_for_read(entry.metadata).items():
            out.print(f"  {key}: {value}", markup=False)
        out.print(f"  input_key: {entry.input_key or '(none: never current)'}", markup=False)
        out.print("", markup=False)
    text = entry.frame.text()
    if text is None:
        out.print(f"[binary content, {plural(len(entry.frame.content), 'byte')}]", markup=False)
    else:
        out.print(text.rstrip("\n"), markup=False)
    out.print("", markup=False)


def _print_node(state: CliState, node: NodeContext, agent_id: str, include_metadata: bool) -> None:
    out = state.out
    kind = "directory" if node.kind == NodeKind.DIR else f"file, {human_bytes(node.size or 0)}"
    out.print(f"Path: {term_name(display_path(node.path))} ({kind})", markup=False)
    out.print(f"Node: {node.node_id.hex()}", markup=False)
    out.print(f"Agent: {agent_id}", markup=False)
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
        title = "current" if entry.is_head else f"node {entry.node_id.hex()[:12]}"
        _print_entry(state, entry, title, include_metadata)
