"""The directory context budget is a bound: whatever the number of children, their sizes and
names, the children's section of a directory prompt is at most ``directory_context_budget``
bytes. Children whose frames do not fit are listed by name only, then counted. A directory
that fit before is rendered byte for byte as before."""

from __future__ import annotations

import random

from hypothesis import example, given, settings
from hypothesis import strategies as st

from contextree.context.generation.prompt_text import (
    BLOCK_SEPARATOR,
    CUT_NOTE,
    ChildBlock,
    block,
    directory_context,
)

NAME_PARTS = ("a", "src", "ü", "数据", "🙂", "x" * 40, "-", " ", ".py", "Ω")


def children_of(count: int, seed: int, max_frame: int, parts: list[str]) -> list[ChildBlock]:
    rng = random.Random(seed)
    made = []
    for n in range(count):
        name = "".join(rng.choice(parts) for _ in range(rng.randint(1, 4))) + f"{n}"
        size = rng.choice((0, 1, 10, 100, max_frame, rng.randint(0, max_frame)))
        text = rng.choice(("x", "é", "数", "🙂\n"))
        kind = rng.choice(("File", "Directory"))
        made.append(ChildBlock(path=f"d/{name}", node_type=kind, content=text * size))
    return made


@settings(max_examples=60)
@given(
    count=st.one_of(st.integers(0, 40), st.integers(0, 30_000)),
    seed=st.integers(0, 2**32),
    max_frame=st.sampled_from([0, 10, 500, 5_000, 70_000]),
    parts=st.lists(st.sampled_from(NAME_PARTS) | st.text(min_size=1, max_size=8), min_size=1),
    budget=st.one_of(st.sampled_from([1024, 4096, 64 << 10]), st.integers(1024, 200_000)),
)
@example(count=30_000, seed=1, max_frame=500, parts=["数据", "x" * 40], budget=64 << 10)
@example(count=30_000, seed=2, max_frame=10, parts=["🙂"], budget=1024)
@example(count=20_000, seed=3, max_frame=0, parts=["a"], budget=200_000)
def test_the_context_is_never_over_budget(
    count: int, seed: int, max_frame: int, parts: list[str], budget: int
) -> None:
    # Keep many-children examples to a few hundred megabytes of frames at most.
    children = children_of(count, seed, max_frame if count < 2_000 else min(max_frame, 500), parts)
    ctx = directory_context(children, budget)
    assert len(ctx.text.encode()) <= budget
    assert set(ctx.included) <= {c.path for c in children}


def test_a_directory_of_20000_children_fits_and_counts_the_ones_left_out() -> None:
    children = [
        ChildBlock(path=f"big/file_{n:05d}.py", node_type="File", content="x" * 95 + "\n")
        for n in range(20_000)
    ]
    ctx = directory_context(children, 64 << 10)
    text = ctx.text
    assert len(text.encode()) <= 64 << 10
    # Some children keep a block with (part of) their frame, the next are named, the rest
    # counted: every child is accounted for.
    shown = text.count("Path: big/file_")
    named = [line for line in text.split("\n") if line.startswith("file_")]
    assert shown > 0 and named
    assert text.rstrip().endswith(f"[... and {20_000 - shown - len(named):,} more]")
    assert named[0] == f"file_{shown:05d}.py"
    assert len(ctx.included) == shown
    assert len(ctx.cut) == 20_000 - sum(
        1 for c in children[:shown] if c.content + BLOCK_SEPARATOR in text
    )


def test_when_every_name_fits_nothing_is_counted() -> None:
    children = [ChildBlock(path=f"d/{n}", node_type="File", content="y" * 3000) for n in range(60)]
    ctx = directory_context(children, 4096)
    assert len(ctx.text.encode()) <= 4096
    assert "more]" not in ctx.text
    listed = ctx.text.count("Path: d/") + sum(1 for line in ctx.text.split("\n") if line.isdigit())
    assert listed == 60


def test_a_directory_that_fit_before_is_unchanged() -> None:
    # Over budget, but every header fits and each cut frame keeps a share: water-filling as
    # before, byte for byte.
    children = [
        ChildBlock(path="d/small", node_type="File", content="s" * 20),
        ChildBlock(path="d/big1", node_type="File", content="b" * 5000),
        ChildBlock(path="d/big2", node_type="File", content="c" * 5000),
    ]
    ctx = directory_context(children, budget=1000)
    fixed = sum(len(block(c.path, c.node_type, "")) for c in children)
    share = (1000 - fixed - 2 * len(BLOCK_SEPARATOR) - 20) // 2 - len(CUT_NOTE)
    assert ctx.text == BLOCK_SEPARATOR.join(
        [
            block("d/small", "File", "s" * 20),
            block("d/big1", "File", "b" * share + CUT_NOTE),
            block("d/big2", "File", "c" * share + CUT_NOTE),
        ]
    )
