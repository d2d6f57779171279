"""Chat messages and provider responses: the values that cross from prompt building to providers.

Owns the one ``ChatMessage`` (a role and its text) the prompt collector writes and provider
clients send, and the one ``ProviderResponse`` a client returns and the generation units carry
on. They are frozen, keyword-only values with no behaviour; they know nothing about HTTP, wire
formats or configuration files.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Who wrote a chat message; the values are the wire strings of every supported API."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ProviderResponse:
    """A whole completion (truncated or empty ones are errors, never responses).

    ``served_model`` is what the server says answered, which may differ from the requested
    name (aliases, dated snapshots). ``request_body`` holds the exact bytes sent, kept for audit
    and the parity fixtures; it is empty for the offline structural provider, which sends
    nothing. ``truncated_bytes`` counts the bytes of the answer that generation cut off to fit
    ``max_frame_bytes`` (``content`` then ends with a note); a client always returns 0.
    """

    content: str
    served_model: str
    tokens_in: int
    tokens_out: int
    finish_reason: str
    latency_s: float
    request_body: bytes
    truncated_bytes: int = 0
