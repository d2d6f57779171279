"""A search under a path prefix ranks only the rows whose path holds the prefix's words, and
finds exactly what the unrestricted search finds in that subtree."""

from __future__ import annotations

import asyncio
from pathlib import Path

import contextree


def _workspace(root: Path) -> contextree.Workspace:
    for d in ("alpha/beta", "alpha/gamma", "beta/alpha", "other"):
        (root / d).mkdir(parents=True)
        for i in range(6):
            body = "def parse_item():\n    return 'definitions'\n" * (i + 1)
            (root / d / f"m{i}.py").write_text(body)
    ws = contextree.open_workspace(root)
    assert asyncio.run(ws.generate()).result.succeeded
    return ws


def test_a_prefix_search_is_the_full_search_cut_to_the_subtree(workspace: Path) -> None:
    ws = _workspace(workspace)
    everything = ws.search("parse_item", limit=1000)
    for prefix in ("alpha", "alpha/beta", "beta/alpha", "other/m3.py"):
        under = {
            (h.path, h.frame_id)
            for h in everything
            if h.path == prefix or h.path.startswith(prefix + "/")
        }
        got = ws.search("parse_item", path_prefix=prefix, limit=1000)
        assert {(h.path, h.frame_id) for h in got} == under, prefix
        assert got  # every subtree has matches
        scores = [h.score for h in got]
        assert scores == sorted(scores)  # best first
    # "beta/alpha" holds the words of "alpha" too, but is not under it.
    assert not any(h.path.startswith("beta/") for h in ws.search("parse", path_prefix="alpha"))
