"""``contextree trust`` on a terminal: it asks, and approves only on yes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from contextree.cli import trust_cmds
from contextree.cli.app import app
from contextree.workspace.trust import TrustStore

PROFILE = 'type = "openai"\nmodel = "m"\nbase_url = "https://example.invalid/v1"\n'


@pytest.fixture
def workspace_with_profile(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    providers = workspace / ".contextree" / "providers"
    providers.mkdir(parents=True)
    (providers / "x.toml").write_text(PROFILE)
    monkeypatch.setattr(trust_cmds, "stdin_is_terminal", lambda: True)
    return workspace


@pytest.mark.parametrize(("answer", "code", "trusted"), [("y\n", 0, True), ("n\n", 1, False)])
def test_trust_asks_on_a_terminal(
    workspace_with_profile: Path, answer: str, code: int, trusted: bool
) -> None:
    result = CliRunner().invoke(app, ["-w", str(workspace_with_profile), "trust"], input=answer)

    assert result.exit_code == code, result.output
    assert f"Trust 1 file for {workspace_with_profile}?" in result.output
    assert "https://example.invalid/v1" in result.output
    approved = TrustStore().approvals(workspace_with_profile)
    assert (".contextree/providers/x.toml" in approved) is trusted
