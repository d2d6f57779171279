"""The settings model: every setting contextree reads, with its default and a description.

Owns what can be configured and where it comes from, lowest precedence first: defaults, the
user config file (``<user config dir>/contextree/config.toml``), the workspace config file
(``.contextree/config.toml``), then ``CONTEXTREE_*`` environment variables (nested with ``__``,
e.g. ``CONTEXTREE_SCAN__HASH_PROCESSES=1``; names are case-insensitive; a list or a whole table
is given as JSON). Errors name the file or the variable, and the setting. The commented
``config.toml`` that ``init`` writes is generated from this model (see ``template``), so adding a
field here is all it takes to document it. (The environment overlay is written out here rather
than taken from pydantic-settings, whose import alone costs every command ~80 ms.)

The workspace file comes with the repository, so it is untrusted: its security and spend
settings may only tighten what the user's own settings (defaults < user file) give
(``WORKSPACE_RULE``). ``generation.secret_patterns`` from it are added in front of the user's
list, never replace it (in front, so that a ``!`` negation there cannot undo one of the user's
patterns); ``generation.redact = false`` is ignored; the size caps and ``max_attempts`` are
taken only when smaller. Every other workspace setting overrides the user's as usual. Each value
the rule ignores is reported in ``notices``. The environment and command-line flags are the
user's own and may set anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contextree.config.generation import GenerationSettings
from contextree.config.toml_file import read_toml_file
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
    probe_context_window: bool = Field(
        default=False,
        description=(
            "Opt in: before the first call to a provider whose profile sets no context_window, "
            "ask its server for the model's window (llama.cpp /props, Ollama /api/show, a "
            "models listing) once per base URL and model, keep the answer in the store and fit "
            "prompts to it; a run with no calls never asks. A profile's context_window wins."
        ),
    )


def _default_agents_md_files() -> list[Literal["AGENTS.md", "CLAUDE.md"]]:
    return ["AGENTS.md"]


class ExportSettings(BaseModel):
    """What `contextree export --format agents-md` writes, and where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agents_md_dirs: list[str] = Field(
        default_factory=lambda: ["."],
        description=(
            'Directories (relative to the workspace root; "." is the root) whose directory '
            "frame export writes into their agents_md_files, inside marked blocks. Each must "
            "be a directory inside the workspace, reached without a symlink."
        ),
    )
    agents_md_files: list[Literal["AGENTS.md", "CLAUDE.md"]] = Field(
        default_factory=_default_agents_md_files,
        min_length=1,
        description=(
            "Files written in each of agents_md_dirs: AGENTS.md, CLAUDE.md or both. Their "
            "marked blocks are left out of the files' content hashes, so exporting changes "
            "no node id."
        ),
    )


ENV_PREFIX = "CONTEXTREE_"
ENV_NESTING = "__"


class Settings(BaseModel):
    """All settings of one workspace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    export: ExportSettings = Field(default_factory=ExportSettings)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data, _raw = read_toml_file(path, error=ConfigError, otherwise="delete it to use defaults")
    except FileNotFoundError:
        return {}
    return data


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _takes_json(annotation: Any) -> bool:
    """Settings that are a table or a collection come from a variable as JSON."""
    origin = get_origin(annotation) or annotation
    return _model_of(origin) is not None or (
        isinstance(origin, type) and issubclass(origin, list | dict | set | tuple | frozenset)
    )


def _env_value(path: tuple[str, ...], name: str, raw: str) -> Any:
    """The value of variable ``name`` for the setting at ``path``: JSON where the setting is a
    table or a collection (an empty value stays a string, for validation to refuse), else
    the string itself."""
    model: type[BaseModel] | None = Settings
    annotation: Any = None
    for part in path:
        field = model.model_fields.get(part) if model is not None else None
        annotation = field.annotation if field is not None else None
        model = _model_of(annotation)
    if not raw or not _takes_json(annotation):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{name} is not valid JSON ({exc.msg}); this setting is a list or a table",
            hint=f"Give it as JSON, e.g. {name}='[\"*.log\"]', or unset it.",
        ) from exc


def environment_settings(
    environ: Mapping[str, str],
) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """The ``CONTEXTREE_*`` variables as nested settings, and the variable behind each path.

    ``CONTEXTREE_SCAN__HASH_PROCESSES=1`` is ``{"scan": {"hash_processes": "1"}}`` (validation
    turns the string into the setting's type). A whole table (``CONTEXTREE_SCAN='{...}'``) is
    applied first, so single settings inside it win. Variables that name no setting, like
    ``CONTEXTREE_UPDATE_PARITY``, are not settings and are left alone.
    """
    found: list[tuple[tuple[str, ...], str, str]] = []
    for name, raw in environ.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        path = tuple(name[len(ENV_PREFIX) :].lower().split(ENV_NESTING))
        top = Settings.model_fields.get(path[0])
        if top is None or (len(path) > 1 and _model_of(top.annotation) is None):
            continue
        found.append((path, name, raw))
    values: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}
    for path, name, raw in sorted(found, key=lambda item: len(item[0])):
        nested: Any = _env_value(path, name, raw)
        for part in reversed(path):
            nested = {part: nested}
        values = _merge(values, nested)
        origins[path] = name
    return values, origins


def _describe(
    exc: ValidationError, source: str, origins: Mapping[tuple[str, ...], str] | None = None
) -> ConfigError:
    problems = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        loc = tuple(str(part) for part in err["loc"])
        variables = [v for path, v in (origins or {}).items() if loc[: len(path)] == path]
        if variables:
            where = f"{variables[-1]} ({where})"
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


#: The workspace file's rule for security and spend settings in ``[generation]``: "union"
#: adds its list in front of the user's, "no_off" ignores switching the setting off, "min"
#: takes its value only when smaller than the user's.
WORKSPACE_RULE: Mapping[str, Literal["union", "no_off", "min"]] = {
    "secret_patterns": "union",
    "redact": "no_off",
    "max_response_bytes": "min",
    "max_frame_bytes": "min",
    "prompt_file_cap": "min",
    "max_llm_file_size": "min",
    "directory_context_budget": "min",
    "max_attempts": "min",
}


def _tightened(
    data: dict[str, Any], user: Settings, path: Path, notices: list[str]
) -> dict[str, Any]:
    """The workspace file's ``data`` with ``WORKSPACE_RULE`` applied against ``user``."""
    generation = data.get("generation")
    if not isinstance(generation, dict):
        return data
    mine = dict(generation)
    theirs = user.generation
    for name, rule in WORKSPACE_RULE.items():
        if name not in mine:
            continue
        value, current = mine[name], getattr(theirs, name)
        if rule == "union":
            mine[name] = [*(p for p in value if p not in current), *current]
        elif rule == "no_off" and value is False and current is True:
            del mine[name]
            notices.append(
                f"{path}: `generation.{name} = false` is ignored: a workspace config cannot "
                f"switch redaction off (set it in your user config, "
                f"{ENV_PREFIX}GENERATION{ENV_NESTING}{name.upper()}=false or --no-redact)"
            )
        elif rule == "min" and value > current:
            del mine[name]
            notices.append(
                f"{path}: `generation.{name} = {value}` is ignored: a workspace config may only "
                f"lower it (the user's value is {current}; raise it in your user config or "
                f"with {ENV_PREFIX}GENERATION{ENV_NESTING}{name.upper()})"
            )
    return {**data, "generation": mine}


def _read_valid(path: Path) -> dict[str, Any]:
    data = _read_toml(path)
    try:
        Settings.model_validate(data)  # validate alone first, so errors name this file
    except ValidationError as exc:
        raise _describe(exc, str(path)) from exc
    return data


def load_settings(
    *,
    files: list[Path],
    workspace: Path | None = None,
    environ: Mapping[str, str] | None = None,
    notices: list[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from ``files`` (the user's, lowest precedence first), then the ``workspace``
    file under ``WORKSPACE_RULE``, then the environment (``environ``, by default the
    process's), then ``overrides`` (nested settings a library caller passes), which win.
    What the rule ignores is appended to ``notices``."""
    merged: dict[str, Any] = {}
    for path in files:
        merged = _merge(merged, _read_valid(path))
    if workspace is not None:
        data = _read_valid(workspace)
        if data:
            try:
                user = Settings.model_validate(merged)
            except ValidationError as exc:
                raise _describe(exc, ", ".join(str(p) for p in files)) from exc
            found: list[str] = []
            merged = _merge(merged, _tightened(data, user, workspace, found))
            if notices is not None:
                notices.extend(found)
    overlay, origins = environment_settings(os.environ if environ is None else environ)
    try:
        settings = Settings.model_validate(_merge(merged, overlay))
    except ValidationError as exc:
        raise _describe(exc, "the CONTEXTREE_* environment variables", origins) from exc
    if not overrides:
        return settings
    if not isinstance(overrides, Mapping):
        raise ConfigError(
            f"settings_overrides must be a mapping of settings, not {type(overrides).__name__}",
            hint='Pass nested settings, e.g. {"generation": {"concurrency": 4}}.',
        )
    try:
        return Settings.model_validate(_merge(_merge(merged, overlay), overrides))
    except ValidationError as exc:
        raise _describe(exc, "settings_overrides") from exc
