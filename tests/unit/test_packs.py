"""Context packs without a store: the priority cut, line cuts, the minimum, the renderings, and
the token estimate they are budgeted with (facade/pack_render.py, core/tokens.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextree.core.tokens import estimate_tokens
from contextree.core.tree import DiskState
from contextree.errors import UsageError
from contextree.facade.pack_render import (
    PackBlock,
    PackOmission,
    PackRole,
    block_segment,
    fit_blocks,
)


def _block(role: PackRole, path: str, text: str) -> PackBlock:
    return PackBlock(
        role=role,
        path=path,
        node_id=("ab" * 32),
        frame_id=("cd" * 32),
        agent_id="docs-writer",
        current=role != "ancestor",
        on_disk=DiskState.DIRECTORY if role == "ancestor" else DiskState.UNCHANGED,
        text=text,
    )


TARGET = _block("target", "src/app", "".join(f"target line {i}\n" for i in range(10)))
PARENT = _block("ancestor", "src", "The source directory.\n")
ROOT = _block("ancestor", ".", "The project.\n")
BIG = _block("child", "src/app/big", "Big child.\n")
SMALL = _block("child", "src/app/small", "Small child.\n")
CANDIDATES = [TARGET, PARENT, ROOT, BIG, SMALL]


def _pack_cost(blocks: list[PackBlock], budget: int | None) -> int:
    return fit_blocks("src/app", "docs-writer", blocks, [], budget=budget, fmt="md").estimate


def test_estimate_tokens_basics() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("hello world") == 4  # 3 pieces, 11 bytes / 3 rounded up
    assert estimate_tokens("é") == 1
    assert estimate_tokens("日本") == 4  # two pieces of 3 bytes: 2 each
    assert estimate_tokens("ab" * 32) == 22  # a third of the bytes
    assert estimate_tokens("a1" * 32) == 64  # a letter run and a digit group per 2 characters
    assert estimate_tokens("9f86d081884c7d65" * 4) == 58  # hex: 0.9 a character
    assert estimate_tokens("x = 1\n") == 6


def test_no_budget_keeps_everything_in_priority_order() -> None:
    pack = fit_blocks("src/app", "docs-writer", CANDIDATES, [], budget=None, fmt="md")
    assert [b.path for b in pack.blocks] == ["src/app", "src", ".", "src/app/big", "src/app/small"]
    assert pack.omitted == ()
    assert pack.estimate == estimate_tokens(pack.render())


def test_budget_keeps_a_prefix_and_cuts_the_next_block_at_a_line() -> None:
    whole = _pack_cost(CANDIDATES, None)
    budget = whole - 20  # the children no longer fit
    pack = fit_blocks("src/app", "docs-writer", CANDIDATES, [], budget=budget, fmt="md")
    assert pack.estimate <= budget
    assert pack.blocks[:3] == (TARGET, PARENT, ROOT)
    kept_paths = [b.path for b in pack.blocks]
    assert "src/app/small" not in kept_paths
    assert PackOmission(role="child", path="src/app/small", reason="budget") in pack.omitted
    assert "_Left out — budget: " in pack.render()


def test_target_is_cut_at_line_boundaries_with_a_note() -> None:
    smallest = _smallest(CANDIDATES)
    pack = fit_blocks("src/app", "docs-writer", CANDIDATES, [], budget=smallest + 12, fmt="md")
    (target,) = pack.blocks
    assert 0 < target.more_lines < 10
    kept = 10 - target.more_lines
    assert target.text == "".join(f"target line {i}\n" for i in range(kept))
    assert f"[… {target.more_lines} more lines]\n" in pack.render()
    assert [o.path for o in pack.omitted] == ["src", ".", "src/app/big", "src/app/small"]


def _smallest(blocks: list[PackBlock]) -> int:
    with pytest.raises(UsageError) as caught:
        fit_blocks("src/app", "docs-writer", blocks, [], budget=1, fmt="md")
    return int(str(caught.value.hint).split("--budget ")[1].split()[0])


def test_budget_below_the_minimum_is_a_usage_error_naming_it() -> None:
    smallest = _smallest(CANDIDATES)
    with pytest.raises(UsageError, match=f"below the smallest pack of src/app \\({smallest} "):
        fit_blocks("src/app", "docs-writer", CANDIDATES, [], budget=smallest - 1, fmt="md")
    pack = fit_blocks("src/app", "docs-writer", CANDIDATES, [], budget=smallest, fmt="md")
    assert pack.estimate <= smallest
    assert pack.blocks[0].text == "" and pack.blocks[0].more_lines == 10


def test_json_and_xml_renderings_parse_and_carry_every_field() -> None:
    no_frame = [PackOmission(role="child", path="src/app/new", reason="no frame")]
    for fmt in ("json", "xml"):
        pack = fit_blocks("src/app", "docs-writer", CANDIDATES, no_frame, budget=None, fmt=fmt)
        assert pack.estimate == estimate_tokens(pack.render())
    doc = json.loads(fit_blocks("src/app", "docs-writer", CANDIDATES, no_frame,
                                budget=None, fmt="json").render())  # fmt: skip
    assert doc["format"] == "contextree.pack/1"
    assert doc["blocks"][0] == {
        "role": "target", "path": "src/app", "node_id": "ab" * 32, "frame_id": "cd" * 32,
        "agent": "docs-writer", "current": True, "on_disk": "unchanged",
        "text": TARGET.text, "more_lines": 0,
    }  # fmt: skip
    assert doc["omitted"] == {"no frame": {"child": 1}}
    xml = fit_blocks("src/app", "docs-writer", CANDIDATES, no_frame, budget=None, fmt="xml")
    root = ET.fromstring(xml.render())
    blocks = root.findall("block")
    assert [b.get("path") for b in blocks] == [
        "src/app",
        "src",
        ".",
        "src/app/big",
        "src/app/small",
    ]
    assert blocks[1].get("current") == "false" and blocks[1].get("on-disk") == "directory"
    assert blocks[0].text == "\n" + TARGET.text
    assert root.find("omitted").attrib == {"reason": "no frame", "child": "1"}  # type: ignore[union-attr]


def test_xml_escapes_markup_and_control_characters() -> None:
    odd = _block("target", 'a<b>&"c', "x < y & z\x00\n")
    text = fit_blocks('a<b>&"c', "docs-writer", [odd], [], budget=None, fmt="xml").render()
    root = ET.fromstring(text)
    assert root.get("path") == 'a<b>&"c'
    assert root.find("block").text == "\nx < y & z\ufffd\n"  # type: ignore[union-attr]


def test_same_input_same_bytes() -> None:
    for fmt in ("md", "json", "xml"):
        first = fit_blocks("src/app", "docs-writer", CANDIDATES, [], budget=400, fmt=fmt).render()
        again = fit_blocks("src/app", "docs-writer", CANDIDATES, [], budget=400, fmt=fmt).render()
        assert first == again


_lines = st.lists(st.text(st.characters(blacklist_categories=["Cs"]), max_size=40), max_size=8)
_roles = st.sampled_from(["ancestor", "child", "sibling"])


@given(
    target=_lines,
    others=st.lists(st.tuples(_roles, _lines), max_size=8),
    fmt=st.sampled_from(["md", "json", "xml"]),
    extra=st.integers(min_value=0, max_value=3000),
    short=st.integers(min_value=1, max_value=50),
)
def test_any_blocks_any_budget_estimate_within_budget(
    target: list[str], others: list[tuple[str, list[str]]], fmt: str, extra: int, short: int
) -> None:
    blocks = [_block("target", "t", "\n".join(target))]
    blocks += [_block(role, f"t/{i}", "\n".join(lines)) for i, (role, lines) in enumerate(others)]  # type: ignore[arg-type]
    with pytest.raises(UsageError) as caught:
        fit_blocks("t", "a", blocks, [], budget=0, fmt=fmt)  # type: ignore[arg-type]
    smallest = int(str(caught.value.hint).split("--budget ")[1].split()[0])
    budget = smallest + extra
    pack = fit_blocks("t", "a", blocks, [], budget=budget, fmt=fmt)  # type: ignore[arg-type]
    assert pack.estimate <= budget
    assert estimate_tokens(pack.render()) == pack.estimate
    assert pack.blocks[0].role == "target"
    assert len(pack.blocks) + sum(o.reason == "budget" for o in pack.omitted) == len(blocks)
    assert [b.path for b in pack.blocks] == [b.path for b in blocks[: len(pack.blocks)]]
    if smallest - short >= 1:
        with pytest.raises(UsageError):
            fit_blocks("t", "a", blocks, [], budget=smallest - short, fmt=fmt)  # type: ignore[arg-type]


def test_block_segments_end_with_a_newline() -> None:
    for fmt in ("md", "json", "xml"):
        assert block_segment(_block("child", "x", "no newline"), fmt).endswith("\n")
