"""The write boundary redacts every frame: key-shaped strings in a frame's text are replaced by
``[redacted:KIND]`` before it is stored (its id is the redacted frame's), counted by kind in its
``redactions`` metadata (never the values), merged with counts the writer already had; with
``redact=False`` the frame is stored as written. Fake keys are built at run time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers.generation import WRITER, World, scanned_world

from contextree.api import ContextApi
from contextree.core.frame import Basis, Frame, default_frame_type
from contextree.redaction import first_credential, placeholder

OPENAI = "sk-proj-" + "Lm4Nb5Vc6Xz7Aq8W" * 3
GITHUB = "ghp_" + "R2d2C3p0" * 5
CONFIGURED = "my-local-" + "s3cr3t" * 3


@pytest.fixture
def world(workspace: Path) -> Iterator[World]:
    with scanned_world(workspace, {"src/settings.py": "X = 1\n"}) as scanned:
        yield scanned


def frame(world: World, text: str, **metadata: str) -> Frame:
    return Frame(
        basis=Basis.node(world.node("src/settings.py")),
        agent_id=WRITER,
        frame_type=default_frame_type(WRITER),
        content=text.encode(),
        metadata={"agent_id": WRITER, **metadata},
    )


def stored(world: World, api: ContextApi, text: str, **metadata: str) -> Frame:
    node = world.node("src/settings.py")
    frame_id = api.put_frame(node, frame(world, text, **metadata), WRITER)
    head = api.head(node, WRITER, default_frame_type(WRITER))
    assert head is not None and head.frame_id == frame_id
    (entry,) = api.get_node(node).frames
    assert entry.frame.frame_id == frame_id
    return entry.frame


def test_a_frame_quoting_keys_is_stored_redacted_with_counts(world: World) -> None:
    api = ContextApi(world.store, world.agents, secret_values=lambda: [CONFIGURED])
    text = f'Defines `API_KEY = "{OPENAI}"`, `GH = "{GITHUB}"` and `{CONFIGURED}`; {OPENAI}.'
    got = stored(world, api, text)
    content = got.content.decode()
    assert OPENAI not in content and GITHUB not in content and CONFIGURED not in content
    assert first_credential(content) is None
    assert f'`API_KEY = "{placeholder("openai_key")}"`' in content
    assert got.metadata["redactions"] == "configured_key=1,github_token=1,openai_key=2"
    assert got.frame_id == frame(world, content).frame_id


def test_counts_the_writer_brought_are_merged(world: World) -> None:
    api = ContextApi(world.store, world.agents)
    got = stored(world, api, f"key {OPENAI}", redactions="jwt=2,openai_key=1")
    assert got.metadata["redactions"] == "jwt=2,openai_key=2"


def test_a_frame_without_keys_is_stored_as_written(world: World) -> None:
    api = ContextApi(world.store, world.agents)
    got = stored(world, api, "Defines `X = 1`.")
    assert got.content == b"Defines `X = 1`." and "redactions" not in got.metadata


def test_with_redaction_off_a_frame_is_stored_as_written(world: World) -> None:
    api = ContextApi(world.store, world.agents, redact=False)
    got = stored(world, api, f"key {OPENAI}")
    assert got.content == f"key {OPENAI}".encode() and "redactions" not in got.metadata
