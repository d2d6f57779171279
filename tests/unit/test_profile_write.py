"""``provider add`` writes a profile without following a symlink a clone may have planted."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextree.errors import ProviderConfigError
from contextree.providers.profiles import (
    ProviderProfile,
    load_profile_bytes,
    parse_profile,
    write_profile_file,
)


def _profile() -> ProviderProfile:
    return parse_profile({"type": "openai", "model": "m"}, name="y", source="the command line")


def test_a_planted_temporary_file_symlink_is_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    folder = tmp_path / "providers"
    folder.mkdir()
    (folder / "y.toml.tmp").symlink_to(victim)
    path = folder / "y.toml"
    write_profile_file(path, _profile(), force=False)
    assert victim.read_text() == "keep me\n"
    assert load_profile_bytes(path)[0].model == "m"
    assert sorted(p.name for p in folder.iterdir()) == ["y.toml", "y.toml.tmp"]


def test_a_symlinked_profile_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    folder = tmp_path / "providers"
    folder.mkdir()
    (folder / "y.toml").symlink_to(victim)
    write_profile_file(folder / "y.toml", _profile(), force=True)
    assert victim.read_text() == "keep me\n"
    assert not (folder / "y.toml").is_symlink()


def test_a_symlinked_profile_folder_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "providers"
    folder.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ProviderConfigError) as caught:
        write_profile_file(folder / "y.toml", _profile(), force=False)
    assert "symlink" in caught.value.message
    assert list(elsewhere.iterdir()) == []
