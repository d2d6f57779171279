"""The MCP tools' handlers: check the arguments, make one call on the facade ``Workspace``,
shape the answer.

Owns ``ToolCalls``: one per server, holding the ``Workspace`` (which keeps no store open
between calls: each read opens the store, reads and closes it, so the server holds no read
transaction between calls and never stalls a WAL checkpoint) and whether ``refresh`` may run.
A mistake or a refusal is raised as a ``ContextreeError`` (message and hint; the server makes
it a tool error): an argument of the wrong type, a path outside the workspace or not in the
last scan (the facade's ``PathNotFoundError`` says why), a withheld file such as ``.env``,
``refresh`` without ``--allow-generate``. Calls are synchronous and thread-safe for reading;
the server runs each in a worker thread so a long ``refresh`` never holds up a read.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

from contextree.core.tree import display_path
from contextree.errors import PathNotFoundError, UsageError, WorkspaceBusyError
from contextree.facade import Workspace
from contextree.mcpserver.answers import (
    ToolAnswer,
    children_json,
    is_fresh,
    json_answer,
    node_json,
    status_json,
)
from contextree.mcpserver.tools import MAX_BUDGET, MAX_SEARCH_LIMIT, tool_named

Arguments = Mapping[str, Any]
#: Failed and blocked nodes a refresh answer lists (the counts cover all of them).
_FAILURES_SHOWN = 20


class ToolCalls:
    """The handlers of one server. ``call(name, arguments)`` answers one ``tools/call``."""

    def __init__(self, workspace: Workspace, *, allow_generate: bool = False) -> None:
        self._ws = workspace
        self._allow_generate = allow_generate
        # One refresh at a time from this server (the writer lock covers other processes).
        self._refreshing = threading.Lock()
        self._handlers: dict[str, Callable[[Arguments], ToolAnswer]] = {
            "get_context": self._get_context,
            "get_frame": self._get_frame,
            "list_children": self._list_children,
            "search": self._search,
            "workspace_status": self._workspace_status,
            "refresh": self._refresh,
        }

    @property
    def allow_generate(self) -> bool:
        """Whether ``refresh`` is offered and may run."""
        return self._allow_generate

    def call(self, name: str, arguments: Arguments | None) -> ToolAnswer:
        """Run tool ``name``. Raises ``ContextreeError`` (a ``UsageError`` for bad arguments)."""
        spec = tool_named(name)
        if spec is None:
            raise UsageError(
                f"there is no tool named {name!r}",
                hint="The tools this server offers are in its tools/list answer.",
            )
        args = dict(arguments or {})
        allowed = spec.input_schema.get("properties", {})
        unknown = sorted(set(args) - set(allowed))
        if unknown:
            raise UsageError(
                f"{name} takes no argument {unknown[0]!r}",
                hint=f"Its arguments are: {', '.join(allowed) or 'none'}.",
            )
        for required in spec.input_schema.get("required", ()):
            if required not in args:
                raise UsageError(f"{name} needs the argument {required!r}")
        return self._handlers[name](args)

    # -- the tools ------------------------------------------------------------------------

    def _get_context(self, args: Arguments) -> ToolAnswer:
        path = self._readable_path(args)
        budget = _int_arg(args, "budget", low=1, high=MAX_BUDGET)
        pack = self._ws.pack(path, budget=budget)
        blocks = [
            {
                "role": b.role,
                "path": b.path,
                "node_id": b.node_id,
                "frame_id": b.frame_id,
                "agent_id": b.agent_id,
                "current": b.current,
                "on_disk": str(b.on_disk),
                "fresh": is_fresh(b.current, str(b.on_disk)),
            }
            for b in pack.blocks
        ]
        data = {
            "path": pack.path,
            "agent": pack.agent_id,
            "budget": pack.budget,
            "estimate": pack.estimate,
            "blocks": blocks,
            "stale": [b["path"] for b in blocks if not b["fresh"]],
            "omitted": [{"path": o.path, "role": o.role, "reason": o.reason} for o in pack.omitted],
        }
        return ToolAnswer(text=pack.render("md"), data=data)

    def _get_frame(self, args: Arguments) -> ToolAnswer:
        path = self._readable_path(args)
        agent = _str_arg(args, "agent")
        node = self._ws.get(path, agent=agent)
        return json_answer(node_json(node, can_refresh=self._allow_generate))

    def _list_children(self, args: Arguments) -> ToolAnswer:
        path = self._readable_path(args)
        children = self._ws.children(path)
        return json_answer(children_json(path or ".", children, can_refresh=self._allow_generate))

    def _search(self, args: Arguments) -> ToolAnswer:
        query = _str_arg(args, "query") or ""
        if not query.strip():
            raise UsageError("search needs a non-empty query", hint="Give words to look for.")
        prefix = _str_arg(args, "path_prefix")
        if prefix is not None:
            self._refuse_withheld(prefix)
        limit = _int_arg(args, "limit", low=1, high=MAX_SEARCH_LIMIT) or 20
        hits = self._ws.search(query, path_prefix=prefix, limit=limit)
        rows = [
            {
                "path": h.path,
                "score": h.score,
                "snippet": h.snippet,
                "node_id": h.node_id,
                "frame_id": h.frame_id,
                "agent_id": h.agent_id,
                "current": h.current,
                "on_disk": str(h.on_disk),
                "fresh": is_fresh(h.current, str(h.on_disk)),
            }
            for h in hits
            if not self._ws.withheld(h.path)
        ]
        return json_answer({"query": query, "path_prefix": prefix, "hits": rows})

    def _workspace_status(self, args: Arguments) -> ToolAnswer:
        check_disk = args.get("check_disk", False)
        if not isinstance(check_disk, bool):
            raise UsageError("check_disk must be true or false")
        report = self._ws.status(check_changes=check_disk)
        frames = self._ws.frame_status()
        return json_answer(status_json(report, frames))

    def _refresh(self, args: Arguments) -> ToolAnswer:
        from contextree.facade.generating import NodeStatus

        if not self._allow_generate:
            raise UsageError(
                "refresh is off: this MCP server is read-only",
                hint="Start it with `contextree mcp --allow-generate` to let agents "
                "regenerate frames, or run `contextree generate` yourself.",
            )
        path = self._readable_path(args)
        if not self._refreshing.acquire(blocking=False):
            raise WorkspaceBusyError(None, str(self._ws.root / ".contextree" / "lock"))
        try:
            notices: list[str] = []
            outcome = asyncio.run(
                self._ws.generate(path or None, on_notice=notices.append, command="mcp refresh")
            )
        finally:
            self._refreshing.release()
        result = outcome.result
        failures = [
            {
                "path": display_path(r.path) or ".",
                "status": str(r.status),
                "error_class": r.error_class,
                "message": r.message,
                "hint": r.hint,
            }
            for r in result.nodes.values()
            if r.status in (NodeStatus.FAILED, NodeStatus.BLOCKED)
        ]
        return json_answer(
            {
                "path": path or ".",
                "succeeded": result.succeeded,
                "generated": result.count(NodeStatus.DONE),
                "already_current": result.count(NodeStatus.SKIPPED),
                "failed": result.count(NodeStatus.FAILED),
                "blocked": result.count(NodeStatus.BLOCKED),
                "failures": failures[:_FAILURES_SHOWN],
                "notices": notices,
            }
        )

    # -- paths -----------------------------------------------------------------------------

    def _readable_path(self, args: Arguments) -> str:
        path = _str_arg(args, "path")
        assert path is not None  # required: checked in call()
        self._refuse_withheld(path)
        return "" if path in (".", "./") else path

    def _refuse_withheld(self, path: str) -> None:
        """A withheld file is refused here; a path outside the workspace or not in the last
        scan is refused by the facade, which says why."""
        if self._ws.withheld(path):
            raise PathNotFoundError(
                f"{path} is withheld: its name marks it as likely to hold secrets, so "
                "contextree never reads it or serves anything about it",
                hint="Ask the user for what you need from it; secret files stay out of "
                "context (generation.secret_patterns).",
            )


def _str_arg(args: Arguments, name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"{name} must be a string, not {type(value).__name__}")
    return value


def _int_arg(args: Arguments, name: str, *, low: int, high: int) -> int | None:
    value = args.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name} must be an integer, not {type(value).__name__}")
    if not low <= value <= high:
        raise UsageError(f"{name} must be between {low:,} and {high:,}, not {value:,}")
    return value
