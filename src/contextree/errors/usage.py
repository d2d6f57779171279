"""The ``UsageError`` branch (except ``ProviderConfigError``, in ``provider``): config,
agent profile and trust errors, workspace and path errors, the store version, agents, frames
not found and plan targets the user can fix. Import them from ``contextree.errors``."""

from __future__ import annotations

from contextree.errors._base import UsageError


class ConfigError(UsageError):
    """A configuration file or setting is invalid."""

    error_class = "config_error"


class WorkspaceError(UsageError):
    """The workspace directory does not exist or is not a directory."""

    error_class = "workspace_error"


class WorkspaceWriteError(WorkspaceError):
    """contextree cannot write in ``.contextree/`` (permission denied, a read-only disk), or
    finds a symlink where it would write (a repository can ship one to redirect a write)."""

    error_class = "workspace_write_error"


class PathNotFoundError(UsageError):
    """A path the user typed does not name a node of the scanned tree."""

    error_class = "path_not_found_error"


class StoreVersionError(UsageError):
    """The store was created by a newer contextree than this one."""

    error_class = "store_version_error"


class AgentConfigError(ConfigError):
    """An agent profile file is invalid; the message names the file and the field."""

    error_class = "agent_config_error"


class UntrustedWorkspaceError(ConfigError):
    """A run would use a workspace profile file the user has not approved."""

    error_class = "untrusted_workspace_error"


class AgentNotFoundError(UsageError):
    """No agent has the requested id."""

    error_class = "agent_not_found_error"


class AgentCannotWriteError(UsageError):
    """A reader agent was asked to write a frame."""

    error_class = "agent_cannot_write_error"


class FrameNotFoundError(UsageError):
    """The path is in the scanned tree but has no frame yet for the agent asked about."""

    error_class = "frame_not_found_error"


class DescendantsNotCurrentError(UsageError):
    """A non-recursive directory target has descendants without a current frame."""

    error_class = "descendants_not_current_error"


class NothingToRetryError(UsageError):
    """``--retry-failed`` with no earlier run in the ledger."""

    error_class = "nothing_to_retry_error"
