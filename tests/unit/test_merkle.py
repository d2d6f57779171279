"""Node ids: length-prefixed, relative-path, order-independent BLAKE3 identities."""

from __future__ import annotations

import blake3
from hypothesis import given
from hypothesis import strategies as st
from tests.helpers.trees import content_hash

from contextree.core.ids import dir_node_id, file_node_id
from contextree.core.tree import parent_path

names = st.binary(min_size=1, max_size=8).filter(lambda b: b"/" not in b and b"\0" not in b)


def test_file_id_is_blake3_over_length_prefixed_fields() -> None:
    content = content_hash(b"alpha")
    expected = blake3.blake3(
        (4).to_bytes(8, "big")
        + b"file"
        + (5).to_bytes(8, "big")
        + b"a/b.c"
        + (32).to_bytes(8, "big")
        + content
    ).digest()
    assert file_node_id(b"a/b.c", content) == expected


def test_dir_id_is_blake3_over_sorted_length_prefixed_children() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    expected = blake3.blake3(
        (3).to_bytes(8, "big")
        + b"dir"
        + (1).to_bytes(8, "big")
        + b"d"
        + (2).to_bytes(8, "big")
        + (1).to_bytes(8, "big")
        + b"A"
        + (32).to_bytes(8, "big")
        + a
        + (1).to_bytes(8, "big")
        + b"b"
        + (32).to_bytes(8, "big")
        + b
    ).digest()
    assert dir_node_id(b"d", [(b"b", b), (b"A", a)]) == expected


def test_length_prefixes_prevent_field_boundary_collisions() -> None:
    h = content_hash(b"")
    assert file_node_id(b"ab", h) != file_node_id(b"a", h)
    assert dir_node_id(b"", [(b"ab", b"c" * 32)]) != dir_node_id(b"", [(b"a", b"bc" + b"c" * 30)])


def test_file_and_directory_with_same_path_differ() -> None:
    assert file_node_id(b"x", b"\0" * 32) != dir_node_id(b"x", [])


@given(st.data(), st.dictionaries(names, st.binary(min_size=32, max_size=32), max_size=12))
def test_dir_id_does_not_depend_on_child_order(
    data: st.DataObject, children: dict[bytes, bytes]
) -> None:
    items = list(children.items())
    shuffled = data.draw(st.permutations(items))
    assert dir_node_id(b"p", items) == dir_node_id(b"p", shuffled)


def test_parent_paths() -> None:
    assert parent_path(b"a/b") == b"a"
    assert parent_path(b"a") == b""
