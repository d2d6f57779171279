"""git's ignore-file lines and wildmatch globs, translated into bytes regular expressions.

Owns what one ignore-file line means, pattern by pattern: reading ignore-file bytes the way git
does (UTF-8 BOM, CRLF, NUL, comments, trailing-space trimming, ``\\`` escapes, ``!`` negation,
a trailing ``/`` for directories only, anchoring) and translating git's wildmatch globs
(``*``, ``**``, ``?``, bracket expressions with POSIX classes) into regex sources that cannot
backtrack without bound. Precedence between patterns and ignore files, and compiling a set of
patterns into one matcher, are ``ignore``'s. Pure functions of bytes: no filesystem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Pattern", "parse_ignore_file"]

_UTF8_BOM = b"\xef\xbb\xbf"
_STAR, _QUESTION, _BRACKET, _BACKSLASH, _SLASH = b"*?[\\/"
_GLOB_SPECIAL = frozenset(b"*?[\\")

# git's own ctype tables (ASCII only; bytes >= 0x80 belong to no class).
_POSIX_CLASSES: dict[bytes, frozenset[int]] = {
    b"alnum": frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    b"alpha": frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
    b"blank": frozenset(b" \t"),
    b"cntrl": frozenset([*range(0x20), 0x7F]),
    b"digit": frozenset(b"0123456789"),
    b"graph": frozenset(range(0x21, 0x7F)),
    b"lower": frozenset(b"abcdefghijklmnopqrstuvwxyz"),
    b"print": frozenset(range(0x20, 0x7F)),
    b"punct": frozenset(b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    b"space": frozenset(b" \t\n\r"),  # git's isspace has no \v or \f
    b"upper": frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    b"xdigit": frozenset(b"0123456789ABCDEFabcdef"),
}


class _NeverMatches(Exception):
    """The pattern can match no path (git aborts on it, or it asks for an impossible byte)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pattern:
    """One parsed pattern line: a regex source over the path below the ignore file's directory."""

    source: bytes
    negated: bool
    dir_only: bool
    basename: bool  # no slash: matches the last path component at any depth


def parse_ignore_file(content: bytes) -> Iterator[Pattern]:
    """The patterns of one ignore file, in file order, skipping lines that can never match."""
    if content.startswith(_UTF8_BOM):
        content = content[len(_UTF8_BOM) :]
    for raw in content.split(b"\n"):
        if not raw or raw[0] == ord("#"):
            continue
        # git drops one CR before the LF and holds the line as a C string, so a NUL ends it.
        line = raw[:-1] if raw.endswith(b"\r") else raw
        pattern = _parse_line(line.partition(b"\0")[0])
        if pattern is not None:
            yield pattern


def _parse_line(line: bytes) -> Pattern | None:
    body = _trim_trailing_spaces(line)
    negated = body.startswith(b"!")
    if negated:
        body = body[1:]
    dir_only = body.endswith(b"/")
    if dir_only:
        body = body[:-1]
    basename = b"/" not in body
    try:
        if basename:
            source = _translate(body, pathname=False)
        else:
            # Only one leading slash anchors; the literal prefix is compared before wildmatch
            # runs on the rest, so a "**" right after the prefix counts as starting the pattern.
            body = body.removeprefix(b"/")
            literal = _literal_prefix_length(body)
            source = re.escape(body[:literal]) + _translate(body[literal:], pathname=True)
    except _NeverMatches:
        return None
    if not body:
        return None
    return Pattern(source=source, negated=negated, dir_only=dir_only, basename=basename)


def _trim_trailing_spaces(line: bytes) -> bytes:
    """Drop trailing spaces unless backslash-escaped; tabs and other blanks stay."""
    if not line.endswith(b" "):
        return line
    trailing_from = -1
    index = 0
    while index < len(line):
        char = line[index]
        if char == 0x20:
            if trailing_from < 0:
                trailing_from = index
        else:
            if char == _BACKSLASH:
                index += 1
                if index == len(line):
                    return line
            trailing_from = -1
        index += 1
    return line[:trailing_from] if trailing_from >= 0 else line


def _literal_prefix_length(glob: bytes) -> int:
    for index, char in enumerate(glob):
        if char in _GLOB_SPECIAL:
            return index
    return len(glob)


_IN_NAME = b"[^/]*"  # "*": any run of bytes within one path component
_ANYTHING = b".*"  # "**" at the end or before an escaped slash: slashes too
_DIRECTORIES = b"(?:.*/)?"  # "**/": zero or more whole directories


def _translate(glob: bytes, *, pathname: bool) -> bytes:
    """Regex source for git's wildmatch of ``glob`` over a whole string.

    With ``pathname`` (WM_PATHNAME), ``**`` between slashes or at either end also matches
    slashes; otherwise the subject is a single name, which never contains a slash.
    """
    segments: list[list[bytes]] = [[]]  # the star-free runs around each star
    stars: list[bytes] = []
    index = 0
    end = len(glob)
    while index < end:
        char = glob[index]
        if char == _STAR:
            star, index = _translate_stars(glob, index, pathname=pathname)
            stars.append(star)
            segments.append([])
            continue
        if char == _QUESTION:
            part = b"[^/]"
            index += 1
        elif char == _BRACKET:
            part, index = _translate_bracket(glob, index + 1)
        elif char == _BACKSLASH:
            if index + 1 == end:
                raise _NeverMatches  # a trailing backslash escapes nothing
            part = re.escape(glob[index + 1 : index + 2])
            index += 2
        else:
            part = re.escape(glob[index : index + 1])
            index += 1
        segments[-1].append(part)
    return _join_segments([b"".join(segment) for segment in segments], stars)


def _join_segments(segments: list[bytes], stars: list[bytes]) -> bytes:
    """Glue star-free segments and stars so that matching cannot backtrack without bound.

    A plain regex tries every split between consecutive stars (``*a*a*a*a*a*b`` took minutes
    on a 120-byte name); git's wildmatch prunes that. A segment after a ``*`` that another
    star follows only needs its leftmost occurrence: the next star absorbs what a later
    occurrence would have skipped (no slash: ``*`` and the segment's bytes before any slash
    never cross one, and a slash pins the segment). The same holds after ``**/`` when the next
    star is ``**`` (the segment then ends in a slash). Such segments match lazily inside an
    atomic group. ``**/**/`` is merged first: it means the same as one ``**/``.
    """
    index = 0
    while index < len(stars) - 1:
        if (
            stars[index] == _DIRECTORIES
            and not segments[index + 1]
            and stars[index + 1] != _IN_NAME
        ):
            del stars[index], segments[index + 1]
        else:
            index += 1
    parts = [segments[0]]
    for number, star in enumerate(stars):
        body = segments[number + 1]
        following = stars[number + 1] if number + 1 < len(stars) else None
        if body and following is not None and star == _IN_NAME:
            parts.append(b"(?>[^/]*?" + body + b")")
        elif body and star == _DIRECTORIES and following in (_DIRECTORIES, _ANYTHING):
            parts.append(b"(?>(?:.*?/)??" + body + b")")
        else:
            parts += (star, body)
    return b"".join(parts)


def _translate_stars(glob: bytes, start: int, *, pathname: bool) -> tuple[bytes, int]:
    run_end = start
    while run_end < len(glob) and glob[run_end] == _STAR:
        run_end += 1
    after = glob[run_end : run_end + 2]
    double = run_end - start >= 2 and (start == 0 or glob[start - 1] == _SLASH)
    if pathname and double:
        if not after or after == b"\\/":
            return _ANYTHING, run_end
        if after[0] == _SLASH:
            return _DIRECTORIES, run_end + 1
    return _IN_NAME, run_end


def _translate_bracket(glob: bytes, index: int) -> tuple[bytes, int]:
    """A character class for the bracket expression whose body starts at ``index``.

    Follows git's wildmatch: ``!`` or ``^`` negates, a ``]`` first is literal, ``\\`` escapes,
    ``a-z`` ranges compare bytes, ``[:name:]`` is a POSIX class. Returns the class and the
    index after the closing ``]``; raises _NeverMatches when git would abort or the class is
    empty.
    """
    end = len(glob)
    negated = index < end and glob[index] in b"!^"
    if negated:
        index += 1
    members: set[int] = set()
    previous = 0  # git's prev_ch: the last single byte, or 0 after a range or class
    while True:
        char = _byte_at(glob, index)
        if char == _BACKSLASH:
            index += 1
            char = _byte_at(glob, index)
            members.add(char)
        elif char == ord("-") and previous and glob[index + 1 : index + 2] not in (b"", b"]"):
            index += 1
            high = _byte_at(glob, index)
            if high == _BACKSLASH:
                index += 1
                high = _byte_at(glob, index)
            members.update(range(previous, high + 1))
            char = 0
        elif char == _BRACKET and (named := _posix_class(glob, index)) is not None:
            members.update(named[0])
            index = named[1]
            char = 0
        else:
            members.add(char)
        previous = char
        index += 1
        if glob[index : index + 1] == b"]":
            break
    chosen = (set(range(256)) - members if negated else members) - {_SLASH}
    return _byte_class(chosen), index + 1


def _byte_at(glob: bytes, index: int) -> int:
    if index >= len(glob):
        raise _NeverMatches  # unterminated bracket expression: git aborts
    return glob[index]


def _posix_class(glob: bytes, index: int) -> tuple[frozenset[int], int] | None:
    """The bytes of a ``[:name:]`` at ``index`` and the index of its ``]``, or None when the
    ``[`` there is an ordinary member (no ``:]`` right before the next ``]``)."""
    if glob[index + 1 : index + 2] != b":":
        return None
    close = glob.find(b"]", index + 2)
    if close < 0:
        raise _NeverMatches
    if close - (index + 2) < 1 or glob[close - 1] != ord(":"):
        return None
    name = glob[index + 2 : close - 1]
    if name not in _POSIX_CLASSES:
        raise _NeverMatches  # git aborts on an unknown class name
    return _POSIX_CLASSES[name], close


def _byte_class(members: set[int]) -> bytes:
    if not members:
        raise _NeverMatches
    ordered = sorted(members)
    ranges: list[bytes] = []
    low = high = ordered[0]
    for value in ordered[1:]:
        if value == high + 1:
            high = value
            continue
        ranges.append(_byte_range(low, high))
        low = high = value
    ranges.append(_byte_range(low, high))
    return b"[" + b"".join(ranges) + b"]"


def _byte_range(low: int, high: int) -> bytes:
    if low == high:
        return b"\\x%02x" % low
    return b"\\x%02x-\\x%02x" % (low, high)
