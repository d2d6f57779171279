"""Provider facts: what a provider's server said about a model, kept so it is asked once.

Owns the ``provider_facts`` rows, one per (base URL, model): the context window in tokens the
server reported (None: it answered but said none) and when it was asked. Generation reads a
row before asking the server and writes one after; ``provider test`` asks again and replaces
it. Single statements in autocommit mode; no file contents, no keys.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderFact:
    """What is known of one (base URL, model)."""

    context_window: int | None
    probed_at_ns: int


class ProviderFacts:
    """Reads and writes ``provider_facts`` on one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, base_url: str, model: str) -> ProviderFact | None:
        """The fact recorded for ``(base_url, model)``, or None when it was never asked."""
        row = self._conn.execute(
            "SELECT context_window, probed_at_ns FROM provider_facts "
            "WHERE base_url = ? AND model = ?",
            (base_url, model),
        ).fetchone()
        if row is None:
            return None
        return ProviderFact(context_window=row[0], probed_at_ns=int(row[1]))

    def put(self, base_url: str, model: str, context_window: int | None) -> None:
        """Record what the server said (replacing an earlier answer)."""
        self._conn.execute(
            "INSERT INTO provider_facts (base_url, model, context_window, probed_at_ns) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (base_url, model) DO UPDATE SET "
            "context_window = excluded.context_window, probed_at_ns = excluded.probed_at_ns",
            (base_url, model, context_window, time.time_ns()),
        )
