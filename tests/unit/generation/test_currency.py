"""input_key(): one definition of currency, sensitive to each input."""

from __future__ import annotations

from contextree.context.generation.currency import MISSING_CHILD, input_key

BASE = {"node_id": b"\x01" * 32, "prompt_digest": "p" * 64, "provider_name": "openai", "model": "m"}


def test_input_key_is_deterministic_hex() -> None:
    key = input_key(**BASE)
    assert key == input_key(**BASE)
    assert len(key) == 64 and int(key, 16) >= 0


def test_each_input_changes_the_key() -> None:
    key = input_key(**BASE)
    assert input_key(**{**BASE, "node_id": b"\x02" * 32}) != key
    assert input_key(**{**BASE, "prompt_digest": "q" * 64}) != key
    assert input_key(**{**BASE, "provider_name": "anthropic"}) != key
    assert input_key(**{**BASE, "model": "m2"}) != key


def test_directory_keys_depend_on_child_frames_and_their_order() -> None:
    a, b = b"\xaa" * 32, b"\xbb" * 32
    key = input_key(**BASE, child_frame_ids=[a, b])
    assert input_key(**BASE, child_frame_ids=[b, a]) != key
    assert input_key(**BASE, child_frame_ids=[a, MISSING_CHILD]) != key
    assert input_key(**BASE, child_frame_ids=[]) != input_key(**BASE)
