"""The frame metadata write contract, and the one builder of generated-frame metadata.

Owns ``validate`` (called by ``ContextApi.put_frame`` and nowhere else) and
``build_frame_metadata`` (used by every writer that produces metadata, the generation path
and direct ``put_frame`` callers alike), and ``with_redactions``, the one way redaction counts
enter metadata. Validation is deterministic: keys are checked in
sorted order, so which violation is reported never depends on how the mapping was built.

For each key, in sorted order: forbidden key, unknown key, secret-looking value, value shape,
entry budget. Then, for the whole map: total budget, missing keys, and ``agent_id`` naming
the writer. Every frame must carry ``agent_id``; a *generated* frame (one written with
lineage) must carry every key the registry marks ``required_for_generated``; a hand-written
frame may carry any subset of the registered keys besides ``agent_id``.

It must not import ``context``, ``api``, ``providers`` or ``agents``; it never writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contextree.core.ids import is_digest
from contextree.errors import (
    MetadataAgentMismatchError,
    MetadataForbiddenKeyError,
    MetadataForbiddenValueError,
    MetadataMissingKeyError,
    MetadataPerKeyBudgetError,
    MetadataTotalBudgetError,
    MetadataUnknownKeyError,
    MetadataValueFormatError,
)
from contextree.metadata.policy import SecretScanner, forbidden_key_reason
from contextree.metadata.registry import (
    AGENT_ID_KEY,
    REDACTIONS_KEY,
    REGISTRY,
    TOTAL_BUDGET_BYTES,
    MetadataKey,
    ValueFormat,
    required_for_generated,
)
from contextree.redaction import format_counts, parse_counts


def validate(
    metadata: Mapping[str, str],
    *,
    agent_id: str,
    generated: bool,
    secret_values: Iterable[str] = (),
) -> None:
    """Raise the first ``MetadataContractError`` ``metadata`` earns, or return None."""
    scanner = SecretScanner(secret_values)
    total = 0
    for key in sorted(metadata):
        value = metadata[key]
        spec = _known_key(key)
        found = scanner.secret_class(value)
        if found is not None:
            raise MetadataForbiddenValueError(
                f"the value of metadata key `{key}` looks like a secret ({found}); "
                "the frame was not written",
                key=key,
                pattern=found,
                hint=f"Secrets must never reach frame metadata: check what fills `{key}`.",
            )
        if spec.value_format is not ValueFormat.TEXT:
            _check_format(spec, value)
        # ``key`` is a registered name, and those are ASCII: one byte per character.
        size = len(key) + _utf8_len(value)
        if size > spec.max_bytes:
            raise MetadataPerKeyBudgetError(
                f"metadata entry `{key}` is {size} bytes; its budget is {spec.max_bytes} bytes "
                "(key and value, UTF-8)",
                key=key,
                actual_bytes=size,
                max_bytes=spec.max_bytes,
            )
        total += size
    if total > TOTAL_BUDGET_BYTES:
        raise MetadataTotalBudgetError(
            f"frame metadata is {total} bytes in total; the budget is {TOTAL_BUDGET_BYTES} bytes",
            actual_bytes=total,
            max_bytes=TOTAL_BUDGET_BYTES,
        )
    _check_required(metadata, generated=generated)
    if metadata[AGENT_ID_KEY] != agent_id:
        raise MetadataAgentMismatchError(
            f"metadata agent_id '{metadata[AGENT_ID_KEY]}' does not name the writing agent "
            f"'{agent_id}'",
            key=AGENT_ID_KEY,
        )


def _known_key(key: str) -> MetadataKey:
    reason = forbidden_key_reason(key)
    if reason is not None:
        raise MetadataForbiddenKeyError(f"metadata key `{key}` is forbidden: {reason}", key=key)
    spec = REGISTRY.get(key)
    if spec is None:
        raise MetadataUnknownKeyError(
            f"unknown metadata key `{key}`",
            key=key,
            hint="Allowed keys: " + ", ".join(sorted(REGISTRY)) + ".",
        )
    return spec


def _check_format(spec: MetadataKey, value: str) -> None:
    if spec.value_format is ValueFormat.DIGEST and not is_digest(value):
        raise MetadataValueFormatError(
            f"metadata key `{spec.name}` must be a digest (64 lowercase hex characters); got "
            f"{len(value)} characters that are not one",
            key=spec.name,
        )
    if spec.value_format is ValueFormat.COUNT and not _is_count(value):
        raise MetadataValueFormatError(
            f"metadata key `{spec.name}` must be a non-negative whole number in decimal",
            key=spec.name,
        )


def _utf8_len(text: str) -> int:
    # ASCII (nearly every key and value) is one byte per character: no encoded copy needed.
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _is_count(value: str) -> bool:
    return value.isascii() and value.isdigit() and (value == "0" or not value.startswith("0"))


def _check_required(metadata: Mapping[str, str], *, generated: bool) -> None:
    needed = required_for_generated() if generated else (AGENT_ID_KEY,)
    missing = [key for key in needed if key not in metadata]
    if missing:
        what = "a generated frame" if generated else "every frame"
        raise MetadataMissingKeyError(
            f"frame metadata is missing {', '.join(f'`{k}`' for k in missing)} "
            f"(required for {what})",
            key=missing[0],
            hint="Build metadata with contextree.metadata.contract.build_frame_metadata.",
        )


def build_frame_metadata(
    *,
    agent_id: str,
    provider: str,
    provider_type: str,
    model: str,
    prompt_digest: str,
    context_digest: str,
    prompt_link_id: str,
    tokens_in: int,
    tokens_out: int,
    finish_reason: str,
) -> dict[str, str]:
    """The metadata of a generated frame: exactly the keys the registry requires.

    Frames made without an LLM call (structural, withheld, empty) use the same builder with
    ``provider="structural"``, zero tokens and digests of what they were built from
    (``EMPTY_DIGEST`` when built from nothing). ``model`` is the model the provider says it
    served. Nothing is validated here: ``put_frame`` does that, once.
    """
    return {
        "agent_id": agent_id,
        "provider": provider,
        "provider_type": provider_type,
        "model": model,
        "prompt_digest": prompt_digest,
        "context_digest": context_digest,
        "prompt_link_id": prompt_link_id,
        "tokens_in": str(tokens_in),
        "tokens_out": str(tokens_out),
        "finish_reason": finish_reason,
    }


def with_redactions(metadata: Mapping[str, str], counts: Mapping[str, int]) -> dict[str, str]:
    """``metadata`` with ``counts`` (redactions by kind) added to its ``redactions`` entry;
    unchanged when there are none. Only kinds and numbers are stored, never what was
    redacted."""
    out = dict(metadata)
    if not any(counts.values()):
        return out
    total = parse_counts(out.get(REDACTIONS_KEY, ""))
    total.update({kind: n for kind, n in counts.items() if n > 0})
    out[REDACTIONS_KEY] = format_counts(total)
    return out
