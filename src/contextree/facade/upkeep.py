"""Store upkeep use cases: verify, adopt and gc, behind ``Workspace.verify``, ``adopt`` and ``gc``.

Owns what each does around the store checks and the sweep: ``verify`` reads only (no writer
lock, it works beside a running ``generate``) and records what it found, so a store SQLite
found damaged is refused by writers until it checks out again; ``adopt`` is ``verify`` plus
the user's word that a store that came with the workspace may be trusted; ``gc`` sweeps under
the writer lock (a dry run only reads). The checks are ``ContextApi.verify`` and the sweep is
``ContextApi.gc``; no presentation lives here.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from contextree.agents.registry import AgentRegistry
from contextree.api import ContextApi
from contextree.bootstrap import (
    WorkspaceSetup,
    context_api,
    open_store,
    open_store_for_reading,
    store_records,
)
from contextree.store.db import Store, record_verify_result
from contextree.store.provenance import new_store_id, write_store_id
from contextree.store.sweep import GcReport
from contextree.store.upkeep import DAMAGE_KINDS, DEFAULT_EXAMPLES, VerifyReport
from contextree.workspace.lock import writer_lock


@dataclass(frozen=True, slots=True, kw_only=True)
class AdoptResult:
    """What ``Workspace.adopt`` found and did: the store is adopted only when it checks out."""

    report: VerifyReport
    adopted: bool
    #: The store file checked (and adopted).
    store_path: Path


def _api(store: Store) -> ContextApi:
    # Neither verify nor gc consults agent profiles, so a broken profile must not stop them.
    return context_api(store, AgentRegistry.builtin())


def verify_workspace(
    setup: WorkspaceSetup, *, adopt: bool = False, examples: int = DEFAULT_EXAMPLES
) -> AdoptResult:
    """Check the store (read-only, lock-free) and record the result next to it; with
    ``adopt``, also adopt a store that checks out."""
    adopted = False
    with open_store_for_reading(setup) as store:
        report = _api(store).verify(examples=examples)
        if adopt and report.ok:
            adopted = adopt_store(setup, store)
    record_verify_result(
        setup.layout.store_path, damaged=report.damaged, detail=_damage_detail(report)
    )
    return AdoptResult(report=report, adopted=adopted, store_path=setup.layout.store_path)


def adopt_store(setup: WorkspaceSetup, store: Store) -> bool:
    """Record the store as this user's (writing a store id first if it has none, under the
    writer lock). Adopting is the user's word that the store's frames may be trusted."""
    store_id = store.store_id
    if store_id is None:
        with (
            writer_lock(setup.layout.lock_path),
            open_store(setup.layout, setup.settings) as writable,
        ):
            write_store_id(writable.conn, new_store_id(), replace=False)
            store_id = writable.store_id
    if store_id is None:  # pragma: no cover - the write above either sets it or raises
        return False
    store_records().record(store.path, store_id)
    return True


def _damage_detail(report: VerifyReport) -> str:
    lines = [
        f"{group.kind.value}: {problem.subject}: {problem.detail}"
        for group in report.problems
        if group.kind in DAMAGE_KINDS
        for problem in group.examples
    ]
    return "\n".join(lines) + "\n"


def collect_garbage(
    setup: WorkspaceSetup,
    *,
    dry_run: bool = False,
    keep_history: bool | None = None,
    compact: bool = True,
    wait: bool = False,
) -> GcReport:
    """Sweep what the last scan's tree no longer reaches, under the writer lock (a dry run
    only reads and takes no lock). ``keep_history`` defaults to ``store.keep_history``."""
    keep = setup.settings.store.keep_history if keep_history is None else keep_history
    lock = contextlib.nullcontext() if dry_run else writer_lock(setup.layout.lock_path, wait=wait)
    with lock, open_store_for_reading(setup, writable=not dry_run) as store:
        return _api(store).gc(dry_run=dry_run, keep_history=keep, compact_store=compact)
