"""Naming what a file is from its name and first bytes, without a model.

Owns the extension and file-name tables, shebang detection and line counting (binary detection
lives in ``contextree.sniff``). Pure functions over bytes and names.
"""

from __future__ import annotations

import re

_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "Python": (".py", ".pyi", ".pyw"),
    "Markdown": (".md", ".markdown", ".mdx"),
    "reStructuredText": (".rst",),
    "AsciiDoc": (".adoc",),
    "Text": (".txt",),
    "Rust": (".rs",),
    "Go": (".go",),
    "JavaScript": (".js", ".mjs", ".cjs", ".jsx"),
    "TypeScript": (".ts", ".mts", ".cts", ".tsx"),
    "Java": (".java",),
    "Kotlin": (".kt", ".kts"),
    "Scala": (".scala",),
    "C#": (".cs",),
    "Swift": (".swift",),
    "C": (".c", ".h"),
    "C++": (".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx"),
    "Ruby": (".rb",),
    "PHP": (".php",),
    "Lua": (".lua",),
    "Perl": (".pl", ".pm"),
    "Shell": (".sh", ".bash", ".zsh"),
    "SQL": (".sql",),
    "TOML": (".toml",),
    "YAML": (".yaml", ".yml"),
    "JSON": (".json", ".jsonc"),
    "INI": (".ini", ".cfg", ".conf"),
    "HTML": (".html", ".htm"),
    "CSS": (".css", ".scss"),
    "XML": (".xml",),
    "SVG": (".svg",),
}
_BY_EXTENSION = {ext: language for language, exts in _EXTENSIONS.items() for ext in exts}
_BY_NAME: dict[str, str] = {
    "Makefile": "Makefile",
    "GNUmakefile": "Makefile",
    "makefile": "Makefile",
    "Dockerfile": "Dockerfile",
    "Containerfile": "Dockerfile",
    "CMakeLists.txt": "CMake",
    "Gemfile": "Ruby",
    "Rakefile": "Ruby",
    "Cargo.lock": "TOML",
    "poetry.lock": "TOML",
    "uv.lock": "TOML",
}
_SHEBANGS: tuple[tuple[str, str], ...] = (
    ("python", "Python"),
    ("bash", "Shell"),
    ("zsh", "Shell"),
    ("/sh", "Shell"),
    (" sh", "Shell"),
    ("node", "JavaScript"),
    ("ruby", "Ruby"),
    ("perl", "Perl"),
)
_DATA_LANGUAGES = frozenset({"TOML", "YAML", "JSON", "INI", "XML"})


def language_from_name(name: str) -> str | None:
    """The language a file name suggests, or ``None``."""
    base = name.rsplit("/", 1)[-1]
    if base in _BY_NAME:
        return _BY_NAME[base]
    if base.startswith("Dockerfile."):
        return "Dockerfile"
    dot = base.rfind(".")
    if dot <= 0:
        return None
    return _BY_EXTENSION.get(base[dot:].lower())


def language_from_shebang(text: str) -> str | None:
    first = text.split("\n", 1)[0]
    if not first.startswith("#!"):
        return None
    for needle, language in _SHEBANGS:
        if needle in first:
            return language
    return None


def is_data_language(language: str) -> bool:
    return language in _DATA_LANGUAGES


def count_lines(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


_MINIFIED_LINE = 1000


def looks_minified(text: str) -> bool:
    """One or a few very long lines: generated or minified, not worth outlining."""
    lines = text.split("\n", 20)
    return any(len(line) > _MINIFIED_LINE for line in lines[:20]) and len(lines) < 20


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line with single spaces, capped at ``limit`` characters."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."
