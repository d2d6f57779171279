"""The library surface: ``open_workspace`` and the ``Workspace`` whose methods are the use cases.

The CLI and any other client (an agent framework, an editor plugin, the MCP server) work
through this package and nothing below it. Its modules each own one use case (``reading``,
``generating``, ``workspace_cases``, ``frame_report``, ...) over the objects the composition
root (``contextree.bootstrap``) builds, and ``values`` owns the frozen results handed out.
``contextree`` re-exports the stable part of it; the generation names live in
``contextree.facade.generating``, which is imported only when a run starts.
"""

from contextree.facade.values import FrameRecord, NodeFrames
from contextree.facade.workspace import Workspace, open_workspace

__all__ = ["FrameRecord", "NodeFrames", "Workspace", "open_workspace"]
