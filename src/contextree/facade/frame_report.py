"""The frames half of ``status``: how much of the tree has a current frame, and heads per agent.

Owns ``FrameReport`` and ``frame_report``: read-only, it never locks, scans or calls a provider.
Counting coverage needs the plan (which nodes would be generated now), so the generation stack
is imported when a report is made, not when this module is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from contextree.bootstrap import WorkspaceSetup, open_store_for_reading
from contextree.errors import ContextreeError, UsageError

if TYPE_CHECKING:
    from contextree.context.generation.ledger import RunSummary
    from contextree.context.generation.run import Coverage


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameReport:
    """Frames for ``status``: coverage for one agent and provider, and heads per agent."""

    coverage: Coverage | None
    heads: list[tuple[str, str, int]]
    last_run: RunSummary | None = None
    #: Why coverage is unknown: the agent or provider it is counted for cannot be used (a
    #: broken profile breaks the runs that use it, not ``status``).
    coverage_error: ContextreeError | None = None


def frame_report(ws: WorkspaceSetup, *, agent: str | None, provider: str | None) -> FrameReport:
    """Coverage for ``agent`` and ``provider`` (the defaults as ``generate`` picks them)."""
    from contextree.bootstrap.generation import generation_environment
    from contextree.context.generation.inputs import GenerateOptions
    from contextree.context.generation.run import frame_coverage

    if not ws.layout.store_path.exists():
        return FrameReport(coverage=None, heads=[])
    with open_store_for_reading(ws) as store:
        env = generation_environment(ws, store)
        coverage: Coverage | None = None
        problem: ContextreeError | None = None
        try:
            coverage = frame_coverage(env, GenerateOptions(agent=agent, provider=provider))
        except UsageError as exc:
            problem = exc
        api = env.parts.api(env, redact=env.settings.generation.redact)
        heads = api.heads_in_tree()
        last_run = env.parts.ledger(env).last_summary()
    return FrameReport(coverage=coverage, heads=heads, last_run=last_run, coverage_error=problem)
