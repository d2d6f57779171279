"""Small scanned files are read off the event loop in shared batches: many concurrent reads
cost few thread hand-offs, and each caller still gets its own bytes or its own error."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers.generation import TEST_AGENT, World, scanned_world

from contextree.context.generation.prompt_collection import BATCHED_READ_MAX, PromptCollector
from contextree.errors import FileChangedSinceScanError
from contextree.providers.types import FileSubject

SMALL = {f"src/m{i:02d}.py": f"M{i} = {i}\n" for i in range(24)}
BIG_PATH = "big.txt"
FILES: dict[str, bytes | str] = {**SMALL, BIG_PATH: b"x" * (BATCHED_READ_MAX + 1)}


class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor, counting the hand-offs it is given."""

    def __init__(self) -> None:
        super().__init__(max_workers=4)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def world(workspace: Path) -> Iterator[World]:
    with scanned_world(workspace, FILES) as scanned:
        yield scanned


@pytest.fixture
def executor() -> Iterator[CountingExecutor]:
    pool = CountingExecutor()
    yield pool
    pool.shutdown(wait=True)


async def _data(collector: PromptCollector, world: World, path: str) -> bytes:
    collected = await collector.collect(world.request(path), world.entry(path), TEST_AGENT)
    assert isinstance(collected.subject, FileSubject)
    return collected.subject.data


async def test_concurrent_small_reads_share_hand_offs_and_each_gets_its_own_bytes(
    world: World, executor: CountingExecutor
) -> None:
    asyncio.get_running_loop().set_default_executor(executor)
    collector = world.collector()
    paths = sorted(SMALL)
    datas = await asyncio.gather(*(_data(collector, world, p) for p in paths))
    assert datas == [str(SMALL[p]).encode() for p in paths]
    # The first read goes alone; everything asked for while it ran goes in one more batch.
    assert executor.submitted == 2


async def test_a_file_too_big_to_batch_is_read_on_its_own(
    world: World, executor: CountingExecutor
) -> None:
    asyncio.get_running_loop().set_default_executor(executor)
    data = await _data(world.collector(), world, BIG_PATH)
    assert data == b"x" * (BATCHED_READ_MAX + 1)
    assert executor.submitted == 1


async def test_a_file_changed_since_the_scan_fails_only_its_own_caller(world: World) -> None:
    collector = world.collector()
    (world.root / "src" / "m03.py").write_text("changed\n")
    paths = sorted(SMALL)
    results = await asyncio.gather(
        *(_data(collector, world, p) for p in paths), return_exceptions=True
    )
    failed = {p: r for p, r in zip(paths, results, strict=True) if isinstance(r, BaseException)}
    assert list(failed) == ["src/m03.py"]
    assert isinstance(failed["src/m03.py"], FileChangedSinceScanError)
    assert "changed since the last scan" in str(failed["src/m03.py"])
    assert all(
        r == str(SMALL[p]).encode()
        for p, r in zip(paths, results, strict=True)
        if p != "src/m03.py"
    )


async def test_a_cancelled_caller_leaves_the_others_of_its_batch_alone(world: World) -> None:
    collector = world.collector()
    paths = sorted(SMALL)
    tasks = [asyncio.ensure_future(_data(collector, world, p)) for p in paths]
    await asyncio.sleep(0)  # every read is asked for; the first batch is running
    tasks[5].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[5], asyncio.CancelledError)
    assert [d for i, d in enumerate(done) if i != 5] == [
        str(SMALL[p]).encode() for i, p in enumerate(paths) if i != 5
    ]


def test_one_collector_keeps_reading_across_event_loops(world: World) -> None:
    collector = world.collector()

    async def read_all() -> list[bytes]:
        return list(await asyncio.gather(*(_data(collector, world, p) for p in sorted(SMALL))))

    expected = [str(SMALL[p]).encode() for p in sorted(SMALL)]
    assert asyncio.run(read_all()) == expected
    assert asyncio.run(read_all()) == expected
