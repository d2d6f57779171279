"""The composition root: the one place that builds concrete objects from configuration.

Owns turning "a directory and the environment" into a ready workspace (layout and settings)
and, as the project grows, the store, registries, provider clients and the queue. Nothing else
reads configuration files or builds clients; nothing here runs at import time.
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
from contextree.errors import ContextreeError, PathNotFoundError
from contextree.store.db import Store
from contextree.store.digest import Digest
from contextree.workspace.layout import WorkspaceLayout
from contextree.workspace.paths import IgnoreOptions
from contextree.workspace.trust import UntrustedWorkspaceError, WorkspaceTrust, file_digest

# The generation stack (providers, aiohttp, agents, the queue) is imported inside the functions
# that build it, so `scan` and `status --no-changes` do not pay for it at start-up.
if TYPE_CHECKING:
    from contextree.agents.registry import AgentRegistry, ProfileCheck
    from contextree.api import ContextApi
    from contextree.context.generation.ledger import RunSummary
    from contextree.context.generation.run import (
        Coverage,
        GenerateOptions,
        GenerationEnvironment,
    )
    from contextree.providers import ProfileEntry, ProviderRegistry


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


def frame_report(ws: Workspace, *, agent: str | None, provider: str | None) -> FrameReport:
    """Read-only: never locks, scans or calls a provider."""
    from contextree.api import ContextApi
    from contextree.context.generation.ledger import RunLedger
    from contextree.context.generation.run import GenerateOptions, frame_coverage

    if not ws.layout.store_path.exists():
        return FrameReport(coverage=None, heads=[])
    with open_store_for_reading(ws) as store:
        env = generation_environment(ws, store)
        coverage = frame_coverage(env, GenerateOptions(agent=agent, provider=provider))
        heads = ContextApi(store, env.agents).heads_in_tree()
        last_run = RunLedger(store).last_summary()
    return FrameReport(coverage=coverage, heads=heads, last_run=last_run)


# --- workspace trust ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustItem:
    """One of the workspace's own profile files, for ``contextree trust``: what it does
    (label and value pairs), what it replaces and whether this user approved these bytes."""

    kind: str  # "provider" or "agent"
    name: str
    path: Path
    digest: Digest
    trusted: bool
    does: tuple[tuple[str, str], ...] = ()
    replaces: str | None = None
    problem: str | None = None


def _read_digest(path: Path) -> Digest | None:
    try:
        return file_digest(path.read_bytes())
    except OSError:
        return None


def _toml_files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.glob("*.toml") if p.is_file())
    except OSError:
        return []


def untrusted_workspace_files(ws: Workspace) -> list[Path]:
    """The workspace profile files this user has not approved as they are now. Cheap: never
    imports the provider stack (a provider file is named by its bytes alone)."""
    from contextree.agents.registry import check_dirs

    trust = workspace_trust(ws)
    found: list[Path] = []
    for path in _toml_files(provider_dirs(ws.layout)[1]):
        digest = _read_digest(path)
        if digest is None or not trust.trusted(path, digest):
            found.append(path)
    workspace_agents = agent_dirs(ws.layout)[1]
    for check in check_dirs([workspace_agents], withheld=prompt_file_withheld(ws.settings)):
        digest = check.origin.digest if check.origin is not None else _read_digest(check.path)
        if digest is None or not trust.trusted(check.path, digest):
            found.append(check.path)
    return found


def trust_notice(ws: Workspace) -> str | None:
    """One line for commands that keep working in an untrusted workspace (``scan``,
    ``status``, ``get``, a structural ``generate``); None when everything is trusted."""
    try:
        untrusted = untrusted_workspace_files(ws)
    except (ContextreeError, OSError):  # a notice never breaks the command it decorates
        return None
    if not untrusted:
        return None
    names = ", ".join(_printable(_relative(ws, p)) for p in untrusted[:3])
    more = f" and {len(untrusted) - 3} more" if len(untrusted) > 3 else ""
    files = "file is" if len(untrusted) == 1 else "files are"
    return (
        f"note: {len(untrusted)} workspace profile {files} not trusted ({names}{more}); "
        "runs that would use them with a provider are refused until you run `contextree trust`"
    )


def _relative(ws: Workspace, path: Path) -> str:
    try:
        return path.relative_to(ws.layout.root).as_posix()
    except ValueError:
        return str(path)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def trust_review(ws: Workspace) -> list[TrustItem]:
    """Every workspace provider and agent profile file, with what it does and whether it
    is trusted; broken files too (approving one is harmless: it cannot be used)."""
    trust = workspace_trust(ws)
    items = _provider_items(ws, trust)
    items.extend(_agent_items(ws, trust))
    return items


def _provider_items(ws: Workspace, trust: WorkspaceTrust) -> list[TrustItem]:
    from contextree.providers import ProfileSource

    providers = load_providers(ws, trust=trust)
    items = []
    for entry in providers.entries():
        if entry.source is not ProfileSource.WORKSPACE or entry.path is None:
            continue
        assert entry.digest is not None
        profile = entry.profile
        items.append(
            TrustItem(
                kind="provider",
                name=profile.name,
                path=entry.path,
                digest=entry.digest,
                trusted=entry.trusted,
                does=(
                    ("wire format", profile.type.value),
                    ("base URL", _printable(profile.effective_base_url or "-")),
                    ("API key variable", profile.key_env or "(none)"),
                    ("model", _printable(profile.effective_model or "-")),
                ),
                replaces=str(entry.shadows) if entry.shadows is not None else None,
            )
        )
    for problem in providers.problems():
        if problem.path.parent != provider_dirs(ws.layout)[1]:
            continue
        digest = _read_digest(problem.path)
        if digest is not None:
            items.append(_broken_item("provider", problem.path, digest, trust, problem.error))
    return items


def _broken_item(
    kind: str, path: Path, digest: Digest, trust: WorkspaceTrust, error: Exception
) -> TrustItem:
    message = getattr(error, "message", str(error))
    return TrustItem(
        kind=kind,
        name=path.stem,
        path=path,
        digest=digest,
        trusted=trust.trusted(path, digest),
        problem=_printable(message.splitlines()[0] if message else "invalid"),
    )


def _agent_items(ws: Workspace, trust: WorkspaceTrust) -> list[TrustItem]:
    agents = load_agents(ws, trust=trust)
    workspace_dir = agent_dirs(ws.layout)[1]
    items = []
    for profile in agents.profiles():
        origin = agents.origin(profile.id)
        if origin is None or origin.path.parent != workspace_dir:
            continue
        prompts = ", ".join(_printable(_relative(ws, p)) for p in origin.prompt_files)
        does = [("role", profile.role.value), ("provider", profile.provider or "(default)")]
        if profile.can_write:
            does.append(("prompt files", prompts or "(prompt inline)"))
        replaced = agents.replaced(profile.id)
        items.append(
            TrustItem(
                kind="agent",
                name=profile.id,
                path=origin.path,
                digest=origin.digest,
                trusted=origin.trusted,
                does=tuple(does),
                replaces=(
                    ("the built-in agent" if replaced[-1] == "built-in" else replaced[-1])
                    if replaced
                    else None
                ),
            )
        )
    for check in agents.problems():
        if check.path.parent != workspace_dir or check.error is None:
            continue
        digest = _read_digest(check.path)
        if digest is not None:
            items.append(_broken_item("agent", check.path, digest, trust, check.error))
    return items


def require_trusted_run(
    ws: Workspace, env: GenerationEnvironment, options: GenerateOptions, *, command: str
) -> str | None:
    """Refuse (exit 2, before any request) a run that would call a non-structural provider
    through an untrusted workspace provider or agent profile, or that would use a name an
    untrusted workspace file takes from a user profile. Otherwise the trust notice, if any.

    The workspace ``config.toml`` is not a trust subject: it can only pick among profiles
    that are each checked here, and its security and spend settings only tighten the user's.
    """
    from contextree.context.generation.run import resolve
    from contextree.providers.registry import untrusted_profile_error

    resolved = resolve(env, options, preflight=False)
    entry = env.providers.get(resolved.provider_name)
    agent = resolved.agent
    origin = env.agents.origin(agent.id)
    user_agent = _user_profile_replaced(env.agents, agent.id)
    if origin is not None and not origin.trusted and user_agent is not None:
        raise UntrustedWorkspaceError(
            f"`contextree {command}` refused: the workspace agent profile {origin.path} is not "
            f"trusted and has the same name as your profile {user_agent}; contextree uses "
            "neither in its place",
            hint="Run `contextree trust` to review and approve the workspace file, or remove or "
            "rename it to use yours.",
        )
    # An untrusted file never stands in for the user's profile, even one that sends nothing.
    if not entry.trusted and (entry.calls_out or entry.shadows is not None):
        raise untrusted_profile_error(entry, command=command)
    if entry.calls_out and origin is not None and not origin.trusted:
        raise _untrusted_agent_error(ws, origin.path, origin.prompt_files, entry, command)
    return trust_notice(ws)


def require_trusted_provider(entry: ProfileEntry, *, command: str) -> None:
    """Refuse a command (``provider test``) that would call out through an untrusted
    workspace provider profile."""
    from contextree.providers.registry import untrusted_profile_error

    if not entry.trusted and (entry.calls_out or entry.shadows is not None):
        raise untrusted_profile_error(entry, command=command)


def _user_profile_replaced(agents: AgentRegistry, agent_id: str) -> str | None:
    sources = [s for s in agents.replaced(agent_id) if s != "built-in"]
    return sources[-1] if sources else None


def _untrusted_agent_error(
    ws: Workspace,
    path: Path,
    prompt_files: tuple[Path, ...],
    entry: ProfileEntry,
    command: str,
) -> UntrustedWorkspaceError:
    prompts = ", ".join(_printable(_relative(ws, p)) for p in prompt_files)
    with_prompts = f" (prompt file {prompts})" if prompts else ""
    return UntrustedWorkspaceError(
        f"`contextree {command}` refused: the workspace agent profile {path}{with_prompts} is "
        f"not trusted; its prompt would be sent with your files to the provider "
        f"{entry.profile.name!r} ({_printable(entry.profile.effective_base_url or '-')})",
        hint="Run `contextree trust` to review what it does and approve it (or pass "
        "--agent with a built-in or user agent, or --provider structural to work offline).",
    )
