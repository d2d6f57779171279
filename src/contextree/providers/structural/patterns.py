"""What line patterns can tell about a non-Python file: headings, comments, definitions, keys.

Owns Markdown headings and first paragraph, a file's first comment block (license headers
skipped), common definition patterns per language family, and the top-level keys or tables
of data files. Everything here is a best-effort reading of text; nothing is executed.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contextree.providers.structural.languages import one_line

DEFINITION_CHARS = 160

_C_FAMILY = frozenset(
    {"Rust", "Go", "JavaScript", "TypeScript", "Java", "Kotlin", "Scala", "C#", "Swift", "C"}
) | {"C++", "PHP", "CSS"}
_HASH_FAMILY = frozenset(
    {"Python", "Shell", "Ruby", "Perl", "TOML", "YAML", "Makefile", "Dockerfile", "INI", "CMake"}
)
_DASH_FAMILY = frozenset({"SQL", "Lua"})
_LICENSE = re.compile(r"copyright|licen[cs]e|spdx-license|all rights reserved", re.IGNORECASE)

_JVM_MODIFIERS = (
    r"(?:(?:public|private|protected|internal|static|final|abstract|sealed|open|data|override"
    r"|suspend|async|partial|readonly|inline|enum|case)\s+)*"
)
_CASELESS = frozenset({"SQL", "Dockerfile", "CMake"})
_JS = (
    r"^export\s+(?!\{)",
    r"^(?:async\s+)?function\b",
    r"^class\s+\w+",
    r"^(?:const|let|var)\s+\w+\s*=\s*(?:async\s*)?(?:function\b|\([^)]*\)\s*=>|\w+\s*=>)",
)
_DEFINITIONS: Mapping[str, tuple[str, ...]] = {
    "Python": (r"^\s*(?:async\s+)?def\s+\w+", r"^\s*class\s+\w+"),
    "Rust": (
        r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:(?:async|const|unsafe|extern\s+\"[^\"]*\")\s+)*"
        r"(?:fn|struct|enum|trait|type|mod|union)\s+[A-Za-z_]\w*",
        r"^\s*(?:unsafe\s+)?impl\b",
        r"^\s*macro_rules!\s*\w+",
    ),
    "Go": (r"^func\s", r"^type\s+\w+\s+\w+"),
    "JavaScript": _JS,
    "TypeScript": (*_JS, r"^(?:declare\s+)?(?:interface|type|enum|namespace)\s+\w+"),
    "Java": (
        _JVM_MODIFIERS + r"(?:class|interface|enum|record|@interface)\s+\w+",
        r"^\s{2,4}(?:public|protected)\s+[\w<>\[\], .?]+\s+\w+\s*\(",
    ),
    "Kotlin": (_JVM_MODIFIERS + r"(?:class|interface|object|fun|typealias)\s+[\w.<>]+",),
    "Scala": (_JVM_MODIFIERS + r"(?:class|trait|object|def)\s+\w+",),
    "C#": (
        _JVM_MODIFIERS + r"(?:class|interface|enum|struct|record)\s+\w+",
        r"^\s{4,8}(?:public|protected|internal)\s+[\w<>\[\], .?]+\s+\w+\s*\(",
    ),
    "Swift": (_JVM_MODIFIERS + r"(?:class|struct|enum|protocol|extension|func|actor)\s+\w+",),
    "C": (
        r"^(?:typedef\s+)?(?:struct|union|enum)\s+\w+",
        r"^#define\s+\w+",
        r"^(?!(?:if|for|while|switch|return|else|do)\b)[A-Za-z_][\w \t*]*?\b\w+\s*\([^;]*$",
    ),
    "C++": (
        r"^(?:template\s*<.*>\s*)?(?:class|struct|union|enum(?:\s+class)?|namespace)\s+\w+",
        r"^#define\s+\w+",
        r"^(?!(?:if|for|while|switch|return|else|do)\b)[A-Za-z_][\w \t*&:<>,~]*?\b[\w:~]+\s*"
        r"\([^;]*$",
    ),
    "Ruby": (r"^\s*(?:def|class|module)\s+\S+",),
    "PHP": (r"^\s*" + _JVM_MODIFIERS + r"(?:function|class|interface|trait)\s+\w+",),
    "Lua": (r"^\s*(?:local\s+)?function\s+[\w.:]+",),
    "Perl": (r"^\s*(?:sub|package)\s+[\w:]+",),
    "Shell": (r"^\s*(?:function\s+[\w-]+|[A-Za-z_][\w-]*\s*\(\)\s*\{?)",),
    "SQL": (
        r"^\s*create\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?(?:unique\s+)?"
        r"(?:table|view|index|function|procedure|trigger|type|schema)\b",
    ),
    "Makefile": (r"^[A-Za-z0-9_./%-]+(?:\s+[A-Za-z0-9_./%-]+)*\s*::?(?!=)",),
    "Dockerfile": (r"^(?:FROM|ENTRYPOINT|CMD|EXPOSE)\b",),
    "CMake": (r"^\s*(?:project|add_executable|add_library|function|macro)\s*\(",),
}
_COMPILED = {
    language: re.compile(
        "|".join(f"(?:{p})" for p in patterns),
        re.IGNORECASE if language in _CASELESS else re.NOFLAG,
    )
    for language, patterns in _DEFINITIONS.items()
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Heading:
    level: int
    text: str


def _strip_front_matter(lines: list[str]) -> list[str]:
    if lines and lines[0].strip() == "---":
        for i, line in enumerate(lines[1:], start=1):
            if line.strip() in ("---", "..."):
                return lines[i + 1 :]
    return lines


def _is_fence(line: str) -> bool:
    return line.lstrip().startswith(("```", "~~~"))


def markdown_outline(text: str) -> tuple[str, tuple[Heading, ...]]:
    """The first paragraph (one line) and the headings, fenced code skipped."""
    lines = _strip_front_matter(text.split("\n"))
    headings: list[Heading] = []
    paragraph: list[str] = []
    summary = ""
    in_fence = False
    for i, line in enumerate(lines):
        if _is_fence(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        atx = re.match(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$", line)
        underline = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if atx:
            headings.append(Heading(level=len(atx.group(1)), text=atx.group(2)))
        elif line.strip() and re.fullmatch(r"=+|-+", underline) and (summary or not paragraph):
            headings.append(Heading(level=1 if underline[0] == "=" else 2, text=line.strip()))
        elif re.fullmatch(r"\s*(?:=+|-+)\s*", line):
            pass
        elif not summary and line.strip() and not line.lstrip().startswith(("<", "[![", "!")):
            paragraph.append(line.strip())
            continue
        if paragraph and not summary:
            summary = one_line(" ".join(paragraph))
    if paragraph and not summary:
        summary = one_line(" ".join(paragraph))
    return summary, tuple(headings)


def _comment_prefixes(language: str) -> tuple[str, ...]:
    if language in _C_FAMILY:
        return ("///", "//!", "//")
    if language in _HASH_FAMILY:
        return ("#",)
    if language in _DASH_FAMILY:
        return ("--",)
    return ()


def _comment_blocks(lines: list[str], language: str) -> list[list[str]]:
    """Leading comment blocks (separated by blank lines), stopping at the first code line."""
    prefixes = _comment_prefixes(language)
    blocks: list[list[str]] = []
    current: list[str] = []
    in_block_comment = False
    for raw in lines:
        line = raw.strip()
        if in_block_comment or (language in _C_FAMILY and line.startswith("/*")):
            in_block_comment = "*/" not in line
            current.append(re.sub(r"^/\*+!?|\*+/$|^\*", "", line.removesuffix("*/")).strip())
        elif prefixes and line.startswith(prefixes) and not line.startswith("#!"):
            stripped = line
            for prefix in prefixes:
                if stripped.startswith(prefix):
                    stripped = stripped[len(prefix) :]
                    break
            current.append(stripped.strip())
        elif not line or line.startswith("#!"):
            if current:
                blocks.append(current)
                current = []
        else:
            break
    if current:
        blocks.append(current)
    return blocks


def leading_comment(text: str, language: str) -> str:
    """The first paragraph of the file's first non-license comment block, on one line."""
    for block in _comment_blocks(text.split("\n", 200)[:200], language):
        body = "\n".join(block).strip()
        if not body or _LICENSE.search(body):
            continue
        return one_line(body.split("\n\n", 1)[0])
    return ""


def definitions(text: str, language: str) -> list[str]:
    """Lines that define something, trimmed to their head (before ``{`` or ``:``)."""
    pattern = _COMPILED.get(language)
    if pattern is None:
        return []
    found = []
    for line in text.split("\n"):
        if pattern.match(line):
            head = line.rstrip().removesuffix("{").rstrip()
            if len(head) > DEFINITION_CHARS:
                head = head[: DEFINITION_CHARS - 3] + "..."
            found.append(head)
    return found


def _description(data: Mapping[str, Any]) -> str:
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, Mapping) else None
    for table in (data, data.get("project"), data.get("package"), poetry):
        if isinstance(table, Mapping) and isinstance(table.get("description"), str):
            return one_line(table["description"])
    return ""


def _json_outline(text: str) -> tuple[str, list[str]]:
    try:
        data = json.loads(text)
    except ValueError:
        return "", []
    if isinstance(data, dict):
        return _description(data), [str(k) for k in data]
    if isinstance(data, list):
        return "", [f"(array of {len(data)} items)"]
    return "", []


def _toml_outline(text: str) -> tuple[str, list[str]]:
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        parsed = {}
    tables = re.findall(r"(?m)^\s*(\[\[?[^\]\n]+\]\]?)", text)
    keys = [k for k, v in parsed.items() if not isinstance(v, dict | list)]
    return _description(parsed), [*keys, *dict.fromkeys(tables)]


def data_outline(text: str, language: str) -> tuple[str, list[str]]:
    """A description (package manifests) and the top-level keys or tables of a data file."""
    if language == "JSON":
        return _json_outline(text)
    if language == "TOML":
        return _toml_outline(text)
    if language == "YAML":
        return "", re.findall(r"(?m)^([A-Za-z_][\w.-]*|\"[^\"\n]+\")\s*:", text)
    if language == "INI":
        return "", re.findall(r"(?m)^\s*(\[[^\]\n]+\])", text)
    return "", []
