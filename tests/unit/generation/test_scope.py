"""Generation scope: decided by path and size only."""

from __future__ import annotations

import pytest

from contextree.context.generation.scope import Scope, ScopeRules

RULES = ScopeRules.build()


@pytest.mark.parametrize(
    "path",
    [
        b".env",
        b"app/.env.production",
        b"certs/server.pem",
        b"deploy/tls.key",
        b"home/id_rsa",
        b"home/id_ed25519.pub",
        b"aws/credentials",
        b"gcp-credentials-prod.json",
    ],
)
def test_secret_files_are_withheld(path: bytes) -> None:
    assert RULES.classify_file(path, 100) is Scope.WITHHELD


def test_secret_files_are_withheld_even_when_empty_or_huge() -> None:
    assert RULES.classify_file(b".env", 0) is Scope.WITHHELD
    assert RULES.classify_file(b".env", 10 << 20) is Scope.WITHHELD


@pytest.mark.parametrize(
    "path",
    [
        b"uv.lock",
        b"web/package-lock.json",
        b"static/app.min.js",
        b"vendor/lib/a.go",
        b"src/third_party/x/y.c",
        b"proto/msg_pb2.py",
        b"dist/bundle.js",
    ],
)
def test_lockfiles_minified_vendored_and_generated_files_get_structural_frames(
    path: bytes,
) -> None:
    assert RULES.classify_file(path, 100) is Scope.STRUCTURAL


def test_files_over_the_size_limit_get_structural_frames() -> None:
    rules = ScopeRules.build(max_llm_file_size=1000)
    assert rules.classify_file(b"src/a.py", 1000) is Scope.LLM
    assert rules.classify_file(b"src/a.py", 1001) is Scope.STRUCTURAL


def test_empty_files_need_no_call() -> None:
    assert RULES.classify_file(b"src/__init__.py", 0) is Scope.EMPTY


def test_ordinary_source_goes_to_the_llm() -> None:
    assert RULES.classify_file(b"src/environment.py", 10) is Scope.LLM
    assert RULES.classify_file(b"docs/keys.md", 10) is Scope.LLM


def test_patterns_are_configurable() -> None:
    rules = ScopeRules.build(secret_patterns=["*.txt"], structural_patterns=[])
    assert rules.classify_file(b"a/b.txt", 5) is Scope.WITHHELD
    assert rules.classify_file(b"uv.lock", 5) is Scope.LLM
