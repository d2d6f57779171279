"""File hashing: bounded memory, modification while reading, errors as values."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import blake3
import pytest

from contextree.core.ids import file_node_id
from contextree.errors import ScanError
from contextree.store.tree import unpack_sig
from contextree.workspace import hashing
from contextree.workspace.fs import FileSystem, stat_sig
from contextree.workspace.hash_pool import HashPool
from contextree.workspace.hashing import hash_file, hash_many


def test_hash_is_blake3_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"alpha" * 1000)
    result = hash_file(os.fsencode(path), chunk_size=1024)
    assert result.content_hash == blake3.blake3(b"alpha" * 1000).digest()
    assert result.sig is not None and unpack_sig(result.sig)[0] == 5000
    assert not result.unstable and result.error is None


def test_a_file_modified_between_chunks_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 4096)
    calls: list[int] = []

    def modify_once(_: bytes, index: int) -> None:
        calls.append(index)
        if len(calls) == 1:
            path.write_bytes(b"b" * 4097)

    result = hash_file(os.fsencode(path), chunk_size=1024, on_chunk=modify_once)
    assert result.content_hash == blake3.blake3(b"b" * 4097).digest()
    assert not result.unstable
    assert len(calls) > 4  # the first read was abandoned and the file read again


def test_a_file_that_keeps_changing_is_reported_unstable_with_a_smudged_mtime(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 2048)
    sizes = iter(range(3000, 4000))

    def modify_always(_: bytes, index: int) -> None:
        if index == 0:
            path.write_bytes(b"c" * next(sizes))

    result = hash_file(os.fsencode(path), chunk_size=1024, on_chunk=modify_always)
    assert result.unstable
    assert result.sig is not None and unpack_sig(result.sig)[1] == 0  # next scan will read it again


def test_missing_file_comes_back_as_an_error_not_an_exception(tmp_path: Path) -> None:
    result = hash_file(os.fsencode(tmp_path / "gone"))
    assert result.content_hash is None
    assert result.error == "No such file or directory"


def test_a_64_mib_file_is_hashed_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big"
    chunk = os.urandom(1 << 20)
    hasher = blake3.blake3()
    with path.open("wb") as handle:
        for _ in range(64):
            handle.write(chunk)
            hasher.update(chunk)
    tracemalloc.start()
    try:
        result = hash_file(os.fsencode(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.content_hash == hasher.digest()
    assert peak < 4 << 20, f"peak {peak} bytes while hashing 64 MiB"


def test_process_pool_gives_the_same_results_in_input_order(tmp_path: Path) -> None:
    paths = []
    for i in range(40):
        p = tmp_path / f"f{i}"
        p.write_bytes(str(i).encode() * (i + 1))
        paths.append(os.fsencode(p))
    from contextree.workspace import hashing

    serial = hash_many(paths, total_bytes=0, processes=1)
    original = hashing.POOL_MIN_FILES
    hashing.POOL_MIN_FILES = 1
    try:
        pooled = hash_many(paths, total_bytes=0, processes=2)
    finally:
        hashing.POOL_MIN_FILES = original
    assert [r.content_hash for r in pooled] == [r.content_hash for r in serial]
    assert [r.path for r in pooled] == paths


class _CountingFs(FileSystem):
    """Counts the reads and fstats hashing makes."""

    def __init__(self) -> None:
        self.reads: list[int] = []
        self.fstats = 0

    def read_chunk(self, fd: int, size: int) -> bytes:
        data = super().read_chunk(fd, size)
        self.reads.append(len(data))
        return data

    def fstat(self, fd: int) -> os.stat_result:
        self.fstats += 1
        return super().fstat(fd)


def test_a_small_file_costs_one_read_and_with_the_walks_signature_one_fstat(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 5000)
    raw = os.fsencode(path)
    fs = _CountingFs()
    result = hash_file(raw, before=stat_sig(os.lstat(raw)), fs=fs)
    assert result.content_hash == blake3.blake3(b"x" * 5000).digest()
    assert (fs.reads, fs.fstats) == ([5000], 1)  # no empty read to find the end
    alone = _CountingFs()
    assert hash_file(raw, fs=alone).content_hash == result.content_hash
    assert (alone.reads, alone.fstats) == ([5000], 2)  # its own "before" signature


def test_a_file_exactly_as_long_as_a_chunk_is_read_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"y" * 2048)
    fs = _CountingFs()
    result = hash_file(os.fsencode(path), chunk_size=1024, fs=fs)
    assert result.content_hash == blake3.blake3(b"y" * 2048).digest()
    assert fs.reads == [1024, 1024, 0]
    assert not result.unstable


def test_a_file_changed_since_the_walk_is_hashed_as_it_is_now(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old")
    raw = os.fsencode(path)
    walked = stat_sig(os.lstat(raw))
    path.write_bytes(b"new content")
    result = hash_file(raw, before=walked)
    assert result.content_hash == blake3.blake3(b"new content").digest()
    assert result.sig == stat_sig(os.lstat(raw)) != walked
    assert not result.unstable


def test_a_file_that_grows_while_read_is_not_read_past_one_extra_byte(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 1000)
    raw = os.fsencode(path)
    fs = _CountingFs()
    grown: list[int] = []

    def grow_once(_: bytes, index: int) -> None:
        if not grown:
            grown.append(index)
            with path.open("ab") as handle:
                handle.write(b"b" * 100_000)

    result = hash_file(raw, before=stat_sig(os.lstat(raw)), fs=fs, on_chunk=grow_once)
    assert fs.reads[0] == 1000  # asked for 1001: the file had not grown yet
    assert fs.reads[1:] == [101_000]  # the second attempt, at the new size, in one chunk
    assert result.content_hash == blake3.blake3(b"a" * 1000 + b"b" * 100_000).digest()


@pytest.mark.timeout(20)
def test_a_fifo_in_place_of_a_walked_file_is_an_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"regular")
    raw = os.fsencode(path)
    walked = stat_sig(os.lstat(raw))
    path.unlink()
    os.mkfifo(path)  # opening it for reading without O_NONBLOCK would wait for a writer
    result = hash_file(raw, before=walked)
    assert result.content_hash is None
    assert result.error == "no longer a regular file"


def _pooled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers from the first file on, batches of two files, and a caller that waits for a
    worker even while it starts up (with a few files it would otherwise hash them all)."""
    monkeypatch.setattr(hashing, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(hashing, "BATCH", 2)
    monkeypatch.setattr(HashPool, "warm", lambda self, index: True)


def test_workers_hash_and_derive_exactly_as_the_caller_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"d/f{i}".encode() for i in range(30)] + [b"d/missing"]
    (tmp_path / "d").mkdir()
    for name in names[:-1]:
        (tmp_path / os.fsdecode(name)).write_bytes(name * 7)
    root = os.fsencode(tmp_path) + b"/"
    items = [(n, None, 0) for n in names]
    derive = f"{file_node_id.__module__}:{file_node_id.__name__}"

    def run(processes: int) -> tuple[list[hashing.Outcome], hashing.Hasher]:
        with hashing.Hasher(root=root, processes=processes, derive=derive) as hasher:
            hasher.add(items)
            return [o for batch in hasher.outcomes() for o in batch], hasher

    here, _ = run(1)
    _pooled(monkeypatch)
    there, hasher = run(2)
    assert there == here
    assert hasher.remote_batches > 0
    assert here[0][4] == file_node_id(b"d/f0", blake3.blake3(b"d/f0" * 7).digest())
    assert here[-1][:4] == (None, None, "No such file or directory", False)


def test_the_caller_hashes_from_the_back_while_a_worker_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(40):
        (tmp_path / f"f{i}").write_bytes(b"z" * i)
    items = [(f"f{i}".encode(), None, i) for i in range(40)]
    _pooled(monkeypatch)
    monkeypatch.setattr(hashing, "AHEAD", 1)
    with hashing.Hasher(root=os.fsencode(tmp_path) + b"/", processes=2) as hasher:
        hasher.add(items)
        hashes = [o[0] for batch in hasher.outcomes() for o in batch]
    assert hashes == [blake3.blake3(b"z" * i).digest() for i in range(40)]
    assert hasher.remote_batches >= 1 and hasher.local_batches >= 1
    assert hasher.remote_batches + hasher.local_batches == 20


def test_a_worker_that_dies_is_a_scan_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    pool = HashPool(workers=1, root=os.fsencode(tmp_path) + b"/")
    try:
        pool.send(0, [(b"f", None, 1)])
        assert pool.receive(0)[0][0] == blake3.blake3(b"f").digest()
        pool._workers[0].proc.kill()
        pool._workers[0].proc.wait()

        def hash_again() -> None:
            pool.send(1, [(b"f", None, 1)])  # fails here (broken pipe) or when receiving
            pool.receive(1)

        with pytest.raises(ScanError, match="hashing worker"):
            hash_again()
    finally:
        pool.close()


def test_a_worker_imports_only_what_hashing_needs() -> None:
    probe = (
        "import sys, contextree.workspace.hash_worker; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('typer', 'click', 'rich', 'pydantic', 'aiohttp') or m.startswith('contextree.cli')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"


def test_the_caller_never_waits_for_a_worker_that_is_starting_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(20):
        (tmp_path / f"f{i}").write_bytes(b"w" * i)
    items = [(f"f{i}".encode(), None, i) for i in range(20)]
    monkeypatch.setattr(hashing, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(hashing, "BATCH", 2)
    cold = iter([False, False])  # the worker "starts" only after the first two batches
    monkeypatch.setattr(HashPool, "warm", lambda self, index: next(cold, True))
    monkeypatch.setattr(HashPool, "ready", lambda self, index: False)  # and seems slow
    with hashing.Hasher(root=os.fsencode(tmp_path) + b"/", processes=2) as hasher:
        hasher.add(items)
        hashes = [o[0] for batch in hasher.outcomes() for o in batch]
    assert hashes == [blake3.blake3(b"w" * i).digest() for i in range(20)]
    # The first two batches were taken back from the worker (whose answers were dropped),
    # whatever else it held was received from it, and the rest was hashed here.
    assert hasher.local_batches >= 2 and hasher.remote_batches >= 1
    assert hasher.local_batches + hasher.remote_batches == 10
