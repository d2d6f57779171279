"""The registry of frame metadata keys: the closed set a frame may carry, and what each means.

Owns, per key, the domain that defines its value, its byte budget, the shape its value must
have, whether a generated frame must carry it, and whether reads show it. Adding a key is one
entry here; a key that is not here is rejected at the write boundary. It must not import
``context``, ``api``, ``providers`` or ``agents``: the registry is data, and the domains that
fill these keys depend on it, not the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

#: Budget of one entry: UTF-8 bytes of the key plus UTF-8 bytes of the value.
ENTRY_BUDGET_BYTES = 16 * 1024
#: Budget of all entries of one frame together.
TOTAL_BUDGET_BYTES = 64 * 1024


class ValueFormat(StrEnum):
    """The shape a value must have."""

    TEXT = "text"  # any string
    DIGEST = "digest"  # 64 lowercase hex characters (a BLAKE3 digest)
    COUNT = "count"  # a non-negative decimal integer without sign or leading zeros


class Domain(StrEnum):
    """Who defines the value of a key."""

    AGENTS = "agents"
    PROVIDERS = "providers"
    GENERATION = "generation"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataKey:
    name: str
    owner: Domain
    max_bytes: int
    value_format: ValueFormat
    required_for_generated: bool
    shown_on_read: bool
    description: str


def _key(
    name: str,
    owner: Domain,
    value_format: ValueFormat,
    description: str,
    *,
    shown_on_read: bool = True,
    required: bool = True,
) -> MetadataKey:
    return MetadataKey(
        name=name,
        owner=owner,
        max_bytes=ENTRY_BUDGET_BYTES,
        value_format=value_format,
        required_for_generated=required,
        shown_on_read=shown_on_read,
        description=description,
    )


_KEYS: tuple[MetadataKey, ...] = (
    # The frame itself says which agent wrote it; repeating it on read is noise.
    _key(
        "agent_id",
        Domain.AGENTS,
        ValueFormat.TEXT,
        "The agent that wrote the frame (always required).",
        shown_on_read=False,
    ),
    _key("provider", Domain.PROVIDERS, ValueFormat.TEXT, "Provider profile name."),
    _key("provider_type", Domain.PROVIDERS, ValueFormat.TEXT, "Wire format of the provider."),
    _key("model", Domain.PROVIDERS, ValueFormat.TEXT, "The model the provider says it served."),
    _key(
        "prompt_digest",
        Domain.GENERATION,
        ValueFormat.DIGEST,
        "Digest of the prompt text (system prompt and rendered task).",
    ),
    _key(
        "context_digest",
        Domain.GENERATION,
        ValueFormat.DIGEST,
        "Digest of the context text the frame was built from.",
    ),
    _key(
        "prompt_link_id",
        Domain.GENERATION,
        ValueFormat.DIGEST,
        "Digest of the exact provider request body (stored as an artifact).",
    ),
    _key("tokens_in", Domain.PROVIDERS, ValueFormat.COUNT, "Input tokens the provider billed."),
    _key("tokens_out", Domain.PROVIDERS, ValueFormat.COUNT, "Output tokens the provider billed."),
    _key("finish_reason", Domain.PROVIDERS, ValueFormat.TEXT, "Why the completion ended."),
    _key(
        "truncated_bytes",
        Domain.GENERATION,
        ValueFormat.COUNT,
        "Bytes of the answer cut off to fit max_frame_bytes (only on a cut frame).",
        required=False,
    ),
    _key(
        "content_bytes_kept",
        Domain.GENERATION,
        ValueFormat.COUNT,
        "Bytes of the file the prompt carried, when it was cut (by prompt_file_cap or to fit "
        "the provider's context window; only when prompts were fitted to a window).",
        required=False,
    ),
    _key(
        "content_bytes_total",
        Domain.GENERATION,
        ValueFormat.COUNT,
        "Bytes of the whole file, when the prompt carried only part of it.",
        required=False,
    ),
    _key(
        "children_trimmed",
        Domain.GENERATION,
        ValueFormat.COUNT,
        "Children whose frames were cut or left out of a directory's prompt to fit the "
        "directory context budget or the provider's context window (only when any were and "
        "prompts were fitted to a window).",
        required=False,
    ),
    _key(
        "redactions",
        Domain.GENERATION,
        ValueFormat.TEXT,
        "Key-shaped strings replaced by [redacted:KIND] in the prompt and the frame, counted "
        "by kind (`kind=N,...`, never the values; only when there were any).",
        required=False,
    ),
)

#: Every allowed key, by name.
REGISTRY: Mapping[str, MetadataKey] = MappingProxyType({k.name: k for k in _KEYS})

#: The key every frame must carry, generated or not.
AGENT_ID_KEY = "agent_id"
#: Redactions in a frame's prompt and text, by kind (``contextree.redaction.format_counts``).
REDACTIONS_KEY = "redactions"


def lookup(name: str) -> MetadataKey | None:
    """The registered key called ``name``, or None."""
    return REGISTRY.get(name)


_REQUIRED_FOR_GENERATED: tuple[str, ...] = tuple(
    sorted(k.name for k in _KEYS if k.required_for_generated)
)


def required_for_generated() -> tuple[str, ...]:
    """Keys a generated frame (one written with lineage) must carry, sorted."""
    return _REQUIRED_FOR_GENERATED


def project_for_read(metadata: Mapping[str, str]) -> dict[str, str]:
    """The entries reads show, sorted by key; unregistered and hidden keys are dropped."""
    shown: dict[str, str] = {}
    for name in sorted(metadata):
        key = REGISTRY.get(name)
        if key is not None and key.shown_on_read:
            shown[name] = metadata[name]
    return shown
