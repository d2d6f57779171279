"""The directory context budget is part of a directory's input key only when it differs from
the default: upgrading contextree regenerates nothing, and changing the budget regenerates the
directories (whose prompts it shapes), not the files."""

from __future__ import annotations

from typing import Any

from tests.helpers.plans import entries_of, spec_for
from tests.unit.generation.test_plan import _all_current

from contextree.config.generation import GenerationSettings
from contextree.context.generation.currency import input_key
from contextree.context.generation.plan import build_plan

DEFAULT = GenerationSettings().directory_context_budget
NODE: dict[str, Any] = {
    "node_id": b"\x01" * 32,
    "prompt_digest": "p" * 64,
    "provider_name": "fake",
    "model": "m",
}
CHILDREN = [b"\x02" * 32, b""]
#: The keys of contextree before the budget could enter them (pinned: a default-budget
#: workspace must keep every head current across the upgrade).
OLD_DIR_KEY = "a68b75003d2f9ca14dc6c00f08c99bcdc3fb8d469d9f3e6f8c3a4bf674b7ca45"
OLD_FILE_KEY = "8d66f9a23dcef873c6d89bbf4a85747b5170f870a32a56e2e8f01cad1220bfd6"


def test_the_default_budget_leaves_every_key_as_it_was() -> None:
    assert DEFAULT == 64 << 10
    assert input_key(**NODE, child_frame_ids=CHILDREN) == OLD_DIR_KEY
    assert input_key(**NODE, child_frame_ids=CHILDREN, directory_context_budget=DEFAULT) == (
        OLD_DIR_KEY
    )
    assert input_key(**NODE) == OLD_FILE_KEY


def test_another_budget_changes_directory_keys_only() -> None:
    small = input_key(**NODE, child_frame_ids=CHILDREN, directory_context_budget=4096)
    large = input_key(**NODE, child_frame_ids=CHILDREN, directory_context_budget=1 << 20)
    assert len({small, large, OLD_DIR_KEY}) == 3
    assert input_key(**NODE, directory_context_budget=4096) == OLD_FILE_KEY


def test_a_plan_under_another_budget_replans_directories_not_files() -> None:
    entries = entries_of({b"": "dir", b"a.py": "file", b"d": "dir", b"d/b.py": "file"})
    heads = _all_current(entries, spec_for(entries))
    assert build_plan(spec_for(entries), entries, heads).items == {}
    same = spec_for(entries, directory_context_budget=DEFAULT)
    assert build_plan(same, entries, heads).items == {}
    other = build_plan(spec_for(entries, directory_context_budget=8192), entries, heads)
    assert set(other.items) == {b"", b"d"}
