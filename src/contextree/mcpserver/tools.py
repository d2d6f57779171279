"""The tools the MCP server offers: names, descriptions written for a model, JSON schemas.

Owns what a client sees in ``tools/list`` (pinned by ``tests/fixtures/mcp/tools.json``) and
nothing of what the tools do (``calls`` does that). Plain data: importing it loads neither the
SDK nor the facade. ``refresh`` is listed only when the server was started with
``--allow-generate``; the other tools only read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

#: Largest ``limit`` a search may ask for.
MAX_SEARCH_LIMIT = 100
#: Largest token budget a context pack may ask for.
MAX_BUDGET = 1_000_000

_PATH = (
    'A path relative to the workspace root, \'/\'-separated ("src/app.py", "src"); '
    '"" or "." is the whole workspace.'
)
_AGENT = (
    'Whose frames to read (an agent id such as "docs-writer"); omit for the workspace\'s '
    "default agent."
)
_FRESHNESS = (
    " Every frame in the answer carries `current` (it is the head for the path as last "
    'scanned) and `on_disk` ("unchanged", "changed", "missing", "directory" or '
    '"unknown": the file now against that scan, by a stat).'
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSpec:
    """One tool as listed: ``input_schema`` is a JSON Schema object; ``read_only`` is what
    the listing's annotations say."""

    name: str
    title: str
    description: str
    input_schema: Mapping[str, Any]
    read_only: bool = True


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> Mapping[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return MappingProxyType(schema)


GET_CONTEXT = ToolSpec(
    name="get_context",
    title="Context for a path",
    description=(
        "Start here. Returns a ready-to-read Markdown context pack for a file or directory: "
        "its own summary plus the summaries around it (ancestors, children), cut to fit "
        "`budget` tokens. Use it before reading or editing code you do not know yet; it is "
        "much cheaper than opening the files." + _FRESHNESS
    ),
    input_schema=_object(
        {
            "path": {"type": "string", "description": _PATH},
            "budget": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_BUDGET,
                "description": "Most tokens the pack may use; omit for the workspace's default.",
            },
        },
        ("path",),
    ),
)

GET_FRAME = ToolSpec(
    name="get_frame",
    title="The frame of one path",
    description=(
        "Returns the stored context frame (a summary written for agents) of exactly one file "
        "or directory, without its surroundings." + _FRESHNESS
    ),
    input_schema=_object(
        {
            "path": {"type": "string", "description": _PATH},
            "agent": {"type": "string", "description": _AGENT},
        },
        ("path",),
    ),
)

LIST_CHILDREN = ToolSpec(
    name="list_children",
    title="A directory's children",
    description=(
        "Lists the files and directories directly inside a directory, each with its kind, "
        "size and frame text: a map of the directory in one call." + _FRESHNESS
    ),
    input_schema=_object({"path": {"type": "string", "description": _PATH}}, ("path",)),
)

SEARCH = ToolSpec(
    name="search",
    title="Search the frames",
    description=(
        "Full-text search over the frames (the summaries, not the raw files). Use it to find "
        "where something is handled when you do not know the path; then call get_context or "
        "get_frame on a hit." + _FRESHNESS
    ),
    input_schema=_object(
        {
            "query": {"type": "string", "minLength": 1, "description": "Words to look for."},
            "path_prefix": {
                "type": "string",
                "description": 'Only paths under this one ("src/api"); omit for everywhere.',
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_SEARCH_LIMIT,
                "default": 20,
                "description": "Most hits to return.",
            },
        },
        ("query",),
    ),
)

WORKSPACE_STATUS = ToolSpec(
    name="workspace_status",
    title="Workspace status",
    description=(
        "How complete and how fresh the context is: files and directories in the last scan "
        "and when it ran, how many nodes have a current frame (coverage) and how many lack "
        "one, and the last generation run. With `check_disk` it also compares every file "
        "with the last scan (a stat per file: slower on large workspaces)."
    ),
    input_schema=_object(
        {
            "check_disk": {
                "type": "boolean",
                "default": False,
                "description": "Also list what changed on disk since the last scan.",
            }
        }
    ),
)

REFRESH = ToolSpec(
    name="refresh",
    title="Regenerate stale frames",
    description=(
        "Rescans and regenerates the frames under a path that are missing or no longer "
        "current (files that changed, and their directories), then returns what was done. "
        'Call it when an answer said `current: false` or `on_disk: "changed"`. It may '
        "call the workspace's LLM provider and fails at once if another run is writing."
    ),
    input_schema=_object({"path": {"type": "string", "description": _PATH}}, ("path",)),
    read_only=False,
)

READ_TOOLS: tuple[ToolSpec, ...] = (GET_CONTEXT, GET_FRAME, LIST_CHILDREN, SEARCH, WORKSPACE_STATUS)
ALL_TOOLS: tuple[ToolSpec, ...] = (*READ_TOOLS, REFRESH)


def listed_tools(*, allow_generate: bool) -> tuple[ToolSpec, ...]:
    """The tools ``tools/list`` shows: the read tools, and ``refresh`` with
    ``--allow-generate``."""
    return ALL_TOOLS if allow_generate else READ_TOOLS


def tool_named(name: str) -> ToolSpec | None:
    """The spec of tool ``name`` (listed or not), or None."""
    return next((t for t in ALL_TOOLS if t.name == name), None)
