"""Scanning real directories: incremental behaviour and odd input."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers.trees import OLD_NS, content_hash, node_ids, scan, write_tree

from contextree.core.ids import dir_node_id, file_node_id
from contextree.store.db import Store
from contextree.store.migrations import migrate
from contextree.store.tree import TreeRows, lookup_key
from contextree.workspace.fs import REAL_FS, FileSystem
from contextree.workspace.hash_pool import HashPool


def test_first_scan_builds_files_and_directories(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "alpha", "src/b.py": "print(1)\n", "src/deep/c.md": "# c"})
    report = scan(workspace)
    assert (report.files, report.dirs) == (3, 3)
    ids = node_ids(workspace)
    assert ids[b"a.txt"] == file_node_id(b"a.txt", content_hash(b"alpha"))
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
    assert ids[b"caf\xe9.txt"] == file_node_id(b"caf\xe9.txt", content_hash(b"bytes"))
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
        b"big.bin", content_hash(b"b" * (3 << 20))
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


def test_hashing_in_worker_processes_gives_the_same_tree(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextree.workspace import hashing

    write_tree(workspace, {f"d{i % 7}/f{i}.txt": f"content {i}" for i in range(60)})
    serial = scan(workspace, processes=1)
    serial_ids = node_ids(workspace)
    (workspace / ".contextree/store.db").unlink()
    monkeypatch.setattr(hashing, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(hashing, "BATCH", 4)
    monkeypatch.setattr(HashPool, "warm", lambda self, index: True)  # wait for it to start
    remote: list[int] = []
    close = hashing.Hasher.close

    def counting_close(self: hashing.Hasher) -> None:
        remote.append(self.remote_batches)
        close(self)

    monkeypatch.setattr(hashing.Hasher, "close", counting_close)
    pooled = scan(workspace, processes=2)
    assert pooled.root_id == serial.root_id
    assert node_ids(workspace) == serial_ids
    assert remote and remote[0] > 0  # the workers did hash some of the files


def _store(workspace: Path) -> sqlite3.Connection:
    return sqlite3.connect(workspace / ".contextree" / "store.db")


def test_node_ids_that_leave_the_tree_are_kept_in_nodes(workspace: Path) -> None:
    write_tree(workspace, {"a/b.txt": "one", "c.txt": "c"})
    scan(workspace)
    with _store(workspace) as conn:
        assert conn.execute("SELECT COUNT(*) FROM nodes").fetchone() == (0,)
    before = node_ids(workspace)
    write_tree(workspace, {"a/b.txt": "two"})
    (workspace / "c.txt").unlink()
    scan(workspace)
    with _store(workspace) as conn:
        kept = dict(conn.execute("SELECT path, node_id FROM nodes").fetchall())
    assert kept == {p: before[p] for p in (b"", b"a", b"a/b.txt", b"c.txt")}


def test_first_scan_of_a_node_id_survives_a_touch_and_moves_on_an_edit(workspace: Path) -> None:
    write_tree(workspace, {"x.txt": "same", "y.txt": "y"})
    scan(workspace)
    os.utime(workspace / "x.txt", ns=(OLD_NS + 10**9, OLD_NS + 10**9))
    write_tree(workspace, {"y.txt": "changed"})
    scan(workspace)
    with _store(workspace) as conn:
        first = dict(conn.execute("SELECT path, first_scan FROM entries").fetchall())
    assert (first[b"x.txt"], first[b"y.txt"], first[b""]) == (1, 2, 2)


def test_typed_paths_find_ascii_nfd_and_undecodable_names(workspace: Path) -> None:
    nfd = unicodedata.normalize("NFD", "é.txt")
    write_tree(workspace, {"plain.txt": "p", f"d/{nfd}": "n"})
    with open(os.fsencode(workspace) + b"/caf\xe9", "wb") as handle:
        handle.write(b"raw")
    scan(workspace)
    with Store.open(workspace / ".contextree" / "store.db") as store:
        rows = TreeRows(store.conn)
        assert [e.path for e in rows.entries_by_lookup("plain.txt")] == [b"plain.txt"]
        composed = lookup_key(f"d/{nfd}".encode())
        assert composed == unicodedata.normalize("NFC", "d/é.txt")
        assert [e.path for e in rows.entries_by_lookup(composed)] == [f"d/{nfd}".encode()]
        assert [e.path for e in rows.entries_by_lookup("caf\\xe9")] == [b"caf\xe9"]
        assert rows.entries_by_lookup("nothing") == []
        stored = dict(store.conn.execute("SELECT path, lookup FROM entries").fetchall())
    assert stored[b"plain.txt"] is None  # an ASCII path is its own key
    assert stored[f"d/{nfd}".encode()] == composed


def test_a_first_scan_leaves_every_index_of_the_schema_in_place(
    workspace: Path, tmp_path: Path
) -> None:
    write_tree(workspace, {f"d{i}/f{j}.txt": f"{i}{j}" for i in range(3) for j in range(4)})
    scan(workspace)
    fresh = sqlite3.connect(tmp_path / "fresh.db")
    migrate(fresh)
    query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    with _store(workspace) as conn:
        assert conn.execute(query).fetchall() == fresh.execute(query).fetchall()
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("marker", ["file", "directory", "symlink"])
def test_any_entry_named_pyvenv_cfg_makes_a_virtual_environment(
    workspace: Path, marker: str
) -> None:
    write_tree(workspace, {"env/lib/x.py": "", "app.py": ""})
    cfg = workspace / "env" / "pyvenv.cfg"
    if marker == "file":
        cfg.write_text("home = /usr")
    elif marker == "directory":
        cfg.mkdir()
    else:
        cfg.symlink_to("nowhere")
    report = scan(workspace)
    assert set(node_ids(workspace)) == {b"", b"app.py"}
    assert report.walk.virtualenvs == [b"env"]


class _CountingEntry:
    """A directory entry that records each stat it is asked for."""

    def __init__(self, entry: os.DirEntry[bytes], stats: list[bytes]) -> None:
        self._entry = entry
        self._stats = stats
        self.name = entry.name

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return self._entry.is_dir(follow_symlinks=follow_symlinks)

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return self._entry.is_file(follow_symlinks=follow_symlinks)

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        self._stats.append(self.name)
        return self._entry.stat(follow_symlinks=follow_symlinks)


class _StatCountingFs(FileSystem):
    def __init__(self) -> None:
        self.stats: list[bytes] = []

    def scandir(self, path: bytes) -> Iterator[Any]:
        for entry in super().scandir(path):
            yield _CountingEntry(entry, self.stats)


def test_a_first_scan_stats_no_regular_file_and_a_rescan_stats_each(workspace: Path) -> None:
    write_tree(workspace, {"a.txt": "a", "d/b.txt": "b", "d/c.txt": "c"})
    (workspace / "link").symlink_to("a.txt")
    first = _StatCountingFs()
    report = scan(workspace, fs=first)
    assert first.stats == [b"link"]  # only what the listing cannot tell is a regular file
    assert report.total_bytes == 3
    assert node_ids(workspace)[b"d/b.txt"] == file_node_id(b"d/b.txt", content_hash(b"b"))
    again = _StatCountingFs()
    rescan = scan(workspace, fs=again)
    assert sorted(again.stats) == [b"a.txt", b"b.txt", b"c.txt", b"link"]
    assert (rescan.hashed, rescan.rows_written, rescan.total_bytes) == (0, 0, 3)


@pytest.mark.parametrize(
    ("processes", "denied"),
    [(1, {b"f7.txt"}), (2, set())],  # an injected fault keeps hashing in this process
)
def test_every_directory_id_is_the_merkle_hash_of_its_stored_children(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, processes: int, denied: set[bytes]
) -> None:
    from contextree.workspace import hashing

    monkeypatch.setattr(hashing, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(hashing, "BATCH", 3)
    write_tree(
        workspace,
        {f"a/b{i % 3}/c{i % 2}/f{i}.txt": f"{i}" for i in range(30)} | {"top.txt": "t"},
    )
    (workspace / "a/empty/deeper").mkdir(parents=True)
    scan(workspace, fs=_DenyingFs(set(), denied) if denied else REAL_FS, processes=processes)
    with Store.open(workspace / ".contextree" / "store.db") as store:
        rows = TreeRows(store.conn)
        for entry in rows.subtree(b""):
            if entry.kind == "dir":
                cut = len(entry.path) + 1 if entry.path else 0
                kids = [(c.path[cut:], c.node_id) for c in rows.children(entry.path)]
                assert entry.node_id == dir_node_id(entry.path, kids), entry.path
    assert (b"a/b1/c1/f7.txt" in node_ids(workspace)) == (not denied)
