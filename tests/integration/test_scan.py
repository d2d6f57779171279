"""Scanning real directories: incremental behaviour and odd input."""

from __future__ import annotations

import os
import socket
import stat
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers.trees import OLD_NS, node_ids, scan, write_tree

from contextree.workspace.fs import FileSystem
from contextree.workspace.merkle import content_hash_of, file_node_id


def test_first_scan_builds_files_and_directories(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "alpha", "src/b.py": "print(1)\n", "src/deep/c.md": "# c"})
    report = scan(workspace)
    assert (report.files, report.dirs) == (3, 3)
    ids = node_ids(workspace)
    assert ids[b"a.txt"] == file_node_id(b"a.txt", content_hash_of(b"alpha"))
    assert set(ids) == {b"", b"a.txt", b"src", b"src/b.py", b"src/deep", b"src/deep/c.md"}
    assert report.root_id == ids[b""]


def test_unchanged_rescan_reads_no_file_and_writes_no_row(workspace: Path) -> None:
    write_tree(workspace, {f"d{i}/f{j}.txt": f"{i}-{j}" for i in range(5) for j in range(20)})
    first = scan(workspace)
    second = scan(workspace)
    assert first.hashed == 100
    assert (second.hashed, second.rows_written) == (0, 0)
    assert second.root_id == first.root_id


def test_editing_one_file_rewrites_only_rows_on_its_path(workspace: Path) -> None:
    write_tree(workspace, {"a/b/c.txt": "one", "a/b/d.txt": "x", "a/e.txt": "y", "f.txt": "z"})
    scan(workspace)
    before = node_ids(workspace)
    write_tree(workspace, {"a/b/c.txt": "two"})
    report = scan(workspace)
    after = node_ids(workspace)
    changed = {p for p in after if after[p] != before.get(p)}
    assert changed == {b"a/b/c.txt", b"a/b", b"a", b""}
    assert report.rows_written == 4
    assert report.modified == (b"a/b/c.txt",)
    assert report.hashed == 1


def test_touching_a_file_without_changing_it_keeps_every_id(workspace: Path) -> None:
    write_tree(workspace, {"a/x.txt": "same"})
    scan(workspace)
    before = node_ids(workspace)
    os.utime(workspace / "a/x.txt", ns=(OLD_NS + 10**9, OLD_NS + 10**9))
    report = scan(workspace)
    assert node_ids(workspace) == before
    assert report.hashed == 1 and report.modified == ()
    assert report.rows_written == 1  # the new stat signature only


def test_files_modified_just_before_a_scan_are_read_again_next_time(workspace: Path) -> None:
    write_tree(workspace, {"old.txt": "o"})
    write_tree(workspace, {"fresh.txt": "f"}, old=False)  # mtime = now: racy for this scan
    scan(workspace)
    report = scan(workspace)
    assert report.hashed == 1  # only the racy file, though its signature is unchanged


def test_removed_and_added_paths_are_reported(workspace: Path) -> None:
    write_tree(workspace, {"keep.txt": "k", "gone/x.txt": "x"})
    scan(workspace)
    (workspace / "gone/x.txt").unlink()
    (workspace / "gone").rmdir()
    write_tree(workspace, {"new/y.txt": "y"})
    report = scan(workspace)
    assert report.removed == (b"gone", b"gone/x.txt")
    assert report.added == (b"new", b"new/y.txt")
    assert set(node_ids(workspace)) == {b"", b"keep.txt", b"new", b"new/y.txt"}


def test_empty_directories_are_nodes(workspace: Path) -> None:
    (workspace / "empty/inner").mkdir(parents=True)
    report = scan(workspace)
    assert report.dirs == 3
    assert {b"empty", b"empty/inner"} <= set(node_ids(workspace))


def test_gitignored_files_are_not_nodes(workspace: Path) -> None:
    write_tree(workspace, {".gitignore": "*.log\nbuild/\n", "a.log": "l", "build/o": "o", "k": "k"})
    (workspace / ".git").mkdir()
    (workspace / "node_modules/x").mkdir(parents=True)
    scan(workspace)
    assert set(node_ids(workspace)) == {b"", b".gitignore", b"k"}


def test_symlinks_are_reported_not_followed_and_not_children(workspace: Path) -> None:
    write_tree(workspace, {"d/real.txt": "r"})
    (workspace / "d/loop").symlink_to("..")
    (workspace / "link.txt").symlink_to("d/real.txt")
    (workspace / "dangling").symlink_to("nowhere")
    report = scan(workspace)
    assert set(node_ids(workspace)) == {b"", b"d", b"d/real.txt"}
    assert sorted(report.walk.symlinks) == [
        (b"d/loop", b".."),
        (b"dangling", b"nowhere"),
        (b"link.txt", b"d/real.txt"),
    ]
    assert report.issues()["symlink_count"] == 3


@pytest.mark.timeout(20)
def test_fifos_and_sockets_are_listed_and_never_opened(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "a"})
    os.mkfifo(workspace / "pipe")  # opening it for reading would block the scan forever
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(workspace / "sock"))
        report = scan(workspace)
    finally:
        sock.close()
    assert sorted(report.walk.specials) == [(b"pipe", "fifo"), (b"sock", "socket")]
    assert set(node_ids(workspace)) == {b"", b"a.txt"}


def test_device_files_are_listed_and_skipped(workspace: Path) -> None:
    try:
        os.mknod(workspace / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs privileges")
    report = scan(workspace)
    assert report.walk.specials == [(b"null", "character device")]
    assert set(node_ids(workspace)) == {b""}


def test_non_utf8_names_survive_a_round_trip(workspace: Path) -> None:
    raw = os.fsencode(workspace) + b"/caf\xe9.txt"
    with open(raw, "wb") as handle:
        handle.write(b"bytes")
    report = scan(workspace)
    ids = node_ids(workspace)
    assert b"caf\xe9.txt" in ids
    assert ids[b"caf\xe9.txt"] == file_node_id(b"caf\xe9.txt", content_hash_of(b"bytes"))
    assert report.walk.non_utf8 == [b"caf\xe9.txt"]
    assert report.issues()["non_utf8_names"] == ["caf\\xe9.txt"]


def test_nfc_and_nfd_twins_are_both_kept_and_reported(workspace: Path) -> None:
    nfc = unicodedata.normalize("NFC", "é.txt")
    nfd = unicodedata.normalize("NFD", "é.txt")
    write_tree(workspace, {nfc: "composed", nfd: "decomposed"})
    report = scan(workspace)
    ids = node_ids(workspace)
    assert nfc.encode() in ids and nfd.encode() in ids
    assert report.walk.nfc_twins == [tuple(sorted([nfc.encode(), nfd.encode()]))]


class _DenyingFs(FileSystem):
    """Raises PermissionError for chosen paths (root ignores chmod, so denial is injected)."""

    def __init__(self, denied_dirs: set[bytes], denied_files: set[bytes]) -> None:
        self.denied_dirs = denied_dirs
        self.denied_files = denied_files

    def scandir(self, path: bytes) -> Iterator[os.DirEntry[bytes]]:
        if any(path.endswith(b"/" + d) for d in self.denied_dirs):
            raise PermissionError(13, "Permission denied")
        return super().scandir(path)

    def open_fd(self, path: bytes) -> int:
        if any(path.endswith(b"/" + f) for f in self.denied_files):
            raise PermissionError(13, "Permission denied")
        return super().open_fd(path)


def test_unreadable_files_and_directories_are_reported_and_the_scan_continues(
    workspace: Path,
) -> None:
    write_tree(workspace, {"ok.txt": "ok", "secret.txt": "s", "locked/in.txt": "i", "d/x": "x"})
    fs = _DenyingFs({b"locked"}, {b"secret.txt"})
    report = scan(workspace, fs=fs)
    assert set(node_ids(workspace)) == {b"", b"ok.txt", b"d", b"d/x"}
    assert sorted(report.unreadable) == [
        (b"locked", "Permission denied"),
        (b"secret.txt", "Permission denied"),
    ]


def test_a_file_that_becomes_unreadable_leaves_the_tree_and_its_parent_changes(
    workspace: Path,
) -> None:
    write_tree(workspace, {"d/a.txt": "a", "d/b.txt": "b"})
    scan(workspace)
    before = node_ids(workspace)
    os.utime(workspace / "d/b.txt", ns=(OLD_NS + 1, OLD_NS + 1))
    report = scan(workspace, fs=_DenyingFs(set(), {b"b.txt"}))
    after = node_ids(workspace)
    assert b"d/b.txt" not in after
    assert after[b"d"] != before[b"d"] and after[b""] != before[b""]
    assert report.removed == (b"d/b.txt",)


def test_a_file_modified_while_hashed_is_read_again(workspace: Path) -> None:
    big = workspace / "big.bin"
    big.write_bytes(b"a" * (3 << 20))
    fired: list[int] = []

    def rewrite_once(path: bytes, index: int) -> None:
        if path.endswith(b"big.bin") and not fired:
            fired.append(index)
            big.write_bytes(b"b" * (3 << 20))

    report = scan(workspace, on_chunk=rewrite_once)
    assert fired == [0]
    assert node_ids(workspace)[b"big.bin"] == file_node_id(
        b"big.bin", content_hash_of(b"b" * (3 << 20))
    )
    assert report.unstable == ()


def test_preview_reports_changes_without_writing(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "a"})
    scan(workspace)
    before = node_ids(workspace)
    write_tree(workspace, {"a.txt": "changed", "b.txt": "b"})
    preview = scan(workspace, commit=False)
    assert preview.modified == (b"a.txt",) and preview.added == (b"b.txt",)
    assert node_ids(workspace) == before


def test_virtual_environments_are_skipped(workspace: Path) -> None:
    write_tree(workspace, {"env/pyvenv.cfg": "home = /usr", "env/lib/x.py": "", "app.py": ""})
    report = scan(workspace)
    assert set(node_ids(workspace)) == {b"", b"app.py"}
    assert report.walk.virtualenvs == [b"env"]


def test_hashing_in_worker_processes_gives_the_same_tree(workspace: Path, tmp_path: Path) -> None:
    from contextree.workspace import hashing

    write_tree(workspace, {f"d{i % 7}/f{i}.txt": f"content {i}" for i in range(60)})
    serial = scan(workspace, processes=1)
    (workspace / ".contextree/store.db").unlink()
    original = hashing.POOL_MIN_FILES
    hashing.POOL_MIN_FILES = 1
    try:
        pooled = scan(workspace, processes=2)
    finally:
        hashing.POOL_MIN_FILES = original
    assert pooled.root_id == serial.root_id
