"""A conservative token count: how many tokens a text can cost a model, erring high.

Owns ``estimate_tokens``, the one estimate the context packs are budgeted with. It needs no
vocabulary and no download: it cuts the text into the pieces a byte-level BPE tokenizer's
pre-tokenizer makes (runs of ASCII letters and digits, whitespace runs, each other character)
and charges each what such a piece can cost: a letter run (cut at a lower-to-upper change)
one token plus one per started four letters past the sixth, a group of up to three digits one,
a run that looks random (letters mixed with digits as in hex and base64 digests, short letter
runs, too few vowels) 0.9 a character, each non-ASCII character one token per UTF-8 byte past
the first (CJK and emoji count high). The result is also at least a third of the UTF-8 length.
``bench/bench_pack_tokens.py`` measures it against a real o200k tokenizer: on Python, Go,
Rust, JavaScript, TypeScript, JSON, TOML and Markdown (with and without Unicode) and on random
hex and base64 it is never below the real count, and on average about 1.5x (JSON) to 2x
(code, prose) above it. Strings of random letters can still cost more than estimated.
Pure: no I/O, no state.
"""

from __future__ import annotations

import re

#: Pieces of text the way a BPE pre-tokenizer cuts them: a run of ASCII letters and digits, a
#: whitespace run, one other ASCII character, or one non-ASCII character.
_PIECES = re.compile(r"[A-Za-z0-9]+|[ \t]*[\r\n]+[ \t]*|[ \t\f\v]+|[\x00-\x7f]|[^\x00-\x7f]")
#: Inside a run of letters and digits: its letter runs (cut at a lower-to-upper change) and
#: digit groups.
_ALNUM = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]{1,3}")
#: Letters a run costs nothing more for; past it, one token per started ``_LETTERS_PER_TOKEN``.
_FREE_LETTERS = 6
_LETTERS_PER_TOKEN = 4
#: A run that looks random (it mixes letters and digits, as hex and base64 digests do, or its
#: letter runs are short on average) costs at least this many tokens per ten characters: BPE
#: vocabularies hold few such pieces.
_RANDOM_PER_TEN = 9
_RANDOM_MIN_LENGTH = 5
_WORD_LENGTH = 3
#: Words of natural languages and code are at least this share vowels (``aeiouy``).
_VOWELS_PER_TEN = 2
#: The estimate is never below the UTF-8 length over this.
_BYTES_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    """An upper estimate of the tokens ``text`` costs a byte-level BPE tokenizer (o200k and
    its kin): 0 for the empty text, otherwise at least 1. Deterministic. Joining texts that
    each end with a newline never costs more than the sum of their estimates."""
    if not text:
        return 0
    count = 0
    for match in _PIECES.finditer(text):
        piece = match.group()
        first = piece[0]
        if not first.isascii():
            count += max(1, len(first.encode("utf-8", "surrogatepass")) - 1)
        elif piece.isalnum():
            count += _alnum_cost(piece)
        else:
            count += 1
    size = len(text.encode("utf-8", "surrogatepass"))
    return max(count, -(-size // _BYTES_PER_TOKEN))


def _alnum_cost(run: str) -> int:
    """A run of ASCII letters and digits: each letter run one token, and one more per started
    four letters past the sixth; each digit group one; at least 0.9 a character if it looks
    random."""
    parts = _ALNUM.findall(run)
    cost = sum(1 + max(0, -(-(len(p) - _FREE_LETTERS) // _LETTERS_PER_TOKEN)) for p in parts)
    mixed = not run.isalpha() and not run.isdigit()
    if mixed or (len(run) >= _RANDOM_MIN_LENGTH and _looks_random(run, len(parts))):
        cost = max(cost, -(-len(run) * _RANDOM_PER_TEN // 10))
    return cost


def _looks_random(run: str, parts: int) -> bool:
    """Short letter runs on average, or too few vowels for a word."""
    vowels = sum(1 for c in run.lower() if c in "aeiouy")
    return len(run) < _WORD_LENGTH * parts or vowels * 10 < len(run) * _VOWELS_PER_TEN
