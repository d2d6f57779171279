"""``contextree mcp``: serve the workspace's frames to AI agents over MCP (stdio, or
streamable HTTP with ``--http``).

Parses the options, opens the ``Workspace`` and hands it to ``contextree.mcpserver``; the MCP
SDK is imported here, when the command runs, never at start-up (``contextree --version`` and
``get`` do not load it). Without the optional extra installed the command is a usage error
saying what to install. Over stdio this module writes nothing to stdout: it is the protocol's.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from types import ModuleType
from typing import Annotated

import typer

from contextree.cli.errors import user_errors
from contextree.cli.output import CliState
from contextree.errors import UsageError
from contextree.facade import Workspace, open_workspace

#: The modules the command needs from the optional extra (an import seam for tests).
SERVER_MODULE = "contextree.mcpserver.server"
HTTP_MODULE = "contextree.mcpserver.http"
DEFAULT_PORT = 8765


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp_cmd)


def load_mcp_module(name: str) -> ModuleType:
    """Import one of the MCP server's modules; a missing SDK is a ``UsageError`` saying what
    to install."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing = exc.name or ""
        if missing.split(".")[0] not in ("mcp", "mcp_types", "uvicorn", "starlette", "anyio"):
            raise
        raise UsageError(
            "`contextree mcp` needs the MCP SDK, which is not installed",
            hint="Install the optional extra: `pip install 'contextree[mcp]'` (or `uv sync "
            "--extra mcp` in a checkout).",
        ) from None


def mcp_cmd(  # noqa: PLR0917  # typer maps each option to a parameter
    ctx: typer.Context,
    http: Annotated[
        bool,
        typer.Option("--http", help="Serve streamable HTTP at http://HOST:PORT/mcp, not stdio."),
    ] = False,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            metavar="HOST",
            help="With --http: the address to listen on (default 127.0.0.1). Anything but "
            "loopback needs --token-env.",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            metavar="PORT",
            help=f"With --http: the port (default {DEFAULT_PORT}; 0: any).",
        ),
    ] = None,
    token_env: Annotated[
        str | None,
        typer.Option(
            "--token-env",
            metavar="VAR",
            help="With --http: clients must send the token in this environment variable as "
            "`Authorization: Bearer <token>`.",
        ),
    ] = None,
    allow_generate: Annotated[
        bool,
        typer.Option(
            "--allow-generate",
            help="Offer the refresh tool, which regenerates stale frames (trust-checked, under "
            "the writer lock, like generate). Over HTTP it needs --token-env.",
        ),
    ] = False,
) -> None:
    """Serve context frames to AI agents over MCP (stdio by default; read-only unless
    --allow-generate).

    Tools: get_context, get_frame, list_children, search, workspace_status (and refresh with
    --allow-generate). Register it in an agent as the command `contextree mcp`; paths are
    relative to the workspace root.
    """
    state: CliState = ctx.obj
    with user_errors(state):
        if not http:
            given = [n for n, v in (("--host", host), ("--port", port), ("--token-env", token_env))
                     if v is not None]  # fmt: skip
            if given:
                raise UsageError(
                    f"{given[0]} only applies to the HTTP server",
                    hint="Add --http, or leave it out to serve over stdio.",
                )
        server = load_mcp_module(SERVER_MODULE)
        ws = open_workspace(state.workspace or ".", discover=state.workspace is None)
        _say_trust(state, ws, allow_generate=allow_generate)
        try:
            if http:
                options = load_mcp_module(HTTP_MODULE).http_options(
                    host=host or "127.0.0.1",
                    port=DEFAULT_PORT if port is None else port,
                    token_env=token_env,
                    allow_generate=allow_generate,
                )
                asyncio.run(_serve_http(server, ws, options, allow_generate))
            else:
                asyncio.run(_serve_stdio(server, ws, allow_generate))
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


async def _serve_stdio(server: ModuleType, ws: Workspace, allow_generate: bool) -> None:
    await server.serve_stdio(ws, allow_generate=allow_generate)


async def _serve_http(
    server: ModuleType, ws: Workspace, options: object, allow_generate: bool
) -> None:
    await server.serve_streamable_http(ws, options, allow_generate=allow_generate)


def _say_trust(state: CliState, ws: Workspace, *, allow_generate: bool) -> None:
    """With refresh on, the trust notice goes to stderr (stdout is the protocol's)."""
    if not allow_generate:
        return
    notice = ws.trust_notice()
    if notice:
        sys.stderr.write(f"contextree mcp: {notice}\n")
    del state
