"""Generating frames: the use case behind ``Workspace.generate`` and ``contextree generate``.

Owns one generation run as a library call: the workspace's data directory and store are
made if missing, the composition root builds the run's parts, the workspace trust gate
refuses (before any request) a run that would send files through a profile this user has not
approved, and ``run_generate`` locks, scans, plans and executes. Importing this module loads
the generation stack; ``contextree.facade`` imports it only when a run starts.

The names a caller needs to ask for a run and read its outcome are re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from contextree.bootstrap import WorkspaceSetup, open_store
from contextree.bootstrap.generation import generation_environment
from contextree.context.generation.control import RunControl
from contextree.context.generation.executor import FailurePolicy, Schedule
from contextree.context.generation.inputs import GenerateOptions
from contextree.context.generation.plan import GenerationPlan
from contextree.context.generation.results import (
    GenerationResult,
    NodeResult,
    NodeStatus,
    ResultListener,
)
from contextree.context.generation.run import DISK_FULL_CLASS, GenerateOutcome, run_generate
from contextree.telemetry import Event, JsonLinesObserver, MultiObserver, Observer
from contextree.trust_review import require_trusted_run

__all__ = [
    "DISK_FULL_CLASS",
    "Event",
    "FailurePolicy",
    "GenerateOptions",
    "GenerateOutcome",
    "GenerationPlan",
    "GenerationResult",
    "JsonLinesObserver",
    "MultiObserver",
    "NodeResult",
    "NodeStatus",
    "Observer",
    "ResultListener",
    "RunControl",
    "Schedule",
    "generate",
]

_log = logging.getLogger("contextree")


class _Silent:
    """The observer of a run nobody watches."""

    def emit(self, event: Event) -> None:
        del event


def _log_notice(text: str) -> None:
    _log.warning("%s", text)


async def generate(
    setup: WorkspaceSetup,
    options: GenerateOptions,
    *,
    cwd: Path | None = None,
    observer: Observer | None = None,
    on_result: ResultListener | None = None,
    on_plan: Callable[[GenerationPlan], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    control: RunControl | None = None,
    command: str = "generate",
) -> GenerateOutcome:
    """One generation run. Notices (a workspace setting that was ignored, untrusted profile
    files) go to ``on_notice``, by default the ``contextree`` logger at WARNING."""
    notify = on_notice or _log_notice
    for notice in setup.notices:  # a workspace config tried to loosen a security setting
        notify(notice)
    setup.layout.ensure_data_dir()
    with open_store(setup.layout, setup.settings) as store:
        env = generation_environment(setup, store, cwd=cwd)
        # Workspace trust: refused (exit 2) before any request, else at most a notice.
        trust_notice = require_trusted_run(setup, env, options, command=command)
        if trust_notice is not None:
            notify(trust_notice)
        return await run_generate(
            env,
            options,
            observer=observer or _Silent(),
            on_result=on_result,
            on_plan=on_plan,
            control=control,
        )
