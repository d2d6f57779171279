"""Run ``contextree ARGS`` as an MCP stdio server behind a tee that checks its stdout.

Usage: ``python mcp_stdio_tee.py RECORD BUSY_TIMEOUT_MS ARGS...``. The server runs as a child
process; this process relays its own stdin to the child's and the child's stdout to its own,
line by line, and appends to ``RECORD`` one JSON line per stdout line of the child:
``{"ok": true, "method": ...}`` for a JSON-RPC 2.0 message, ``{"ok": false, "line": ...}``
for anything else. ``BUSY_TIMEOUT_MS`` (``-`` for the default) replaces the store's SQLite
busy timeout in the server, so a test can make any wait for a lock an immediate failure.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from typing import IO

CHILD = (
    "import sys\n"
    "busy = sys.argv.pop(1)\n"
    "if busy != '-':\n"
    "    import contextree.store.db as db\n"
    "    db.BUSY_TIMEOUT_MS = int(busy)\n"
    "sys.argv[0] = 'contextree'\n"
    "from contextree.cli.app import main\n"
    "main()\n"
)


def _relay_stdin(child_stdin: IO[bytes]) -> None:
    try:
        for line in sys.stdin.buffer:
            child_stdin.write(line)
            child_stdin.flush()
    except (BrokenPipeError, ValueError):
        pass
    finally:
        with contextlib.suppress(BrokenPipeError):
            child_stdin.close()


def _verdict(line: bytes) -> dict[str, object]:
    try:
        message = json.loads(line)
    except ValueError:
        return {"ok": False, "line": line.decode("utf-8", "replace")}
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return {"ok": False, "line": line.decode("utf-8", "replace")}
    return {"ok": True, "method": message.get("method"), "id": message.get("id")}


def main() -> int:
    record, busy, *args = sys.argv[1:]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, busy, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    threading.Thread(target=_relay_stdin, args=(child.stdin,), daemon=True).start()
    with open(record, "a", encoding="utf-8") as out:
        for line in child.stdout:
            out.write(json.dumps(_verdict(line)) + "\n")
            out.flush()
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
