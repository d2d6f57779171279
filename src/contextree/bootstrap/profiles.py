"""The agent and provider registries of a workspace, with each workspace profile's trust.

Owns where profiles are read from (the user's config directory, then the workspace's
``.contextree/``), which prompt files the scope rules withhold, whose approval a workspace
file needs, the registries built from them, the configured API key values frame metadata must
never contain, and the ``ContextApi`` over a store. The provider stack is imported inside the
functions that build it, so ``scan`` and ``get`` do not pay for it at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from contextree.bootstrap.setup import WorkspaceSetup
from contextree.config.generation import DEFAULT_SECRET_PATTERNS
from contextree.config.paths import user_config_dir
from contextree.config.settings import Settings
from contextree.core.ids import Digest
from contextree.store.db import Store
from contextree.workspace.layout import WorkspaceLayout
from contextree.workspace.trust import TrustStore, WorkspaceTrust

if TYPE_CHECKING:
    from contextree.agents.registry import AgentRegistry, ProfileCheck
    from contextree.api import ContextApi
    from contextree.providers import ProviderHttp, ProviderRegistry
    from contextree.store.provider_facts import ProviderFacts


def agent_dirs(layout: WorkspaceLayout) -> tuple[Path, Path]:
    """Where agent profiles are read from, lowest precedence first: the user's
    ``<config dir>/agents`` and the workspace's ``.contextree/agents``."""
    return (user_config_dir() / "agents", layout.data_dir / "agents")


def user_provider_dir() -> Path:
    """The user's provider profiles: ``<config dir>/providers``."""
    return user_config_dir() / "providers"


def provider_dirs(layout: WorkspaceLayout) -> tuple[Path, Path]:
    """Where provider profiles are read from: the user's then the workspace's ``providers``."""
    return (user_provider_dir(), layout.data_dir / "providers")


def prompt_file_withheld(settings: Settings) -> Callable[[str], bool]:
    """Whether a prompt file (named relative to its profile's directory) is one the scope
    rules withhold: the default secret patterns and the configured ones, case-insensitively.
    Such a file is never read."""
    from contextree.workspace.scope import Scope, ScopeRules

    patterns = tuple(
        dict.fromkeys((*DEFAULT_SECRET_PATTERNS, *settings.generation.secret_patterns))
    )
    rules = ScopeRules.build(secret_patterns=patterns)

    def withheld(rel: str) -> bool:
        name = rel.encode("utf-8", "surrogateescape")
        return rules.classify_file(name, 1) is Scope.WITHHELD

    return withheld


def workspace_trust(ws: WorkspaceSetup) -> WorkspaceTrust:
    """This user's approvals of the workspace's own profile files (read now, once)."""
    return WorkspaceTrust.load(ws.layout.root, trust_store())


def _trusted_in(directory: Path, trust: WorkspaceTrust) -> Callable[[Path, Digest], bool]:
    """Files in the workspace's ``directory`` need an approval; any other file (a user-level
    profile) is always trusted."""

    def trusted(path: Path, digest: Digest) -> bool:
        return path.parent != directory or trust.trusted(path, digest)

    return trusted


def load_agents(ws: WorkspaceSetup, *, trust: WorkspaceTrust | None = None) -> AgentRegistry:
    """Built-in agents plus every profile in ``agent_dirs`` (a broken file breaks its own id
    only); workspace files are marked trusted or not."""
    from contextree.agents.registry import AgentRegistry

    user, workspace = agent_dirs(ws.layout)
    return AgentRegistry.load(
        (user, workspace),
        withheld=prompt_file_withheld(ws.settings),
        trusted=_trusted_in(workspace, trust or workspace_trust(ws)),
    )


def check_agents(ws: WorkspaceSetup) -> list[ProfileCheck]:
    """Every agent profile file of ``agent_dirs``, loaded under the same rules as a run."""
    from contextree.agents.registry import check_dirs

    return check_dirs(agent_dirs(ws.layout), withheld=prompt_file_withheld(ws.settings))


def load_providers(ws: WorkspaceSetup, *, trust: WorkspaceTrust | None = None) -> ProviderRegistry:
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


def _no_configured_secrets() -> Iterable[str]:
    return ()


def context_api(
    store: Store,
    agents: AgentRegistry,
    *,
    secret_values: Callable[[], Iterable[str]] = _no_configured_secrets,
    redact: bool = True,
) -> ContextApi:
    """The ``ContextApi`` over ``store``. ``secret_values`` returns the configured API key
    values that frame metadata must never contain (the provider profiles supply them)."""
    from contextree.api import ContextApi

    return ContextApi(store, agents, secret_values=secret_values, redact=redact)


def probe_http(ws: WorkspaceSetup) -> ProviderHttp:
    """The HTTP session of ``provider test`` (one request; enter it with ``async with``
    inside the running event loop)."""
    from contextree.providers import ProviderHttp

    return ProviderHttp(ws.settings.providers)


def trust_store() -> TrustStore:
    """This user's workspace approvals (``$XDG_STATE_HOME/contextree/trust.json``)."""
    return TrustStore()


def provider_facts(store: Store) -> ProviderFacts:
    """What servers said about their models (context windows), kept in ``store``."""
    from contextree.store.provider_facts import ProviderFacts

    return ProviderFacts(store.conn)
