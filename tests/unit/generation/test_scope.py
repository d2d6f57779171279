"""Generation scope: decided by path and size only."""

from __future__ import annotations

import pytest

from contextree.workspace.scope import Scope, ScopeRules

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


@pytest.mark.parametrize(
    "path",
    [
        b".ENV",
        b"app/.Env.Production",
        b"ID_RSA",
        b"home/Id_Ed25519",
        b"SERVER.PEM",
        b"certs/Tls.Key",
        b"AWS/CREDENTIALS",
        b"private_key.txt",
        b"keys/my-Private-Key.json",
        b".docker/config.json",
        b"home/.docker/config.json",
        b".kube/config",
        b"ops/.kube/config",
        b"infra/prod.tfvars",
        b"infra/terraform.tfstate",
        b"infra/terraform.tfstate.backup",
        b"deploy/putty.ppk",
        b".git-credentials",
        b"home/.GIT-CREDENTIALS",
    ],
)
def test_secret_files_are_withheld_whatever_their_case_and_the_new_patterns(path: bytes) -> None:
    assert RULES.classify_file(path, 100) is Scope.WITHHELD


def test_a_directory_pattern_matches_case_insensitively_too() -> None:
    rules = ScopeRules.build(secret_patterns=["secrets/"], structural_patterns=[])
    assert rules.classify_file(b"app/SECRETS/db.yaml", 5) is Scope.WITHHELD
    assert rules.classify_file(b"app/secrets.py", 5) is Scope.LLM


def test_lookalikes_of_the_new_patterns_still_go_to_the_llm() -> None:
    for path in (b"src/docker/config.json", b"kube/config", b"src/config.json", b"key.py"):
        assert RULES.classify_file(path, 10) is Scope.LLM, path
