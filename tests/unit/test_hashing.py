"""File hashing: bounded memory, modification while reading, errors as values."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import blake3

from contextree.workspace.hashing import hash_file, hash_many


def test_hash_is_blake3_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"alpha" * 1000)
    result = hash_file(os.fsencode(path), chunk_size=1024)
    assert result.content_hash == blake3.blake3(b"alpha" * 1000).digest()
    assert result.sig is not None and result.sig[0] == 5000
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
    assert result.sig is not None and result.sig[1] == 0  # next scan will read it again


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
