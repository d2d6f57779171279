"""Prompt collection redacts what a provider is shown: a file's key-shaped strings (even one
the cap cuts), configured key values, keys in a child's stored frame, the system prompt; it
counts them by kind; it withholds a JSON file holding a private key once read; and with
redaction off it changes nothing. Fake keys are built at run time (no key-shaped literal)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from tests.helpers.generation import TEST_AGENT, World, scanned_world

from contextree.api import ContextApi
from contextree.context.generation.prompt_collection import (
    WITHHELD_BY_CONTENT,
    WITHHELD_BY_NAME,
    CollectionLimits,
    PromptCollector,
)
from contextree.core.frame import Basis, Frame, default_frame_type
from contextree.providers.types import FileSubject
from contextree.redaction import Redactor, placeholder
from contextree.workspace.scope import Scope, ScopeRules

OPENAI = "sk-proj-" + "Q7w8E9r0T1y2U3i4" * 3
AWS = "AKIA" + "J7K8L9M0N1P2Q3R4"
CONFIGURED = "local-server-" + "t0k3n" * 4
PEM_BEGIN = "-----BEGIN " + "PRIVATE KEY-----"
GCP = json.dumps(
    {"type": "service_account", "private_key": f"{PEM_BEGIN}\\nMIIEvQIBADAN\\n", "x": "y"}
)
FILES = {
    "src/settings.py": f'API_KEY = "{OPENAI}"\nAWS = "{AWS}"\nLOCAL = "{CONFIGURED}"\n',
    "src/edge.txt": "x" * 1013 + "=" + OPENAI + "\n",  # the key starts 10 bytes before 1024
    "deploy/project-1234.json": GCP,
    "deploy/not_json.txt": f'"private_key" is documented in {PEM_BEGIN} blocks\n',
    ".env": f"KEY={OPENAI}\n",
}


@pytest.fixture
def world(workspace: Path) -> Iterator[World]:
    with scanned_world(workspace, FILES) as scanned:
        yield scanned


def collector(world: World, *, enabled: bool = True, cap: int = 128 << 10) -> PromptCollector:
    return PromptCollector(
        root=world.root,
        api=world.api,
        tree=world.tree,
        scope=ScopeRules.build(),
        limits=CollectionLimits(prompt_file_cap=cap),
        redactor=Redactor(lambda: [CONFIGURED], enabled=enabled),
    )


def sent(messages: tuple[object, ...]) -> str:
    return "\n".join(str(getattr(m, "content", "")) for m in messages)


async def test_a_files_keys_are_redacted_in_the_prompt_subject_and_context(world: World) -> None:
    collected = await collector(world).collect(
        world.request("src/settings.py"), world.entry("src/settings.py"), TEST_AGENT
    )
    text = sent(collected.prompt.messages)
    for secret in (OPENAI, AWS, CONFIGURED):
        assert secret not in text
        assert secret not in collected.context_text
        assert isinstance(collected.subject, FileSubject)
        assert secret.encode() not in collected.subject.data
    assert f'API_KEY = "{placeholder("openai_key")}"' in text
    assert placeholder("aws_access_key") in text and placeholder("configured_key") in text
    assert dict(collected.redactions) == {"openai_key": 1, "aws_access_key": 1, "configured_key": 1}
    assert collected.scope is Scope.LLM


async def test_a_key_that_the_cap_cuts_is_still_redacted_whole(world: World) -> None:
    collected = await collector(world, cap=1024).collect(
        world.request("src/edge.txt"), world.entry("src/edge.txt"), TEST_AGENT
    )
    assert "sk-proj" not in sent(collected.prompt.messages)
    assert collected.redactions == {"openai_key": 1}
    assert collected.prompt.truncation.file_truncated


async def test_a_json_file_holding_a_private_key_is_withheld_once_read(world: World) -> None:
    collected = await collector(world).collect(
        world.request("deploy/project-1234.json"),
        world.entry("deploy/project-1234.json"),
        TEST_AGENT,
    )
    assert collected.scope is Scope.WITHHELD
    assert collected.withheld_by == WITHHELD_BY_CONTENT
    assert collected.subject is None and collected.context_text == ""
    assert "MIIEvQIBADAN" not in sent(collected.prompt.messages)
    other = await collector(world).collect(
        world.request("deploy/not_json.txt"), world.entry("deploy/not_json.txt"), TEST_AGENT
    )
    assert other.scope is Scope.LLM
    assert other.redactions == {"private_key": 1}


async def test_a_secret_file_is_withheld_by_its_name(world: World) -> None:
    collected = await collector(world).collect(
        world.request(".env"), world.entry(".env"), TEST_AGENT
    )
    assert (collected.scope, collected.withheld_by) == (Scope.WITHHELD, WITHHELD_BY_NAME)


async def test_a_childs_stored_frame_holding_a_key_is_redacted_in_the_directory_prompt(
    world: World,
) -> None:
    # A frame stored before redaction existed (the API redacts every frame written now).
    old_api = ContextApi(world.store, world.agents, redact=False)
    node = world.node("src/settings.py")
    agent = TEST_AGENT.id
    old_api.put_frame(
        node,
        Frame(
            basis=Basis.node(node),
            agent_id=agent,
            frame_type=default_frame_type(agent),
            content=f"Defines API_KEY = {OPENAI}".encode(),
            metadata={"agent_id": agent},
        ),
        agent,
    )
    collected = await collector(world).collect(world.request("src"), world.entry("src"), TEST_AGENT)
    assert OPENAI not in sent(collected.prompt.messages)
    assert OPENAI not in collected.context_text
    assert f"Defines API_KEY = {placeholder('openai_key')}" in collected.context_text
    assert collected.redactions == {"openai_key": 1}


async def test_the_system_prompt_and_task_are_redacted_too(world: World) -> None:
    agent = replace(TEST_AGENT, system_prompt=f"Use key {AWS} if asked.")
    collected = await collector(world).collect(
        world.request("src/edge.txt"), world.entry("src/edge.txt"), agent
    )
    assert AWS not in sent(collected.prompt.messages)
    assert collected.prompt.system_prompt == f"Use key {placeholder('aws_access_key')} if asked."
    assert collected.redactions == {"openai_key": 1, "aws_access_key": 1}


async def test_with_redaction_off_the_prompt_holds_the_file_as_it_is(world: World) -> None:
    collected = await collector(world, enabled=False).collect(
        world.request("src/settings.py"), world.entry("src/settings.py"), TEST_AGENT
    )
    assert OPENAI in sent(collected.prompt.messages)
    assert collected.redactions == {}
