"""Whole-store upkeep behind ``contextree verify`` and ``contextree gc``.

Owns the checks of the store's invariants and their report: every frame id recomputed from
its fields, every head pointing at an existing frame of its node, agent and frame type and at
an existing generation, every generation's frame present, every artifact hashing to its
digest, then SQLite's own integrity and foreign-key checks, and the search index against the
heads (a row per head, with its path and text; ``search_index.out_of_step``). Verification
only reads, inside one read snapshot; a check the damaged file cannot answer becomes an
``unreadable`` problem, never an exception. Also owns compaction after gc (``VACUUM``). It
issues no SQL against the frame tables (the checks' reads are ``verify_reads``, the row counts
``frames``, the index's ``search_index``) and does not compute frame ids itself: frames are a
type of a layer above, so the caller hands in the function.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from contextree.core.ids import digest_bytes
from contextree.errors import StoreError
from contextree.store import search_index
from contextree.store.frames import FrameIdentity, FrameRows
from contextree.store.verify_reads import VerifyReads

#: How many examples of each kind of problem a report keeps.
DEFAULT_EXAMPLES = 5

#: Foreign keys the specific head and generation checks already report in their own words.
_COVERED_FOREIGN_KEYS = frozenset(
    {("heads", "frames"), ("heads", "generations"), ("generations", "frames")}
)


class ProblemKind(StrEnum):
    FRAME_ID_MISMATCH = "frame_id_mismatch"
    HEAD_FRAME_MISSING = "head_frame_missing"
    HEAD_FRAME_MISMATCH = "head_frame_mismatch"
    HEAD_GENERATION_MISSING = "head_generation_missing"
    GENERATION_FRAME_MISSING = "generation_frame_missing"
    ARTIFACT_DIGEST_MISMATCH = "artifact_digest_mismatch"
    SQLITE_INTEGRITY = "sqlite_integrity"
    FOREIGN_KEY = "foreign_key"
    SEARCH_INDEX_OUT_OF_STEP = "search_index_out_of_step"
    UNREADABLE = "unreadable"


#: One line per kind, for people.
DESCRIPTIONS: dict[ProblemKind, str] = {
    ProblemKind.FRAME_ID_MISMATCH: "frames whose fields no longer hash to their id",
    ProblemKind.HEAD_FRAME_MISSING: "heads pointing at a frame that is not stored",
    ProblemKind.HEAD_FRAME_MISMATCH: "heads whose frame has another node, agent or frame type",
    ProblemKind.HEAD_GENERATION_MISSING: "heads whose generation row is missing",
    ProblemKind.GENERATION_FRAME_MISSING: "history rows naming a frame that is not stored",
    ProblemKind.ARTIFACT_DIGEST_MISMATCH: "artifacts whose body does not hash to their digest",
    ProblemKind.SQLITE_INTEGRITY: "problems SQLite's integrity check found",
    ProblemKind.FOREIGN_KEY: "rows referring to a missing row of another table",
    ProblemKind.SEARCH_INDEX_OUT_OF_STEP: (
        "search index rows out of step with the heads (`contextree verify --repair` rebuilds it)"
    ),
    ProblemKind.UNREADABLE: "checks the store file could not answer",
}


#: Problems that mean the file itself is damaged, not only rows changed outside contextree.
DAMAGE_KINDS = frozenset({ProblemKind.SQLITE_INTEGRITY, ProblemKind.UNREADABLE})


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    kind: ProblemKind
    #: What is wrong: a frame id, a head, an artifact digest, a table row.
    subject: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProblemGroup:
    """All problems of one kind: how many, and the first few."""

    kind: ProblemKind
    count: int
    examples: tuple[Problem, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    """Rows checked per table and the problems found, grouped by kind in a fixed order."""

    frames: int
    heads: int
    generations: int
    artifacts: int
    problems: tuple[ProblemGroup, ...]

    @property
    def problem_count(self) -> int:
        return sum(group.count for group in self.problems)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def damaged(self) -> bool:
        """SQLite itself found the file damaged (then writers refuse it until verify passes)."""
        return any(group.kind in DAMAGE_KINDS for group in self.problems)


#: Recomputes a stored frame's id from its fields; None when the fields cannot form a frame.
FrameIdFunction = Callable[[FrameIdentity], bytes | None]


class _Findings:
    def __init__(self, examples: int) -> None:
        self._examples = examples
        self._counts: Counter[ProblemKind] = Counter()
        self._kept: dict[ProblemKind, list[Problem]] = {}

    def add(self, kind: ProblemKind, subject: str, detail: str) -> None:
        self._counts[kind] += 1
        kept = self._kept.setdefault(kind, [])
        if len(kept) < self._examples:
            kept.append(Problem(kind=kind, subject=subject, detail=detail))

    def groups(self) -> tuple[ProblemGroup, ...]:
        return tuple(
            ProblemGroup(kind=kind, count=self._counts[kind], examples=tuple(self._kept[kind]))
            for kind in ProblemKind
            if self._counts[kind]
        )


def verify_store(
    conn: sqlite3.Connection, *, frame_id_of: FrameIdFunction, examples: int = DEFAULT_EXAMPLES
) -> VerifyReport:
    """Run every check over ``conn`` and report; reads only, never raises for a damaged file."""
    rows = VerifyReads(conn)
    found = _Findings(examples)
    damaged: set[bytes] = set()  # frames whose id check failed: reported once, as that
    counts = {"frames": 0, "heads": 0, "generations": 0, "artifacts": 0}
    checks: tuple[tuple[str, Callable[[], None]], ...] = (
        ("row counts", lambda: counts.update(FrameRows(conn).counts())),
        ("frame ids", lambda: _check_frame_ids(rows, found, frame_id_of, damaged)),
        ("heads", lambda: _check_heads(rows, found)),
        ("generations", lambda: _check_generations(rows, found)),
        ("artifacts", lambda: _check_artifacts(rows, found)),
        ("integrity check", lambda: _check_integrity(conn, found)),
        ("foreign key check", lambda: _check_foreign_keys(conn, found)),
        ("search index", lambda: _check_search_index(conn, found, damaged)),
    )
    with _read_snapshot(conn):
        for name, check in checks:
            try:
                check()
            except sqlite3.DatabaseError as exc:
                found.add(ProblemKind.UNREADABLE, name, str(exc))
    return VerifyReport(
        frames=counts["frames"],
        heads=counts["heads"],
        generations=counts["generations"],
        artifacts=counts["artifacts"],
        problems=found.groups(),
    )


def compact(conn: sqlite3.Connection) -> None:
    """Rewrite the store without its free pages and fold the WAL back into the file, so
    what gc removed is given back to the filesystem. Runs outside any transaction."""
    try:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        raise StoreError(
            f"gc removed the garbage but could not compact the store: {exc}",
            hint="Nothing is lost; run `contextree gc` again later to give the space back.",
        ) from exc


@contextlib.contextmanager
def _read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction, so every check sees the same state while writers go on."""
    if conn.in_transaction:
        yield
        return
    try:
        conn.execute("BEGIN")
    except sqlite3.Error:  # the checks themselves will say what is wrong
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("COMMIT")


def _head_subject(node_id: bytes, agent_id: str, frame_type: str) -> str:
    return f"head node={node_id.hex()} agent={agent_id} frame_type={frame_type}"


def _check_frame_ids(
    rows: VerifyReads, found: _Findings, frame_id_of: FrameIdFunction, damaged: set[bytes]
) -> None:
    for identity in rows.frame_identities():
        actual = frame_id_of(identity)
        if actual != identity.frame_id:
            damaged.add(identity.frame_id)
        if actual is None:
            found.add(
                ProblemKind.FRAME_ID_MISMATCH,
                identity.frame_id.hex(),
                "its basis, agent, frame type or content is malformed",
            )
        elif actual != identity.frame_id:
            found.add(
                ProblemKind.FRAME_ID_MISMATCH,
                identity.frame_id.hex(),
                f"its fields hash to {actual.hex()}",
            )


def _check_heads(rows: VerifyReads, found: _Findings) -> None:
    for head in rows.heads_not_matching_their_frame():
        subject = _head_subject(head.node_id, head.agent_id, head.frame_type)
        if not head.found:
            found.add(
                ProblemKind.HEAD_FRAME_MISSING, subject, f"frame {head.frame_id.hex()} is missing"
            )
            continue
        differences = []
        if head.frame_node_id is not None and head.frame_node_id != head.node_id:
            differences.append(f"node {head.frame_node_id.hex()}")
        if head.frame_agent_id != head.agent_id:
            differences.append(f"agent {head.frame_agent_id}")
        if head.frame_frame_type != head.frame_type:
            differences.append(f"frame type {head.frame_frame_type}")
        found.add(
            ProblemKind.HEAD_FRAME_MISMATCH,
            subject,
            f"frame {head.frame_id.hex()} has " + ", ".join(differences),
        )
    for orphan in rows.heads_without_generation():
        found.add(
            ProblemKind.HEAD_GENERATION_MISSING,
            _head_subject(orphan.node_id, orphan.agent_id, orphan.frame_type),
            f"generation {orphan.generation_id} is missing",
        )


def _check_generations(rows: VerifyReads, found: _Findings) -> None:
    for generation_id, path, frame_id in rows.generations_without_frame():
        found.add(
            ProblemKind.GENERATION_FRAME_MISSING,
            f"generation {generation_id} ({path.decode('utf-8', 'backslashreplace')})",
            f"frame {frame_id.hex()} is missing",
        )


def _check_artifacts(rows: VerifyReads, found: _Findings) -> None:
    for digest, size, body in rows.artifact_bodies():
        data = body if isinstance(body, bytes) else str(body).encode("utf-8")
        actual = digest_bytes(data)
        if actual != digest:
            found.add(
                ProblemKind.ARTIFACT_DIGEST_MISMATCH,
                f"artifact {digest}",
                f"body hashes to {actual}",
            )
        elif size != len(data):
            found.add(
                ProblemKind.ARTIFACT_DIGEST_MISMATCH,
                f"artifact {digest}",
                f"recorded size {size} but the body has {len(data)} bytes",
            )


def _check_integrity(conn: sqlite3.Connection, found: _Findings) -> None:
    for (message,) in conn.execute("PRAGMA integrity_check").fetchall():
        if message != "ok":
            found.add(ProblemKind.SQLITE_INTEGRITY, "database", str(message))


def _check_foreign_keys(conn: sqlite3.Connection, found: _Findings) -> None:
    for table, rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check").fetchall():
        if (table, parent) in _COVERED_FOREIGN_KEYS:
            continue
        where = f"{table} row {rowid}" if rowid is not None else f"a {table} row"
        found.add(ProblemKind.FOREIGN_KEY, where, f"refers to a missing row of {parent}")


_GAP_DETAIL = {
    "missing": "the head has no row in the search index",
    "extra": "the search index has a row for no head",
    "stale": "the search index holds other text than the head's frame",
}


def _check_search_index(conn: sqlite3.Connection, found: _Findings, damaged: set[bytes]) -> None:
    for gap in search_index.out_of_step(conn):
        if gap.how == "stale" and gap.frame_id in damaged:
            continue  # the frame itself changed: reported as a frame id mismatch
        found.add(
            ProblemKind.SEARCH_INDEX_OUT_OF_STEP,
            f"search row {gap.generation_id} ({gap.path})",
            _GAP_DETAIL[gap.how],
        )
