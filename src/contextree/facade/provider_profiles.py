"""Provider profiles: the use cases behind ``Workspace.providers``, ``provider``,
``add_provider``, ``test_provider`` and ``contextree provider list | show | add | test``.

Owns what a caller learns about the provider profiles of a workspace (the built-in
``structural`` one, the user's and the workspace's files, each with whether its key variable
is set and whether this user approved it), writing a new profile (a workspace file written
here is approved as written: the user made it) and the one-request connectivity test, which
refuses an untrusted workspace profile exactly as a run does (``require_trusted_provider``)
before any request. Keys are never read into a result, only the names of their variables.
Importing this module loads the provider stack.

The provider types a caller reads are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contextree.bootstrap import (
    WorkspaceSetup,
    load_providers,
    open_store,
    probe_http,
    provider_dirs,
    provider_facts,
    trust_store,
    user_provider_dir,
)
from contextree.providers import (
    KeyStatus,
    LoadedProfile,
    ProbeResult,
    ProfileProblem,
    ProfileSource,
    ProviderProfile,
    ProviderType,
    key_status,
    probe,
    write_profile_file,
)
from contextree.providers.profiles import parse_profile
from contextree.trust_review import require_trusted_provider
from contextree.workspace.trust import file_digest, relative_name

__all__ = [
    "KeyStatus",
    "LoadedProfile",
    "NewProvider",
    "ProbeResult",
    "ProfileProblem",
    "ProfileSource",
    "ProviderAdded",
    "ProviderInfo",
    "ProviderList",
    "ProviderProfile",
    "ProviderType",
    "add_provider",
    "add_user_provider",
    "list_providers",
    "provider_info",
    "test_provider",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderInfo:
    """One usable provider profile as it will be used: where it comes from, whether its key
    variable is set now (``key_status``; the key itself is never read into it) and whether
    this user approved it (``trusted``: always for built-in and user profiles)."""

    name: str
    type: ProviderType
    model: str
    base_url: str | None
    api_key_env: str | None
    key_status: KeyStatus
    source: ProfileSource
    path: Path | None
    trusted: bool
    #: The whole validated profile (options, timeouts, rate limits).
    profile: ProviderProfile


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderList:
    """Every usable provider profile and the profile files that could not be used."""

    providers: tuple[ProviderInfo, ...]
    problems: tuple[ProfileProblem, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewProvider:
    """A provider profile to write (``contextree provider add``). ``api_key_env`` names the
    variable holding the key (None: the type's default; ``""``: the server needs no key);
    never the key itself. ``None`` leaves a setting at its default."""

    name: str
    type: ProviderType | str
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_concurrency: int | None = None

    def profile(self) -> ProviderProfile:
        """The validated profile; ``ProviderConfigError`` naming each bad field."""
        data: dict[str, Any] = {"type": str(self.type), "model": self.model}
        optional = {
            "base_url": self.base_url,
            "api_key_env": self.api_key_env,
            "requests_per_minute": self.requests_per_minute,
            "tokens_per_minute": self.tokens_per_minute,
            "max_concurrency": self.max_concurrency,
        }
        data |= {k: v for k, v in optional.items() if v is not None}
        options = {"max_tokens": self.max_tokens, "temperature": self.temperature}
        if any(v is not None for v in options.values()):
            data["options"] = {k: v for k, v in options.items() if v is not None}
        return parse_profile(data, name=self.name, source="the command line")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderAdded:
    """A profile written: where, what, and whether it was approved as written (a workspace
    file; a user file needs no approval)."""

    path: Path
    profile: ProviderProfile
    approved: bool


def list_providers(setup: WorkspaceSetup) -> ProviderList:
    """Every provider profile (built-in, user and workspace) and the broken files."""
    registry = load_providers(setup)
    return ProviderList(
        providers=tuple(_info(e) for e in registry.entries()),
        problems=tuple(registry.problems()),
    )


def provider_info(setup: WorkspaceSetup, name: str) -> ProviderInfo:
    """The profile ``name``; ``ProviderConfigError`` when there is none or it is broken."""
    return _info(load_providers(setup).get(name))


def add_provider(setup: WorkspaceSetup | None, new: NewProvider, *, force: bool) -> ProviderAdded:
    """Write ``new`` to the workspace's ``.contextree/providers/NAME.toml`` and approve it as
    written, or with ``setup`` None to the user's ``providers`` directory. Refuses to replace
    an existing file unless ``force`` (``ProviderConfigError``)."""
    profile = new.profile()
    folder = user_provider_dir() if setup is None else provider_dirs(setup.layout)[1]
    path = folder / f"{new.name}.toml"
    written = write_profile_file(path, profile, force=force)
    if setup is not None:
        # The user wrote this file here and now: it is trusted, as written.
        root = setup.layout.root
        trust_store().approve(root, {relative_name(root, path): file_digest(written)})
    return ProviderAdded(path=path, profile=profile, approved=setup is not None)


def add_user_provider(new: NewProvider, *, force: bool = False) -> ProviderAdded:
    """Write ``new`` as a user profile (every workspace sees it); no workspace is read."""
    return add_provider(None, new, force=force)


async def test_provider(setup: WorkspaceSetup, name: str) -> ProbeResult:
    """Send one tiny request through ``name`` and report latency, served model and any error
    class (a failed request is a result, not an error). Raises ``ProviderConfigError`` before
    any request for an untrusted workspace profile that would call out or stand in for a user
    profile (exactly as ``contextree provider test`` refuses it), an unknown or broken one, or
    an unset key variable. The context window the server reports, if any, is kept in the
    workspace's store (when it has one), so prompts to this provider are fitted to it."""
    registry = load_providers(setup)
    require_trusted_provider(registry.get(name), command=f"provider test {name}")
    async with probe_http(setup) as http:
        result = await probe(registry, name, http)
    if result.context_window is not None and setup.layout.store_path.exists():
        # Asked again on purpose: what the server says now replaces what was kept.
        profile = registry.get(name).profile
        with open_store(setup.layout, setup.settings) as store:
            provider_facts(store).put(
                profile.effective_base_url, profile.effective_model, result.context_window
            )
    return result


def _info(entry: LoadedProfile) -> ProviderInfo:
    profile = entry.profile
    return ProviderInfo(
        name=profile.name,
        type=profile.type,
        model=profile.effective_model,
        base_url=profile.effective_base_url or None,
        api_key_env=profile.key_env,
        key_status=key_status(profile),
        source=entry.source,
        path=entry.path,
        trusted=entry.trusted,
        profile=profile,
    )
