"""Settings: sources, precedence, errors that name the file, and the generated template."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from contextree.config.settings import Settings, load_settings
from contextree.config.template import render_config_template
from contextree.errors import ConfigError

SETTING_LINE = re.compile(r"^# [a-z_]+ = ")


def _all_fields(model: type, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        ann = info.annotation
        if isinstance(ann, type) and hasattr(ann, "model_fields"):
            out |= _all_fields(ann, prefix + name + ".")
        else:
            out.add(prefix + name)
    return out


def _flatten(data: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out |= _flatten(value, prefix + key + ".")
        else:
            out[prefix + key] = value
    return out


def test_template_parses_as_toml_and_sets_nothing_while_commented() -> None:
    text = render_config_template()
    data = tomllib.loads(text)
    assert all(value == {} for value in data.values())  # only empty tables


def test_uncommented_template_lists_every_setting_with_its_default() -> None:
    text = render_config_template()
    uncommented = "\n".join(
        line[2:] if line.startswith("# ") and " = " in line else line for line in text.splitlines()
    )
    data = tomllib.loads(uncommented)
    assert set(_flatten(data)) == _all_fields(Settings)
    assert Settings.model_validate(data) == Settings.model_validate({})
    assert 'default_agent = "docs-writer"' in uncommented


def test_every_setting_has_a_description() -> None:
    text = render_config_template()
    for line in text.splitlines():
        if SETTING_LINE.match(line):
            idx = text.splitlines().index(line)
            assert text.splitlines()[idx - 1].startswith("# "), line


def test_workspace_file_overrides_user_file_and_environment_overrides_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "user.toml"
    user.write_text('default_agent = "from-user"\n[scan]\nhash_processes = 3\n')
    ws = tmp_path / "ws.toml"
    ws.write_text('default_agent = "from-workspace"\n')
    settings = load_settings(files=[user, ws])
    assert settings.default_agent == "from-workspace"
    assert settings.scan.hash_processes == 3
    monkeypatch.setenv("CONTEXTREE_SCAN__HASH_PROCESSES", "1")
    monkeypatch.setenv("CONTEXTREE_DEFAULT_AGENT", "from-env")
    settings = load_settings(files=[user, ws])
    assert (settings.default_agent, settings.scan.hash_processes) == ("from-env", 1)


def test_unknown_setting_error_names_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[scan]\nhash_procs = 2\n")
    with pytest.raises(ConfigError) as info:
        load_settings(files=[bad])
    assert str(bad) in info.value.message
    assert "scan.hash_procs" in info.value.message


def test_invalid_toml_error_names_file(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("default_agent = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(files=[bad])


def test_missing_files_mean_defaults(tmp_path: Path) -> None:
    assert load_settings(files=[tmp_path / "nope.toml"]) == Settings.model_validate({})
