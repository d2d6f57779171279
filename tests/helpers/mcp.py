"""Talking to ``contextree mcp`` with the MCP SDK's own client, as an agent would."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

TEE = Path(__file__).with_name("mcp_stdio_tee.py")
#: Where the repository root is, so the tee's child finds ``tests`` and ``contextree``.
REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def stdio_session(
    workspace: Path, *mcp_args: str, record: Path, busy_timeout_ms: int | None = None
) -> AsyncIterator[Client]:
    """An initialised client of ``contextree -w WORKSPACE mcp MCP_ARGS`` over stdio, behind
    the tee that records whether every stdout line was JSON-RPC (see ``stdout_lines``)."""
    busy = "-" if busy_timeout_ms is None else str(busy_timeout_ms)
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(TEE), str(record), busy, "-w", str(workspace), "mcp", *mcp_args],
        env=dict(os.environ),  # the hermetic HOME and XDG directories of the test
        cwd=REPO,
    )
    async with Client(params, read_timeout_seconds=60) as client:
        yield client


def stdout_lines(record: Path) -> list[dict[str, Any]]:
    """The tee's verdict on each line the server wrote to stdout."""
    return [json.loads(line) for line in record.read_text().splitlines()]


def answer_data(result: Any) -> dict[str, Any]:
    """A tool result's structured content (its text is the same facts, or Markdown)."""
    assert isinstance(result.structured_content, dict), result
    return result.structured_content


def error_text(result: Any) -> str:
    """The text of a tool error (failing the test when the call did not fail)."""
    assert result.is_error, result
    return str(result.content[0].text)
