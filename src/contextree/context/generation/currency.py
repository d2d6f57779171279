"""Currency: the one definition of what a head was generated from.

Owns the input key (``CurrencyKeys``). A head is *current* when the input key stored on it
equals the one computed now from: the node id, the agent's prompt profile digest, the requested
provider's name and configured model, and, for a directory, its children's current frame ids in
child-name order and the directory context budget when it is not the default (so heads made
with the default stay current across the upgrade that added it), and whether redaction was off
(only then: heads made before redaction existed stay current, while switching it off, or back
on, regenerates), and the provider profile's ``context_window`` and ``reply_reserve`` when
set (they decide how much of a file or of the children's frames the prompt carries; unset,
they add nothing, so heads made before they existed stay current; a window the server
reports is not part of the key: it is a fact of the server, like the model's weights).
``CurrencyKeys`` computes it, and nothing else decides currency: the plan
(``build_plan``; ``status`` counts current frames through it, with ``frame_coverage``) and
``prepare`` (``Orchestrator.input_key``) call it. ``input_key()`` gives the same key for one
node at a time; only the tests call it. It reads no file contents: every input is an id, a
digest already in the store or a setting.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import blake3

from contextree.config.generation import GenerationSettings

#: Bump when the meaning of the inputs changes, so every head becomes stale once.
CURRENCY_VERSION = b"contextree-input-key-v1"
_U64 = struct.Struct(">Q")
#: Stands in for a child that has no frame (such a directory is never generated, but the key
#: must still be well defined).
MISSING_CHILD = b""
#: The length-prefixed "file" tag, precomputed: ``file_key`` runs once per node of a plan.
_FILE_TAG = _U64.pack(4) + b"file"
#: The field a key made with redaction off ends with.
_REDACT_OFF = b"redact=off"
#: The budget every key made before the budget entered keys was made with.
DEFAULT_DIRECTORY_CONTEXT_BUDGET: int = GenerationSettings.model_fields[
    "directory_context_budget"
].default


def _field(hasher: blake3.blake3, data: bytes) -> None:
    """Hash one length-prefixed field."""
    hasher.update(_U64.pack(len(data)))
    hasher.update(data)


class CurrencyKeys:
    """Input keys for many nodes of one (agent prompt profile, provider, model).

    The fields every key shares are hashed once; each key then costs one copy of that
    state plus the node's own fields, which keeps a 100k-node plan cheap.
    """

    def __init__(
        self,
        *,
        prompt_digest: str,
        provider_name: str,
        model: str,
        directory_context_budget: int = DEFAULT_DIRECTORY_CONTEXT_BUDGET,
        redact: bool = True,
        context_window: int | None = None,
        reply_reserve: int | None = None,
    ) -> None:
        # Only the window settings that are set are hashed, after everything else.
        self._window = _window_fields(context_window, reply_reserve)
        # Redaction (the default) adds nothing; with it off, every key says so.
        self._redact_off = not redact
        # Only a budget other than the default is hashed: the default one adds nothing.
        self._budget = (
            None
            if directory_context_budget == DEFAULT_DIRECTORY_CONTEXT_BUDGET
            else _U64.pack(directory_context_budget)
        )
        base = blake3.blake3()
        _field(base, CURRENCY_VERSION)
        _field(base, prompt_digest.encode("utf-8"))
        _field(base, provider_name.encode("utf-8"))
        _field(base, model.encode("utf-8"))
        self._base = base

    def file_key(self, node_id: bytes) -> str:
        h = self._base.copy()
        h.update(_U64.pack(len(node_id)) + node_id + _FILE_TAG)
        if self._redact_off:
            _field(h, _REDACT_OFF)
        if self._window:
            h.update(self._window)
        return h.hexdigest()

    def dir_key(self, node_id: bytes, child_frame_ids: Sequence[bytes]) -> str:
        h = self._base.copy()
        _field(h, node_id)
        _field(h, b"dir")
        h.update(_U64.pack(len(child_frame_ids)))
        for frame_id in child_frame_ids:
            _field(h, frame_id)
        if self._budget is not None:
            _field(h, b"directory_context_budget")
            _field(h, self._budget)
        if self._redact_off:
            _field(h, _REDACT_OFF)
        if self._window:
            h.update(self._window)
        return h.hexdigest()


def _window_fields(context_window: int | None, reply_reserve: int | None) -> bytes:
    """The length-prefixed fields of the window settings that are set (``b""`` for none)."""
    out = b""
    for name, value in ((b"context_window", context_window), (b"reply_reserve", reply_reserve)):
        if value is not None:
            out += _U64.pack(len(name)) + name + _U64.pack(8) + _U64.pack(value)
    return out


def input_key(
    *,
    node_id: bytes,
    prompt_digest: str,
    provider_name: str,
    model: str,
    child_frame_ids: Sequence[bytes] | None = None,
    directory_context_budget: int = DEFAULT_DIRECTORY_CONTEXT_BUDGET,
    redact: bool = True,
    context_window: int | None = None,
    reply_reserve: int | None = None,
) -> str:
    """Hex digest of everything a frame for this node is generated from.

    ``child_frame_ids`` is None for a file and, for a directory, the current frame id of each
    child in child-name order (``MISSING_CHILD`` for a child without one);
    ``directory_context_budget`` counts for a directory only, and only when not the default;
    ``redact`` counts only when False; ``context_window`` and ``reply_reserve`` only when set.
    """
    keys = CurrencyKeys(
        prompt_digest=prompt_digest,
        provider_name=provider_name,
        model=model,
        directory_context_budget=directory_context_budget,
        redact=redact,
        context_window=context_window,
        reply_reserve=reply_reserve,
    )
    if child_frame_ids is None:
        return keys.file_key(node_id)
    return keys.dir_key(node_id, child_frame_ids)
