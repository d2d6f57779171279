"""The frame metadata contract: keys, forbidden keys and values, budgets, required keys."""

from __future__ import annotations

import pytest

from contextree.core.ids import EMPTY_DIGEST, digest_text
from contextree.errors import (
    MetadataAgentMismatchError,
    MetadataContractError,
    MetadataForbiddenKeyError,
    MetadataForbiddenValueError,
    MetadataMissingKeyError,
    MetadataPerKeyBudgetError,
    MetadataTotalBudgetError,
    MetadataUnknownKeyError,
    MetadataValueFormatError,
)
from contextree.metadata.contract import build_frame_metadata, validate
from contextree.metadata.policy import CONFIGURED_SECRET, CREDENTIAL_PATTERNS, FORBIDDEN_KEYS
from contextree.metadata.registry import (
    ENTRY_BUDGET_BYTES,
    REGISTRY,
    TOTAL_BUDGET_BYTES,
    Domain,
    project_for_read,
    required_for_generated,
)

AGENT = "docs-writer"
GENERATED_KEYS = {
    "agent_id",
    "provider",
    "provider_type",
    "model",
    "prompt_digest",
    "context_digest",
    "prompt_link_id",
    "tokens_in",
    "tokens_out",
    "finish_reason",
}

#: Keys a generated frame carries only when they apply.
OPTIONAL_KEYS = {
    "redactions",
    "truncated_bytes",
    "content_bytes_kept",
    "content_bytes_total",
    "children_trimmed",
}

#: One realistic-looking (fake) credential per pattern class, in CREDENTIAL_PATTERNS order.
CREDENTIALS = {
    "private key block": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=",
    "Anthropic API key": "sk-ant-api03-" + "A1b2C3d4E5f6G7h8" * 2,
    "secret API key": "sk-proj-" + "Zx9Yw8Vu7Ts6Rq5P",
    "AWS access key id": "AKIA" + "IOSFODNN7EXAMPLE",
    "GitHub token (ghp_": "ghp_" + "a" * 36,
    "GitHub fine-grained token": "github_pat_" + "11ABCDEFG0" * 3,
    "Slack token": "xoxb-" + "123456789012-abcdef",
    "Google API key": "AIza" + "Sy" + "B1c2D3e4F5" * 3 + "abc",
    "JSON web token": "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0In0" + "." + "s1g_" * 5,
}


def generated(**changes: str) -> dict[str, str]:
    meta = build_frame_metadata(
        agent_id=AGENT,
        provider="local-openai",
        provider_type="openai",
        model="gpt-4o-mini-2024-07-18",
        prompt_digest=digest_text("prompt"),
        context_digest=digest_text("context"),
        prompt_link_id=digest_text("request"),
        tokens_in=120,
        tokens_out=45,
        finish_reason="stop",
    )
    meta.update(changes)
    return meta


def test_the_builder_produces_exactly_the_generated_keys_and_they_validate() -> None:
    meta = generated()
    assert set(meta) == GENERATED_KEYS == set(required_for_generated())
    # Besides them, the registry holds only keys a generated frame may carry when they apply.
    assert set(REGISTRY) - GENERATED_KEYS == OPTIONAL_KEYS
    assert meta["tokens_in"] == "120" and meta["tokens_out"] == "45"
    validate(meta, agent_id=AGENT, generated=True)


def test_structural_frames_use_the_same_keys_with_zero_tokens_and_the_empty_digest() -> None:
    meta = build_frame_metadata(
        agent_id=AGENT,
        provider="structural",
        provider_type="structural",
        model="structural-1",
        prompt_digest=EMPTY_DIGEST,
        context_digest=EMPTY_DIGEST,
        prompt_link_id=EMPTY_DIGEST,
        tokens_in=0,
        tokens_out=0,
        finish_reason="withheld",
    )
    validate(meta, agent_id=AGENT, generated=True)
    assert set(meta) == GENERATED_KEYS


def test_every_key_has_an_owner_a_budget_and_a_read_policy() -> None:
    for key in REGISTRY.values():
        assert isinstance(key.owner, Domain)
        assert 0 < key.max_bytes <= ENTRY_BUDGET_BYTES
    assert REGISTRY["prompt_digest"].owner is Domain.GENERATION
    assert REGISTRY["model"].owner is Domain.PROVIDERS
    assert not REGISTRY["agent_id"].shown_on_read


@pytest.mark.parametrize("key", sorted(FORBIDDEN_KEYS))
def test_each_forbidden_key_has_its_own_error(key: str) -> None:
    with pytest.raises(MetadataForbiddenKeyError) as caught:
        validate(generated(**{key: "some text"}), agent_id=AGENT, generated=True)
    assert caught.value.key == key
    assert f"`{key}` is forbidden" in caught.value.message
    assert "some text" not in str(caught.value)


def test_forbidden_keys_get_distinct_messages_and_are_not_merely_unknown() -> None:
    messages = set()
    for key in FORBIDDEN_KEYS:
        with pytest.raises(MetadataContractError) as caught:
            validate({"agent_id": AGENT, key: "x"}, agent_id=AGENT, generated=False)
        assert type(caught.value) is MetadataForbiddenKeyError
        messages.add(caught.value.message)
    assert len(messages) == len(FORBIDDEN_KEYS) == 4


def test_unknown_keys_are_rejected_with_the_allowed_list() -> None:
    with pytest.raises(MetadataUnknownKeyError) as caught:
        validate(generated(temperature="0.2"), agent_id=AGENT, generated=True)
    assert caught.value.key == "temperature"
    assert caught.value.hint is not None and "prompt_digest" in caught.value.hint


def test_the_credential_table_covers_every_pattern_class() -> None:
    assert len(CREDENTIALS) == len(CREDENTIAL_PATTERNS)
    for label, pattern in zip(CREDENTIALS, CREDENTIAL_PATTERNS, strict=True):
        assert pattern.name.startswith(label)


@pytest.mark.parametrize(("label", "secret"), list(CREDENTIALS.items()), ids=list(CREDENTIALS))
def test_each_credential_pattern_is_rejected_without_quoting_it(label: str, secret: str) -> None:
    with pytest.raises(MetadataForbiddenValueError) as caught:
        validate(generated(model=f"served {secret} here"), agent_id=AGENT, generated=True)
    assert caught.value.key == "model"
    assert caught.value.pattern.startswith(label)
    assert secret not in str(caught.value)
    assert secret[-10:] not in str(caught.value)  # not even the tail of it


def test_a_configured_api_key_value_is_rejected_as_a_substring() -> None:
    key_value = "local-key-0123456789-xyz"
    with pytest.raises(MetadataForbiddenValueError) as caught:
        validate(
            generated(finish_reason=f"stop:{key_value}"),
            agent_id=AGENT,
            generated=True,
            secret_values=["", key_value],
        )
    assert caught.value.pattern == CONFIGURED_SECRET
    assert key_value not in str(caught.value)


def test_short_placeholder_keys_for_local_servers_do_not_block_ordinary_values() -> None:
    validate(
        generated(provider="ollama", provider_type="ollama"),
        agent_id=AGENT,
        generated=True,
        secret_values=["ollama"],
    )


def test_hex_digests_never_match_even_when_they_equal_a_configured_value() -> None:
    digest = digest_text("anything")
    validate(
        generated(prompt_digest=digest), agent_id=AGENT, generated=True, secret_values=[digest]
    )


@pytest.mark.parametrize("value", ["task-runner-with-a-long-name-x", "whisk-0123456789abcdefgh"])
def test_words_ending_in_sk_are_not_mistaken_for_keys(value: str) -> None:
    validate(generated(model=value), agent_id=AGENT, generated=True)


def test_entry_budget_boundary_is_inclusive() -> None:
    key = "finish_reason"
    exact = "x" * (ENTRY_BUDGET_BYTES - len(key))
    validate({"agent_id": AGENT, key: exact}, agent_id=AGENT, generated=False)
    with pytest.raises(MetadataPerKeyBudgetError) as caught:
        validate({"agent_id": AGENT, key: exact + "x"}, agent_id=AGENT, generated=False)
    assert (caught.value.actual_bytes, caught.value.max_bytes) == (16385, 16384)
    assert caught.value.key == key


def test_entry_budget_counts_utf8_bytes_not_characters() -> None:
    key = "model"
    value = "é" * ((ENTRY_BUDGET_BYTES - len(key)) // 2) + "x"  # 2 bytes per é
    with pytest.raises(MetadataPerKeyBudgetError):
        validate({"agent_id": AGENT, key: value + "x"}, agent_id=AGENT, generated=False)
    validate({"agent_id": AGENT, key: value}, agent_id=AGENT, generated=False)


def _total_of(size: int) -> dict[str, str]:
    """Metadata whose entries add up to exactly ``size`` bytes (size > 3 * 16 KiB)."""
    meta = {"agent_id": AGENT}
    remaining = size - (len("agent_id") + len(AGENT))
    for key in ("finish_reason", "model", "provider"):
        meta[key] = "v" * (ENTRY_BUDGET_BYTES - len(key))
        remaining -= ENTRY_BUDGET_BYTES
    meta["provider_type"] = "v" * (remaining - len("provider_type"))
    assert sum(len(k) + len(v) for k, v in meta.items()) == size
    return meta


def test_total_budget_boundary_is_inclusive() -> None:
    validate(_total_of(TOTAL_BUDGET_BYTES), agent_id=AGENT, generated=False)
    with pytest.raises(MetadataTotalBudgetError) as caught:
        validate(_total_of(TOTAL_BUDGET_BYTES + 1), agent_id=AGENT, generated=False)
    assert (caught.value.actual_bytes, caught.value.max_bytes) == (65537, 65536)


def test_generated_frames_must_carry_every_required_key() -> None:
    meta = generated()
    del meta["tokens_out"]
    del meta["model"]
    with pytest.raises(MetadataMissingKeyError) as caught:
        validate(meta, agent_id=AGENT, generated=True)
    assert caught.value.key == "model"
    assert "`model`, `tokens_out`" in caught.value.message


def test_hand_written_frames_may_carry_a_subset_but_always_agent_id() -> None:
    validate({"agent_id": AGENT, "model": "by hand"}, agent_id=AGENT, generated=False)
    with pytest.raises(MetadataMissingKeyError) as caught:
        validate({"model": "by hand"}, agent_id=AGENT, generated=False)
    assert caught.value.key == "agent_id"


def test_agent_id_must_name_the_writer() -> None:
    with pytest.raises(MetadataAgentMismatchError) as caught:
        validate(generated(), agent_id="code-analyzer", generated=True)
    assert "docs-writer" in caught.value.message and "code-analyzer" in caught.value.message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("prompt_digest", "not-a-digest"),
        ("context_digest", EMPTY_DIGEST.upper()),
        ("tokens_in", "-1"),
        ("tokens_out", "12.5"),
        ("tokens_in", "007"),
    ],
)
def test_digest_and_count_keys_must_have_their_shape(key: str, value: str) -> None:
    with pytest.raises(MetadataValueFormatError) as caught:
        validate(generated(**{key: value}), agent_id=AGENT, generated=True)
    assert caught.value.key == key


def test_the_first_violation_in_key_order_wins_whatever_the_insertion_order() -> None:
    broken = {"raw_prompt": "p", "agent_id": AGENT, "zzz_unknown": "z", "context": "c"}
    reported = set()
    for order in (sorted(broken), sorted(broken, reverse=True), list(broken)):
        with pytest.raises(MetadataContractError) as caught:
            validate({k: broken[k] for k in order}, agent_id=AGENT, generated=False)
        reported.add((type(caught.value), caught.value.key))
    assert reported == {(MetadataForbiddenKeyError, "context")}


def test_reads_show_registered_keys_sorted_without_agent_id() -> None:
    shown = project_for_read(generated())
    assert "agent_id" not in shown
    assert list(shown) == sorted(GENERATED_KEYS - {"agent_id"})
