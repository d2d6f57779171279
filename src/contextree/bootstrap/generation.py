"""The machinery of a generation run, built in one place.

Owns ``generation_environment`` (what ``run_generate`` is handed for a workspace over an open
store) and ``RunWiring``, the real ``RunParts``: the context API and tree views, the scanner
and the run ledger; and, inside the running event loop of each run, the HTTP session, the
provider limits, the prompt collector, the orchestrator, the queue, the executor and the
store's background checkpointer. The queue's and collector's settings are translated from
``GenerationSettings`` here, once. Tests replace a part by subclassing ``RunWiring`` and
overriding one method, or by handing ``run_generate`` an environment with other parts.
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from contextree.api import ContextApi
from contextree.bootstrap.profiles import (
    configured_secret_values,
    context_api,
    load_agents,
    load_providers,
    provider_facts,
)
from contextree.bootstrap.setup import WorkspaceSetup, ignore_options, scan_options
from contextree.config.generation import GenerationSettings
from contextree.context.generation.control import RunControl
from contextree.context.generation.executor import Executor
from contextree.context.generation.inputs import GenerationEnvironment, RunChoices
from contextree.context.generation.ledger import RunLedger
from contextree.context.generation.orchestration import Orchestrator
from contextree.context.generation.prompt_collection import CollectionLimits, PromptCollector
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.context.generation.results import ResultListener
from contextree.context.limits import ProviderLimits
from contextree.context.queue import FrameGenerationQueue, QueueConfig
from contextree.errors import ConfigError
from contextree.providers import ProviderHttp, ProviderRegistry
from contextree.redaction import Redactor
from contextree.store.checkpoint import BackgroundCheckpointer
from contextree.store.db import Store
from contextree.store.tree import TreeRows
from contextree.telemetry import Observer
from contextree.workspace.scan import Scanner, ScanProgress
from contextree.workspace.scope import ScopeRules

#: Requests submitted to the queue at once, as a multiple of the concurrency.
WINDOW_FACTOR = 2


def generation_environment(
    ws: WorkspaceSetup, store: Store, *, cwd: Path | None = None
) -> GenerationEnvironment:
    """Everything ``run_generate`` needs for this workspace, over an open store. ``cwd`` is
    where typed relative paths start (default: the process's current directory)."""
    providers = load_providers(ws)
    environ = os.environ
    return GenerationEnvironment(
        root=ws.layout.root,
        settings=ws.settings,
        store=store,
        lock_path=ws.layout.lock_path,
        agents=load_agents(ws),
        providers=providers,
        scan_options=scan_options(ws.settings),
        ignore_options=ignore_options(ws.settings),
        environ=environ,
        secret_values=configured_secret_values(providers, environ),
        parts=RunWiring(),
        cwd=Path.cwd() if cwd is None else cwd,
    )


def queue_config(gen: GenerationSettings, *, concurrency: int) -> QueueConfig:
    """The queue's settings; the config spells "no limit" 0 (or -1), the queue None."""
    return QueueConfig(
        max_pending=gen.max_pending,
        max_concurrency=concurrency,
        prepare_ahead=None if gen.prepare_ahead < 0 else gen.prepare_ahead,
        max_concurrency_per_agent=gen.max_concurrency_per_agent or None,
        max_attempts=gen.max_attempts,
        backoff_base_s=gen.backoff_base_s,
        backoff_cap_s=gen.backoff_cap_s,
        max_retry_after_s=gen.max_retry_after_s,
        attempt_timeout_s=gen.attempt_timeout_s or None,
    )


def collection_limits(gen: GenerationSettings) -> CollectionLimits:
    """How much of a file, and of a directory's children's frames, a prompt carries."""
    return CollectionLimits(
        prompt_file_cap=gen.prompt_file_cap,
        directory_context_budget=gen.directory_context_budget,
    )


def provider_limits(providers: ProviderRegistry, name: str) -> ProviderLimits:
    """A provider profile's concurrency and rate limits (none for an unknown name)."""
    try:
        profile = providers.get(name).profile
    except ConfigError:
        return ProviderLimits()
    return ProviderLimits(
        max_concurrency=profile.max_concurrency,
        requests_per_minute=profile.requests_per_minute,
        tokens_per_minute=profile.tokens_per_minute,
    )


def retry_rng(seed: int | None) -> random.Random:
    """The queue's backoff jitter; a fresh seed per run unless one is given."""
    if seed is None:
        seed = int.from_bytes(os.urandom(8), "big")
    # Jitter only spreads retries out; it needs no cryptographic strength.
    return random.Random(seed)  # noqa: S311


class RunWiring:
    """The real parts of a run (``RunParts``). Each method builds one part from ``env``."""

    def api(self, env: GenerationEnvironment, *, redact: bool) -> ContextApi:
        return context_api(env.store, env.agents, secret_values=env.secret_values, redact=redact)

    def tree(self, env: GenerationEnvironment) -> TreeRows:
        return TreeRows(env.store.conn)

    def scanner(self, env: GenerationEnvironment, progress: ScanProgress | None) -> Scanner:
        return Scanner(env.root, env.store, options=env.scan_options, progress=progress)

    def ledger(self, env: GenerationEnvironment) -> RunLedger:
        return RunLedger(env.store)

    def http(self, env: GenerationEnvironment, run: RunChoices) -> ProviderHttp:
        settings = env.settings.providers
        if settings.connector_limit < run.concurrency:
            # Never let the connection pool cap the concurrency the user asked for.
            settings = settings.model_copy(update={"connector_limit": run.concurrency})
        return ProviderHttp(
            settings,
            environ=env.environ,
            max_response_bytes=env.settings.generation.max_response_bytes,
        )

    def orchestrator(
        self,
        env: GenerationEnvironment,
        run: RunChoices,
        *,
        api: ContextApi,
        tree: TreeRows,
        http: ProviderHttp,
        observer: Observer,
    ) -> Orchestrator:
        gen = env.settings.generation
        scope = ScopeRules.build(
            secret_patterns=gen.secret_patterns,
            structural_patterns=gen.structural_patterns,
            max_llm_file_size=gen.max_llm_file_size,
        )
        collector = PromptCollector(
            root=env.root,
            api=api,
            tree=tree,
            scope=scope,
            limits=collection_limits(gen),
            redactor=Redactor(env.secret_values, enabled=run.redact),
        )
        return Orchestrator(
            api=api,
            tree=tree,
            agents=env.agents,
            providers=ProviderExecution(
                env.providers,
                http,
                observer,
                environ=env.environ,
                max_frame_bytes=gen.max_frame_bytes,
                facts=provider_facts(env.store),
                probe_windows=env.settings.providers.probe_context_window,
            ),
            collector=collector,
            directory_context_budget=gen.directory_context_budget,
            redact=run.redact,
        )

    def queue(
        self,
        env: GenerationEnvironment,
        run: RunChoices,
        orchestrator: Orchestrator,
        observer: Observer,
    ) -> FrameGenerationQueue:
        return FrameGenerationQueue(
            orchestrator,
            config=queue_config(env.settings.generation, concurrency=run.concurrency),
            clock=env.clock,
            observer=observer,
            limits_for=lambda name: provider_limits(env.providers, name),
            rng=retry_rng(env.retry_seed),
        )

    @asynccontextmanager
    async def execution(
        self,
        env: GenerationEnvironment,
        choices: RunChoices,
        *,
        api: ContextApi,
        tree: TreeRows,
        observer: Observer,
        on_result: ResultListener | None,
        control: RunControl | None,
    ) -> AsyncIterator[Executor]:
        async with self.http(env, choices) as http:
            orchestrator = self.orchestrator(
                env, choices, api=api, tree=tree, http=http, observer=observer
            )
            queue = self.queue(env, choices, orchestrator, observer)
            executor = Executor(
                queue,
                observer=observer,
                schedule=choices.schedule,
                failure_policy=choices.failure_policy,
                window=max(1, choices.concurrency * WINDOW_FACTOR),
                on_result=on_result,
            )
            if control is not None:
                control.attach(executor, queue, env.clock)
            try:
                # Frame commits must not stall the event loop on the disk's sync: the log is
                # copied back into the database by a thread of its own while the run writes.
                with BackgroundCheckpointer(env.store):
                    async with queue:
                        yield executor
            finally:
                if control is not None:
                    await control.close()
