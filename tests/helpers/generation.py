"""A scanned workspace wired for generation tests: a real store, ``ContextApi``, tree rows,
a test agent with short templates, and builders for the generation units over them."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contextree.agents.profile import AgentProfile, AgentRole
from contextree.agents.registry import AgentRegistry, builtin_profiles
from contextree.api import ContextApi, Lineage
from contextree.context.clock import Clock, MonotonicClock
from contextree.context.generation.contracts import GenerationRequest
from contextree.context.generation.orchestration import Orchestrator
from contextree.context.generation.prompt_collection import CollectionLimits, PromptCollector
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.context.limits import ProviderLimits
from contextree.context.queue import FrameGenerationQueue, QueueConfig
from contextree.core.frame import Basis, Frame, default_frame_type
from contextree.core.ids import Digest, FrameId, NodeId, digest_text
from contextree.core.tree import TreeNode
from contextree.metadata.contract import build_frame_metadata
from contextree.providers import LoadedProfile, ProfileSource, ProviderProfile, ProviderRegistry
from contextree.store.db import Store
from contextree.store.tree import TreeRows
from contextree.telemetry import NullObserver, Observer
from contextree.workspace.scan import Scanner
from contextree.workspace.scope import ScopeRules
from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.trees import write_tree

#: A writer whose templates are short enough to spell out in assertions.
WRITER = "tester"
OTHER_WRITER = "other-writer"
FRAME_TYPE = default_frame_type(WRITER)
SYSTEM_PROMPT = "You describe code."
TEST_AGENT = AgentProfile(
    id=WRITER,
    role=AgentRole.WRITER,
    system_prompt=SYSTEM_PROMPT,
    file_template="Describe {path} ({node_type}, {file_size} bytes).",
    directory_template="Describe {path} ({node_type}).",
)
OTHER_AGENT = AgentProfile(
    id=OTHER_WRITER,
    role=AgentRole.WRITER,
    system_prompt="Other.",
    file_template="Other {path}.",
    directory_template="Other dir {path}.",
)


def agent_registry() -> AgentRegistry:
    return AgentRegistry([*builtin_profiles(), TEST_AGENT, OTHER_AGENT])


def file_task(path: str, size: int) -> str:
    """The test agent's file template, rendered."""
    return f"Describe {path} (File, {size} bytes)."


def dir_task(path: str) -> str:
    return f"Describe {path} (Directory)."


@dataclass
class World:
    """One scanned workspace and the store views generation works with."""

    root: Path
    store: Store
    api: ContextApi
    tree: TreeRows
    agents: AgentRegistry

    def entry(self, path: str) -> TreeNode:
        entry = self.tree.entry(path.encode())
        assert entry is not None, path
        return entry

    def node(self, path: str) -> NodeId:
        return NodeId(self.entry(path).node_id)

    def request(
        self,
        path: str,
        *,
        provider: str = "structural",
        agent: str = WRITER,
        frame_type: str | None = None,
        force: bool = False,
    ) -> GenerationRequest:
        entry = self.entry(path)
        return GenerationRequest(
            node_id=NodeId(entry.node_id),
            path=entry.path,
            node_kind="file" if entry.kind == "file" else "dir",
            depth=0 if not path else path.count("/") + 1,
            agent_id=agent,
            provider_name=provider,
            frame_type=frame_type or default_frame_type(agent),
            force=force,
        )

    def collector(
        self, *, limits: CollectionLimits | None = None, scope: ScopeRules | None = None
    ) -> PromptCollector:
        return PromptCollector(
            root=self.root,
            api=self.api,
            tree=self.tree,
            scope=scope or ScopeRules.build(),
            limits=limits,
        )

    def orchestrator(
        self, providers: ProviderExecution, *, limits: CollectionLimits | None = None
    ) -> Orchestrator:
        return Orchestrator(
            api=self.api,
            tree=self.tree,
            agents=self.agents,
            providers=providers,
            collector=self.collector(limits=limits),
        )

    def rescan(self) -> None:
        Scanner(self.root, self.store).scan()

    def hand_frame(
        self, path: str, content: str, *, agent: str = WRITER, frame_type: str | None = None
    ) -> FrameId:
        """Write a frame the way a person would through the API: no lineage."""
        node = self.node(path)
        frame = Frame(
            basis=Basis.node(node),
            agent_id=agent,
            frame_type=frame_type or default_frame_type(agent),
            content=content.encode(),
            metadata={"agent_id": agent},
        )
        return self.api.put_frame(node, frame, agent)

    def generated_frame(
        self, path: str, content: str, *, input_key: str, agent: str = WRITER
    ) -> FrameId:
        """Write a frame with full generated metadata and lineage, as a generator would."""
        node = self.node(path)
        prompt, context, body = f"prompt {content}", f"context {content}", f"body {content}"
        digests = [digest_text(text) for text in (prompt, context, body)]
        metadata = build_frame_metadata(
            agent_id=agent,
            provider="hand",
            provider_type="openai",
            model="m",
            prompt_digest=digests[0],
            context_digest=digests[1],
            prompt_link_id=digests[2],
            tokens_in=1,
            tokens_out=1,
            finish_reason="stop",
        )
        frame = Frame(
            basis=Basis.node(node),
            agent_id=agent,
            frame_type=default_frame_type(agent),
            content=content.encode(),
            metadata=metadata,
        )
        lineage = Lineage(
            input_key=Digest(input_key),
            prompt_digest=digests[0],
            context_digest=digests[1],
            request_digest=digests[2],
            artifacts={
                d: t.encode() for d, t in zip(digests, (prompt, context, body), strict=True)
            },
        )
        return self.api.put_frame(node, frame, agent, lineage)


@contextmanager
def scanned_world(root: Path, files: Mapping[str, bytes | str]) -> Iterator[World]:
    """Write ``files`` under ``root``, scan them into a fresh store and yield the world."""
    write_tree(root, files)
    (root / ".contextree").mkdir(exist_ok=True)
    store = Store.open(root / ".contextree" / "store.db")
    try:
        Scanner(root, store).scan()
        agents = agent_registry()
        yield World(
            root=root,
            store=store,
            api=ContextApi(store, agents),
            tree=TreeRows(store.conn),
            agents=agents,
        )
    finally:
        store.close()


def registry_of(*profiles: ProviderProfile) -> ProviderRegistry:
    """A provider registry holding exactly ``profiles`` (plus the built-in structural one)."""
    return ProviderRegistry(
        {
            p.name: LoadedProfile(profile=p, source=ProfileSource.WORKSPACE, path=None)
            for p in profiles
        }
    )


def fake_profile(
    server: FakeProviderServer, wire: str = "openai", *, name: str = "fake", **fields: Any
) -> ProviderProfile:
    """A profile of ``wire`` pointing at the fake server, needing no key unless told."""
    data: dict[str, Any] = {
        "name": name,
        "type": wire,
        "model": "fake-model",
        "base_url": server.openai_url if wire == "openai" else server.base_url,
        "api_key_env": "",
        **fields,
    }
    return ProviderProfile.model_validate(data)


def generation_queue(
    orchestrator: Orchestrator,
    *,
    concurrency: int = 2,
    observer: Observer | None = None,
    clock: Clock | None = None,
) -> FrameGenerationQueue:
    """The real queue around ``orchestrator``: no provider limits, one attempt's worth of
    patience (tests here never wait for a retry)."""
    return FrameGenerationQueue(
        orchestrator,
        config=QueueConfig(max_concurrency=concurrency, max_attempts=1),
        clock=clock or MonotonicClock(),
        observer=observer or NullObserver(),
        limits_for=lambda _name: ProviderLimits(),
        rng=random.Random(0),
    )
