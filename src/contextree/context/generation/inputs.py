"""What one generation run is asked for and what it resolves to, before any work.

Owns ``GenerateOptions`` (what the caller asked), ``GenerationEnvironment`` (what the
composition root hands a run: the workspace's settings, store, registries, and the
``RunParts`` that build the run's machinery), the resolution of agent, provider and frame
type (agent: ``--agent``, else ``default_agent``, else the only writer, by
``AgentRegistry.choose``; provider: ``--provider``, else the agent's, else the workspace's
``default_provider``, else ``structural``; frame type: ``context-<agent>``), the target node
(a path or a node id) and the plan over the last scan. Configuration problems (unknown agent
or provider, an unset API key variable) fail here, before the lock, the scan or any request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from contextree.agents.profile import AgentProfile
from contextree.agents.registry import AgentRegistry
from contextree.config.settings import Settings
from contextree.context.clock import Clock, MonotonicClock
from contextree.context.generation.executor import FailurePolicy, Schedule
from contextree.context.generation.plan import GenerationPlan, PlanSpec, build_plan
from contextree.context.generation.results import ResultListener
from contextree.core.frame import default_frame_type
from contextree.core.tree import TreeNode
from contextree.errors import ConfigError, PathNotFoundError
from contextree.providers import ProviderRegistry
from contextree.providers.profiles import STRUCTURAL
from contextree.store.db import Store
from contextree.store.tree import TreeRows
from contextree.telemetry import Observer
from contextree.workspace.paths import IgnoreOptions, resolve_typed_path
from contextree.workspace.scan import ScanOptions, ScanProgress

if TYPE_CHECKING:
    from contextree.api import ContextApi
    from contextree.context.generation.control import RunControl
    from contextree.context.generation.executor import Executor
    from contextree.context.generation.ledger import RunLedger
    from contextree.workspace.scan import Scanner


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
class Resolved:
    agent: AgentProfile
    provider_name: str
    frame_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunChoices:
    """The run's resolved inputs and the settings it runs with (options over config)."""

    resolved: Resolved
    concurrency: int
    schedule: Schedule
    failure_policy: FailurePolicy
    redact: bool


class RunParts(Protocol):
    """The machinery of a run, built by the composition root (``contextree.bootstrap``) from
    an environment; tests hand in their own to replace one part. Each method reads what it
    needs from ``env`` when it is called."""

    def api(self, env: GenerationEnvironment, *, redact: bool) -> ContextApi: ...

    def tree(self, env: GenerationEnvironment) -> TreeRows: ...

    def scanner(self, env: GenerationEnvironment, progress: ScanProgress | None) -> Scanner: ...

    def ledger(self, env: GenerationEnvironment) -> RunLedger: ...

    def execution(
        self,
        env: GenerationEnvironment,
        choices: RunChoices,
        *,
        api: ContextApi,
        tree: TreeRows,
        observer: Observer,
        on_result: ResultListener | None,
        control: RunControl | None,
    ) -> AbstractAsyncContextManager[Executor]:
        """The executor over a queue and orchestrator, with the HTTP session, limits and
        store checkpointer they need, all bound to the running event loop; closed on exit."""
        ...


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
    parts: RunParts
    clock: Clock = field(default_factory=MonotonicClock)
    cwd: Path | None = None
    #: Seeds the queue's backoff jitter; None draws a fresh seed per run. Tests and the parity
    #: gates set it so that retry delays are reproducible.
    retry_seed: int | None = None


def resolve(
    env: GenerationEnvironment, options: GenerateOptions, *, preflight: bool = True
) -> Resolved:
    """Agent, provider and frame type; configuration problems fail here, before any work
    (with ``preflight``, an unset API key variable too)."""
    agent = env.agents.choose(options.agent, env.settings.default_agent)
    if not agent.can_write:
        names = ", ".join(w.id for w in env.agents.writers())
        raise ConfigError(
            f"agent {agent.id!r} is a reader and cannot generate frames",
            hint=f"Use a writer agent: {names}.",
        )
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


def choices(env: GenerationEnvironment, resolved: Resolved, options: GenerateOptions) -> RunChoices:
    """The options the caller gave, else the workspace settings."""
    gen = env.settings.generation
    return RunChoices(
        resolved=resolved,
        concurrency=options.concurrency or gen.concurrency,
        schedule=options.schedule or Schedule(gen.schedule),
        failure_policy=options.failure_policy or FailurePolicy(gen.failure_policy),
        redact=gen.redact if options.redact is None else options.redact,
    )


def target_node(env: GenerationEnvironment, tree: TreeRows, options: GenerateOptions) -> TreeNode:
    """The node the run is for: ``--node`` (a hex id in the last scan) or a typed path."""
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


def plan_for(
    env: GenerationEnvironment,
    run: RunChoices,
    options: GenerateOptions,
    *,
    api: ContextApi,
    tree: TreeRows,
    target: TreeNode,
) -> GenerationPlan:
    """The plan for ``target`` and what is below it, against the heads' input keys."""
    resolved = run.resolved
    profile = env.providers.get(resolved.provider_name).profile
    spec = PlanSpec(
        target=target,
        agent_id=resolved.agent.id,
        provider_name=resolved.provider_name,
        model=profile.effective_model,
        prompt_digest=resolved.agent.prompt_digest,
        frame_type=resolved.frame_type,
        force=options.force,
        recursive=options.recursive,
        directory_context_budget=env.settings.generation.directory_context_budget,
        redact=run.redact,
        context_window=profile.context_window,
        reply_reserve=profile.reply_reserve,
    )
    head_keys = api.head_keys(resolved.agent.id, resolved.frame_type)
    return build_plan(spec, tree.subtree(target.path), head_keys)
