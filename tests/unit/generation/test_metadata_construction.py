"""Metadata construction (C3): typed generated metadata becomes frame metadata through the
metadata contract's own builder, once, and is not validated here (``put_frame`` does that)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from contextree.context.generation import metadata_construction
from contextree.context.generation.contracts import GeneratedMetadata
from contextree.context.generation.metadata_construction import frame_metadata
from contextree.core.ids import Digest, digest_text
from contextree.errors import MetadataValueFormatError
from contextree.metadata import contract
from contextree.metadata.registry import required_for_generated

META = GeneratedMetadata(
    agent_id="tester",
    provider="fake",
    provider_type="openai",
    model="fake-model-0613",
    prompt_digest=digest_text("task"),
    context_digest=digest_text("context"),
    prompt_link_id=digest_text("body"),
    tokens_in=120,
    tokens_out=0,
    finish_reason="stop",
)


def test_generated_metadata_becomes_exactly_the_ten_generated_keys() -> None:
    assert frame_metadata(META) == {
        "agent_id": "tester",
        "provider": "fake",
        "provider_type": "openai",
        "model": "fake-model-0613",
        "prompt_digest": digest_text("task"),
        "context_digest": digest_text("context"),
        "prompt_link_id": digest_text("body"),
        "tokens_in": "120",
        "tokens_out": "0",
        "finish_reason": "stop",
    }
    assert set(frame_metadata(META)) == set(required_for_generated())


def test_it_is_built_by_the_contract_builder_once_with_every_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The unit must use the contract's function itself, not a copy of its logic.
    assert metadata_construction.build_frame_metadata is contract.build_frame_metadata
    calls: list[dict[str, Any]] = []

    def spy(**fields: Any) -> dict[str, str]:
        calls.append(fields)
        return contract.build_frame_metadata(**fields)

    monkeypatch.setattr(metadata_construction, "build_frame_metadata", spy)
    built = frame_metadata(META)
    assert calls == [asdict(META)]
    assert built == contract.build_frame_metadata(**asdict(META))


def test_the_result_passes_the_write_contract_for_a_generated_frame() -> None:
    contract.validate(frame_metadata(META), agent_id="tester", generated=True)


def test_construction_does_not_validate_put_frame_does() -> None:
    bad = GeneratedMetadata(**{**asdict(META), "prompt_digest": Digest("not-a-digest")})
    built = frame_metadata(bad)  # no error here: validating is the write boundary's job
    assert built["prompt_digest"] == "not-a-digest"
    with pytest.raises(MetadataValueFormatError) as raised:
        contract.validate(built, agent_id="tester", generated=True)
    assert raised.value.key == "prompt_digest"
