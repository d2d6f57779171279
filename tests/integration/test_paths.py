"""Typed paths: resolution against the scanned tree, NFC matching, and explained misses."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers.trees import write_tree

from contextree.errors import PathNotFoundError
from contextree.store.db import Store
from contextree.store.tree import TreeRows
from contextree.workspace.paths import IgnoreOptions, relative_path, resolve_typed_path
from contextree.workspace.scan import Scanner, ScanOptions

NFC = unicodedata.normalize("NFC", "café.txt")
NFD = unicodedata.normalize("NFD", "café.txt")


@pytest.fixture
def rows(workspace: Path) -> Iterator[TreeRows]:
    write_tree(
        workspace,
        {
            "src/a.py": "A = 1\n",
            "docs/" + NFD: "decomposed name\n",
            "logs/app.log": "x\n",
            "logs/keep.log": "y\n",
            "logs/.contextreeignore": "*.log\n!keep.log\n",
            "vendor/lib.js": "z\n",
            "env/pyvenv.cfg": "home = /usr\n",
            "env/lib/site.py": "s\n",
            ".gitignore": "secret/\n",
            "secret/key.txt": "k\n",
            "node_modules/x/index.js": "n\n",
        },
    )
    (workspace / ".contextree").mkdir()
    with Store.open(workspace / ".contextree" / "store.db") as store:
        Scanner(workspace, store, options=ScanOptions(extra_ignores=(b"vendor/",))).scan()
        yield TreeRows(store.conn)


OPTIONS = IgnoreOptions(extra_ignores=(b"vendor/",))


def resolve(rows: TreeRows, root: Path, typed: str, cwd: Path | None = None) -> bytes:
    return resolve_typed_path(typed, root=root, rows=rows, cwd=cwd or root, options=OPTIONS).path


def explain(rows: TreeRows, root: Path, typed: str) -> PathNotFoundError:
    with pytest.raises(PathNotFoundError) as caught:
        resolve_typed_path(typed, root=root, rows=rows, cwd=root, options=OPTIONS)
    return caught.value


def test_relative_paths_start_at_the_current_directory_inside_the_workspace(
    workspace: Path,
) -> None:
    (workspace / "src").mkdir()
    assert relative_path("a.py", root=workspace, cwd=workspace / "src") == b"src/a.py"
    assert relative_path("../README", root=workspace, cwd=workspace / "src") == b"README"
    assert relative_path(".", root=workspace, cwd=workspace) == b""
    assert relative_path(str(workspace / "src/"), root=workspace, cwd=Path("/")) == b"src"


def test_relative_paths_start_at_the_root_when_the_current_directory_is_elsewhere(
    workspace: Path, tmp_path: Path
) -> None:
    assert relative_path("src/a.py", root=workspace, cwd=tmp_path) == b"src/a.py"


def test_a_symlinked_spelling_of_the_workspace_is_inside_it(
    workspace: Path, tmp_path: Path
) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(workspace)
    (workspace / "src").mkdir()
    assert relative_path(str(alias / "src" / "a.py"), root=workspace) == b"src/a.py"


def test_paths_outside_the_workspace_are_refused(workspace: Path) -> None:
    with pytest.raises(PathNotFoundError, match="outside the workspace"):
        relative_path("../other/x.py", root=workspace, cwd=workspace)
    with pytest.raises(PathNotFoundError, match="outside the workspace"):
        relative_path("/etc/hostname", root=workspace)


def test_exact_paths_and_nfc_spellings_resolve(rows: TreeRows, workspace: Path) -> None:
    assert resolve(rows, workspace, "src/a.py") == b"src/a.py"
    assert resolve(rows, workspace, ".") == b""
    assert resolve(rows, workspace, "docs/" + NFC) == ("docs/" + NFD).encode()


def test_nfc_twins_are_an_ambiguity_listing_both(workspace: Path) -> None:
    composed = "\u1ead.txt"  # a with circumflex and dot below, precomposed
    decomposed = unicodedata.normalize("NFD", composed)  # a, dot below, circumflex
    typed = "a\u0302\u0323.txt"  # the marks in the other order: a third spelling
    assert typed not in (composed, decomposed)
    assert unicodedata.normalize("NFC", typed) == composed
    write_tree(workspace, {"t/" + composed: "1\n", "t/" + decomposed: "2\n"})
    (workspace / ".contextree").mkdir()
    with Store.open(workspace / ".contextree" / "store.db") as store:
        Scanner(workspace, store).scan()
        rows = TreeRows(store.conn)
        assert resolve(rows, workspace, "t/" + composed) == ("t/" + composed).encode()
        assert resolve(rows, workspace, "t/" + decomposed) == ("t/" + decomposed).encode()
        with pytest.raises(PathNotFoundError) as caught:
            resolve(rows, workspace, "t/" + typed)
    message = caught.value.message
    assert "differ only in Unicode normalisation" in message
    assert repr("t/" + composed) in message and repr("t/" + decomposed) in message


@pytest.mark.parametrize(
    ("typed", "message", "hint"),
    [
        ("logs/app.log", "logs/app.log is ignored by logs/.contextreeignore", "Edit logs/"),
        ("secret/key.txt", "ignored by .gitignore (it is inside secret)", "Edit .gitignore"),
        ("vendor/lib.js", "ignored by the scan.ignore setting", "scan.ignore"),
        ("node_modules/x/index.js", "ignored by the built-in ignore list", "Built-in"),
        ("env/lib/site.py", "inside a Python virtual environment (env)", "skip_virtualenvs"),
        ("src/nothing.py", "src/nothing.py does not exist", "Check the spelling"),
    ],
)
def test_misses_are_explained_with_what_to_change(
    rows: TreeRows, workspace: Path, typed: str, message: str, hint: str
) -> None:
    error = explain(rows, workspace, typed)
    assert message in error.message
    assert error.hint is not None and hint in error.hint


def test_a_negated_pattern_keeps_a_file_in_the_tree(rows: TreeRows, workspace: Path) -> None:
    assert resolve(rows, workspace, "logs/keep.log") == b"logs/keep.log"


def test_new_files_and_symlinks_are_explained(rows: TreeRows, workspace: Path) -> None:
    write_tree(workspace, {"src/new.py": "N = 1\n"})
    (workspace / "src" / "link.py").symlink_to("a.py")
    new = explain(rows, workspace, "src/new.py")
    assert "not in the tree yet" in new.message
    assert new.hint == "Run `contextree scan`."
    assert "symbolic link" in explain(rows, workspace, "src/link.py").message


def test_an_unscanned_store_says_to_scan(workspace: Path) -> None:
    write_tree(workspace, {"a.py": "A = 1\n"})
    (workspace / ".contextree").mkdir()
    with Store.open(workspace / ".contextree" / "store.db") as store:
        rows = TreeRows(store.conn)
        with pytest.raises(PathNotFoundError, match="has not been scanned yet") as caught:
            resolve_typed_path("a.py", root=workspace, rows=rows, cwd=workspace)
    assert caught.value.hint == "Run `contextree scan` first."
