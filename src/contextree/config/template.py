"""The commented ``config.toml`` written by ``contextree init``, generated from the settings model.

Owns turning ``Settings`` into a file a person can read: every setting appears, commented out,
with its description and its default, grouped into the model's tables. Nothing here is
hand-written per setting, so the template cannot drift from the model.
"""

from __future__ import annotations

import textwrap
from typing import Any

import tomli_w
from pydantic import BaseModel

from contextree.config.settings import Settings

HEADER = """\
# contextree workspace settings.
# Every setting is shown commented out with its default; uncomment a line to change it.
# Precedence, lowest first: defaults, the user config file, this file, CONTEXTREE_* variables.
# Security and spend settings here may only tighten the user's: generation.secret_patterns are
# added to the user's (and the defaults), never replace them; generation.redact cannot be
# switched off here; max_response_bytes, max_frame_bytes, prompt_file_cap, max_llm_file_size,
# directory_context_budget and max_attempts are taken only when smaller than the user's.
"""


def _comment(text: str) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text, width=96)]


def _toml_value(value: Any) -> str:
    if isinstance(value, list):  # one line, so every setting is exactly one commented line
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).strip().removeprefix("v = ")


def _value_line(key: str, value: Any) -> str:
    return f"# {key} = {_toml_value(value)}"


def _section(model: type[BaseModel], defaults: BaseModel) -> tuple[list[str], list[str]]:
    """Lines for the model's scalar fields, and the names of its nested tables."""
    lines: list[str] = []
    tables: list[str] = []
    for name, info in model.model_fields.items():
        value = getattr(defaults, name)
        if isinstance(value, BaseModel):
            tables.append(name)
            continue
        lines.append("")
        lines.extend(_comment(info.description or name))
        lines.append(_value_line(name, value))
    return lines, tables


def render_config_template() -> str:
    defaults = Settings.model_validate({})
    top, tables = _section(Settings, defaults)
    lines = HEADER.rstrip("\n").split("\n") + top
    for table in tables:
        sub = getattr(defaults, table)
        doc = (type(sub).__doc__ or "").strip()
        lines.append("")
        lines.append(f"[{table}]")
        if doc:
            lines.extend(_comment(doc))
        sub_lines, _ = _section(type(sub), sub)
        lines.extend(sub_lines)
    return "\n".join(lines) + "\n"
