"""``python -m tests.helpers.disk_full PAGES ARGS...``: the real ``contextree ARGS`` with every
store it opens capped at its size then plus ``PAGES`` pages (``PRAGMA max_page_count``), so a
write beyond that meets ``SQLITE_FULL`` exactly as on a full disk.

The cap is set here, in the test's own process, by wrapping ``Store.open``: contextree itself
has no setting or variable that does it (a hidden knob is one more thing a workspace could set).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from contextree.store.db import Store


def cap_stores(extra_pages: int) -> None:
    """From now on, every ``Store.open`` in this process caps its store at ``extra_pages``
    more pages than it has."""
    original = Store.open.__func__  # type: ignore[attr-defined]

    def open_capped(cls: type[Store], path: Path, **kwargs: Any) -> Store:
        store: Store = original(cls, path, **kwargs)
        pages = int(store.conn.execute("PRAGMA page_count").fetchone()[0])
        store.conn.execute(f"PRAGMA max_page_count = {pages + extra_pages}")
        return store

    Store.open = classmethod(open_capped)  # type: ignore[method-assign, assignment]


def main() -> None:
    cap_stores(int(sys.argv[1]))
    from contextree.cli.app import main as cli_main  # after the cap is set

    sys.argv = ["contextree", *sys.argv[2:]]
    cli_main()


if __name__ == "__main__":
    main()
