"""The metadata contract is one surface for every writer (C3): frames generated through the
queue and frames written directly through ``put_frame`` are built by the same
``build_frame_metadata`` and checked by the same ``validate``, once per frame, and forbidden
keys or values are refused at that boundary whoever sends them."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.generation import (
    FRAME_TYPE,
    WRITER,
    World,
    fake_profile,
    generation_queue,
    registry_of,
    scanned_world,
)

import contextree
from contextree.api import ContextApi
from contextree.api import checks as api_module
from contextree.config.settings import ProviderSettings
from contextree.context.generation import metadata_construction
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.context.queue import OutcomeStatus
from contextree.core.frame import Basis, Frame
from contextree.core.ids import EMPTY_DIGEST
from contextree.errors import MetadataForbiddenKeyError, MetadataForbiddenValueError
from contextree.metadata import contract
from contextree.providers import ProviderHttp
from contextree.telemetry import NullObserver

SRC = Path(contextree.__file__).parent
FILES = {"src/a.py": "A = 1\n", "src/b.py": "B = 2\n"}
SECRET = "sk-live-0123456789abcdefSECRET"


@dataclass
class ContractSpy:
    """Counts the contract functions as the generation unit and the API really call them."""

    built: list[dict[str, str]] = field(default_factory=list)
    validated: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    rejected: list[Exception] = field(default_factory=list)

    def build(self, **fields: Any) -> dict[str, str]:
        metadata = contract.build_frame_metadata(**fields)
        self.built.append(dict(metadata))
        return metadata

    def validate(self, metadata: Mapping[str, str], **kwargs: Any) -> None:
        self.validated.append((dict(metadata), kwargs))
        try:
            contract.validate(metadata, **kwargs)
        except Exception as exc:
            self.rejected.append(exc)
            raise


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ContractSpy:
    # Both call sites hold the contract's own functions; patch them where they are called.
    assert metadata_construction.build_frame_metadata is contract.build_frame_metadata
    assert api_module.validate is contract.validate
    recorder = ContractSpy()
    monkeypatch.setattr(metadata_construction, "build_frame_metadata", recorder.build)
    monkeypatch.setattr(api_module, "validate", recorder.validate)
    return recorder


@pytest.fixture
def world(workspace: Path) -> Iterator[World]:
    with scanned_world(workspace, FILES) as scanned:
        yield scanned


def _contract_imports() -> dict[str, set[str]]:
    """Module (relative to the package) -> names it imports from the metadata contract."""
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: set[str] = set()
            if isinstance(node, ast.ImportFrom) and node.module == "contextree.metadata.contract":
                names = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module == "contextree.metadata":
                names = {f"contract.{a.name}" for a in node.names if a.name == "contract"}
            elif isinstance(node, ast.Import):
                names = {a.name for a in node.names if a.name == "contextree.metadata.contract"}
            if names:
                found.setdefault(str(path.relative_to(SRC)), set()).update(names)
    return found


def test_only_the_metadata_unit_builds_and_only_the_api_validates() -> None:
    # ``with_redactions`` only adds redaction counts: the prompt's (metadata construction)
    # and the frame's own (the write path, which redacts every frame).
    assert _contract_imports() == {
        "api/checks.py": {"validate", "with_redactions"},
        "context/generation/metadata_construction.py": {"build_frame_metadata", "with_redactions"},
    }


async def test_the_queue_path_builds_once_and_validates_once_per_frame(
    world: World, spy: ContractSpy
) -> None:
    orchestrator = world.orchestrator(ProviderExecution(registry_of(), None, NullObserver()))
    async with generation_queue(orchestrator) as queue:
        outcomes = [
            await queue.enqueue_and_wait(world.request(path)) for path in ("src/a.py", "src/b.py")
        ]
        outcomes.append(await queue.enqueue_and_wait(world.request("src")))
    assert [o.status for o in outcomes] == [OutcomeStatus.DONE] * 3
    assert len(spy.built) == 3
    assert [metadata for metadata, _ in spy.validated] == spy.built
    assert [kwargs["generated"] for _, kwargs in spy.validated] == [True, True, True]
    assert spy.rejected == []
    for path, built in zip(("src/a.py", "src/b.py", "src"), spy.built, strict=True):
        (stored,) = world.api.get_node(world.node(path)).frames
        assert dict(stored.metadata) == built


def test_a_direct_put_frame_is_checked_by_the_same_validate(world: World, spy: ContractSpy) -> None:
    node = world.node("src/a.py")
    metadata = contract.build_frame_metadata(
        agent_id=WRITER,
        provider="hand",
        provider_type="structural",
        model="m",
        prompt_digest=EMPTY_DIGEST,
        context_digest=EMPTY_DIGEST,
        prompt_link_id=EMPTY_DIGEST,
        tokens_in=0,
        tokens_out=0,
        finish_reason="stop",
    )
    good = Frame(
        basis=Basis.node(node),
        agent_id=WRITER,
        frame_type=FRAME_TYPE,
        content=b"by hand",
        metadata=metadata,
    )
    world.api.put_frame(node, good, WRITER)
    bad = Frame(
        basis=Basis.node(node),
        agent_id=WRITER,
        frame_type=FRAME_TYPE,
        content=b"by hand, with the prompt",
        metadata={**metadata, "raw_prompt": "Describe src/a.py"},
    )
    with pytest.raises(MetadataForbiddenKeyError) as raised:
        world.api.put_frame(node, bad, WRITER)
    assert raised.value.key == "raw_prompt"
    assert [m for m, _ in spy.validated] == [metadata, dict(bad.metadata)]
    assert spy.rejected == [raised.value]
    head = world.api.head(node, WRITER, FRAME_TYPE)
    assert head is not None and head.frame_id == good.frame_id


async def test_a_generated_frame_echoing_an_api_key_is_refused_and_nothing_is_written(
    world: World, spy: ContractSpy
) -> None:
    api = ContextApi(world.store, world.agents, secret_values=lambda: [SECRET])
    async with FakeProviderServer() as server:
        server.default = Reply(model=f"model-{SECRET}")  # a server echoing the key
        world.api = api
        async with ProviderHttp(ProviderSettings(), environ={}) as http:
            providers = ProviderExecution(registry_of(fake_profile(server)), http, NullObserver())
            async with generation_queue(world.orchestrator(providers)) as queue:
                outcome = await queue.enqueue_and_wait(world.request("src/a.py", provider="fake"))
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.error_class == "metadata_forbidden_value_error"
    assert isinstance(outcome.error, MetadataForbiddenValueError)
    assert outcome.error.key == "model"
    assert SECRET not in str(outcome.error)
    assert len(spy.built) == 1 and len(spy.validated) == 1
    assert spy.rejected == [outcome.error]
    assert api.head(world.node("src/a.py"), WRITER, FRAME_TYPE) is None
