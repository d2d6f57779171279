"""Telling binary data from text, and naming common binary formats.

Owns the one answer to "may these bytes be shown as text?", used by prompt collection (binary
files become a placeholder, never raw bytes) and by the structural provider. It looks at the
first few KiB only: magic numbers, NUL bytes, and how much fails to decode as UTF-8.
"""

from __future__ import annotations

SNIFF_BYTES = 8192
#: Share of undecodable characters above which non-UTF-8 text counts as binary.
_MAX_REPLACEMENT_RATIO = 0.02

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\x7fELF", "ELF executable"),
    (b"\xca\xfe\xba\xbe", "Java class or Mach-O universal binary"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"MZ", "Windows executable"),
    (b"\x00asm", "WebAssembly module"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"RIFF", "RIFF media file"),
    (b"OggS", "Ogg media file"),
    (b"ID3", "MP3 audio"),
    (b"wOFF", "WOFF font"),
    (b"wOF2", "WOFF2 font"),
)


def binary_kind(data: bytes) -> str | None:
    """A short description if ``data`` looks binary, else None."""
    head = data[:SNIFF_BYTES]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if b"\x00" in head:
        return "binary data"
    text = head.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    # A cut multi-byte character at the sniff boundary is not evidence of binary data.
    if bad > 1 and bad / max(len(text), 1) > _MAX_REPLACEMENT_RATIO:
        return "binary data"
    return None
