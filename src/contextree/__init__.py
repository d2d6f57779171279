"""contextree: AI-generated context frames for a code workspace, kept in a Merkle tree.

The stable library surface is what ``__all__`` names: ``open_workspace`` returns a
``Workspace`` whose methods are the CLI's use cases (``scan``, ``status``, ``generate``
(async), ``get``, ``verify``, ``gc``, ``untrusted``, ``trust``, ...), taking paths relative to
the workspace and returning frozen values; errors are the ``contextree.errors`` tree. Everything
else is internal. The facade is imported on first use, so ``import contextree`` stays cheap::

    import asyncio
    import contextree

    with contextree.open_workspace("path/to/repo") as ws:
        asyncio.run(ws.generate())
        print(ws.get("src/app.py").text)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from contextree.version import __version__

if TYPE_CHECKING:
    from contextree.errors import (
        AgentNotFoundError,
        ConfigError,
        ContextreeError,
        FrameNotFoundError,
        PathNotFoundError,
        ProviderError,
        RuntimeFailure,
        UntrustedWorkspaceError,
        UsageError,
        WorkspaceBusyError,
        WorkspaceError,
    )
    from contextree.facade import (
        ContextPack,
        ExportCheck,
        ExportResult,
        FrameRecord,
        NodeFrames,
        SearchHit,
        Workspace,
        open_workspace,
    )


__all__ = [
    "AgentNotFoundError",
    "ConfigError",
    "ContextPack",
    "ContextreeError",
    "ExportCheck",
    "ExportResult",
    "FrameNotFoundError",
    "FrameRecord",
    "NodeFrames",
    "PathNotFoundError",
    "ProviderError",
    "RuntimeFailure",
    "SearchHit",
    "UntrustedWorkspaceError",
    "UsageError",
    "Workspace",
    "WorkspaceBusyError",
    "WorkspaceError",
    "__version__",
    "open_workspace",
]

_FACADE = frozenset(
    {
        "ContextPack",
        "ExportCheck",
        "ExportResult",
        "FrameRecord",
        "NodeFrames",
        "SearchHit",
        "Workspace",
        "open_workspace",
    }
)
_ERRORS = frozenset(__all__) - _FACADE - {"__version__"}


def __getattr__(name: str) -> Any:
    """The facade's names and the errors, imported when first asked for (``--version`` loads
    neither)."""
    if name in _FACADE:
        from contextree import facade as source
    elif name in _ERRORS:
        from contextree import errors as source  # type: ignore[no-redef]
    else:
        raise AttributeError(f"module 'contextree' has no attribute {name!r}")
    value = getattr(source, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
