"""A hashing worker process: ``python -m contextree.workspace.hash_worker ROOT [DERIVE]``.

Owns the worker's side of ``hash_pool``: it reads request frames from stdin, hashes
``ROOT + path`` for each item (trusting the signature sent as the "before" one), applies the
``module:function`` named by ``DERIVE`` to each path and hash, and writes one result frame per
request to stdout, until stdin closes. A thread reads stdin ahead, so the main process never
waits to hand work over. It imports only the hashing modules (and DERIVE's), so it starts in a
few tens of milliseconds.

A worker dies with its parent: on Linux the kernel sends it SIGKILL when the parent goes
(``PR_SET_PDEATHSIG``), and everywhere it exits at once, quietly, when its stdin closes (the
parent died or stopped it) or its stdout breaks; it ignores SIGINT, which the parent handles
for the whole process group.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
from typing import IO

from contextree.workspace.hash_pool import (
    decode_request,
    drain_frames,
    encode_outcomes,
    load_derive,
    write_frame,
)
from contextree.workspace.hashing import outcome

#: The parent's pid, set by ``hash_pool`` (a worker whose parent changed was orphaned).
PARENT_ENV = "CONTEXTREE_HASH_PARENT"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask the kernel for SIGKILL when the parent dies (Linux), then check it has not yet."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes  # noqa: PLC0415  # only on Linux, only in the worker

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    expected = os.environ.get(PARENT_ENV, "")
    if expected.isdigit() and os.getppid() != int(expected):
        os._exit(0)  # orphaned before the request above took effect


def _read_until_closed(stream: IO[bytes], into: queue.SimpleQueue[bytes | None]) -> None:
    """Queue request frames; when stdin closes, the parent is gone or done with us: exit now,
    even in the middle of a batch (nobody will read its answer)."""
    with contextlib.suppress(OSError, ValueError):
        drain_frames(stream, into)
    os._exit(0)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    root = os.fsencode(argv[1]) if len(argv) > 1 else b""
    derive = load_derive(argv[2] if len(argv) > 2 else None)
    requests: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(
        target=_read_until_closed, args=(sys.stdin.buffer, requests), daemon=True
    ).start()
    results = sys.stdout.buffer
    try:
        while (frame := requests.get()) is not None:
            items = decode_request(frame)
            outcomes = [outcome(root, path, before, derive) for path, before in items]
            write_frame(results, encode_outcomes([before for _, before in items], outcomes))
    except (BrokenPipeError, EOFError, ConnectionError):
        os._exit(0)  # the parent stopped reading: it is gone
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
