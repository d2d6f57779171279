"""Redaction enters the input key only when it is off (not the default): upgrading to a version
that redacts keeps every head current, and switching redaction off or back on regenerates."""

from __future__ import annotations

from contextree.context.generation.currency import CurrencyKeys, input_key

NODE = b"\x01" * 32
CHILDREN = [b"\x02" * 32, b"\x03" * 32]
BASE = {"prompt_digest": "p" * 64, "provider_name": "fake", "model": "m"}


def test_redaction_on_keeps_the_keys_made_before_it_existed() -> None:
    # The keys as they were before redaction had a say (no redact argument at all).
    before_file = input_key(node_id=NODE, **BASE)
    before_dir = input_key(node_id=NODE, child_frame_ids=CHILDREN, **BASE)
    keys = CurrencyKeys(**BASE, redact=True)
    assert keys.file_key(NODE) == before_file
    assert keys.dir_key(NODE, CHILDREN) == before_dir


def test_redaction_off_changes_file_and_directory_keys() -> None:
    on, off = CurrencyKeys(**BASE), CurrencyKeys(**BASE, redact=False)
    assert off.file_key(NODE) != on.file_key(NODE)
    assert off.dir_key(NODE, CHILDREN) != on.dir_key(NODE, CHILDREN)
    assert input_key(node_id=NODE, redact=False, **BASE) == off.file_key(NODE)
