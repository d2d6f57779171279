"""The settings model: every setting contextree reads, with its default and a description.

Owns what can be configured and where it comes from, lowest precedence first: defaults, the
user config file (``<user config dir>/contextree/config.toml``), the workspace config file
(``.contextree/config.toml``), then ``CONTEXTREE_*`` environment variables (nested with ``__``,
e.g. ``CONTEXTREE_SCAN__HASH_PROCESSES=1``). Errors name the file and the setting. The commented
``config.toml`` that ``init`` writes is generated from this model (see ``template``), so adding a
field here is all it takes to document it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from contextree.config.generation import GenerationSettings
from contextree.errors import ConfigError


class ScanSettings(BaseModel):
    """How the workspace is walked and hashed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ignore: list[str] = Field(
        default_factory=list,
        description=(
            "Extra ignore patterns (gitignore syntax, relative to the workspace root), applied "
            "below .gitignore and .contextreeignore files."
        ),
    )
    hash_processes: int = Field(
        default=0,
        ge=0,
        le=64,
        description=(
            "Worker processes for hashing many files at once: 0 picks one per core (at most "
            "8), 1 hashes in the main process."
        ),
    )
    skip_virtualenvs: bool = Field(
        default=True,
        description="Skip directories that hold a pyvenv.cfg (Python virtual environments).",
    )


class StoreSettings(BaseModel):
    """How the store file is written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description=(
            "SQLite durability: NORMAL survives a killed process, FULL also survives power "
            "loss at some cost in write speed."
        ),
    )
    keep_history: bool = Field(
        default=True,
        description=(
            "Let `contextree gc` keep earlier frames written for paths that still exist (what "
            "`get --history` shows); false keeps only each node's current frames."
        ),
    )


class ProviderSettings(BaseModel):
    """HTTP settings shared by every provider (per-provider settings live in provider profiles)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connector_limit: int = Field(
        default=256,
        ge=1,
        le=10_000,
        description=(
            "Most HTTP connections open at once to all providers together; requests beyond it "
            "wait for a free connection."
        ),
    )
    connector_limit_per_host: int = Field(
        default=0,
        ge=0,
        le=10_000,
        description="Most HTTP connections open at once to one host; 0 means no separate limit.",
    )


class Settings(BaseSettings):
    """All settings of one workspace."""

    model_config = SettingsConfigDict(
        env_prefix="CONTEXTREE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    default_agent: str = Field(
        default="docs-writer",
        min_length=1,
        description="Agent used by `contextree generate` when no --agent is given.",
    )
    default_provider: str = Field(
        default="structural",
        min_length=1,
        description=(
            "Provider used when neither --provider nor the agent's profile names one. "
            "`structural` is built in and works offline."
        ),
    )
    scan: ScanSettings = Field(default_factory=ScanSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment variables win over the config files, which arrive as init values.
        return (env_settings, init_settings)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}", hint="Fix the file, or delete it to use defaults."
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    return data


def _describe(exc: ValidationError, source: str) -> ConfigError:
    problems = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        problems.append(f"  {where}: {err['msg']}")
    return ConfigError(
        f"invalid settings in {source}:\n" + "\n".join(problems),
        hint="Fix or remove those settings; `contextree init` writes a commented config.toml "
        "listing every setting with its default.",
    )


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(*, files: list[Path]) -> Settings:
    """Settings from ``files`` (lowest precedence first) and the environment."""
    merged: dict[str, Any] = {}
    for path in files:
        data = _read_toml(path)
        try:
            Settings.model_validate(data)  # validate alone first, so errors name this file
        except ValidationError as exc:
            raise _describe(exc, str(path)) from exc
        merged = _merge(merged, data)
    try:
        return Settings(**merged)
    except ValidationError as exc:
        raise _describe(exc, "the CONTEXTREE_* environment variables") from exc
