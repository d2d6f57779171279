"""The library surface: ``open_workspace`` and the ``Workspace`` whose methods are the use cases.

The CLI and any other client (an agent framework, an editor plugin, the MCP server) work
through this package and nothing below it. Its modules each own one use case (``reading``,
``generating``, ``workspace_cases``, ``frame_report``, ...) over the objects the composition
root (``contextree.bootstrap``) builds, and ``values`` owns the frozen results handed out.
``contextree`` re-exports the stable part of it; the generation names live in
``contextree.facade.generating``, which is imported only when a run starts.
"""

import importlib
from typing import TYPE_CHECKING, Any

from contextree.api import Ordering
from contextree.facade.values import FrameRecord, NodeFrames
from contextree.facade.workspace import Workspace, open_workspace
from contextree.store.sweep import GcReport
from contextree.store.tree import ScanRow
from contextree.store.upkeep import DESCRIPTIONS as PROBLEM_DESCRIPTIONS
from contextree.store.upkeep import Problem, ProblemGroup, ProblemKind, VerifyReport

if TYPE_CHECKING:
    from contextree.facade.agent_profiles import (
        AgentCheck,
        AgentInfo,
        AgentList,
        AgentProfile,
        AgentRole,
        ProfileCheck,
    )
    from contextree.facade.export_values import BlockCheck, ExportCheck, ExportedFile, ExportResult
    from contextree.facade.frame_report import FrameReport
    from contextree.facade.pack_render import ContextPack, PackBlock, PackOmission
    from contextree.facade.provider_profiles import (
        KeyStatus,
        NewProvider,
        ProbeResult,
        ProfileProblem,
        ProfileSource,
        ProviderAdded,
        ProviderInfo,
        ProviderList,
        ProviderType,
    )
    from contextree.facade.searching import RepairReport, SearchHit
    from contextree.facade.trusting import TrustItem
    from contextree.facade.upkeep import AdoptResult
    from contextree.facade.workspace_cases import InitResult, StatusReport
    from contextree.workspace.scan import ScanProgress, ScanReport

#: Names imported when first asked for, so that commands which only read frames load neither
#: the scanner nor the agent and provider stacks.
_LAZY = {
    "AdoptResult": "contextree.facade.upkeep",
    "AgentCheck": "contextree.facade.agent_profiles",
    "AgentInfo": "contextree.facade.agent_profiles",
    "AgentList": "contextree.facade.agent_profiles",
    "AgentProfile": "contextree.facade.agent_profiles",
    "AgentRole": "contextree.facade.agent_profiles",
    "ProfileCheck": "contextree.facade.agent_profiles",
    "KeyStatus": "contextree.facade.provider_profiles",
    "NewProvider": "contextree.facade.provider_profiles",
    "ProbeResult": "contextree.facade.provider_profiles",
    "ProfileProblem": "contextree.facade.provider_profiles",
    "ProfileSource": "contextree.facade.provider_profiles",
    "ProviderAdded": "contextree.facade.provider_profiles",
    "ProviderInfo": "contextree.facade.provider_profiles",
    "ProviderList": "contextree.facade.provider_profiles",
    "ProviderType": "contextree.facade.provider_profiles",
    "TrustItem": "contextree.facade.trusting",
    "RepairReport": "contextree.facade.searching",
    "SearchHit": "contextree.facade.searching",
    "FrameReport": "contextree.facade.frame_report",
    "BlockCheck": "contextree.facade.export_values",
    "ExportCheck": "contextree.facade.export_values",
    "ExportResult": "contextree.facade.export_values",
    "ExportedFile": "contextree.facade.export_values",
    "ContextPack": "contextree.facade.pack_render",
    "PackBlock": "contextree.facade.pack_render",
    "PackOmission": "contextree.facade.pack_render",
    "InitResult": "contextree.facade.workspace_cases",
    "ScanProgress": "contextree.workspace.scan",
    "ScanReport": "contextree.workspace.scan",
    "StatusReport": "contextree.facade.workspace_cases",
}


def __getattr__(name: str) -> Any:
    """A lazily imported name of ``__all__``."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "PROBLEM_DESCRIPTIONS",
    "AdoptResult",
    "AgentCheck",
    "AgentInfo",
    "AgentList",
    "AgentProfile",
    "AgentRole",
    "BlockCheck",
    "ContextPack",
    "ExportCheck",
    "ExportResult",
    "ExportedFile",
    "FrameRecord",
    "FrameReport",
    "GcReport",
    "InitResult",
    "KeyStatus",
    "NewProvider",
    "NodeFrames",
    "Ordering",
    "PackBlock",
    "PackOmission",
    "ProbeResult",
    "Problem",
    "ProblemGroup",
    "ProblemKind",
    "ProfileCheck",
    "ProfileProblem",
    "ProfileSource",
    "ProviderAdded",
    "ProviderInfo",
    "ProviderList",
    "ProviderType",
    "RepairReport",
    "ScanProgress",
    "ScanReport",
    "ScanRow",
    "SearchHit",
    "StatusReport",
    "TrustItem",
    "VerifyReport",
    "Workspace",
    "open_workspace",
]
