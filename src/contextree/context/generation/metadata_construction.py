"""Metadata construction (C3): typed generated metadata into frame metadata.

Owns the one path from ``GeneratedMetadata`` to the metadata map a frame carries, through the
metadata contract's own builder (the same function direct ``put_frame`` callers use), and the
prompt's redaction counts through the contract's ``with_redactions``. It does not validate:
``ContextApi.put_frame`` validates metadata, once, for every writer.
"""

from __future__ import annotations

from contextree.context.generation.contracts import GeneratedMetadata
from contextree.metadata.contract import build_frame_metadata, with_redactions

__all__ = ["frame_metadata", "with_redactions"]


def frame_metadata(meta: GeneratedMetadata) -> dict[str, str]:
    """The frame metadata for a generated frame."""
    return build_frame_metadata(
        agent_id=meta.agent_id,
        provider=meta.provider,
        provider_type=meta.provider_type,
        model=meta.model,
        prompt_digest=meta.prompt_digest,
        context_digest=meta.context_digest,
        prompt_link_id=meta.prompt_link_id,
        tokens_in=meta.tokens_in,
        tokens_out=meta.tokens_out,
        finish_reason=meta.finish_reason,
    )
