"""The composition root: the one place that builds concrete objects from configuration.

Owns turning "a directory and the environment" into a ready workspace (layout and settings)
and, as the project grows, the store, registries, provider clients and the queue. Nothing else
reads configuration files or builds clients; nothing here runs at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contextree.config.paths import user_config_file
from contextree.config.settings import Settings, load_settings
from contextree.workspace.layout import WorkspaceLayout


@dataclass(frozen=True, slots=True)
class Workspace:
    layout: WorkspaceLayout
    settings: Settings


def load_workspace(workspace: str | None) -> Workspace:
    """Find the workspace (``--workspace`` or discovery from the current directory) and load
    its settings (defaults < user config < workspace config < environment)."""
    layout = (
        WorkspaceLayout.at(Path(workspace)) if workspace else WorkspaceLayout.discover(Path.cwd())
    )
    settings = load_settings(files=[user_config_file(), layout.config_path])
    return Workspace(layout=layout, settings=settings)
