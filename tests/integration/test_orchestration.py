"""Orchestration over a real store, real prompt collection and the OpenAI adapter talking to
the fake provider server: when ``prepare`` skips, what ``execute`` writes (metadata, lineage
artifacts, input key), and the frames made without any provider call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.generation import (
    FRAME_TYPE,
    SYSTEM_PROMPT,
    TEST_AGENT,
    WRITER,
    World,
    fake_profile,
    registry_of,
    scanned_world,
)

from contextree.config.settings import ProviderSettings
from contextree.context.generation.contracts import FrameResult, PreparedCall, Skip
from contextree.context.generation.currency import input_key
from contextree.context.generation.orchestration import DEFAULT_OUTPUT_ESTIMATE, Orchestrator
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.core.ids import EMPTY_DIGEST, FrameId, digest_bytes, digest_text
from contextree.errors import NodeNotInTreeError
from contextree.providers import ProviderHttp
from contextree.telemetry import RecordingObserver

FILES = {
    "src/a.py": "A = 1\n",
    "src/b.py": "B = 2\n",
    "config/.env": "TOKEN=x\n",
    "empty.txt": "",
    "poetry.lock": "[[package]]\nname = 'x'\n",
}
PROVIDER_EVENTS = {"provider_request_sent", "provider_response_received", "provider_request_failed"}


@pytest.fixture
def world(workspace: Path) -> Iterator[World]:
    with scanned_world(workspace, FILES) as scanned:
        yield scanned


@pytest.fixture
async def server() -> AsyncIterator[FakeProviderServer]:
    async with FakeProviderServer() as fake:
        yield fake


@pytest.fixture
def observer() -> RecordingObserver:
    return RecordingObserver()


@pytest.fixture
async def orchestrator(
    world: World, server: FakeProviderServer, observer: RecordingObserver
) -> AsyncIterator[Orchestrator]:
    async with ProviderHttp(ProviderSettings(), environ={}) as http:
        providers = ProviderExecution(registry_of(fake_profile(server)), http, observer)
        yield world.orchestrator(providers)


async def generate(orchestrator: Orchestrator, world: World, path: str) -> FrameResult:
    prepared = await orchestrator.prepare(world.request(path, provider="fake"))
    assert isinstance(prepared, PreparedCall), path
    return await orchestrator.commit(await orchestrator.execute(prepared))


def fake_key(world: World, path: str, children: list[bytes] | None = None) -> str:
    """The input key of ``path`` for the test agent on the ``fake`` profile."""
    return input_key(
        node_id=world.node(path),
        prompt_digest=TEST_AGENT.prompt_digest,
        provider_name="fake",
        model="fake-model",
        child_frame_ids=children,
    )


def head_frame(world: World, path: str) -> FrameId:
    head = world.api.head(world.node(path), WRITER, FRAME_TYPE)
    assert head is not None, path
    return head.frame_id


async def test_prepare_skips_every_node_whose_inputs_are_unchanged(
    world: World, orchestrator: Orchestrator, server: FakeProviderServer
) -> None:
    for path in ("src/a.py", "src/b.py", "src"):
        await generate(orchestrator, world, path)
    assert len(server.completion_requests()) == 3
    for path in ("src/a.py", "src/b.py", "src"):
        request = world.request(path, provider="fake")
        assert await orchestrator.prepare(request) == Skip(
            request=request, frame_id=head_frame(world, path), reason="head_reuse"
        )
    assert len(server.requests) == 3


async def test_a_changed_child_frame_makes_its_parent_stale(
    world: World, orchestrator: Orchestrator
) -> None:
    for path in ("src/a.py", "src/b.py", "src"):
        await generate(orchestrator, world, path)
    parent_before = world.api.head(world.node("src"), WRITER, FRAME_TYPE)
    assert parent_before is not None
    # A new frame for src/a.py from the same inputs: the child stays current, its id changes.
    new_a = world.generated_frame("src/a.py", "A, rewritten", input_key=fake_key(world, "src/a.py"))
    request_a = world.request("src/a.py", provider="fake")
    assert await orchestrator.prepare(request_a) == Skip(
        request=request_a, frame_id=new_a, reason="head_reuse"
    )
    prepared = await orchestrator.prepare(world.request("src", provider="fake"))
    assert isinstance(prepared, PreparedCall)
    expected = fake_key(world, "src", [new_a, head_frame(world, "src/b.py")])
    assert prepared.input_key == expected
    assert prepared.input_key != parent_before.input_key


async def test_a_forced_request_never_skips(world: World, orchestrator: Orchestrator) -> None:
    first = await generate(orchestrator, world, "src/a.py")
    forced = world.request("src/a.py", provider="fake", force=True)
    prepared = await orchestrator.prepare(forced)
    assert isinstance(prepared, PreparedCall)
    assert prepared.request is forced
    assert prepared.input_key == fake_key(world, "src/a.py")
    assert (
        await orchestrator.commit(await orchestrator.execute(prepared))
    ).frame_id == first.frame_id


async def test_a_head_written_without_lineage_is_never_current(
    world: World, orchestrator: Orchestrator
) -> None:
    world.hand_frame("src/b.py", "B by hand")
    assert isinstance(
        await orchestrator.prepare(world.request("src/b.py", provider="fake")), PreparedCall
    )


async def test_a_call_writes_the_generated_metadata_and_retrievable_lineage(
    world: World,
    orchestrator: Orchestrator,
    server: FakeProviderServer,
    observer: RecordingObserver,
) -> None:
    server.script(Reply(content="# a.py\n\nDefines A.", model="fake-model-0613", tokens_in=31))
    prepared = await orchestrator.prepare(world.request("src/a.py", provider="fake"))
    assert isinstance(prepared, PreparedCall)
    task = "Describe src/a.py (File, 6 bytes)."
    context = "Path: src/a.py\nType: File\nContent:\nA = 1\n"
    user = f"Context:\n{context}\n\nTask: {task}"
    assert prepared.provider_name == "fake"
    assert prepared.input_key == fake_key(world, "src/a.py")
    prompt_bytes = len(SYSTEM_PROMPT.encode()) + len(user.encode())
    assert prepared.token_estimate == prompt_bytes // 4 + DEFAULT_OUTPUT_ESTIMATE

    result = await orchestrator.commit(await orchestrator.execute(prepared))

    (sent,) = server.completion_requests()
    assert sent.body["messages"] == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user},
    ]
    assert result == FrameResult(
        frame_id=head_frame(world, "src/a.py"),
        tokens_in=31,
        tokens_out=7,
        served_model="fake-model-0613",
        provider_name="fake",
    )
    (entry,) = world.api.get_node(world.node("src/a.py")).frames
    assert entry.frame.content == b"# a.py\n\nDefines A."
    assert dict(entry.metadata) == {
        "agent_id": WRITER,
        "provider": "fake",
        "provider_type": "openai",
        "model": "fake-model-0613",
        "prompt_digest": digest_text(task),
        "context_digest": digest_text(context),
        "prompt_link_id": digest_bytes(sent.raw),
        "tokens_in": "31",
        "tokens_out": "7",
        "finish_reason": "stop",
    }
    assert entry.input_key == prepared.input_key
    assert world.api.artifact(digest_text(task)) == task.encode()
    assert world.api.artifact(digest_text(context)) == context.encode()
    assert world.api.artifact(digest_bytes(sent.raw)) == sent.raw
    assert [e.name for e in observer.events] == [
        "provider_request_sent",
        "provider_response_received",
    ]
    assert observer.events[0].data["path"] == "src/a.py"


WITHHELD_TEXT = (
    "# config/.env\n\nWithheld: this file's name marks it as likely to hold secrets (see "
    "`generation.secret_patterns`), so its content was never read or sent to any provider."
    "\n\nSize: 8 bytes."
)


async def test_execute_answers_and_only_commit_writes_the_frame(
    world: World, orchestrator: Orchestrator, server: FakeProviderServer
) -> None:
    server.script(Reply(content="# a.py", tokens_in=7, tokens_out=3))
    prepared = await orchestrator.prepare(world.request("src/a.py", provider="fake"))
    assert isinstance(prepared, PreparedCall)
    executed = await orchestrator.execute(prepared)
    # The provider answered (the queue corrects its rate budget with these) ...
    assert (executed.prepared, executed.tokens_in, executed.tokens_out) == (prepared, 7, 3)
    assert len(server.completion_requests()) == 1
    # ... but nothing is stored until the commit, which happens after the slot is given back.
    assert world.api.head(world.node("src/a.py"), WRITER, FRAME_TYPE) is None
    result = await orchestrator.commit(executed)
    assert head_frame(world, "src/a.py") == result.frame_id
    assert (result.tokens_in, result.tokens_out, result.provider_name) == (7, 3, "fake")
    assert len(server.completion_requests()) == 1


@pytest.mark.parametrize(
    "case",
    [
        ("config/.env", "withheld", WITHHELD_TEXT),
        ("empty.txt", "empty", "# empty.txt\n\nEmpty file (0 bytes)."),
    ],
    ids=["withheld", "empty"],
)
async def test_withheld_and_empty_files_get_frames_without_any_provider_call(
    world: World,
    orchestrator: Orchestrator,
    server: FakeProviderServer,
    observer: RecordingObserver,
    case: tuple[str, str, str],
) -> None:
    path, reason, content = case
    prepared = await orchestrator.prepare(world.request(path, provider="fake"))
    assert isinstance(prepared, PreparedCall)
    assert (prepared.provider_name, prepared.token_estimate) == ("structural", 0)
    result = await orchestrator.commit(await orchestrator.execute(prepared))
    assert result == FrameResult(
        frame_id=head_frame(world, path),
        tokens_in=0,
        tokens_out=0,
        served_model="structural-1",
        provider_name="structural",
    )
    (entry,) = world.api.get_node(world.node(path)).frames
    assert entry.frame.content.decode() == content
    assert dict(entry.metadata) == {
        "agent_id": WRITER,
        "provider": "structural",
        "provider_type": "structural",
        "model": "structural-1",
        "prompt_digest": EMPTY_DIGEST,
        "context_digest": EMPTY_DIGEST,
        "prompt_link_id": EMPTY_DIGEST,
        "tokens_in": "0",
        "tokens_out": "0",
        "finish_reason": reason,
    }
    assert server.requests == []
    assert observer.events == []
    # The head remembers what was asked for, so the same request next time is a no-op.
    assert entry.input_key == fake_key(world, path)
    skipped = await orchestrator.prepare(world.request(path, provider="fake"))
    assert isinstance(skipped, Skip)


async def test_a_lockfile_goes_to_the_structural_provider_but_keys_on_the_requested_one(
    world: World,
    orchestrator: Orchestrator,
    server: FakeProviderServer,
    observer: RecordingObserver,
) -> None:
    request = world.request("poetry.lock", provider="fake")
    prepared = await orchestrator.prepare(request)
    assert isinstance(prepared, PreparedCall)
    assert (prepared.provider_name, prepared.token_estimate) == ("structural", 0)
    result = await orchestrator.commit(await orchestrator.execute(prepared))
    assert (result.provider_name, result.served_model) == ("structural", "structural-1")
    assert server.requests == []
    assert [e.data["provider_name"] for e in observer.events] == ["structural", "structural"]
    (entry,) = world.api.get_node(world.node("poetry.lock")).frames
    task = f"Describe poetry.lock (File, {len(FILES['poetry.lock'])} bytes)."
    assert dict(entry.metadata) == {
        "agent_id": WRITER,
        "provider": "structural",
        "provider_type": "structural",
        "model": "structural-1",
        "prompt_digest": digest_text(task),
        "context_digest": digest_text(
            f"Path: poetry.lock\nType: File\nContent:\n{FILES['poetry.lock']}"
        ),
        "prompt_link_id": EMPTY_DIGEST,  # nothing was sent over the wire
        "tokens_in": "0",
        "tokens_out": "0",
        "finish_reason": "stop",
    }
    assert entry.input_key == fake_key(world, "poetry.lock")
    assert await orchestrator.prepare(request) == Skip(
        request=request, frame_id=result.frame_id, reason="head_reuse"
    )
    # Asking the structural provider itself is another input: that would generate again.
    assert isinstance(
        await orchestrator.prepare(world.request("poetry.lock", provider="structural")),
        PreparedCall,
    )


async def test_a_node_that_left_the_tree_since_the_plan_is_an_error(
    world: World, orchestrator: Orchestrator
) -> None:
    stale = world.request("src/a.py", provider="fake")
    (world.root / "src" / "a.py").write_text("A = 2\n")
    world.rescan()
    with pytest.raises(NodeNotInTreeError) as raised:
        await orchestrator.prepare(stale)
    assert raised.value.message == "src/a.py changed since the plan was made"
