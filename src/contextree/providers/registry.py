"""The provider registry: profiles by name, and clients built from them.

Owns where profiles come from (the built-in ``structural``, then
``<user config>/providers/<name>.toml``, then ``<workspace>/.contextree/providers/<name>.toml``,
the workspace winning over the user for the same name; ``structural`` cannot be shadowed),
looking one up with an error that lists the known names, checking that a key variable is set
before any work starts, and building the client of the right wire format on the shared HTTP
session. A broken profile file only breaks its own name; the others stay usable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from contextree.core.ids import Digest, digest_fields
from contextree.errors import ProviderConfigError
from contextree.providers.anthropic import AnthropicClient
from contextree.providers.base import ProviderClient
from contextree.providers.http import ProviderHttp
from contextree.providers.ollama import OllamaClient
from contextree.providers.openai import OpenAIClient
from contextree.providers.profiles import (
    STRUCTURAL,
    ProviderProfile,
    builtin_structural,
    load_profile_bytes,
)
from contextree.providers.structural import StructuralClient
from contextree.providers.types import ProviderType
from contextree.providers.wire import HttpProviderClient

#: Whether a workspace profile file, with the digest of the bytes parsed, is trusted (see
#: ``contextree.workspace.trust``); the composition root decides.
Trusted = Callable[[Path, Digest], bool]

_HTTP_CLIENTS: Mapping[ProviderType, type[HttpProviderClient]] = {
    ProviderType.OPENAI: OpenAIClient,
    ProviderType.ANTHROPIC: AnthropicClient,
    ProviderType.OLLAMA: OllamaClient,
}


class ProfileSource(StrEnum):
    BUILTIN = "built-in"
    USER = "user"
    WORKSPACE = "workspace"


class KeyStatus(StrEnum):
    """Whether a profile's key variable is usable; the value itself is never looked at."""

    SET = "set"
    NOT_SET = "not set"
    NOT_NEEDED = "not needed"


@dataclass(frozen=True, kw_only=True, slots=True)
class LoadedProfile:
    """A usable profile. ``digest`` names the bytes parsed (None for the built-in);
    ``trusted`` is false for a workspace file the user has not approved; ``shadows`` is the
    user profile file of the same name this workspace file replaces, if any."""

    profile: ProviderProfile
    source: ProfileSource
    path: Path | None
    digest: Digest | None = None
    trusted: bool = True
    shadows: Path | None = None

    @property
    def calls_out(self) -> bool:
        """Whether using this profile sends anything anywhere (every type but structural)."""
        return self.profile.type is not ProviderType.STRUCTURAL


@dataclass(frozen=True, kw_only=True, slots=True)
class ProfileProblem:
    """A profile file that could not be used, and why."""

    name: str
    path: Path
    error: ProviderConfigError


def key_status(profile: ProviderProfile, environ: Mapping[str, str] | None = None) -> KeyStatus:
    env = os.environ if environ is None else environ
    var = profile.key_env
    if profile.type is ProviderType.STRUCTURAL or var is None:
        return KeyStatus.NOT_NEEDED
    return KeyStatus.SET if env.get(var, "").strip() else KeyStatus.NOT_SET


class ProviderRegistry:
    """Every usable profile by name, plus the files that could not be used."""

    def __init__(
        self,
        entries: Mapping[str, LoadedProfile],
        problems: Mapping[str, ProfileProblem] | None = None,
    ) -> None:
        self._entries = {
            STRUCTURAL: LoadedProfile(
                profile=builtin_structural(), source=ProfileSource.BUILTIN, path=None
            ),
            **{name: e for name, e in entries.items() if name != STRUCTURAL},
        }
        self._problems = dict(problems or {})

    @classmethod
    def load(
        cls,
        *,
        user_dir: Path | None,
        workspace_dir: Path | None,
        trusted: Trusted | None = None,
    ) -> ProviderRegistry:
        """Profiles from ``user_dir`` then ``workspace_dir`` (each a ``providers`` folder).
        ``trusted`` says which workspace files the user approved (user files always are);
        without it every file is trusted."""
        entries: dict[str, LoadedProfile] = {}
        problems: dict[str, ProfileProblem] = {}
        folders = ((ProfileSource.USER, user_dir), (ProfileSource.WORKSPACE, workspace_dir))
        for source, folder in folders:
            for path in _profile_files(folder):
                name = path.stem
                try:
                    if name == STRUCTURAL:
                        raise ProviderConfigError(
                            f"{path}: `structural` is the built-in offline provider and cannot "
                            "be redefined; this file is ignored",
                            hint="Rename the file (and its name field) to use your profile.",
                        )
                    profile, raw = load_profile_bytes(path)
                except ProviderConfigError as exc:
                    problems[name] = ProfileProblem(name=name, path=path, error=exc)
                    entries.pop(name, None)
                    continue
                digest = digest_fields(raw)
                shadowed = entries.get(name)
                workspace = source is ProfileSource.WORKSPACE
                entries[name] = LoadedProfile(
                    profile=profile,
                    source=source,
                    path=path,
                    digest=digest,
                    trusted=not workspace or trusted is None or trusted(path, digest),
                    shadows=shadowed.path if workspace and shadowed is not None else None,
                )
                problems.pop(name, None)
        return cls(entries, problems)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[LoadedProfile]:
        return [self._entries[name] for name in self.names()]

    def problems(self) -> list[ProfileProblem]:
        return [self._problems[name] for name in sorted(self._problems)]

    def get(self, name: str) -> LoadedProfile:
        """The profile called ``name``; an unknown or broken one is a ``ProviderConfigError``."""
        entry = self._entries.get(name)
        if entry is not None:
            return entry
        problem = self._problems.get(name)
        if problem is not None:
            raise problem.error
        raise ProviderConfigError(
            f"unknown provider {name!r}; known providers: {', '.join(self.names())}",
            hint="Add one with `contextree provider add NAME --type openai|anthropic|ollama "
            "--model MODEL`, or list them with `contextree provider list`.",
        )

    def usable(self, name: str) -> LoadedProfile:
        """The profile called ``name``, refused when it is a workspace file the user has not
        trusted that would call out or would stand in for the user's profile of that name
        (this is the last line of defence: the CLI says more, naming the command, before it
        gets here)."""
        entry = self.get(name)
        if not entry.trusted and (entry.calls_out or entry.shadows is not None):
            raise untrusted_profile_error(entry)
        return entry

    def preflight(self, name: str, environ: Mapping[str, str] | None = None) -> ProviderProfile:
        """Fail now, before any work is queued, if ``name`` is unknown, untrusted or its key
        is unset."""
        profile = self.usable(name).profile
        if key_status(profile, environ) is KeyStatus.NOT_SET:
            raise ProviderConfigError(
                f"provider {name!r} needs an API key, but the environment variable "
                f"{profile.key_env} is not set",
                hint=f"Export {profile.key_env}=<your key> before running contextree (it is "
                "read at call time and never stored).",
            )
        return profile

    def client(
        self,
        name: str,
        http: ProviderHttp | None,
        *,
        environ: Mapping[str, str] | None = None,
        enrich_model_errors: bool = True,
    ) -> ProviderClient:
        """A client for ``name``; HTTP providers share ``http`` (``None`` only for offline).

        ``enrich_model_errors=False`` leaves model-not-found errors bare, for callers that
        enrich them themselves (generation's provider execution unit does).
        """
        profile = self.usable(name).profile
        if profile.type is ProviderType.STRUCTURAL:
            return StructuralClient(profile)
        if http is None:
            raise RuntimeError(f"provider {name!r} speaks HTTP and needs a ProviderHttp session")
        return _HTTP_CLIENTS[profile.type](
            profile, http, environ=environ, enrich_model_errors=enrich_model_errors
        )


def untrusted_profile_error(
    entry: LoadedProfile, *, command: str | None = None
) -> ProviderConfigError:
    """The refusal for a run that would use the untrusted workspace profile ``entry``."""
    profile = entry.profile
    refused = f"`contextree {command}` refused: " if command else ""
    key = f"the key in {profile.key_env}" if profile.key_env else "no key"
    where = _printable(profile.effective_base_url or "(no base URL)")
    if entry.shadows is not None:
        return ProviderConfigError(
            f"{refused}the workspace provider profile {entry.path} is not trusted and has the "
            f"same name as your profile {entry.shadows}; contextree uses neither in its place",
            hint="Run `contextree trust` to review and approve the workspace file, or remove or "
            "rename it to use yours.",
        )
    return ProviderConfigError(
        f"{refused}the workspace provider profile {entry.path} is not trusted; it would send "
        f"your files and {key} to {where} ({profile.type.value} wire format)",
        hint="Run `contextree trust` to review what it does and approve it (or pass "
        "--provider structural to work offline without it).",
    )


def _printable(text: str) -> str:
    """``text`` with control characters escaped, for a message about an untrusted file."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _profile_files(folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    try:
        return sorted(p for p in folder.glob("*.toml") if p.is_file())
    except OSError:
        return []
