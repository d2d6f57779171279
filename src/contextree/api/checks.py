"""The checks ``put_frame`` runs on a write after the writer's, and its redaction.

Owns, for one ``FrameWrite``: redacting key-shaped strings in the frame's text (counted in its
``redactions`` metadata), then the checks in ``ContextApi``'s order after the writer's (the node
is in the latest scan, the basis names it, the frame's agent is the writer, the metadata
contract passes, the lineage fits the frame and each artifact hashes to its digest), each
failure with its own error; the artifacts to store when all pass. It reads and writes no store:
``ContextApi`` looks the node up and commits what passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from contextree.api.values import FrameWrite, Lineage
from contextree.core.frame import Basis, Frame
from contextree.core.ids import Digest, NodeId, digest_bytes, is_digest
from contextree.core.tree import TreeNode
from contextree.errors import (
    AgentMismatchError,
    ArtifactDigestMismatchError,
    BasisMismatchError,
    LineageMismatchError,
    NodeNotInTreeError,
)
from contextree.metadata.contract import validate, with_redactions
from contextree.redaction import Redactor

_ARTIFACT_KINDS = ("prompt", "context", "request")
#: (digest, kind, body) of an artifact to store.
Artifact = tuple[str, str, bytes]


def redacted(write: FrameWrite, redactor: Redactor) -> FrameWrite:
    """``write`` with key-shaped strings in its frame's text redacted and counted."""
    frame = write.frame
    content, counts = redactor.redact_bytes(frame.content)
    if not counts:
        return write
    metadata = with_redactions(frame.metadata, counts)
    return replace(write, frame=replace(frame, content=content, metadata=metadata))


def check_write(
    write: FrameWrite, entry: TreeNode | None, secret_values: Iterable[str]
) -> list[Artifact]:
    """``put_frame``'s checks after the writer's (node in the tree, basis, agent, metadata,
    lineage), in that order; the artifacts to store when all pass."""
    if entry is None:
        raise not_in_tree(write.node_id)
    frame = write.frame
    _check_basis(frame.basis, write.node_id)
    if frame.agent_id != write.agent_id:
        raise AgentMismatchError(
            f"the frame's agent '{frame.agent_id}' is not the writing agent '{write.agent_id}'"
        )
    validate(
        frame.metadata,
        agent_id=write.agent_id,
        generated=write.lineage is not None,
        secret_values=secret_values,
    )
    return _check_lineage(frame, write.lineage)


def not_in_tree(node_id: NodeId) -> NodeNotInTreeError:
    return NodeNotInTreeError(
        f"node {node_id.hex()} is not in the latest scan",
        hint="The workspace changed since that node id was read: run `contextree scan` "
        "and look the path up again.",
    )


def _check_basis(basis: Basis, node_id: NodeId) -> None:
    if basis.node_id is not None and basis.node_id != node_id:
        raise BasisMismatchError(
            f"the frame's basis node {basis.node_id.hex()} is not the node written to "
            f"({node_id.hex()})"
        )


def _check_lineage(frame: Frame, lineage: Lineage | None) -> list[Artifact]:
    """(digest, kind, body) of each artifact to store, after checking the lineage."""
    if lineage is None:
        return []
    if lineage.input_key is not None and not is_digest(lineage.input_key):
        raise LineageMismatchError("the lineage's input_key is not a digest")
    named = {
        "prompt_digest": lineage.prompt_digest,
        "context_digest": lineage.context_digest,
        "prompt_link_id": lineage.request_digest,
    }
    for key, expected in named.items():
        if frame.metadata.get(key) != expected:
            raise LineageMismatchError(
                f"metadata `{key}` differs from the digest the lineage records for it"
            )
    kinds: dict[Digest, str] = {}
    for kind, named_digest in zip(_ARTIFACT_KINDS, named.values(), strict=True):
        kinds.setdefault(named_digest, kind)
    out: list[Artifact] = []
    for digest in sorted(lineage.artifacts):
        body = lineage.artifacts[digest]
        actual = digest_bytes(body)
        if actual != digest:
            raise ArtifactDigestMismatchError(
                f"the artifact filed under {digest} hashes to {actual}; nothing was written"
            )
        if digest not in kinds:
            raise LineageMismatchError(
                f"artifact {digest} is neither the prompt, the context nor the request body"
            )
        out.append((digest, kinds[digest], body))
    return out
