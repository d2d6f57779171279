"""Where contextree keeps per-user files, via platformdirs (honours XDG_* on Linux).

Owns the user-level locations only; workspace-level paths live in ``workspace.layout``.
Nothing is created or read here at import time.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "contextree"


def user_config_dir() -> Path:
    """``$XDG_CONFIG_HOME/contextree`` on Linux; the platform's equivalent elsewhere."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_config_file() -> Path:
    return user_config_dir() / "config.toml"


def user_state_dir() -> Path:
    """``$XDG_STATE_HOME/contextree`` on Linux; the platform's equivalent elsewhere. Holds
    what only this user may decide (workspace trust approvals), never anything a workspace
    can ship."""
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))
