"""Properties of the Merkle tree over generated workspaces."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers.trees import node_ids, scan, write_tree

from contextree.core.tree import parent_path
from contextree.workspace.fs import FileSystem

segment = st.sampled_from(["a", "b", "c", "src", "lib", "x.py", "y.txt", "é", "Z"])
rel_paths = st.lists(segment, min_size=1, max_size=4).map("/".join)


def _valid(files: dict[str, bytes]) -> dict[str, bytes]:
    """Drop paths that would need a file to also be a directory."""
    keep: dict[str, bytes] = {}
    for path in sorted(files, key=len):
        parts = path.split("/")
        if any("/".join(parts[:i]) in keep for i in range(1, len(parts))):
            continue
        if any(other.startswith(path + "/") for other in keep):
            continue
        keep[path] = files[path]
    return keep


trees = st.dictionaries(rel_paths, st.binary(max_size=16), min_size=1, max_size=10).map(_valid)


class _ReversedFs(FileSystem):
    def scandir(self, path: bytes) -> Iterator[os.DirEntry[bytes]]:
        return iter(reversed(list(super().scandir(path))))


def _ancestors(path: bytes) -> set[bytes]:
    out = {b""}
    while path:
        path = parent_path(path)
        out.add(path)
    return out


def _fresh(files: dict[str, bytes]) -> Path:
    root = Path(tempfile.mkdtemp(prefix="ctx-prop-"))
    write_tree(root, files)
    return root


@settings(max_examples=40)
@given(trees)
def test_root_id_does_not_depend_on_walk_order(files: dict[str, bytes]) -> None:
    root = _fresh(files)
    try:
        forward = scan(root).root_id
        shutil.rmtree(root / ".contextree")
        backward = scan(root, fs=_ReversedFs()).root_id
        assert forward == backward
    finally:
        shutil.rmtree(root)


@settings(max_examples=40)
@given(trees, st.data())
def test_changing_one_file_changes_exactly_it_and_its_ancestors(
    files: dict[str, bytes], data: st.DataObject
) -> None:
    root = _fresh(files)
    try:
        scan(root)
        before = node_ids(root)
        target = data.draw(st.sampled_from(sorted(files)))
        write_tree(root, {target: files[target] + b"!"})
        scan(root)
        after = node_ids(root)
        changed = {p for p in after if after[p] != before[p]}
        assert changed == _ancestors(target.encode()) | {target.encode()}
    finally:
        shutil.rmtree(root)


@settings(max_examples=40)
@given(trees, st.data())
def test_renaming_changes_the_renamed_node_and_its_ancestors_only(
    files: dict[str, bytes], data: st.DataObject
) -> None:
    root = _fresh(files)
    try:
        scan(root)
        before = node_ids(root)
        target = data.draw(st.sampled_from(sorted(files)))
        new = target + ".renamed"
        os.rename(root / target, root / new)
        scan(root)
        after = node_ids(root)
        assert set(after) == (set(before) - {target.encode()}) | {new.encode()}
        changed = {p for p in after if after[p] != before.get(p)}
        assert changed == _ancestors(new.encode()) | {new.encode()}
    finally:
        shutil.rmtree(root)


@settings(max_examples=25)
@given(trees)
def test_moving_the_whole_workspace_changes_no_id(files: dict[str, bytes]) -> None:
    root = _fresh(files)
    moved = Path(tempfile.mkdtemp(prefix="ctx-moved-")) / "elsewhere"
    try:
        scan(root)
        before = node_ids(root)
        shutil.move(root, moved)
        shutil.rmtree(moved / ".contextree")  # a fresh scan in the new place recomputes every id
        scan(moved)
        assert node_ids(moved) == before
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(moved.parent)
