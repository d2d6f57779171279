"""A conservative token count: how many tokens a text can cost a model, erring high.

Owns ``estimate_tokens``, the one estimate the context packs are budgeted with. It needs no
vocabulary and no download: it cuts the text into the pieces a byte-level BPE tokenizer's
pre-tokenizer makes (runs of letters, cut again at a lower-to-upper case change; groups of at
most three digits; runs of whitespace; each punctuation character) and charges each piece
what such a piece can cost: a short run of letters one token, a long one one per started four
letters past the first six, a digit group one, each non-ASCII character one token per UTF-8 byte
past the first (so CJK and emoji are counted high). The result is also at least a third of
the UTF-8 length. ``bench/bench_pack_tokens.py`` measures it against a real o200k tokenizer
on code and prose of several languages: it is never below the real count there, and about
1.3-2x above it (the bench prints the ratios per language).
Pure: no I/O, no state.
"""

from __future__ import annotations

import re

#: Pieces of text the way a BPE pre-tokenizer cuts them: a letter run (ASCII; cut at a
#: lower-to-upper change), a digit group, a whitespace run, one other ASCII character, or one
#: non-ASCII character.
_PIECES = re.compile(
    r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]{1,3}|[ \t]*[\r\n]+[ \t]*|[ \t\f\v]+"
    r"|[\x00-\x7f]|[^\x00-\x7f]"
)
#: Letters a run costs nothing more for; past it, one token per started ``_LETTERS_PER_TOKEN``.
_FREE_LETTERS = 6
_LETTERS_PER_TOKEN = 4
#: The estimate is never below the UTF-8 length over this.
_BYTES_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    """An upper estimate of the tokens ``text`` costs a byte-level BPE tokenizer (o200k and
    its kin): 0 for the empty text, otherwise at least 1. Deterministic; the estimate of a
    concatenation is at most the sum of the estimates of its parts plus one per join."""
    if not text:
        return 0
    count = 0
    for match in _PIECES.finditer(text):
        piece = match.group()
        first = piece[0]
        if first.isalpha() and first.isascii():
            extra = len(piece) - _FREE_LETTERS
            count += 1 + (-(-extra // _LETTERS_PER_TOKEN) if extra > 0 else 0)
        elif first.isascii():
            count += 1
        else:
            count += max(1, len(first.encode("utf-8", "surrogatepass")) - 1)
    size = len(text.encode("utf-8", "surrogatepass"))
    return max(count, -(-size // _BYTES_PER_TOKEN))
