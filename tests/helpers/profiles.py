"""Provider profiles that point a test workspace at the fake provider server."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.trust import trust_workspace


def write_fake_profile(
    workspace: Path, base_url: str, *, wire: str = "openai", api_key_env: str = ""
) -> None:
    """Write the workspace profile ``fake``: ``wire`` format at ``base_url`` (for the OpenAI
    format, the URL ending in ``/v1``), its key in ``api_key_env`` (none when empty); the
    user trusts it, as after ``contextree trust --yes``."""
    providers = workspace / ".contextree" / "providers"
    providers.mkdir(parents=True, exist_ok=True)
    (providers / "fake.toml").write_text(
        f'name = "fake"\ntype = "{wire}"\nmodel = "fake-model"\n'
        f'base_url = "{base_url}"\napi_key_env = "{api_key_env}"\n'
    )
    trust_workspace(workspace)
