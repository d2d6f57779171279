"""The structural frame text: deterministic Markdown for a file or a directory.

Owns the layout of a structural frame. A file frame opens with its path, then one sentence
(language, size, lines and the file's own summary: docstring, first paragraph or first
comment), then its outline. A directory frame counts its children and lists each with the
first meaningful line of the child's frame. The output depends only on the subject: no clock,
no absolute paths, no environment. Change ``STRUCTURAL_MODEL`` when the format changes.
"""

from __future__ import annotations

import re
from collections import Counter

from contextree.core.ids import NodeKind
from contextree.providers.structural.languages import (
    count_lines,
    is_data_language,
    language_from_name,
    language_from_shebang,
    looks_minified,
    one_line,
)
from contextree.providers.structural.patterns import (
    data_outline,
    definitions,
    leading_comment,
    markdown_outline,
)
from contextree.providers.structural.python import python_outline
from contextree.providers.types import ChildFrame, DirectorySubject, FileSubject
from contextree.sniff import binary_kind

MAX_SYMBOLS = 80
MAX_HEADINGS = 60
MAX_KEYS = 40
MAX_IMPORTS = 30
_DECORATION = re.compile(r"[-=*_`~|: ]+")
_FRAME_LANGUAGE = re.compile(r"([A-Z][\w+#]*) file, [\d,]+ bytes")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _capped(items: list[str], limit: int) -> list[str]:
    if len(items) <= limit:
        return items
    return [*items[:limit], f"... and {len(items) - limit:,} more"]


def _sentence(text: str) -> str:
    return text if not text or text.endswith((".", "!", "?", ":")) else text + "."


class _FileFrame:
    """Collects the sections of one file frame."""

    def __init__(self, subject: FileSubject) -> None:
        self.subject = subject
        self.summary = ""
        self.notes: list[str] = []
        self.sections: list[tuple[str, list[str]]] = []

    def section(self, title: str, lines: list[str]) -> None:
        if lines:
            self.sections.append((title, lines))

    def render(self, kind: str, lines: int | None) -> str:
        subject = self.subject
        facts = [kind, _plural(subject.size, "byte", "bytes")]
        if lines is not None:
            more = "+" if subject.truncated else ""
            facts.append(f"{lines:,}{more} {'line' if lines == 1 and not more else 'lines'}")
        head = ", ".join(facts) + "."
        if self.summary:
            head += " " + _sentence(self.summary)
        out = [f"# {subject.path}", "", head]
        if subject.truncated:
            self.notes.append(
                f"Only the first {len(subject.data):,} bytes were read; the outline covers them."
            )
        if self.notes:
            out += ["", *self.notes]
        for title, body in self.sections:
            out += ["", f"## {title}", "", *body]
        return "\n".join(out) + "\n"


def _outline_python(frame: _FileFrame, text: str) -> None:
    outline = python_outline(text)
    if outline is None:
        frame.notes.append("Does not parse as Python; the outline comes from line patterns.")
        frame.summary = leading_comment(text, "Python")
        frame.section("Definitions", _bullets(definitions(text, "Python"), MAX_SYMBOLS))
        return
    frame.summary = outline.docstring or leading_comment(text, "Python")
    symbols = [
        "  " * s.depth + f"- `{s.signature}`" + (f": {s.doc}" if s.doc else "")
        for s in outline.symbols
    ]
    if outline.private:
        names = _capped([f"`{name}`" for name in outline.private], MAX_SYMBOLS)
        symbols.append("- private: " + ", ".join(names))
    frame.section("Symbols", _capped(symbols, MAX_SYMBOLS))
    if outline.exports:
        frame.section("Exports", [", ".join(f"`{e}`" for e in outline.exports)])
    imports = _capped([f"`{name}`" for name in outline.imports], MAX_IMPORTS)
    frame.section("Imports", [", ".join(imports)] if imports else [])
    if outline.has_main:
        frame.notes.append('Runs as a script (has an `if __name__ == "__main__"` block).')


def _bullets(items: list[str], limit: int) -> list[str]:
    return _capped([f"- `{item}`" for item in items], limit)


def _outline_markdown(frame: _FileFrame, text: str) -> None:
    summary, headings = markdown_outline(text)
    frame.summary = summary
    lines = ["  " * (h.level - 1) + f"- {h.text}" for h in headings]
    frame.section("Headings", _capped(lines, MAX_HEADINGS))


def _outline_other(frame: _FileFrame, text: str, language: str) -> None:
    if is_data_language(language):
        description, keys = data_outline(text, language)
        frame.summary = description or leading_comment(text, language)
        frame.section("Top-level keys", _bullets(keys, MAX_KEYS))
        return
    frame.summary = leading_comment(text, language)
    frame.section("Definitions", _bullets(definitions(text, language), MAX_SYMBOLS))


def render_file(subject: FileSubject) -> str:
    """The structural frame of one file."""
    frame = _FileFrame(subject)
    if not subject.size:
        return frame.render("Empty file", None)
    binary = binary_kind(subject.data)
    if binary is not None:
        return frame.render(f"Binary file ({binary})", None)
    text = subject.data.decode("utf-8", errors="replace")
    language = language_from_name(subject.path) or language_from_shebang(text) or "Text"
    lines = count_lines(subject.data)
    if looks_minified(text):
        frame.notes.append("Looks minified or generated (very long lines); not outlined.")
    elif language == "Python":
        _outline_python(frame, text)
    elif language == "Markdown":
        _outline_markdown(frame, text)
    elif language in ("Text", "reStructuredText", "AsciiDoc"):
        frame.summary = markdown_outline(text)[0]
    else:
        _outline_other(frame, text, language)
    return frame.render(f"{language} file", lines)


def first_meaningful_line(frame_text: str) -> str:
    """The first line of a frame that is not a heading, a rule or blank, on one line."""
    for raw in frame_text.split("\n"):
        line = raw.strip()
        if not line or line.startswith(("#", "<!--")) or _DECORATION.fullmatch(line):
            continue
        return one_line(line.removeprefix("> ").removeprefix("- "))
    return ""


def _child_language(child: ChildFrame) -> str:
    named = language_from_name(child.name)
    if named:
        return named
    # A structural child frame says what it found ("Shell file, ..."); LLM frames do not.
    said = _FRAME_LANGUAGE.match(first_meaningful_line(child.content))
    return said.group(1) if said else "other"


def render_directory(subject: DirectorySubject) -> str:
    """The structural frame of a directory, rolled up from its children's frames."""
    title = subject.path or "."
    children = sorted(subject.children, key=lambda c: (c.kind != NodeKind.DIR, c.name))
    if not children:
        return f"# {title}\n\nEmpty directory.\n"
    files = [c for c in children if c.kind == NodeKind.FILE]
    dirs = len(children) - len(files)
    head = (
        f"Directory with {_plural(len(files), 'file', 'files')} and "
        f"{_plural(dirs, 'subdirectory', 'subdirectories')}."
    )
    languages = Counter(_child_language(c) for c in files)
    if languages:
        ranked = sorted(languages.items(), key=lambda item: (-item[1], item[0]))
        head += " Languages: " + ", ".join(f"{name} ({n:,})" for name, n in ranked) + "."
    rows = []
    for child in children:
        label = f"{child.name}/" if child.kind == NodeKind.DIR else child.name
        summary = first_meaningful_line(child.content) or "(no frame text)"
        rows.append(f"- `{label}`: {summary}")
    return "\n".join([f"# {title}", "", head, "", "## Contents", "", *rows]) + "\n"
