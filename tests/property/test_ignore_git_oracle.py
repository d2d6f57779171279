"""git is the oracle for ignore rules.

For random trees and random ``.gitignore`` / ``.git/info/exclude`` contents, the regular files
contextree keeps must be exactly the files ``git ls-files --others --exclude-standard`` lists in
a fresh repository with no commits. git runs isolated from this machine's configuration.

``kept_by_contextree`` is the one function that says which files contextree keeps; point it at
the real walker to check the walker against git with the same trees.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contextree.workspace.ignore import IgnoreRules

pytestmark = [
    pytest.mark.needs_git,
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not on PATH"),
]

#: Raise locally to shake out disagreements, e.g. IGNORE_ORACLE_EXAMPLES=2000.
MAX_EXAMPLES = int(os.environ.get("IGNORE_ORACLE_EXAMPLES", "250"))

# Few names, so that patterns hit often; none collides with DEFAULT_IGNORES.
NAMES = (
    b"a",
    b"b",
    b"ab",
    b"ba",
    b"abab",
    b"a.a.py",
    b"d",
    b"e",
    b"x.py",
    b"y.txt",
    b"a b",
    b"b ",
    b"!a",
    b"#c",
    b"[x]",
    "é".encode(),
    b"\xff",
    b"n\nl",
)
# Path segments for structured patterns.
SEGMENTS = (
    b"a",
    b"b",
    b"ab",
    b"d",
    b"e",
    b"*",
    b"?",
    b"a*",
    b"*b",
    b"*.py",
    b"x.*",
    b"?.py",
    b"[ab]",
    b"[!a]",
    b"[^d]",
    b"[a-c]",
    b"[]a]",
    b"[[:alpha:]]",
    b"[[:space:]]*",
    b"**",
    b"a**",
    b"\\!a",
    b"\\#c",
    b"a\\ b",
    b"\\[x]",
    b"\xff",
    "é".encode(),
    b"??",
    b"*a*",
    b"*a*b",
    b"a*b*?",
    b"*[ab]*b*",
    b"?*a*.py",
)
# Atoms for unstructured patterns, to exercise odd corners of the glob syntax.
RAW_ATOMS = (b"a", b"b", b"d", b"*", b"?", b"[", b"]", b"!", b"^", b"-", b"/", b"\\", b" ", b":")
SPECIAL_LINES = (
    b"",
    b"# a comment",
    b"#a",
    b"!",
    b"/",
    b"*",
    b"**",
    b"!*",
    b"*/",
    b"!*/",
    b"**/",
    b"/**",
    b"\\",
    b"a\\",
    b"[[:nope:]]",
    b"[a",
    b"[[:alpha:]",
)


@dataclass(frozen=True, kw_only=True)
class Workspace:
    files: tuple[bytes, ...]
    dirs: tuple[bytes, ...]
    #: (directory, content of its .gitignore)
    gitignores: tuple[tuple[bytes, bytes], ...]
    exclude: bytes | None


def _structured_line(
    negate: bool, anchor: bytes, segments: list[bytes], dir_only: bool, trailer: bytes
) -> bytes:
    body = anchor + b"/".join(segments) + (b"/" if dir_only else b"")
    return (b"!" if negate else b"") + body + trailer


pattern_lines = st.one_of(
    st.builds(
        _structured_line,
        negate=st.booleans(),
        anchor=st.sampled_from([b"", b"", b"/", b"**/"]),
        segments=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3),
        dir_only=st.booleans(),
        trailer=st.sampled_from([b"", b"", b"", b" ", b"  ", b"\\ ", b"\t"]),
    ),
    st.lists(st.sampled_from(RAW_ATOMS), min_size=1, max_size=7).map(b"".join),
    st.sampled_from(SPECIAL_LINES),
)


@st.composite
def ignore_contents(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(pattern_lines, min_size=1, max_size=6))
    newline = draw(st.sampled_from([b"\n", b"\n", b"\r\n"]))
    bom = draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf"]))
    final = draw(st.sampled_from([b"", newline]))
    return bom + newline.join(lines) + final


@st.composite
def workspaces(draw: st.DrawFn) -> Workspace:
    paths = draw(
        st.lists(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4), min_size=1, max_size=20)
    )
    is_dir: dict[bytes, bool] = {b"": True}
    for names in paths:
        parents = [b"/".join(names[: i + 1]) for i in range(len(names) - 1)]
        leaf = b"/".join(names)
        if any(is_dir.get(parent) is False for parent in parents):
            continue  # a file already sits where this path needs a directory
        is_dir.update(dict.fromkeys(parents, True))
        is_dir.setdefault(leaf, False)
    dirs = sorted(path for path, kind in is_dir.items() if kind)
    with_ignore = draw(st.lists(st.sampled_from(dirs), unique=True, max_size=4))
    gitignores = tuple((directory, draw(ignore_contents())) for directory in sorted(with_ignore))
    exclude = draw(st.none() | ignore_contents())
    files = tuple(sorted(path for path, kind in is_dir.items() if not kind))
    return Workspace(files=files, dirs=tuple(dirs), gitignores=gitignores, exclude=exclude)


def materialise(workspace: Workspace, root: bytes) -> None:
    for directory in workspace.dirs:
        os.makedirs(os.path.join(root, directory), exist_ok=True)
    for path in workspace.files:
        with open(os.path.join(root, path), "wb") as handle:
            handle.write(b"x")
    for directory, content in workspace.gitignores:
        with open(os.path.join(root, directory, b".gitignore"), "wb") as handle:
            handle.write(content)
    if workspace.exclude is not None:
        os.makedirs(os.path.join(root, b".git", b"info"), exist_ok=True)
        with open(os.path.join(root, b".git", b"info", b"exclude"), "wb") as handle:
            handle.write(workspace.exclude)


def _isolated_git_env(home: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(
        HOME=home,
        XDG_CONFIG_HOME=os.path.join(home, ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
    )
    return env


def git_init(root: bytes, env: dict[str, str]) -> None:
    subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "init", "-q", "--template=", root],
        env=env,
        check=True,
        capture_output=True,
    )


def kept_by_git(root: bytes, env: dict[str, str]) -> frozenset[bytes]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--others", "--exclude-standard"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    ).stdout
    return frozenset(path for path in listed.split(b"\0") if path)


def _read_if_regular(path: bytes) -> bytes | None:
    if os.path.isfile(path) and not os.path.islink(path):
        with open(path, "rb") as handle:
            return handle.read()
    return None


def kept_by_ignore_rules(root: bytes) -> frozenset[bytes]:
    """Regular files kept by a plain top-down walk that uses IgnoreRules as the walker must."""
    kept: set[bytes] = set()
    exclude = _read_if_regular(os.path.join(root, b".git", b"info", b"exclude"))

    def walk(rel: bytes, rules: IgnoreRules) -> None:
        directory = os.path.join(root, rel) if rel else root
        gitignore = _read_if_regular(os.path.join(directory, b".gitignore"))
        if gitignore is not None:
            rules = rules.descend(rel, [(b".gitignore", gitignore)])
        for entry in sorted(os.scandir(directory), key=lambda entry: entry.name):
            child = rel + b"/" + entry.name if rel else entry.name
            if rel == b"" and entry.name == b".git":
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            if rules.ignored(child, is_dir):
                continue
            if is_dir:
                walk(child, rules)
            elif entry.is_file(follow_symlinks=False):
                kept.add(child)

    walk(b"", IgnoreRules.at_root(exclude_file=exclude))
    return frozenset(kept)


#: The files contextree keeps under a workspace root; swap in the real walker here.
kept_by_contextree: Callable[[bytes], frozenset[bytes]] = kept_by_ignore_rules


@settings(
    deadline=None,
    max_examples=MAX_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(workspace=workspaces())
@example(
    # git compares the literal prefix "a" first, so the "**" after it spans directories.
    workspace=Workspace(
        files=(b"a/x/b", b"ab", b"a/b", b"a/b2", b"c/a/x/b"),
        dirs=(b"", b"a", b"a/x", b"c", b"c/a", b"c/a/x"),
        gitignores=((b"", b"a**/b\n"),),
        exclude=None,
    )
)
@example(
    # A deeper negation re-includes; info/exclude loses to every .gitignore.
    workspace=Workspace(
        files=(b"a.log", b"d/a.log", b"d/b.log", b"d/e/a.log", b"keep"),
        dirs=(b"", b"d", b"d/e"),
        gitignores=((b"", b"*.log\n!keep\n"), (b"d", b"!a.log\n")),
        exclude=b"keep\n",
    )
)
def test_contextree_keeps_exactly_the_regular_files_git_lists(workspace: Workspace) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        home = os.path.join(scratch, "home")
        os.mkdir(home)
        env = _isolated_git_env(home)
        root = os.path.join(os.fsencode(scratch), b"work")
        os.mkdir(root)
        git_init(root, env)
        materialise(workspace, root)

        expected = kept_by_git(root, env)
        actual = kept_by_contextree(root)

    assert sorted(actual - expected) == [], "kept by contextree but ignored by git"
    assert sorted(expected - actual) == [], "listed by git but ignored by contextree"
