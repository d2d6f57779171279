"""How the nodes of a plan ended: the executor's result types.

Owns ``NodeStatus``, ``NodeResult`` (one node: done, skipped, failed, blocked or cancelled, with
its frame, error, attempts and tokens), ``GenerationResult`` (every node of one plan, and the
counts and totals read from it), the ``ResultListener`` callback type, and turning a queue's
``RequestOutcome`` into a node's result. Plain values: it schedules nothing and emits nothing;
the executor decides the results and reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from contextree.context.generation.plan import PlanItem
from contextree.context.queue_types import OutcomeStatus, RequestOutcome


class NodeStatus(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeResult:
    path: bytes
    node_id: bytes
    kind: str
    status: NodeStatus
    frame_id: bytes | None = None
    error_class: str | None = None
    message: str | None = None
    hint: str | None = None
    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    #: For a blocked node: the failed descendant that blocked it.
    blocked_by: bytes | None = None
    reason: str | None = None


@dataclass(kw_only=True)
class GenerationResult:
    """How every node of a plan ended. Nodes already current when the plan was made are
    counted (``current_at_plan``), not listed: a no-op rerun of 100k nodes stays cheap."""

    plan_id: str
    nodes: dict[bytes, NodeResult] = field(default_factory=dict)
    current_at_plan: int = 0

    def count(self, status: NodeStatus) -> int:
        listed = sum(1 for r in self.nodes.values() if r.status is status)
        return listed + (self.current_at_plan if status is NodeStatus.SKIPPED else 0)

    @property
    def tokens(self) -> tuple[int, int]:
        return (
            sum(r.tokens_in for r in self.nodes.values()),
            sum(r.tokens_out for r in self.nodes.values()),
        )

    @property
    def succeeded(self) -> bool:
        bad = (NodeStatus.FAILED, NodeStatus.BLOCKED, NodeStatus.CANCELLED)
        return not any(r.status in bad for r in self.nodes.values())


#: Called with each node result as it is decided (for progress displays and ledgers).
ResultListener = Callable[[NodeResult], None]


def node_result(item: PlanItem, outcome: RequestOutcome) -> NodeResult:
    request = item.request
    base = {"path": request.path, "node_id": request.node_id, "kind": request.node_kind}
    if outcome.status is OutcomeStatus.DONE and outcome.result is not None:
        res = outcome.result
        return NodeResult(
            **base,  # type: ignore[arg-type]
            status=NodeStatus.DONE,
            frame_id=res.frame_id,
            attempts=outcome.attempts,
            tokens_in=res.tokens_in,
            tokens_out=res.tokens_out,
        )
    if outcome.status is OutcomeStatus.SKIPPED and outcome.skip is not None:
        return NodeResult(
            **base,  # type: ignore[arg-type]
            status=NodeStatus.SKIPPED,
            frame_id=outcome.skip.frame_id,
            reason=outcome.skip.reason,
            attempts=outcome.attempts,
        )
    error = outcome.error
    cancelled = outcome.status is OutcomeStatus.CANCELLED
    status = NodeStatus.CANCELLED if cancelled else NodeStatus.FAILED
    return NodeResult(
        **base,  # type: ignore[arg-type]
        status=status,
        error_class=outcome.error_class,
        message=getattr(error, "message", None) or (str(error) if error else None),
        hint=getattr(error, "hint", None),
        attempts=outcome.attempts,
    )
