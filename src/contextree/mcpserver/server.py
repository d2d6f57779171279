"""The MCP server on the official SDK's low-level ``Server``, and its stdio transport.

Owns turning ``tools.py``'s specs into the SDK's ``Tool`` listing and a ``tools/call`` into one
``ToolCalls.call`` run in a worker thread (so a read never waits behind another call, and a
``refresh`` never holds up the event loop), with every ``ContextreeError`` returned as a tool
error whose text is its message and hint, never a traceback. Over stdio nothing but protocol
reaches stdout: the SDK's ``stdio_server`` points fd 1 at stderr while it serves, and this
module prints nothing. A failure that is not a ``ContextreeError`` is logged by its class name
only (no message: it might quote a file).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import anyio.to_thread
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from contextree.errors import ContextreeError
from contextree.facade import Workspace
from contextree.mcpserver.answers import ToolAnswer
from contextree.mcpserver.calls import ToolCalls
from contextree.mcpserver.http import HttpOptions, serve_http
from contextree.mcpserver.tools import ToolSpec, listed_tools
from contextree.version import __version__

SERVER_NAME = "contextree"
INSTRUCTIONS = (
    "contextree serves stored context frames (summaries written for agents) for every file "
    "and directory of this workspace. Call get_context on a path before reading unfamiliar "
    "code, search to find where something lives, list_children to map a directory. Each "
    "frame says whether it is current and whether the file changed on disk since."
)

_log = logging.getLogger("contextree.mcp")


def sdk_tool(spec: ToolSpec) -> types.Tool:
    """The SDK's listing of one tool."""
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=dict(spec.input_schema),
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=not spec.read_only,
        ),
    )


def error_result(exc: ContextreeError) -> types.CallToolResult:
    """A tool error: the message and the hint, and both as structured content."""
    text = exc.message if not exc.hint else f"{exc.message}\n{exc.hint}"
    return types.CallToolResult(
        content=[types.TextContent(text=f"error: {text}")],
        structured_content={
            "error": {"class": exc.error_class, "message": exc.message, "hint": exc.hint}
        },
        is_error=True,
    )


def _result(answer: ToolAnswer) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=answer.text)], structured_content=dict(answer.data)
    )


def build_server(calls: ToolCalls) -> Server[Any]:
    """The SDK server answering ``tools/list`` and ``tools/call`` through ``calls``."""
    tools = [sdk_tool(spec) for spec in listed_tools(allow_generate=calls.allow_generate)]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        del ctx, params
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        del ctx
        try:
            answer = await anyio.to_thread.run_sync(
                partial(calls.call, params.name, params.arguments)
            )
        except ContextreeError as exc:
            return error_result(exc)
        except Exception as exc:
            _log.error("contextree mcp: %s failed with %s", params.name, type(exc).__name__)
            return types.CallToolResult(
                content=[
                    types.TextContent(
                        text=f"error: {params.name} failed unexpectedly "
                        f"({type(exc).__name__}); the server keeps running. Try again, "
                        "or run the same read with the contextree CLI to see more."
                    )
                ],
                is_error=True,
            )
        return _result(answer)

    return Server(
        SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(workspace: Workspace, *, allow_generate: bool = False) -> None:
    """Serve MCP on stdin/stdout until the client closes stdin."""
    server = build_server(ToolCalls(workspace, allow_generate=allow_generate))
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_streamable_http(
    workspace: Workspace, options: HttpOptions, *, allow_generate: bool = False
) -> None:
    """Serve MCP over streamable HTTP at ``http://HOST:PORT/mcp`` until interrupted."""
    server = build_server(ToolCalls(workspace, allow_generate=allow_generate))
    await serve_http(server, options)
