"""Provider profiles: one TOML file per provider, parsed as untrusted input.

Owns the profile schema (name, type, model, endpoint, key variable, default options, timeouts
and the limits the queue applies), loading a profile file with errors that name the file and
the field, writing one for ``provider add``, and refusing any file that holds a key inline.
A profile names the environment variable that holds the key; the key itself is read only by
the client, at call time, and never stored here.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contextree.config.toml_file import read_toml_file
from contextree.errors import ProviderConfigError
from contextree.providers.types import CompletionOptions, ProviderType

STRUCTURAL = "structural"
STRUCTURAL_MODEL = "structural-1"

DEFAULT_BASE_URLS: Mapping[ProviderType, str] = {
    ProviderType.OPENAI: "https://api.openai.com/v1",
    ProviderType.ANTHROPIC: "https://api.anthropic.com",
    ProviderType.OLLAMA: "http://localhost:11434",
}
DEFAULT_KEY_ENVS: Mapping[ProviderType, str] = {
    ProviderType.OPENAI: "OPENAI_API_KEY",
    ProviderType.ANTHROPIC: "ANTHROPIC_API_KEY",
}
ANTHROPIC_DEFAULT_MAX_TOKENS = 4096

# Field names that only ever hold a secret. Matching is on the name, never on the value.
_SECRET_FIELDS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "auth_token",
        "bearer",
        "secret",
        "password",
        "authorization",
    }
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEY_HINT = (
    "Delete it, export the key in an environment variable and name that variable with "
    'api_key_env = "MY_PROVIDER_KEY".'
)


class ProfileOptions(BaseModel):
    """Default completion options; a request's own options win field by field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    stop: list[str] | None = None
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    seed: int | None = None

    def completion_options(self) -> CompletionOptions:
        return CompletionOptions(
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            top_p=self.top_p,
            stop=tuple(self.stop) if self.stop is not None else None,
            frequency_penalty=self.frequency_penalty,
            presence_penalty=self.presence_penalty,
            seed=self.seed,
        )


class ProfileTimeouts(BaseModel):
    """Per-request timeouts in seconds: ``connect`` for the socket, ``total`` for the request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect: float = Field(default=10.0, gt=0)
    total: float = Field(default=120.0, gt=0)


class ProviderProfile(BaseModel):
    """One provider as configured. ``api_key_env`` unset means the type's usual variable
    (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, none for Ollama); an empty string means the
    endpoint needs no key (a local vLLM or llama.cpp server)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: ProviderType
    model: str | None = Field(default=None, min_length=1)
    base_url: str | None = None
    api_key_env: str | None = None
    options: ProfileOptions = Field(default_factory=ProfileOptions)
    timeouts: ProfileTimeouts = Field(default_factory=ProfileTimeouts)
    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
    max_concurrency: int | None = Field(default=None, ge=1)
    #: The model's context window in tokens (prompt and reply together); set, contextree
    #: fits every prompt to it. Unset, a window the server reports is used if it says one.
    context_window: int | None = Field(default=None, ge=1)
    #: Tokens of the window kept free for the reply when prompts are fitted (default: the
    #: profile's max_tokens, else a quarter of the window, at most 1,024).
    reply_reserve: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _window(self) -> ProviderProfile:
        window, reserve = self.context_window, self.reply_reserve
        if window is not None and reserve is not None and reserve >= window:
            raise ValueError(
                f"reply_reserve ({reserve}) must be smaller than context_window ({window})"
            )
        return self

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _PROFILE_NAME.fullmatch(value):
            raise ValueError(
                "use letters, digits, '.', '_' or '-' (at most 64, not starting with a symbol)"
            )
        return value

    @field_validator("api_key_env")
    @classmethod
    def _key_env(cls, value: str | None) -> str | None:
        # The message never repeats the value: someone may have pasted the key itself here.
        if value and not _ENV_NAME.fullmatch(value):
            raise ValueError(
                "must be the NAME of an environment variable (letters, digits, underscores), "
                "never the key itself"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if any(ch.isspace() for ch in value):
            raise ValueError("must not contain whitespace")
        match = re.fullmatch(r"(https?)://([^/?#]+)([^?#]*)", value)
        if match is None:
            raise ValueError("must be an http:// or https:// URL without query or fragment")
        if "@" in match.group(2):
            raise ValueError("must not hold credentials; name a key variable with api_key_env")
        return value.rstrip("/")

    @property
    def effective_base_url(self) -> str:
        return self.base_url or DEFAULT_BASE_URLS.get(self.type, "")

    @property
    def key_env(self) -> str | None:
        """The variable the key is read from at call time, or ``None`` for no key."""
        if self.api_key_env is not None:
            return self.api_key_env or None
        return DEFAULT_KEY_ENVS.get(self.type)

    @property
    def effective_model(self) -> str:
        if self.type is ProviderType.STRUCTURAL:
            return STRUCTURAL_MODEL
        return self.model or ""

    def default_options(self) -> CompletionOptions:
        return self.options.completion_options()

    def to_toml(self) -> str:
        """The profile as it is written to a file: set fields only, the key never."""
        data = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        data["name"] = self.name
        data["type"] = self.type.value
        return tomli_w.dumps(data)


def builtin_structural() -> ProviderProfile:
    """The offline provider that always exists and cannot be shadowed."""
    return ProviderProfile(name=STRUCTURAL, type=ProviderType.STRUCTURAL)


def _find_secret_fields(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    found = []
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key.lower().replace("-", "_") in _SECRET_FIELDS:
            found.append(dotted)
        elif isinstance(value, Mapping):
            found.extend(_find_secret_fields(value, prefix=f"{dotted}."))
    return found


def parse_profile(data: Mapping[str, Any], *, name: str, source: str) -> ProviderProfile:
    """Validate profile data read from ``source``; errors name the source and the field."""
    secrets = _find_secret_fields(data)
    if secrets:
        raise ProviderConfigError(
            f"{source}: `{secrets[0]}` holds a key inline; contextree never reads keys from "
            "config files, use api_key_env instead",
            hint=_KEY_HINT,
        )
    declared = data.get("name", name)
    if declared != name:
        raise ProviderConfigError(
            f"{source}: name = {declared!r} does not match the file name {name!r}",
            hint=f"Rename the file to {declared}.toml or remove the name line.",
        )
    try:
        return ProviderProfile.model_validate({**data, "name": name})
    except ValidationError as exc:
        problems = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        ]
        # ``from None``: pydantic's own text repeats input values, which may be a pasted key.
        raise ProviderConfigError(
            f"invalid provider profile {source}:\n" + "\n".join(problems),
            hint="Fix those fields; `contextree provider add --help` lists them.",
        ) from None


def load_profile_bytes(path: Path) -> tuple[ProviderProfile, bytes]:
    """Read and validate ``<dir>/<name>.toml``; also the exact bytes that were parsed (what a
    workspace trust approval names)."""
    try:
        data, raw = read_toml_file(
            path, error=ProviderConfigError, otherwise="move it out of the way"
        )
    except FileNotFoundError as exc:
        raise ProviderConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_profile(data, name=path.stem, source=str(path)), raw


def write_profile_file(path: Path, profile: ProviderProfile, *, force: bool) -> bytes:
    """Write ``profile`` to ``path``; refuse to replace a file unless ``force``. Returns the
    bytes written (so that ``provider add`` can trust exactly what it wrote)."""
    if profile.name == STRUCTURAL:
        raise ProviderConfigError(
            "`structural` is the built-in offline provider and cannot be redefined",
            hint="Pick another name for your profile.",
        )
    if path.exists() and not force:
        raise ProviderConfigError(
            f"{path} already exists", hint="Pass --force to replace it, or pick another name."
        )
    folder = path.parent
    data = profile.to_toml().encode("utf-8")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if folder.is_symlink():
            raise ProviderConfigError(
                f"cannot write {path}: {folder} is a symlink, and contextree writes profiles "
                "only into a real directory",
                hint=f"Remove the symlink {folder}, or pass --user to write your own profile.",
            )
        # A fresh temporary file (O_EXCL: never one a clone planted, never through a
        # symlink), then a rename over the name (a symlink there is replaced, not followed).
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.stem}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise ProviderConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return data
