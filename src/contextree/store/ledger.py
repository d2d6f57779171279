"""Row access for the run ledger: ``runs`` and ``run_nodes``.

Owns the SQL of the ledger tables: a run row when a ``generate`` starts, one row per planned
node (``pending`` until it ends), batched status updates while the run goes, and the totals at
the end. Callers choose transaction boundaries (``Store.transaction``). It knows nothing about
frames or heads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_RUN_COLUMNS = (
    "run_id, plan_id, target, agent_id, provider, frame_type, schedule, failure_policy, "
    "forced, pid, started_at_ns, finished_at_ns, status, planned, skipped, done, failed, "
    "blocked, cancelled, interrupted, tokens_in, tokens_out"
)
_NODE_COLUMNS = (
    "path, node_id, status, error_class, message, attempts, tokens_in, tokens_out, frame_id"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRow:
    run_id: int
    plan_id: str
    target: bytes
    agent_id: str
    provider: str
    frame_type: str
    schedule: str
    failure_policy: str
    forced: bool
    pid: int
    started_at_ns: int
    finished_at_ns: int | None
    status: str
    planned: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    blocked: int = 0
    cancelled: int = 0
    interrupted: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RunNodeRow:
    path: bytes
    node_id: bytes
    status: str
    error_class: str | None = None
    message: str | None = None
    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    frame_id: bytes | None = None


def _run(r: Sequence[Any]) -> RunRow:
    return RunRow(
        run_id=int(r[0]),
        plan_id=str(r[1]),
        target=bytes(r[2]),
        agent_id=str(r[3]),
        provider=str(r[4]),
        frame_type=str(r[5]),
        schedule=str(r[6]),
        failure_policy=str(r[7]),
        forced=bool(r[8]),
        pid=int(r[9]),
        started_at_ns=int(r[10]),
        finished_at_ns=None if r[11] is None else int(r[11]),
        status=str(r[12]),
        planned=int(r[13]),
        skipped=int(r[14]),
        done=int(r[15]),
        failed=int(r[16]),
        blocked=int(r[17]),
        cancelled=int(r[18]),
        interrupted=int(r[19]),
        tokens_in=int(r[20]),
        tokens_out=int(r[21]),
    )


class LedgerRows:
    """Queries and writes for the ledger tables over one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def insert_run(self, row: RunRow, pending: Iterable[tuple[bytes, bytes]], now_ns: int) -> int:
        cur = self.conn.execute(
            "INSERT INTO runs (plan_id, target, agent_id, provider, frame_type, schedule, "
            "failure_policy, forced, pid, started_at_ns, status, planned, skipped) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
            (
                row.plan_id,
                row.target,
                row.agent_id,
                row.provider,
                row.frame_type,
                row.schedule,
                row.failure_policy,
                int(row.forced),
                row.pid,
                row.started_at_ns,
                row.planned,
                row.skipped,
            ),
        )
        assert cur.lastrowid is not None
        run_id = cur.lastrowid
        self.conn.executemany(
            "INSERT INTO run_nodes (run_id, path, node_id, status, updated_at_ns) "
            "VALUES (?, ?, ?, 'pending', ?)",
            ((run_id, path, node_id, now_ns) for path, node_id in pending),
        )
        return run_id

    def update_nodes(self, run_id: int, rows: Sequence[RunNodeRow], now_ns: int) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO run_nodes (run_id, path, node_id, status, error_class, "
            "message, attempts, tokens_in, tokens_out, frame_id, updated_at_ns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    run_id,
                    r.path,
                    r.node_id,
                    r.status,
                    r.error_class,
                    r.message,
                    r.attempts,
                    r.tokens_in,
                    r.tokens_out,
                    r.frame_id,
                    now_ns,
                )
                for r in rows
            ),
        )

    def finish_run(self, run_id: int, status: str, now_ns: int) -> None:
        """Close a run: its totals are counted from its node rows."""
        counts = dict(
            self.conn.execute(
                "SELECT status, COUNT(*) FROM run_nodes WHERE run_id = ? GROUP BY status",
                (run_id,),
            ).fetchall()
        )
        tokens = self.conn.execute(
            "SELECT COALESCE(SUM(tokens_in), 0), COALESCE(SUM(tokens_out), 0) "
            "FROM run_nodes WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        self.conn.execute(
            "UPDATE runs SET status = ?, finished_at_ns = ?, skipped = skipped + ?, done = ?, "
            "failed = ?, blocked = ?, cancelled = ?, interrupted = ?, tokens_in = ?, "
            "tokens_out = ? WHERE run_id = ?",
            (
                status,
                now_ns,
                counts.get("skipped", 0),
                counts.get("done", 0),
                counts.get("failed", 0),
                counts.get("blocked", 0),
                counts.get("cancelled", 0),
                counts.get("interrupted", 0),
                tokens[0],
                tokens[1],
                run_id,
            ),
        )

    def runs_with_status(self, status: str) -> list[RunRow]:
        rows = self.conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE status = ? ORDER BY run_id",  # noqa: S608  # fixed columns
            (status,),
        ).fetchall()
        return [_run(r) for r in rows]

    def last_run(self) -> RunRow | None:
        row = self.conn.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY run_id DESC LIMIT 1"  # noqa: S608  # fixed columns
        ).fetchone()
        return None if row is None else _run(row)

    def nodes(self, run_id: int, statuses: Iterable[str]) -> list[RunNodeRow]:
        wanted = tuple(statuses)
        marks = ", ".join("?" for _ in wanted)
        rows = self.conn.execute(
            f"SELECT {_NODE_COLUMNS} FROM run_nodes WHERE run_id = ? AND status IN ({marks}) "  # noqa: S608  # placeholders only
            "ORDER BY path",
            (run_id, *wanted),
        ).fetchall()
        return [
            RunNodeRow(
                path=r[0],
                node_id=r[1],
                status=r[2],
                error_class=r[3],
                message=r[4],
                attempts=r[5],
                tokens_in=r[6],
                tokens_out=r[7],
                frame_id=r[8],
            )
            for r in rows
        ]

    def failures_by_class(self, run_id: int) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT error_class, COUNT(*) FROM run_nodes WHERE run_id = ? AND status = 'failed' "
            "GROUP BY error_class ORDER BY error_class",
            (run_id,),
        ).fetchall()
        return {str(k): int(v) for k, v in rows}
