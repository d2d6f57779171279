"""``run_generate``: one ``contextree generate``, from what the user typed to a result.

Owns resolving the inputs (agent: ``--agent``, else the workspace's ``default_agent``, else
the only writer; provider: ``--provider``, else the agent's, else the workspace's
``default_provider``, else ``structural``; frame type: ``context-<agent>``; target: a path or a
node id), failing on configuration problems before any work (unknown agent or provider, an
unset API key variable), then, under the workspace writer lock: an incremental scan (unless
``no_scan``), the plan, and the executor driving the queue and orchestration. It composes the
units; it owns no generation behaviour of its own.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from contextree.agents.profile import AgentProfile
from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi
from contextree.config.settings import Settings
from contextree.context.clock import Clock, MonotonicClock
from contextree.context.frame import default_frame_type
from contextree.context.generation.control import RunControl
from contextree.context.generation.executor import (
    Executor,
    FailurePolicy,
    GenerationResult,
    NodeResult,
    ResultListener,
    Schedule,
)
from contextree.context.generation.ledger import RunLedger
from contextree.context.generation.orchestration import Orchestrator
from contextree.context.generation.plan import (
    GenerationPlan,
    PlanSpec,
    build_plan,
    restrict_plan,
)
from contextree.context.generation.prompt_collection import CollectionLimits, PromptCollector
from contextree.context.generation.provider_execution import ProviderExecution
from contextree.context.generation.scope import ScopeRules
from contextree.context.limits import ProviderLimits
from contextree.context.queue import FrameGenerationQueue, QueueConfig
from contextree.errors import AgentNotFoundError, ConfigError, PathNotFoundError, UsageError
from contextree.providers import ProviderHttp, ProviderRegistry
from contextree.providers.profiles import STRUCTURAL
from contextree.redaction import Redactor
from contextree.store.checkpoint import BackgroundCheckpointer
from contextree.store.db import DiskFullError, Store
from contextree.store.tree import Entry, TreeRows
from contextree.telemetry import Observer
from contextree.workspace.lock import writer_lock
from contextree.workspace.paths import IgnoreOptions, resolve_typed_path
from contextree.workspace.scan import Scanner, ScanOptions, ScanProgress, ScanReport

#: Requests submitted to the queue at once, as a multiple of the concurrency.
WINDOW_FACTOR = 2
#: The error class of a node whose frame the store had no room for.
DISK_FULL_CLASS = "disk_full_error"


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateOptions:
    """What the user asked for. ``target`` is a typed path (default: the workspace root)."""

    target: str | None = None
    node: str | None = None
    agent: str | None = None
    provider: str | None = None
    frame_type: str | None = None
    force: bool = False
    recursive: bool = True
    schedule: Schedule | None = None
    failure_policy: FailurePolicy | None = None
    concurrency: int | None = None
    scan: bool = True
    wait_for_lock: bool = False
    retry_failed: bool = False
    #: Redact key-shaped strings in prompts and frames; None: ``generation.redact``.
    redact: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationEnvironment:
    """Everything ``run_generate`` needs, built by the composition root."""

    root: Path
    settings: Settings
    store: Store
    lock_path: Path
    agents: AgentRegistry
    providers: ProviderRegistry
    scan_options: ScanOptions
    ignore_options: IgnoreOptions
    environ: Mapping[str, str]
    secret_values: Callable[[], Iterable[str]]
    clock: Clock = field(default_factory=MonotonicClock)
    cwd: Path | None = None
    #: Seeds the queue's backoff jitter; None draws a fresh seed per run. Tests and the parity
    #: gates set it so that retry delays are reproducible.
    retry_seed: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    agent: AgentProfile
    provider_name: str
    frame_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateOutcome:
    resolved: Resolved
    scan: ScanReport | None
    plan: GenerationPlan
    result: GenerationResult
    #: Set when the run stopped because the store's disk was full (its frames are kept).
    disk_full: DiskFullError | None = None


def resolve(
    env: GenerationEnvironment, options: GenerateOptions, *, preflight: bool = True
) -> Resolved:
    """Agent, provider and frame type; configuration problems fail here, before any work
    (with ``preflight``, an unset API key variable too)."""
    agent = _agent(env.agents, options.agent, env.settings.default_agent)
    provider = options.provider or agent.provider or env.settings.default_provider or STRUCTURAL
    if preflight:
        env.providers.preflight(provider, env.environ)
    else:
        env.providers.get(provider)
    return Resolved(
        agent=agent,
        provider_name=provider,
        frame_type=options.frame_type or default_frame_type(agent.id),
    )


def _agent(agents: AgentRegistry, asked: str | None, default: str) -> AgentProfile:
    if asked is not None:
        agent = agents.get(asked)
    else:
        found = agents.find(default)
        writers = agents.writers()
        if found is not None and found.can_write:
            agent = found
        elif len(writers) == 1:
            agent = writers[0]
        else:
            names = ", ".join(w.id for w in writers) or "none"
            raise AgentNotFoundError(
                f"no agent given and the default agent {default!r} is not a usable writer; "
                f"writers: {names}",
                hint="Pass --agent ID, or set default_agent in .contextree/config.toml.",
            )
    if not agent.can_write:
        names = ", ".join(w.id for w in agents.writers())
        raise ConfigError(
            f"agent {agent.id!r} is a reader and cannot generate frames",
            hint=f"Use a writer agent: {names}.",
        )
    return agent


async def run_generate(
    env: GenerationEnvironment,
    options: GenerateOptions,
    *,
    observer: Observer,
    on_result: ResultListener | None = None,
    on_plan: Callable[[GenerationPlan], None] | None = None,
    scan_progress: ScanProgress | None = None,
    control: RunControl | None = None,
) -> GenerateOutcome:
    """Resolve, lock, scan, plan and execute one generation run."""
    resolved = resolve(env, options)
    with writer_lock(env.lock_path, wait=options.wait_for_lock):
        report = None
        if options.scan:
            scanner = Scanner(env.root, env.store, options=env.scan_options, progress=scan_progress)
            report = scanner.scan()
        run = _Run(env, resolved, options)
        ledger = RunLedger(env.store)
        ledger.reconcile(run.api)
        plan = run.plan(_target(env, run.tree, options))
        if options.retry_failed:
            plan = restrict_plan(plan, _retry_paths(ledger))
        if on_plan is not None:
            on_plan(plan)
        ledger.begin(plan, schedule=run.schedule.value, failure_policy=run.failure_policy.value)
        control = control or RunControl()
        full = _DiskFullWatch(control)
        listeners: list[ResultListener] = [ledger.on_result, full.on_result]
        listeners += [on_result] if on_result is not None else []
        try:
            result = await run.execute(plan, observer, _fan_out(listeners), control)
        except BaseException:
            ledger.finish(None, interrupted=True)
            raise
        ledger.finish(result, interrupted=control.interrupted and full.error is None)
    return GenerateOutcome(
        resolved=resolved, scan=report, plan=plan, result=result, disk_full=full.error
    )


class _DiskFullWatch:
    """Stops the run at the first frame the store had no room for: every later answer would
    be paid for and lost the same way. Frames written before stay, and stay current."""

    def __init__(self, control: RunControl) -> None:
        self._control = control
        self.error: DiskFullError | None = None

    def on_result(self, node: NodeResult) -> None:
        if self.error is None and node.error_class == DISK_FULL_CLASS:
            self.error = DiskFullError(node.message or "disk full writing the store")
            self._control.abandon()


def _fan_out(listeners: list[ResultListener]) -> ResultListener:
    def each(node: NodeResult) -> None:
        for listener in listeners:
            listener(node)

    return each


def _retry_paths(ledger: RunLedger) -> set[bytes]:
    paths = ledger.retry_paths()
    if paths is None:
        raise NothingToRetryError(
            "there is no earlier generate run to retry",
            hint="Run `contextree generate` first.",
        )
    return paths


class NothingToRetryError(UsageError):
    """``--retry-failed`` with no earlier run in the ledger."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """How much of the tree has a current frame for one (agent, provider, frame type)."""

    resolved: Resolved
    nodes: int
    current: int

    @property
    def missing(self) -> int:
        return self.nodes - self.current


def frame_coverage(env: GenerationEnvironment, options: GenerateOptions) -> Coverage | None:
    """Nodes of the last scan with a current frame (no scan, no lock, no provider call);
    None when nothing was scanned yet."""
    tree = TreeRows(env.store.conn)
    root = tree.entry(b"")
    if root is None:
        return None
    resolved = resolve(env, options, preflight=False)
    plan = _Run(env, resolved, options).plan(root)
    return Coverage(resolved=resolved, nodes=plan.total_in_scope, current=len(plan.skipped))


def _target(env: GenerationEnvironment, tree: TreeRows, options: GenerateOptions) -> Entry:
    if options.node is not None:
        try:
            node_id = bytes.fromhex(options.node.removeprefix("0x"))
        except ValueError as exc:
            raise PathNotFoundError(
                f"--node {options.node!r} is not a hex node id",
                hint="Copy a node id from `contextree get PATH --json`.",
            ) from exc
        entry = tree.entry_by_node(node_id)
        if entry is None:
            raise PathNotFoundError(
                f"node {options.node} is not in the latest scan",
                hint="Node ids change when files change: use a path instead, or look the id "
                "up again with `contextree get PATH --json`.",
            )
        return entry
    return resolve_typed_path(
        options.target or str(env.root),
        root=env.root,
        rows=tree,
        cwd=env.cwd,
        options=env.ignore_options,
    )


class _Run:
    """The store views and settings one run works with."""

    def __init__(
        self, env: GenerationEnvironment, resolved: Resolved, options: GenerateOptions
    ) -> None:
        self.env = env
        self.resolved = resolved
        self.options = options
        self.tree = TreeRows(env.store.conn)
        self.api = ContextApi(
            env.store, env.agents, secret_values=env.secret_values, redact=self.redact
        )

    @property
    def redact(self) -> bool:
        chosen = self.options.redact
        return self.env.settings.generation.redact if chosen is None else chosen

    def plan(self, target: Entry) -> GenerationPlan:
        resolved = self.resolved
        entries = self.tree.subtree(target.path)
        head_keys = self.api.head_keys(resolved.agent.id, resolved.frame_type)
        profile = self.env.providers.get(resolved.provider_name).profile
        spec = PlanSpec(
            target=target,
            agent_id=resolved.agent.id,
            provider_name=resolved.provider_name,
            model=profile.effective_model,
            prompt_digest=resolved.agent.prompt_digest,
            frame_type=resolved.frame_type,
            force=self.options.force,
            recursive=self.options.recursive,
            directory_context_budget=self.env.settings.generation.directory_context_budget,
            redact=self.redact,
        )
        return build_plan(spec, entries, head_keys)

    def _orchestrator(self, http: ProviderHttp, observer: Observer) -> Orchestrator:
        env, gen = self.env, self.env.settings.generation
        scope = ScopeRules.build(
            secret_patterns=gen.secret_patterns,
            structural_patterns=gen.structural_patterns,
            max_llm_file_size=gen.max_llm_file_size,
        )
        collector = PromptCollector(
            root=env.root,
            api=self.api,
            tree=self.tree,
            scope=scope,
            limits=CollectionLimits(
                prompt_file_cap=gen.prompt_file_cap,
                directory_context_budget=gen.directory_context_budget,
            ),
            redactor=Redactor(env.secret_values, enabled=self.redact),
        )
        return Orchestrator(
            api=self.api,
            tree=self.tree,
            agents=env.agents,
            providers=ProviderExecution(
                env.providers,
                http,
                observer,
                environ=env.environ,
                max_frame_bytes=gen.max_frame_bytes,
            ),
            collector=collector,
            directory_context_budget=gen.directory_context_budget,
            redact=self.redact,
        )

    def _queue(self, orchestrator: Orchestrator, observer: Observer) -> FrameGenerationQueue:
        env, gen = self.env, self.env.settings.generation
        return FrameGenerationQueue(
            orchestrator,
            config=QueueConfig(
                max_pending=gen.max_pending,
                max_concurrency=self.concurrency,
                prepare_ahead=None if gen.prepare_ahead < 0 else gen.prepare_ahead,
                max_concurrency_per_agent=gen.max_concurrency_per_agent or None,
                max_attempts=gen.max_attempts,
                backoff_base_s=gen.backoff_base_s,
                backoff_cap_s=gen.backoff_cap_s,
                max_retry_after_s=gen.max_retry_after_s,
                attempt_timeout_s=gen.attempt_timeout_s or None,
            ),
            clock=env.clock,
            observer=observer,
            limits_for=lambda name: _limits(env.providers, name),
            rng=_retry_rng(env.retry_seed),
        )

    @property
    def concurrency(self) -> int:
        return self.options.concurrency or self.env.settings.generation.concurrency

    @property
    def schedule(self) -> Schedule:
        return self.options.schedule or Schedule(self.env.settings.generation.schedule)

    @property
    def failure_policy(self) -> FailurePolicy:
        policy = self.options.failure_policy
        return policy or FailurePolicy(self.env.settings.generation.failure_policy)

    async def execute(
        self,
        plan: GenerationPlan,
        observer: Observer,
        on_result: ResultListener | None,
        control: RunControl | None = None,
    ) -> GenerationResult:
        http_settings = self.env.settings.providers
        if http_settings.connector_limit < self.concurrency:
            # Never let the connection pool cap the concurrency the user asked for.
            http_settings = http_settings.model_copy(update={"connector_limit": self.concurrency})
        async with ProviderHttp(
            http_settings,
            environ=self.env.environ,
            max_response_bytes=self.env.settings.generation.max_response_bytes,
        ) as http:
            queue = self._queue(self._orchestrator(http, observer), observer)
            executor = Executor(
                queue,
                observer=observer,
                schedule=self.schedule,
                failure_policy=self.failure_policy,
                window=max(1, self.concurrency * WINDOW_FACTOR),
                on_result=on_result,
            )
            if control is not None:
                control.attach(executor, queue, self.env.clock)
            try:
                # Frame commits must not stall the event loop on the disk's sync: the log is
                # copied back into the database by a thread of its own while the run writes.
                with BackgroundCheckpointer(self.env.store):
                    async with queue:
                        return await executor.run(plan)
            finally:
                if control is not None:
                    await control.close()


def _retry_rng(seed: int | None) -> random.Random:
    if seed is None:
        seed = int.from_bytes(os.urandom(8), "big")
    # Jitter only spreads retries out; it needs no cryptographic strength.
    return random.Random(seed)  # noqa: S311


def _limits(providers: ProviderRegistry, name: str) -> ProviderLimits:
    try:
        profile = providers.get(name).profile
    except ConfigError:
        return ProviderLimits()
    return ProviderLimits(
        max_concurrency=profile.max_concurrency,
        requests_per_minute=profile.requests_per_minute,
        tokens_per_minute=profile.tokens_per_minute,
    )
