"""A fake-provider profile in the user config directory (always trusted, unlike a workspace's)."""

from __future__ import annotations

from pathlib import Path

from contextree.config.paths import user_config_dir


def write_user_fake_profile(base_url: str, *, name: str = "fake", wire: str = "openai") -> Path:
    """Write the user profile ``name`` pointing at the fake server; returns its path."""
    providers = user_config_dir() / "providers"
    providers.mkdir(parents=True, exist_ok=True)
    path = providers / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\ntype = "{wire}"\nmodel = "fake-model"\n'
        f'base_url = "{base_url}"\napi_key_env = ""\n'
    )
    return path
