"""A hashing worker process: ``python -m contextree.workspace.hash_worker ROOT [DERIVE]``.

Owns the worker's side of ``hash_pool``: it reads request frames from stdin, hashes
``ROOT + path`` for each item (trusting the signature sent as the "before" one), applies the
``module:function`` named by ``DERIVE`` to each path and hash, and writes one result frame per
request to stdout, until stdin closes. A thread reads stdin ahead, so the main process never
waits to hand work over. It imports only the hashing modules (and DERIVE's), so it starts in a
few tens of milliseconds.
"""

from __future__ import annotations

import os
import queue
import sys
import threading

from contextree.workspace.hash_pool import (
    decode_request,
    drain_frames,
    encode_outcomes,
    load_derive,
    write_frame,
)
from contextree.workspace.hashing import outcome


def main(argv: list[str]) -> int:
    root = os.fsencode(argv[1]) if len(argv) > 1 else b""
    derive = load_derive(argv[2] if len(argv) > 2 else None)
    requests: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=drain_frames, args=(sys.stdin.buffer, requests), daemon=True).start()
    results = sys.stdout.buffer
    while (frame := requests.get()) is not None:
        items = decode_request(frame)
        outcomes = [outcome(root, path, before, derive) for path, before in items]
        write_frame(results, encode_outcomes([before for _, before in items], outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
