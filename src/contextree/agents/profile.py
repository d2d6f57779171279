"""Agent profiles: the TOML schema, its validation, and the runtime ``AgentProfile``.

Owns what an agent is: an id, a role (reader or writer), a prompt contract (a system prompt,
inline or from a file, plus a file template and a directory template that may use the
placeholders ``{path}``, ``{node_type}`` and ``{file_size}``; ``{path}`` is always the
workspace-relative POSIX path), and optionally the provider it prefers. Every error names the
file and the field. Templates are checked here (known placeholders only, balanced braces) but
rendered elsewhere, with ``str.format`` semantics (``{{`` and ``}}`` are literal braces).
It reads only the profile's own system prompt file; it must not import ``metadata``,
``providers``, ``context`` or ``api``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from contextree.core.ids import Digest, digest_fields
from contextree.errors import AgentConfigError

#: Placeholders a template may use.
TEMPLATE_PLACEHOLDERS: tuple[str, ...] = ("path", "node_type", "file_size")

_AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PROMPT_FIELDS = ("system_prompt", "system_prompt_file", "file_template", "directory_template")


class AgentRole(StrEnum):
    READER = "reader"
    WRITER = "writer"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentProfile:
    """A validated agent. ``prompt_digest`` names its whole prompt contract (system prompt
    and both templates): the generation currency hashes it, so editing a prompt makes every
    frame of the agent stale."""

    id: str
    role: AgentRole
    description: str = ""
    system_prompt: str = ""
    file_template: str = ""
    directory_template: str = ""
    provider: str | None = None
    #: Where the profile came from: "built-in" or the path of its TOML file.
    source: str = "built-in"
    prompt_digest: Digest = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "prompt_digest",
            digest_fields(
                self.system_prompt.encode("utf-8"),
                self.file_template.encode("utf-8"),
                self.directory_template.encode("utf-8"),
            ),
        )

    @property
    def can_write(self) -> bool:
        return self.role is AgentRole.WRITER


class AgentProfileFile(BaseModel):
    """The TOML document of one agent profile, as parsed (untrusted input)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    id: str | None = None
    role: str
    description: str | None = None
    system_prompt: str | None = None
    system_prompt_file: str | None = None
    file_template: str | None = None
    directory_template: str | None = None
    provider: str | None = None


#: Reads a file named relative to the profile's own location; raises OSError when it cannot.
ReadRelative = Callable[[str], str]


#: Builds the error for one field of the profile being parsed.
Fail = Callable[[str, str], AgentConfigError]


def parse_profile(
    data: Mapping[str, Any], *, source: str, file_stem: str, read_relative: ReadRelative
) -> AgentProfile:
    """Validate one parsed TOML document into an ``AgentProfile``."""
    try:
        doc = AgentProfileFile.model_validate(dict(data))
    except ValidationError as exc:
        raise _describe(exc, source) from exc

    def fail(field_name: str, problem: str) -> AgentConfigError:
        return AgentConfigError(
            f"{source}: field `{field_name}`: {problem}",
            hint="Fix the profile; `contextree agent validate` checks every agent file.",
        )

    agent_id, role = _identity(doc, file_stem, fail)
    if role is AgentRole.READER:
        for name in _PROMPT_FIELDS:
            if getattr(doc, name) is not None:
                raise fail(name, "a reader agent does not generate; remove it or use role 'writer'")
        return AgentProfile(
            id=agent_id,
            role=role,
            description=doc.description or "",
            provider=doc.provider,
            source=source,
        )
    return AgentProfile(
        id=agent_id,
        role=role,
        description=doc.description or "",
        system_prompt=_system_prompt(doc, fail, read_relative),
        file_template=_template(doc.file_template, "file_template", fail),
        directory_template=_template(doc.directory_template, "directory_template", fail),
        provider=doc.provider,
        source=source,
    )


def _identity(doc: AgentProfileFile, file_stem: str, fail: Fail) -> tuple[str, AgentRole]:
    agent_id = doc.id if doc.id is not None else file_stem
    if not _AGENT_ID.fullmatch(agent_id):
        raise fail("id", f"'{agent_id}' is not a valid agent id (letters, digits, . _ -)")
    if doc.id is not None and doc.id != file_stem:
        raise fail("id", f"'{doc.id}' does not match the file name '{file_stem}.toml'")
    try:
        role = AgentRole(doc.role.strip().lower())
    except ValueError:
        raise fail("role", f"'{doc.role}' is not a role; use 'reader' or 'writer'") from None
    if doc.provider is not None and not _AGENT_ID.fullmatch(doc.provider):
        raise fail("provider", f"'{doc.provider}' is not a valid provider name")
    return agent_id, role


def _template(value: str | None, field_name: str, fail: Fail) -> str:
    if value is None or not value.strip():
        raise fail(field_name, "a writer agent needs a non-empty template")
    problem = template_problem(value)
    if problem is not None:
        raise fail(field_name, problem)
    return value


def _system_prompt(doc: AgentProfileFile, fail: Fail, read_relative: ReadRelative) -> str:
    if doc.system_prompt is not None and doc.system_prompt_file is not None:
        raise fail("system_prompt_file", "set either `system_prompt` or `system_prompt_file`")
    if doc.system_prompt_file is not None:
        try:
            text = read_relative(doc.system_prompt_file)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise fail(
                "system_prompt_file", f"cannot read '{doc.system_prompt_file}': {reason}"
            ) from exc
        if not text.strip():
            raise fail("system_prompt_file", f"'{doc.system_prompt_file}' is empty")
        return text
    if doc.system_prompt is None or not doc.system_prompt.strip():
        raise fail("system_prompt", "a writer agent needs a system prompt (or system_prompt_file)")
    return doc.system_prompt


def template_problem(template: str) -> str | None:
    """What is wrong with a template's placeholders, or None when it is fine."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"unbalanced braces ({exc}); write {{{{ and }}}} for literal braces"
    allowed = ", ".join(f"{{{p}}}" for p in TEMPLATE_PLACEHOLDERS)
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in TEMPLATE_PLACEHOLDERS:
            return f"unknown placeholder {{{name}}}; allowed: {allowed}"
        if spec or conversion:
            return f"placeholder {{{name}}} takes no format spec or conversion"
    return None


def _describe(exc: ValidationError, source: str) -> AgentConfigError:
    problems = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        problems.append(f"field `{where}`: {message}")
    return AgentConfigError(
        f"{source}: " + "; ".join(problems),
        hint=(
            "Agent fields: id, role, description, system_prompt or system_prompt_file, "
            "file_template, directory_template, provider."
        ),
    )
