"""The cap on a frame's text: an answer longer than ``max_frame_bytes`` is cut at a line.

Owns ``cap_answer``, a pure function: text within the cap is returned unchanged; a longer one
keeps its first lines (whole UTF-8 characters, never rewritten) and ends with a note saying how
much was kept, the note included in the cap. A line boundary is preferred; only when the last
one that fits would keep less than half of the room is the text cut inside a line, at a
character boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

_ENCODING = "utf-8"
# Lone surrogates (which JSON can carry) survive the round trip instead of raising here.
_ERRORS = "surrogatepass"


@dataclass(frozen=True, slots=True, kw_only=True)
class CappedAnswer:
    text: str
    #: Bytes of the answer left out (0 when it fit).
    truncated_bytes: int


def cut_note(kept: int, total: int) -> str:
    return f"[contextree: answer cut at {kept:,} bytes of {total:,}]"


def cap_answer(text: str, max_bytes: int) -> CappedAnswer:
    """``text`` if it is at most ``max_bytes`` UTF-8 bytes, else its head and a note, together
    at most ``max_bytes`` bytes (for any ``max_bytes`` the note fits in)."""
    if len(text) * 4 <= max_bytes:  # no character is more than 4 bytes
        return CappedAnswer(text=text, truncated_bytes=0)
    data = text.encode(_ENCODING, _ERRORS)
    total = len(data)
    if total <= max_bytes:
        return CappedAnswer(text=text, truncated_bytes=0)
    # The note's number is at most ``total``, so this many bytes always hold it.
    room = max(max_bytes - len("\n\n" + cut_note(total, total)), 0)
    end = data.rfind(b"\n", 0, room) + 1
    if end < room // 2 or end == 0:
        end = room
        while end > 0 and (data[end] & 0xC0) == 0x80:  # never split a character
            end -= 1
    kept = data[:end].decode(_ENCODING, _ERRORS)
    separator = "\n" if kept.endswith("\n") else "\n\n"
    return CappedAnswer(text=kept + separator + cut_note(end, total), truncated_bytes=total - end)
