"""The full-text search index over the current heads: the ``frame_search`` FTS5 table.

Owns every statement that reads or writes ``frame_search``, what a row of it holds, the
translation of a person's query into an FTS5 expression that can never be a syntax error, and
the comparison of the index with the heads that ``verify`` reports. One row per head: its
``rowid`` is the head's ``generation_id`` (unique per head, and the generation row holds the
path, node, agent and frame type, so the index keeps only the two columns it searches):
``path`` (the path as shown, ``\\xNN`` for bytes that are not UTF-8) and ``body`` (the frame's
text; empty when its content is not UTF-8, so such a frame is found by its path only).

It is an ordinary FTS5 table that keeps its own copy of the text, not an external-content or
contentless one: ``snippet()`` needs the text, an external-content table would have to produce
it in SQL from a BLOB that may not be UTF-8 (SQLite cannot check that) and its deletes must
repeat the indexed values exactly or the index silently rots, and a contentless table (SQLite
3.40 has no ``contentless_delete``) can neither delete a row nor make a snippet. The copy costs
about the size of the frame texts, a small part of a store that also keeps every prompt and
request body.

The writers are ``FrameRows.set_heads`` and ``FrameRows.sweep`` (inside the caller's
transaction, so the index moves with the heads or not at all), the migration that creates the
table and ``FrameRows.rebuild_search_index`` (``verify --repair``). Statements are explicit,
not triggers: a store that came with a clone is opened with ``trusted_schema = OFF``, where a
trigger may not write a virtual table.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from contextree.core.tree import display_path

#: The table (created by migration 5: ``fts5(path, body, prefix = '2 3', tokenize =
#: 'unicode61 remove_diacritics 2')``).
TABLE = "frame_search"
#: Marks around the matched terms in a snippet.
MARK_START = "«"
MARK_END = "»"
#: Tokens of context in a snippet (FTS5 allows at most 64).
SNIPPET_TOKENS = 24
#: Weights of the path and body columns in the bm25 rank: a hit in the path counts double.
_WEIGHTS = (2.0, 1.0)
_IDS_PER_QUERY = 500
_WORD = re.compile(r"\w", re.UNICODE)


def indexed_text(path: bytes, content: bytes) -> tuple[str, str]:
    """(path, body) as the index holds them for one head."""
    try:
        body = content.decode("utf-8")
    except UnicodeDecodeError:
        body = ""
    return display_path(path), body


def match_expression(query: str) -> str | None:
    """The user's words as an FTS5 expression: each whitespace-separated word becomes a quoted
    phrase (so ``"``, ``*``, ``:``, ``-``, ``AND``, ``NEAR`` are text, never syntax) and all
    must match; the last word also matches as a prefix. None when no word holds a letter or a
    digit (nothing could match)."""
    words = [w for w in query.split() if _WORD.search(w)]
    if not words:
        return None
    phrases = ['"' + w.replace('"', '""') + '"' for w in words]
    phrases[-1] += "*"
    return " ".join(phrases)


# -- writes: only store.frames and the migration call these, inside a transaction ------------


def unindex_heads(conn: sqlite3.Connection, keys: Iterable[tuple[bytes, str, str]]) -> None:
    """Drop the rows of the heads (node, agent, frame type) about to be moved."""
    conn.executemany(
        "DELETE FROM frame_search WHERE rowid = (SELECT generation_id FROM heads "
        "WHERE node_id = ? AND agent_id = ? AND frame_type = ?)",
        keys,
    )


def unindex_where(conn: sqlite3.Connection, heads_predicate: str) -> None:
    """Drop the rows of the heads matching ``heads_predicate`` (a fixed SQL fragment over
    ``heads``), before they are deleted."""
    conn.execute(
        "DELETE FROM frame_search WHERE rowid IN "  # noqa: S608  # fixed fragment
        f"(SELECT generation_id FROM heads WHERE {heads_predicate})"
    )


def index_generations(conn: sqlite3.Connection, generation_ids: Sequence[int]) -> None:
    """Index the heads set by these generations (their rows must be written already)."""
    for start in range(0, len(generation_ids), _IDS_PER_QUERY):
        chunk = list(generation_ids[start : start + _IDS_PER_QUERY])
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(
            "SELECT g.id, g.path, f.content FROM generations AS g "  # noqa: S608  # only ?s
            f"JOIN frames AS f ON f.frame_id = g.frame_id WHERE g.id IN ({marks})",
            chunk,
        ).fetchall()
        _insert(conn, rows)


def rebuild(conn: sqlite3.Connection) -> int:
    """Empty the index and fill it from every head; returns the rows indexed."""
    conn.execute("DELETE FROM frame_search")
    cur = conn.execute(
        "SELECT h.generation_id, g.path, f.content FROM heads AS h "
        "JOIN generations AS g ON g.id = h.generation_id "
        "JOIN frames AS f ON f.frame_id = h.frame_id"
    )
    total = 0
    while rows := cur.fetchmany(_IDS_PER_QUERY):
        _insert(conn, rows)
        total += len(rows)
    return total


def _insert(conn: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> None:
    """(generation id, raw path, content) rows into the index."""
    conn.executemany(
        "INSERT INTO frame_search (rowid, path, body) VALUES (?, ?, ?)",
        [(int(r[0]), *indexed_text(bytes(r[1]), bytes(r[2]))) for r in rows],
    )


# -- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchRow:
    """One hit: the head behind an index row, on a node of the current tree."""

    path: bytes
    node_id: bytes
    frame_id: bytes
    agent_id: str
    frame_type: str
    score: float
    snippet: str
    #: The file's stat signature at the last scan (None for a directory).
    sig: bytes | None


def search(
    conn: sqlite3.Connection,
    expression: str,
    *,
    path_prefix: bytes | None,
    agent_id: str | None,
    limit: int,
) -> list[SearchRow]:
    """The best ``limit`` heads matching ``expression`` (from ``match_expression``), ranked by
    bm25 (lower is better; ties by path), only heads of nodes in the current tree, optionally
    under ``path_prefix`` (that path and everything below it) and of one agent.

    The index ranks alone first (joining every match to the heads and the tree costs more
    than ranking it), in growing windows of its best rows, each filtered in one query, until
    ``limit`` pass or the matches run out; a last window joins everything. Snippets are made
    for the rows returned only (``snippet()`` re-reads and re-tokenizes a row's text)."""
    weights = ", ".join(str(w) for w in _WEIGHTS)
    found: dict[int, tuple[float, Sequence[Any]]] = {}
    narrowed = _under_prefix(conn, expression, path_prefix, weights) if path_prefix else None
    if narrowed is not None:
        # Few rows have the prefix's words in their path: the index ranks just those.
        scores = narrowed
        found = {
            int(row[0]): (scores[int(row[0])], row)
            for row in _current_heads(conn, list(scores), path_prefix, agent_id)
        }
    for window in () if narrowed is not None else (limit * 2 + 30, limit * 20 + 300, None):
        ranked = conn.execute(
            f"SELECT rowid, bm25(frame_search, {weights}) AS score FROM frame_search "  # noqa: S608  # fixed fragment
            "WHERE frame_search MATCH ? ORDER BY score LIMIT ?",
            (expression, -1 if window is None else window),
        ).fetchall()
        scores = {int(r[0]): float(r[1]) for r in ranked}
        found = {
            int(row[0]): (scores[int(row[0])], row)
            for row in _current_heads(conn, list(scores), path_prefix, agent_id)
        }
        if len(found) >= limit or window is None or len(ranked) < window:
            break
    best = sorted(found.items(), key=lambda item: (item[1][0], item[1][1][1]))[:limit]
    snippets = _snippets(conn, expression, [gid for gid, _ in best])
    return [
        SearchRow(
            path=row[1],
            node_id=row[2],
            frame_id=row[3],
            agent_id=row[4],
            frame_type=row[5],
            score=score,
            snippet=snippets.get(gid, ""),
            sig=row[6],
        )
        for gid, (score, row) in best
    ]


#: At most this many rows are ranked one by one when a path prefix narrows a search; a prefix
#: that most of the tree shares is searched like no prefix at all.
_NARROW_CAP = 2_000


def _under_prefix(
    conn: sqlite3.Connection, expression: str, path_prefix: bytes, weights: str
) -> dict[int, float] | None:
    """rowid -> bm25 of the rows matching ``expression`` whose path also holds the words of
    ``path_prefix`` in order (a superset of the rows under it), or None when the prefix has no
    word or more than ``_NARROW_CAP`` rows match. The prefix's words count in the rank too,
    a little more for paths nearer the prefix; the rows found are exactly the full query's."""
    words = display_path(path_prefix)
    if not _WORD.search(words):
        return None
    narrowed = f'({expression}) AND path : "{words.replace(chr(34), chr(34) * 2)}"'
    rows = conn.execute(
        f"SELECT rowid, bm25(frame_search, {weights}) FROM frame_search "  # noqa: S608  # fixed fragment
        "WHERE frame_search MATCH ? LIMIT ?",
        (narrowed, _NARROW_CAP + 1),
    ).fetchall()
    return None if len(rows) > _NARROW_CAP else {int(r[0]): float(r[1]) for r in rows}


def _current_heads(
    conn: sqlite3.Connection,
    generation_ids: Sequence[int],
    path_prefix: bytes | None,
    agent_id: str | None,
) -> Iterator[Sequence[Any]]:
    """(generation id, path, node, frame, agent, frame type, sig) of those generations that
    set a head of a node in the current tree (under ``path_prefix``, of ``agent_id``)."""
    clauses = []
    params: list[object] = []
    if path_prefix:
        # Paths below p sort between p + "/" and p + "0" ("0" is the byte after "/").
        clauses.append(" AND (e.path = ? OR (e.path >= ? AND e.path < ?))")
        params += [path_prefix, path_prefix + b"/", path_prefix + b"0"]
    if agent_id is not None:
        clauses.append(" AND g.agent_id = ?")
        params.append(agent_id)
    for start in range(0, len(generation_ids), _IDS_PER_QUERY):
        chunk = list(generation_ids[start : start + _IDS_PER_QUERY])
        marks = ", ".join("?" * len(chunk))
        yield from conn.execute(
            "SELECT g.id, e.path, g.node_id, g.frame_id, g.agent_id, g.frame_type, e.sig "  # noqa: S608  # fixed fragments, ?s
            "FROM generations AS g "
            "JOIN heads AS h ON h.node_id = g.node_id AND h.agent_id = g.agent_id "
            "AND h.frame_type = g.frame_type AND h.generation_id = g.id "
            f"JOIN entries AS e ON e.node_id = g.node_id WHERE g.id IN ({marks})"
            + "".join(clauses),
            [*chunk, *params],
        )


def _snippets(
    conn: sqlite3.Connection, expression: str, generation_ids: Sequence[int]
) -> dict[int, str]:
    if not generation_ids:
        return {}
    marks = ", ".join("?" * len(generation_ids))
    rows = conn.execute(
        f"SELECT rowid, snippet(frame_search, -1, '{MARK_START}', '{MARK_END}', '…', "  # noqa: S608  # fixed fragments, ?s
        f"{SNIPPET_TOKENS}) FROM frame_search WHERE frame_search MATCH ? AND rowid IN ({marks})",
        [expression, *generation_ids],
    )
    return {int(r[0]): str(r[1]) for r in rows}


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexGap:
    """One way the index differs from the heads: a head without its row (``missing``), a row
    of no head (``extra``), or a row whose text is not its head's (``stale``)."""

    how: str  # "missing", "extra" or "stale"
    generation_id: int
    path: str
    #: The head's frame (None for an ``extra`` row).
    frame_id: bytes | None = None


def out_of_step(conn: sqlite3.Connection) -> Iterator[IndexGap]:
    """Every difference between the index and the heads (reads only)."""
    for gid, path, fid in conn.execute(
        "SELECT h.generation_id, coalesce(g.path, x''), h.frame_id FROM heads AS h "
        "LEFT JOIN generations AS g ON g.id = h.generation_id "
        "WHERE NOT EXISTS (SELECT 1 FROM frame_search AS s WHERE s.rowid = h.generation_id)"
    ):
        yield IndexGap(
            how="missing", generation_id=int(gid), path=display_path(bytes(path)), frame_id=fid
        )
    for gid, path in conn.execute(
        "SELECT s.rowid, s.path FROM frame_search AS s "
        "WHERE s.rowid NOT IN (SELECT generation_id FROM heads)"
    ):
        yield IndexGap(how="extra", generation_id=int(gid), path=str(path))
    cur = conn.execute(
        "SELECT s.rowid, s.path, s.body, g.path, f.content, h.frame_id FROM frame_search AS s "
        "JOIN heads AS h ON h.generation_id = s.rowid "
        "JOIN generations AS g ON g.id = h.generation_id "
        "JOIN frames AS f ON f.frame_id = h.frame_id"
    )
    while rows := cur.fetchmany(_IDS_PER_QUERY):
        for gid, path, body, raw_path, content, fid in rows:
            if (path, body) != indexed_text(bytes(raw_path), bytes(content)):
                yield IndexGap(how="stale", generation_id=int(gid), path=str(path), frame_id=fid)
