"""IgnoreRules follows git's .gitignore semantics; each expected value here was checked with git."""

from __future__ import annotations

import time

import pytest

from contextree.workspace.ignore import DEFAULT_IGNORES, IGNORE_FILE_NAMES, IgnoreRules

FILE, DIR = False, True


def root_rules(gitignore: bytes) -> IgnoreRules:
    """Rules for the root's entries with no built-in defaults and one root .gitignore."""
    return IgnoreRules.at_root(defaults=()).descend(b"", [(b".gitignore", gitignore)])


def ignored_names(gitignore: bytes, paths: list[bytes], *, is_dir: bool = FILE) -> list[bytes]:
    rules = root_rules(gitignore)
    return [path for path in paths if rules.ignored(path, is_dir)]


# (gitignore content, path, is_dir, ignored) for entries whose parents are not ignored.
PATTERN_CASES = [
    pytest.param(b"a\n", b"a", FILE, True, id="plain-name-matches-file"),
    pytest.param(b"a\n", b"a", DIR, True, id="plain-name-matches-dir"),
    pytest.param(b"a\n", b"d/e/a", FILE, True, id="name-without-slash-matches-at-any-depth"),
    pytest.param(b"a\n", b"ab", FILE, False, id="name-must-match-whole-component"),
    pytest.param(b"/a\n", b"a", FILE, True, id="leading-slash-anchors-to-the-directory"),
    pytest.param(b"/a\n", b"d/a", FILE, False, id="anchored-name-not-matched-deeper"),
    pytest.param(b"d/a\n", b"d/a", FILE, True, id="middle-slash-anchors"),
    pytest.param(b"d/a\n", b"e/d/a", FILE, False, id="middle-slash-not-matched-deeper"),
    pytest.param(b"a/\n", b"a", DIR, True, id="trailing-slash-matches-dir"),
    pytest.param(b"a/\n", b"a", FILE, False, id="trailing-slash-skips-file-and-symlink"),
    pytest.param(b"a/\n", b"d/a", DIR, True, id="trailing-slash-name-matches-dir-at-any-depth"),
    pytest.param(b"d/a/\n", b"d/a", DIR, True, id="trailing-slash-anchored-dir"),
    pytest.param(b"a//\n", b"a", DIR, False, id="double-trailing-slash-matches-nothing"),
    pytest.param(b"*.py\n", b"d/x.py", FILE, True, id="star-suffix-at-any-depth"),
    pytest.param(b"*\n", b"n\nl", FILE, True, id="star-matches-newline-in-name"),
    pytest.param(b"d/*\n", b"d/a", FILE, True, id="star-matches-within-component"),
    pytest.param(b"d/*\n!d/e/\n", b"d/e/a", FILE, False, id="star-never-matches-slash"),
    pytest.param(b"d?a\n", b"d/a", FILE, False, id="question-mark-never-matches-slash"),
    pytest.param(b"?\n", "é".encode(), FILE, False, id="question-mark-matches-one-byte-not-char"),
    pytest.param(b"??\n", "é".encode(), FILE, True, id="two-question-marks-match-two-byte-char"),
    pytest.param(b"\xff*\n", b"\xffz", FILE, True, id="non-utf8-pattern-matches-non-utf8-name"),
    pytest.param(b"[ab]\n", b"b", FILE, True, id="bracket-set"),
    pytest.param(b"[a-c]\n", b"c", FILE, True, id="bracket-range"),
    pytest.param(b"[c-a]\n", b"b", FILE, False, id="reversed-range-is-empty"),
    pytest.param(b"[!a]\n", b"b", FILE, True, id="bang-negates-bracket"),
    pytest.param(b"[^a]\n", b"a", FILE, False, id="caret-negates-bracket"),
    pytest.param(b"[]a]\n", b"]", FILE, True, id="close-bracket-first-is-literal"),
    pytest.param(b"[a-]\n", b"-", FILE, True, id="dash-last-is-literal"),
    pytest.param(b"[\\]]\n", b"]", FILE, True, id="backslash-escapes-inside-bracket"),
    pytest.param(b"[[:alpha:]]\n", b"Q", FILE, True, id="posix-alpha"),
    pytest.param(b"[[:alpha:]]\n", "é".encode()[:1], FILE, False, id="posix-classes-are-ascii"),
    pytest.param(b"a[[:space:]]\n", b"a\x0b", FILE, False, id="git-space-class-excludes-vt"),
    pytest.param(b"a[[:space:]]\n", b"a\r", FILE, True, id="git-space-class-includes-cr"),
    pytest.param(b"[[:nope:]]\n", b"n", FILE, False, id="unknown-posix-class-never-matches"),
    pytest.param(b"[[:a]\n", b"[", FILE, True, id="bracket-colon-without-close-is-literal"),
    pytest.param(b"[ab\n", b"[ab", FILE, False, id="unterminated-bracket-never-matches"),
    pytest.param(b"[!/]\n!d/\n", b"d/a", FILE, False, id="slash-in-bracket-anchors-pattern"),
    pytest.param(b"[!/]\n", b"a", FILE, True, id="slash-in-bracket-still-matches-at-top"),
    pytest.param(b"**/a\n", b"a", FILE, True, id="leading-double-star-matches-zero-dirs"),
    pytest.param(b"**/a\n", b"d/e/a", FILE, True, id="leading-double-star-matches-many-dirs"),
    pytest.param(b"d/**\n", b"d/e", DIR, True, id="trailing-double-star-matches-inside"),
    pytest.param(b"d/**\n", b"d", DIR, False, id="trailing-double-star-not-the-dir-itself"),
    pytest.param(b"a/**/b\n", b"a/b", FILE, True, id="middle-double-star-matches-zero-dirs"),
    pytest.param(b"a/**/b\n", b"a/x/y/b", FILE, True, id="middle-double-star-matches-many-dirs"),
    pytest.param(b"**/**/x\n", b"d/e/x", FILE, True, id="repeated-double-star-dirs"),
    pytest.param(b"a/**/**/b\n", b"a/b", FILE, True, id="repeated-middle-double-star-zero-dirs"),
    pytest.param(b"**/a/**/b\n", b"x/a/y/b", FILE, True, id="double-stars-around-a-dir"),
    pytest.param(b"**/a/**/b\n", b"x/y/b", FILE, False, id="double-stars-need-the-dir"),
    pytest.param(b"d/x**y/a\n", b"d/x/y/a", FILE, False, id="double-star-inside-component-is-star"),
    pytest.param(
        b"a**/b\n", b"a/x/b", FILE, True, id="double-star-after-literal-prefix-spans-dirs"
    ),
    pytest.param(b"a**/b\n", b"ab", FILE, True, id="double-star-after-literal-prefix-zero-dirs"),
    pytest.param(b"/**x\n", b"d/x", FILE, False, id="double-star-before-letter-is-star"),
    pytest.param(b"*ab*ab\n", b"ababab", FILE, True, id="stars-retry-later-occurrences"),
    pytest.param(b"*ab*ab\n", b"abba", FILE, False, id="stars-need-every-segment"),
    pytest.param(b"*a*?b\n", b"aab", FILE, True, id="segment-after-star-may-start-early"),
    pytest.param(b"d/*a*/b\n", b"d/xaya/b", FILE, True, id="stars-in-one-component-of-path"),
    pytest.param(b"*a*.py\n", b"a.a.py", FILE, True, id="suffix-after-stars"),
    pytest.param(b"\\#a\n", b"#a", FILE, True, id="escaped-hash-is-literal"),
    pytest.param(b"#a\n", b"#a", FILE, False, id="hash-line-is-comment"),
    pytest.param(b" #a\n", b" #a", FILE, True, id="hash-after-space-is-pattern"),
    pytest.param(b"\\!a\n", b"!a", FILE, True, id="escaped-bang-is-literal"),
    pytest.param(b"a   \n", b"a", FILE, True, id="trailing-spaces-trimmed"),
    pytest.param(b"a\\ \n", b"a ", FILE, True, id="escaped-trailing-space-kept"),
    pytest.param(b"a\\  \n", b"a ", FILE, True, id="only-spaces-after-escaped-one-trimmed"),
    pytest.param(b"a\t\n", b"a", FILE, False, id="trailing-tab-not-trimmed"),
    pytest.param(b"a\\\n", b"a", FILE, False, id="trailing-backslash-never-matches"),
    pytest.param(b"/\n", b"a", DIR, False, id="lone-slash-matches-nothing"),
    pytest.param(b"*\n!\n", b"a", FILE, True, id="lone-bang-matches-nothing"),
    pytest.param(b"a\r\n", b"a", FILE, True, id="crlf-line-ending"),
    pytest.param(b"\xef\xbb\xbfa\n", b"a", FILE, True, id="bom-at-start-skipped"),
    pytest.param(b"b\n\xef\xbb\xbfa\n", b"a", FILE, False, id="bom-later-is-part-of-pattern"),
    pytest.param(b"a\0b\n", b"a", FILE, True, id="nul-ends-the-line"),
    pytest.param(b"a", b"a", FILE, True, id="last-line-without-newline"),
]


@pytest.mark.parametrize(("gitignore", "path", "is_dir", "expected"), PATTERN_CASES)
def test_pattern_matches_like_git(
    gitignore: bytes, path: bytes, is_dir: bool, expected: bool
) -> None:
    assert root_rules(gitignore).ignored(path, is_dir) is expected


def test_many_stars_match_without_runaway_backtracking() -> None:
    # A plain translation backtracks polynomially: this took about 100 s before.
    rules = root_rules(b"*a*a*a*a*a*a*b\n")
    started = time.perf_counter()
    assert rules.ignored(b"a" * 120, FILE) is False
    assert rules.ignored(b"a" * 120 + b"b", FILE) is True
    assert time.perf_counter() - started < 0.5


def test_many_double_stars_match_without_runaway_backtracking() -> None:
    rules = root_rules(b"**/a/**/a/**/a/**/a/**/a/**/b\n**/**/**/**/**/**/**/x\n")
    deep = b"/".join([b"a"] * 60)
    started = time.perf_counter()
    assert rules.ignored(deep + b"/y", FILE) is False
    assert rules.ignored(deep + b"/b", FILE) is True
    assert rules.ignored(deep + b"/x", FILE) is True
    assert time.perf_counter() - started < 0.5


def test_blank_lines_and_comments_add_no_patterns() -> None:
    rules = IgnoreRules.at_root(defaults=())
    assert rules.descend(b"", [(b".gitignore", b"\n\n# a\n#b\n")]) is rules


def test_descend_without_ignore_files_returns_same_rules() -> None:
    rules = IgnoreRules.at_root()
    assert rules.descend(b"d", []) is rules


def test_last_matching_pattern_wins_within_a_file() -> None:
    assert ignored_names(b"*.py\n!x.py\n", [b"x.py", b"z.py"]) == [b"z.py"]
    assert ignored_names(b"!x.py\n*.py\n", [b"x.py", b"z.py"]) == [b"x.py", b"z.py"]


def test_negation_alternates_by_last_match() -> None:
    gitignore = b"*\n!a*\nab*\n!abc\n"
    assert ignored_names(gitignore, [b"x", b"a", b"ab", b"abc", b"abcd"]) == [b"x", b"ab", b"abcd"]


def test_dir_only_negation_does_not_apply_to_files() -> None:
    rules = root_rules(b"a\n!a/\n")
    assert rules.ignored(b"a", DIR) is False
    assert rules.ignored(b"a", FILE) is True


def test_deeper_gitignore_overrides_shallower() -> None:
    root = root_rules(b"*.log\n!keep\n")
    inner = root.descend(b"d", [(b".gitignore", b"!a.log\nkeep\n")])
    assert root.ignored(b"a.log", FILE) is True
    assert root.ignored(b"keep", FILE) is False
    assert inner.ignored(b"d/a.log", FILE) is False
    assert inner.ignored(b"d/b.log", FILE) is True
    assert inner.ignored(b"d/keep", FILE) is True


def test_shallower_negation_still_applies_when_deeper_file_does_not_match() -> None:
    inner = root_rules(b"*\n!x.py\n!d/\n").descend(b"d", [(b".gitignore", b"y*\n")])
    assert inner.ignored(b"d/x.py", FILE) is False
    assert inner.ignored(b"d/y.txt", FILE) is True
    assert inner.ignored(b"d/z", FILE) is True


def test_gitignore_patterns_are_relative_to_their_directory() -> None:
    inner = root_rules(b"").descend(b"d", [(b".gitignore", b"/a\ne/b\nc\n")])
    assert inner.ignored(b"d/a", FILE) is True
    assert inner.ignored(b"d/e/b", FILE) is True
    assert inner.ignored(b"d/e/a", FILE) is False
    assert inner.ignored(b"d/x/e/b", FILE) is False
    assert inner.ignored(b"d/e/c", FILE) is True


def test_nested_patterns_do_not_apply_to_siblings() -> None:
    root = root_rules(b"")
    inner = root.descend(b"d", [(b".gitignore", b"a\n")])
    assert inner.ignored(b"d/a", FILE) is True
    assert root.ignored(b"a", FILE) is False
    assert root.ignored(b"e/a", FILE) is False


def test_directory_names_with_regex_characters_are_literal_bases() -> None:
    inner = root_rules(b"").descend(b"d.(x)", [(b".gitignore", b"/a\n")])
    assert inner.ignored(b"d.(x)/a", FILE) is True


def test_contextreeignore_overrides_gitignore_in_same_directory() -> None:
    assert IGNORE_FILE_NAMES == (b".gitignore", b".contextreeignore")
    files = [(b".gitignore", b"*.py\n!b\n"), (b".contextreeignore", b"!x.py\nb\n")]
    rules = IgnoreRules.at_root(defaults=()).descend(b"", files)
    assert rules.ignored(b"x.py", FILE) is False
    assert rules.ignored(b"z.py", FILE) is True
    assert rules.ignored(b"b", FILE) is True


def test_contextreeignore_is_overridden_by_deeper_gitignore() -> None:
    root = IgnoreRules.at_root(defaults=()).descend(b"", [(b".contextreeignore", b"*.py\n")])
    inner = root.descend(b"d", [(b".gitignore", b"!x.py\n")])
    assert inner.ignored(b"d/x.py", FILE) is False
    assert inner.ignored(b"d/z.py", FILE) is True


def test_info_exclude_applies_from_the_root() -> None:
    rules = IgnoreRules.at_root(defaults=(), exclude_file=b"a\n/b\n")
    assert rules.ignored(b"a", FILE) is True
    assert rules.ignored(b"d/a", FILE) is True
    assert rules.ignored(b"b", FILE) is True
    assert rules.ignored(b"d/b", FILE) is False


def test_info_exclude_is_below_every_gitignore() -> None:
    rules = IgnoreRules.at_root(defaults=(), exclude_file=b"a\n!b\n")
    root = rules.descend(b"", [(b".gitignore", b"!a\nb\n")])
    inner = rules.descend(b"d", [(b".gitignore", b"!a\n")])
    assert root.ignored(b"a", FILE) is False
    assert root.ignored(b"b", FILE) is True
    assert inner.ignored(b"d/a", FILE) is False


def test_info_exclude_skips_bom_and_comments() -> None:
    rules = IgnoreRules.at_root(defaults=(), exclude_file=b"\xef\xbb\xbf# x\na\r\n")
    assert rules.ignored(b"a", FILE) is True
    assert rules.ignored(b"# x", FILE) is False


def test_defaults_ignore_their_names_at_any_depth() -> None:
    assert DEFAULT_IGNORES == (b".git", b".contextree", b"node_modules", b"__pycache__", b".venv")
    rules = IgnoreRules.at_root()
    assert rules.ignored(b".git", DIR) is True
    assert rules.ignored(b".git", FILE) is True
    assert rules.ignored(b"d/e/node_modules", DIR) is True
    assert rules.ignored(b"d/__pycache__", DIR) is True
    assert rules.ignored(b".venv", DIR) is True
    assert rules.ignored(b".contextree", DIR) is True
    assert rules.ignored(b"src", DIR) is False


def test_defaults_are_below_info_exclude_and_gitignore() -> None:
    rules = IgnoreRules.at_root(exclude_file=b"!.venv\n")
    assert rules.ignored(b".venv", DIR) is False
    inner = IgnoreRules.at_root().descend(b"d", [(b".gitignore", b"!node_modules/\n")])
    assert inner.ignored(b"d/node_modules", DIR) is False
    assert inner.ignored(b"d/__pycache__", DIR) is True


def test_custom_defaults_replace_the_builtin_ones() -> None:
    rules = IgnoreRules.at_root(defaults=(b"build/",))
    assert rules.ignored(b".git", DIR) is False
    assert rules.ignored(b"d/build", DIR) is True
    assert rules.ignored(b"d/build", FILE) is False


def test_no_rules_ignore_nothing() -> None:
    rules = IgnoreRules.at_root(defaults=())
    assert rules.ignored(b"a", FILE) is False
    assert rules.ignored(b"a", DIR) is False


def test_case_insensitive_rules_fold_ascii_case_of_names_paths_and_classes() -> None:
    text = b".env\n*.PEM\nconfig/[a-c]ache/\n"
    folded = IgnoreRules.at_root(defaults=(), exclude_file=text, ignore_case=True)
    exact = IgnoreRules.at_root(defaults=(), exclude_file=text)
    for path, is_dir in ((b".ENV", False), (b"a/server.pem", False), (b"CONFIG/BACHE", True)):
        assert folded.ignored(path, is_dir), path
        assert not exact.ignored(path, is_dir), path  # gitignore semantics stay case-sensitive
    assert not folded.ignored(b"a/server.pe", False)


def test_case_insensitive_rules_stay_so_after_descending() -> None:
    rules = IgnoreRules.at_root(defaults=(), ignore_case=True)
    rules = rules.descend(b"sub", [(b".gitignore", b"*.Key\n")])
    assert rules.ignored(b"sub/TLS.KEY", False)
