"""The ``FrameWriteError`` branch of ``RuntimeFailure``: what ``ContextApi.put_frame``
refuses (invalid frames, lineage that does not fit, frame metadata that breaks the
contract). Import them from ``contextree.errors``."""

from __future__ import annotations

from contextree.errors._base import RuntimeFailure


class FrameWriteError(RuntimeFailure):
    """``ContextApi.put_frame`` refused a frame; nothing was written."""

    error_class = "frame_write_error"


class InvalidFrameError(FrameWriteError):
    """A frame is malformed, or does not fit the write it was handed to."""

    error_class = "invalid_frame_error"


class BasisMismatchError(InvalidFrameError):
    """The frame's basis names a different node than the one written to."""

    error_class = "basis_mismatch_error"


class AgentMismatchError(InvalidFrameError):
    """The frame's agent is not the agent doing the write."""

    error_class = "agent_mismatch_error"


class LineageError(FrameWriteError):
    """The lineage handed to ``put_frame`` does not fit the frame."""

    error_class = "lineage_error"


class ArtifactDigestMismatchError(LineageError):
    """An artifact's bytes do not hash to the digest it was filed under."""

    error_class = "artifact_digest_mismatch_error"


class LineageMismatchError(LineageError):
    """The lineage's digests differ from the frame's metadata, or an artifact is unused."""

    error_class = "lineage_mismatch_error"


class MetadataContractError(FrameWriteError):
    """Frame metadata breaks the write contract. ``key`` names the offending entry (None for
    whole-map problems). Messages never quote a value that was rejected as a secret."""

    error_class = "metadata_contract_error"

    def __init__(self, message: str, *, key: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key


class MetadataForbiddenKeyError(MetadataContractError):
    """A key that must never be stored (raw prompt or context text)."""

    error_class = "metadata_forbidden_key_error"


class MetadataUnknownKeyError(MetadataContractError):
    """A key that is not in the metadata key registry."""

    error_class = "metadata_unknown_key_error"


class MetadataForbiddenValueError(MetadataContractError):
    """A value that looks like a credential or contains a configured API key. ``pattern``
    names the class of secret found (never the secret)."""

    error_class = "metadata_forbidden_value_error"

    def __init__(self, message: str, *, key: str, pattern: str, hint: str | None = None) -> None:
        super().__init__(message, key=key, hint=hint)
        self.pattern = pattern


class MetadataValueFormatError(MetadataContractError):
    """A value that does not have the shape its key requires."""

    error_class = "metadata_value_format_error"


class MetadataPerKeyBudgetError(MetadataContractError):
    """One entry (key bytes plus value bytes) is over its budget."""

    error_class = "metadata_per_key_budget_error"

    def __init__(self, message: str, *, key: str, actual_bytes: int, max_bytes: int) -> None:
        super().__init__(message, key=key)
        self.actual_bytes = actual_bytes
        self.max_bytes = max_bytes


class MetadataTotalBudgetError(MetadataContractError):
    """All entries together are over the total budget."""

    error_class = "metadata_total_budget_error"

    def __init__(self, message: str, *, actual_bytes: int, max_bytes: int) -> None:
        super().__init__(message)
        self.actual_bytes = actual_bytes
        self.max_bytes = max_bytes


class MetadataMissingKeyError(MetadataContractError):
    """A key the contract requires is absent."""

    error_class = "metadata_missing_key_error"


class MetadataAgentMismatchError(MetadataContractError):
    """The ``agent_id`` entry does not name the writing agent."""

    error_class = "metadata_agent_mismatch_error"
