"""Security and spend settings from a workspace config may only tighten the user's: secret
patterns add to the user's (and the defaults), redaction cannot be switched off, size caps are
taken only when smaller. The environment, which the user controls, still sets anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextree.config.generation import DEFAULT_SECRET_PATTERNS, GenerationSettings
from contextree.config.settings import load_settings


def _files(tmp_path: Path, user: str, workspace: str) -> tuple[Path, Path]:
    user_file, ws_file = tmp_path / "user.toml", tmp_path / "ws.toml"
    user_file.write_text(user)
    ws_file.write_text(workspace)
    return user_file, ws_file


def test_workspace_secret_patterns_add_to_the_defaults_never_replace_them(
    tmp_path: Path,
) -> None:
    user, ws = _files(tmp_path, "", "[generation]\nsecret_patterns = []\n")
    settings = load_settings(files=[user], workspace=ws, environ={})
    assert settings.generation.secret_patterns == list(DEFAULT_SECRET_PATTERNS)
    user, ws = _files(tmp_path, "", '[generation]\nsecret_patterns = ["*.sql", "!.env"]\n')
    patterns = load_settings(files=[user], workspace=ws, environ={}).generation.secret_patterns
    # The workspace's own patterns come first, so a negation there cannot undo a default.
    assert patterns == ["*.sql", "!.env", *DEFAULT_SECRET_PATTERNS]


def test_workspace_secret_patterns_add_to_the_users_own_list(tmp_path: Path) -> None:
    user, ws = _files(
        tmp_path,
        '[generation]\nsecret_patterns = [".env", "*.pem"]\n',
        '[generation]\nsecret_patterns = ["*.pem", "*.sql"]\n',
    )
    settings = load_settings(files=[user], workspace=ws, environ={})
    assert settings.generation.secret_patterns == ["*.sql", ".env", "*.pem"]


def test_the_environment_may_still_replace_the_secret_patterns(tmp_path: Path) -> None:
    user, ws = _files(tmp_path, "", '[generation]\nsecret_patterns = ["*.sql"]\n')
    env = {"CONTEXTREE_GENERATION__SECRET_PATTERNS": '[".env"]'}
    settings = load_settings(files=[user], workspace=ws, environ=env)
    assert settings.generation.secret_patterns == [".env"]


def test_a_workspace_cannot_switch_redaction_off_but_the_user_can(tmp_path: Path) -> None:
    user, ws = _files(tmp_path, "", "[generation]\nredact = false\n")
    notices: list[str] = []
    settings = load_settings(files=[user], workspace=ws, environ={}, notices=notices)
    assert settings.generation.redact is True
    assert notices == [
        f"{ws}: `generation.redact = false` is ignored: a workspace config cannot switch "
        "redaction off (set it in your user config, CONTEXTREE_GENERATION__REDACT=false or "
        "--no-redact)"
    ]
    user, ws = _files(tmp_path, "[generation]\nredact = false\n", "")
    notices = []
    settings = load_settings(files=[user], workspace=ws, environ={}, notices=notices)
    assert (settings.generation.redact, notices) == (False, [])
    env = {"CONTEXTREE_GENERATION__REDACT": "false"}
    user, ws = _files(tmp_path, "", "[generation]\nredact = true\n")
    assert load_settings(files=[user], workspace=ws, environ=env).generation.redact is False


@pytest.mark.parametrize(
    "name",
    [
        "max_response_bytes",
        "max_frame_bytes",
        "prompt_file_cap",
        "max_llm_file_size",
        "directory_context_budget",
        "max_attempts",
    ],
)
def test_workspace_caps_are_taken_only_when_smaller(tmp_path: Path, name: str) -> None:
    default = getattr(GenerationSettings(), name)
    lower = max(default // 2, 2) if name != "max_attempts" else 2
    higher = default * 2 if name != "max_attempts" else 20
    user, ws = _files(tmp_path, "", f"[generation]\n{name} = {lower}\n")
    assert getattr(load_settings(files=[user], workspace=ws, environ={}).generation, name) == lower
    user, ws = _files(tmp_path, "", f"[generation]\n{name} = {higher}\n")
    notices: list[str] = []
    settings = load_settings(files=[user], workspace=ws, environ={}, notices=notices)
    assert getattr(settings.generation, name) == default
    assert len(notices) == 1 and f"generation.{name}" in notices[0]
    # The user's own file, and the environment, may raise it.
    user, ws = _files(tmp_path, f"[generation]\n{name} = {higher}\n", "")
    assert getattr(load_settings(files=[user], workspace=ws, environ={}).generation, name) == (
        higher
    )


def test_other_workspace_settings_still_override_the_users(tmp_path: Path) -> None:
    user, ws = _files(
        tmp_path,
        'default_agent = "from-user"\n[generation]\nconcurrency = 2\n',
        'default_agent = "from-workspace"\n[generation]\nconcurrency = 16\n',
    )
    settings = load_settings(files=[user], workspace=ws, environ={})
    assert (settings.default_agent, settings.generation.concurrency) == ("from-workspace", 16)
