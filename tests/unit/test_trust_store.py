"""The trust store: approvals per (real workspace path, file, digest), kept in the user state
directory, written atomically, never read or written through a symlink; anything malformed
trusts nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from contextree.config.paths import user_state_dir
from contextree.errors import ConfigError
from contextree.workspace.trust import (
    TrustStore,
    WorkspaceTrust,
    default_trust_file,
    file_digest,
    relative_name,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    (path / ".contextree" / "providers").mkdir(parents=True)
    return path


def test_the_store_lives_in_the_hermetic_user_state_directory() -> None:
    state = Path(os.environ["XDG_STATE_HOME"])
    assert user_state_dir() == state / "contextree"
    assert default_trust_file().parent == state / "contextree"


def test_an_approval_is_for_these_bytes_only(tmp_path: Path, root: Path) -> None:
    store = TrustStore(tmp_path / "state" / "trust.json")
    profile = root / ".contextree" / "providers" / "x.toml"
    digest = file_digest(b'type = "openai"\n')
    store.approve(root, {relative_name(root, profile): digest})

    trust = WorkspaceTrust.load(root, store)
    assert trust.trusted(profile, digest)
    assert not trust.trusted(profile, file_digest(b'type = "openai"\n# edited\n'))
    assert not trust.trusted(root / ".contextree" / "providers" / "y.toml", digest)
    assert not WorkspaceTrust.load(tmp_path / "other", store).trusted(profile, digest)


def test_a_prompt_file_is_part_of_the_digest() -> None:
    profile = b'role = "writer"\nsystem_prompt_file = "p.md"\n'
    assert file_digest(profile, b"one") != file_digest(profile, b"two")
    # Length-prefixed: moving bytes between the profile and its prompt changes the digest.
    assert file_digest(b"ab", b"c") != file_digest(b"a", b"bc")


def test_a_symlinked_checkout_is_the_same_workspace(tmp_path: Path, root: Path) -> None:
    store = TrustStore(tmp_path / "trust.json")
    link = tmp_path / "link"
    link.symlink_to(root, target_is_directory=True)
    store.approve(link, {".contextree/providers/x.toml": "d1"})
    assert store.approvals(root) == {".contextree/providers/x.toml": "d1"}


def test_revoke_forgets_only_this_workspace(tmp_path: Path, root: Path) -> None:
    store = TrustStore(tmp_path / "trust.json")
    other = tmp_path / "other"
    other.mkdir()
    store.approve(root, {"a.toml": "d1", "b.toml": "d2"})
    store.approve(other, {"a.toml": "d3"})
    assert store.revoke(root) == 2
    assert store.approvals(root) == {}
    assert store.approvals(other) == {"a.toml": "d3"}
    assert store.revoke(root) == 0


def test_approvals_merge_and_the_file_is_versioned_json(tmp_path: Path, root: Path) -> None:
    path = tmp_path / "state" / "trust.json"
    store = TrustStore(path)
    store.approve(root, {"a.toml": "d1"})
    store.approve(root, {"b.toml": "d2", "a.toml": "d9"})
    doc = json.loads(path.read_text())
    assert doc["version"] == 1
    assert doc["workspaces"][os.path.realpath(root)]["files"] == {"a.toml": "d9", "b.toml": "d2"}
    assert [p.name for p in path.parent.iterdir()] == ["trust.json"]  # no temporary file left


@pytest.mark.parametrize(
    "content",
    [b"", b"\xff\xfe", b"not json", b"[]", b'{"version": 99, "workspaces": {}}', b'{"version": 1}'],
)
def test_a_malformed_store_trusts_nothing(tmp_path: Path, root: Path, content: bytes) -> None:
    path = tmp_path / "trust.json"
    path.write_bytes(content)
    assert TrustStore(path).approvals(root) == {}


def test_the_store_is_never_read_through_a_symlink(tmp_path: Path, root: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    TrustStore(elsewhere).approve(root, {"a.toml": "d1"})
    link = tmp_path / "state" / "trust.json"
    link.parent.mkdir()
    link.symlink_to(elsewhere)
    assert TrustStore(link).approvals(root) == {}


def test_a_write_replaces_a_symlink_instead_of_following_it(tmp_path: Path, root: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "state" / "trust.json"
    link.parent.mkdir()
    link.symlink_to(victim)
    TrustStore(link).approve(root, {"a.toml": "d1"})
    assert victim.read_text() == "keep me\n"
    assert not link.is_symlink()
    assert TrustStore(link).approvals(root) == {"a.toml": "d1"}


def test_a_symlinked_state_directory_is_refused(tmp_path: Path, root: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    state = tmp_path / "state"
    state.symlink_to(real, target_is_directory=True)
    with pytest.raises(ConfigError) as caught:
        TrustStore(state / "trust.json").approve(root, {"a.toml": "d1"})
    assert "symlink" in caught.value.message
    assert list(real.iterdir()) == []
