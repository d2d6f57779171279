"""The composition root: the one place that builds concrete objects from configuration.

Owns turning "a directory and the environment" into a ready workspace (layout, settings and
the notices of workspace settings it ignored), and the store, agent and provider registries
(with each workspace profile's trust), the generation environment and the frame report built
from it. Nothing else reads configuration files or builds clients; nothing here runs at import
time. What trust means for a command lives one layer up, in ``contextree.trust_review``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from contextree.config.generation import DEFAULT_SECRET_PATTERNS
from contextree.config.paths import user_config_dir, user_config_file
from contextree.config.settings import Settings, load_settings
from contextree.core.ids import Digest
from contextree.errors import ContextreeError, PathNotFoundError, UsageError
from contextree.store.db import Store
from contextree.workspace.layout import WorkspaceLayout
from contextree.workspace.paths import IgnoreOptions
from contextree.workspace.trust import WorkspaceTrust

# The generation stack (providers, aiohttp, agents, the queue) is imported inside the functions
# that build it, so `scan` and `status --no-changes` do not pay for it at start-up.
if TYPE_CHECKING:
    from contextree.agents.registry import AgentRegistry, ProfileCheck
    from contextree.api import ContextApi
    from contextree.context.generation.ledger import RunSummary
    from contextree.context.generation.run import (
        Coverage,
        GenerationEnvironment,
    )
    from contextree.providers import ProviderRegistry


@dataclass(frozen=True, slots=True)
class Workspace:
    layout: WorkspaceLayout
    settings: Settings
    #: Workspace config values ignored because they would loosen the user's security or
    #: spend settings (one line each, naming the file and the setting).
    notices: tuple[str, ...] = ()


def load_workspace(workspace: str | None) -> Workspace:
    """Find the workspace (``--workspace`` or discovery from the current directory) and load
    its settings (defaults < user config < workspace config < environment)."""
    layout = (
        WorkspaceLayout.at(Path(workspace)) if workspace else WorkspaceLayout.discover(Path.cwd())
    )
    notices: list[str] = []
    settings = load_settings(
        files=[user_config_file()], workspace=layout.config_path, notices=notices
    )
    return Workspace(layout=layout, settings=settings, notices=tuple(notices))


# --- agents and the context API ----------------------------------------------------------


def agent_dirs(layout: WorkspaceLayout) -> tuple[Path, Path]:
    """Where agent profiles are read from, lowest precedence first: the user's
    ``<config dir>/agents`` and the workspace's ``.contextree/agents``."""
    return (user_config_dir() / "agents", layout.data_dir / "agents")


def prompt_file_withheld(settings: Settings) -> Callable[[str], bool]:
    """Whether a prompt file (named relative to its profile's directory) is one the scope
    rules withhold: the default secret patterns and the configured ones, case-insensitively.
    Such a file is never read."""
    from contextree.context.generation.scope import Scope, ScopeRules

    patterns = tuple(
        dict.fromkeys((*DEFAULT_SECRET_PATTERNS, *settings.generation.secret_patterns))
    )
    rules = ScopeRules.build(secret_patterns=patterns)

    def withheld(rel: str) -> bool:
        name = rel.encode("utf-8", "surrogateescape")
        return rules.classify_file(name, 1) is Scope.WITHHELD

    return withheld


def workspace_trust(ws: Workspace) -> WorkspaceTrust:
    """This user's approvals of the workspace's own profile files (read now, once)."""
    return WorkspaceTrust.load(ws.layout.root)


def _trusted_in(directory: Path, trust: WorkspaceTrust) -> Callable[[Path, Digest], bool]:
    """Files in the workspace's ``directory`` need an approval; any other file (a user-level
    profile) is always trusted."""

    def trusted(path: Path, digest: Digest) -> bool:
        return path.parent != directory or trust.trusted(path, digest)

    return trusted


def load_agents(ws: Workspace, *, trust: WorkspaceTrust | None = None) -> AgentRegistry:
    """Built-in agents plus every profile in ``agent_dirs`` (a broken file breaks its own id
    only); workspace files are marked trusted or not."""
    from contextree.agents.registry import AgentRegistry

    user, workspace = agent_dirs(ws.layout)
    return AgentRegistry.load(
        (user, workspace),
        withheld=prompt_file_withheld(ws.settings),
        trusted=_trusted_in(workspace, trust or workspace_trust(ws)),
    )


def check_agents(ws: Workspace) -> list[ProfileCheck]:
    """Every agent profile file of ``agent_dirs``, loaded under the same rules as a run."""
    from contextree.agents.registry import check_dirs

    return check_dirs(agent_dirs(ws.layout), withheld=prompt_file_withheld(ws.settings))


def ignore_options(settings: Settings) -> IgnoreOptions:
    """The scan settings that decide what is ignored, for explaining a path's absence."""
    return IgnoreOptions(
        extra_ignores=tuple(os.fsencode(p) for p in settings.scan.ignore),
        skip_virtualenvs=settings.scan.skip_virtualenvs,
    )


def open_store_for_reading(ws: Workspace, *, writable: bool = False) -> Store:
    """The workspace store for a read-only command; takes no writer lock and creates nothing.
    A workspace that was never scanned is a ``PathNotFoundError`` saying what to run."""
    if not ws.layout.store_path.exists():
        raise PathNotFoundError(
            f"the workspace {ws.layout.root} has not been scanned yet",
            hint="Run `contextree scan` first.",
        )
    from contextree.workspace.service import check_provenance

    store = Store.open(
        ws.layout.store_path,
        synchronous=ws.settings.store.synchronous,
        create=False,
        read_only=not writable,
    )
    check_provenance(store)  # a store that came with a clone serves no frame as current
    return store


def _no_configured_secrets() -> Iterable[str]:
    return ()


def context_api(
    store: Store,
    agents: AgentRegistry,
    *,
    secret_values: Callable[[], Iterable[str]] = _no_configured_secrets,
) -> ContextApi:
    """The ``ContextApi`` over ``store``. ``secret_values`` returns the configured API key
    values that frame metadata must never contain (the provider profiles supply them)."""
    from contextree.api import ContextApi

    return ContextApi(store, agents, secret_values=secret_values)


# --- providers and generation ------------------------------------------------------------


def provider_dirs(layout: WorkspaceLayout) -> tuple[Path, Path]:
    """Where provider profiles are read from: the user's then the workspace's ``providers``."""
    return (user_config_dir() / "providers", layout.data_dir / "providers")


def load_providers(ws: Workspace, *, trust: WorkspaceTrust | None = None) -> ProviderRegistry:
    """Provider profiles (user, then workspace); workspace files are marked trusted or not,
    and an untrusted one is refused by the registry before any call."""
    from contextree.providers import ProviderRegistry

    user, workspace = provider_dirs(ws.layout)
    return ProviderRegistry.load(
        user_dir=user,
        workspace_dir=workspace,
        trusted=_trusted_in(workspace, trust or workspace_trust(ws)),
    )


def configured_secret_values(
    providers: ProviderRegistry, environ: Mapping[str, str]
) -> Callable[[], Iterable[str]]:
    """The current values of every configured API key variable (read when asked, never kept)."""
    names = {e.profile.key_env for e in providers.entries() if e.profile.key_env}

    def values() -> Iterable[str]:
        return [environ[name] for name in sorted(n for n in names if n) if environ.get(name)]

    return values


def generation_environment(ws: Workspace, store: Store) -> GenerationEnvironment:
    """Everything ``run_generate`` needs for this workspace, over an open store."""
    from contextree.context.generation.run import GenerationEnvironment
    from contextree.workspace.service import scan_options

    providers = load_providers(ws)
    environ = os.environ
    return GenerationEnvironment(
        root=ws.layout.root,
        settings=ws.settings,
        store=store,
        lock_path=ws.layout.lock_path,
        agents=load_agents(ws),
        providers=providers,
        scan_options=scan_options(ws.settings),
        ignore_options=ignore_options(ws.settings),
        environ=environ,
        secret_values=configured_secret_values(providers, environ),
        cwd=Path.cwd(),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameReport:
    """Frames for ``status``: coverage for one agent and provider, and heads per agent."""

    coverage: Coverage | None
    heads: list[tuple[str, str, int]]
    last_run: RunSummary | None = None
    #: Why coverage is unknown: the agent or provider it is counted for cannot be used (a
    #: broken profile breaks the runs that use it, not ``status``).
    coverage_error: ContextreeError | None = None


def frame_report(ws: Workspace, *, agent: str | None, provider: str | None) -> FrameReport:
    """Read-only: never locks, scans or calls a provider."""
    from contextree.api import ContextApi
    from contextree.context.generation.ledger import RunLedger
    from contextree.context.generation.run import GenerateOptions, frame_coverage

    if not ws.layout.store_path.exists():
        return FrameReport(coverage=None, heads=[])
    with open_store_for_reading(ws) as store:
        env = generation_environment(ws, store)
        coverage: Coverage | None = None
        problem: ContextreeError | None = None
        try:
            coverage = frame_coverage(env, GenerateOptions(agent=agent, provider=provider))
        except UsageError as exc:
            problem = exc
        heads = ContextApi(store, env.agents).heads_in_tree()
        last_run = RunLedger(store).last_summary()
    return FrameReport(coverage=coverage, heads=heads, last_run=last_run, coverage_error=problem)
