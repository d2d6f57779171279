"""Agent profiles: the use cases behind ``Workspace.agents``, ``agent``, ``check_agents`` and
``contextree agent list | show | validate``.

Owns what a caller learns about the agents of a workspace: the built-in ones and those of the
user's and the workspace's profile files (as the composition root loads them, with each
workspace file's trust), which one is the default, which files could not be used and why, and
whether the default agent can write frames. Reads profile files only; never calls a provider.
Provider profiles are ``facade.provider_profiles``'s (importing that loads the provider stack).

The agent types a caller reads (``AgentProfile``, ``AgentRole``, ``ProfileCheck``) are
re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from contextree.agents.profile import AgentProfile, AgentRole
from contextree.agents.registry import BUILTIN_IDS, AgentRegistry, ProfileCheck
from contextree.bootstrap import WorkspaceSetup, check_agents, load_agents
from contextree.errors import AgentNotFoundError

__all__ = [
    "BUILTIN_IDS",
    "AgentCheck",
    "AgentInfo",
    "AgentList",
    "AgentProfile",
    "AgentRole",
    "ProfileCheck",
    "agent_info",
    "check_agent_files",
    "list_agents",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentInfo:
    """One agent as the workspace sees it: its profile, the sources of the profiles it
    replaces (earliest first), whether it may be used with a provider (built-in and user
    agents always; a workspace one once this user approved it) and whether it is the
    workspace's ``default_agent``."""

    profile: AgentProfile
    replaces: tuple[str, ...]
    trusted: bool
    default: bool

    @property
    def id(self) -> str:
        return self.profile.id


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentList:
    """Every usable agent (sorted by id), the configured ``default_agent`` and the profile
    files that could not be used (each breaks only its own id)."""

    default_agent: str
    agents: tuple[AgentInfo, ...]
    problems: tuple[ProfileCheck, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCheck:
    """The check of the agent profile files (those defining ``agent_id`` when given): each
    file's outcome, the built-in agents covered, and, when every agent was checked, why the
    ``default_agent`` cannot generate frames (None when it can)."""

    agent_id: str | None
    files: tuple[ProfileCheck, ...]
    builtins: tuple[str, ...]
    default_agent: str
    default_agent_problem: str | None

    @property
    def ok(self) -> bool:
        """No file is broken and the default agent (when checked) can write frames."""
        return self.default_agent_problem is None and all(c.error is None for c in self.files)


def list_agents(setup: WorkspaceSetup) -> AgentList:
    """Every agent of the workspace; a broken file is listed among the problems."""
    registry = load_agents(setup)
    default = setup.settings.default_agent
    return AgentList(
        default_agent=default,
        agents=tuple(_info(p, registry, default) for p in registry.profiles()),
        problems=registry.problems(),
    )


def agent_info(setup: WorkspaceSetup, agent_id: str) -> AgentInfo:
    """The agent ``agent_id``; ``AgentNotFoundError`` (listing the known ids) when there is
    none, the file's ``AgentConfigError`` when its profile is broken."""
    registry = load_agents(setup)
    return _info(registry.get(agent_id), registry, setup.settings.default_agent)


def check_agent_files(setup: WorkspaceSetup, agent_id: str | None = None) -> AgentCheck:
    """Load every agent profile file under the rules of a run (or only those defining
    ``agent_id``) and, when checking all, the default agent. ``AgentNotFoundError`` when
    ``agent_id`` is neither built in nor defined by a file."""
    checks = check_agents(setup)
    if agent_id is not None:
        checks = [c for c in checks if c.path.stem == agent_id]
        if not checks and agent_id not in BUILTIN_IDS:
            raise AgentNotFoundError(
                f"no profile file defines agent '{agent_id}' and it is not built in",
                hint="`contextree agent list` shows the known agents.",
            )
    return AgentCheck(
        agent_id=agent_id,
        files=tuple(checks),
        builtins=_builtins_checked(agent_id),
        default_agent=setup.settings.default_agent,
        default_agent_problem=_default_agent_problem(setup, checks) if agent_id is None else None,
    )


def _builtins_checked(agent_id: str | None) -> tuple[str, ...]:
    if agent_id is None:
        return BUILTIN_IDS
    return (agent_id,) if agent_id in BUILTIN_IDS else ()


def _info(profile: AgentProfile, registry: AgentRegistry, default: str) -> AgentInfo:
    origin = registry.origin(profile.id)
    return AgentInfo(
        profile=profile,
        replaces=registry.replaced(profile.id),
        trusted=origin is None or origin.trusted,
        default=profile.id == default,
    )


def _default_agent_problem(setup: WorkspaceSetup, checks: list[ProfileCheck]) -> str | None:
    if any(c.error is not None for c in checks):
        return None  # the registry cannot be built; the file errors say why
    registry = load_agents(setup)
    default = setup.settings.default_agent
    profile = registry.find(default)
    if profile is None:
        return (
            f"default_agent '{default}' is not a known agent (known: {', '.join(registry.ids())})"
        )
    if not profile.can_write:
        return f"default_agent '{default}' is a reader and cannot generate frames"
    return None
