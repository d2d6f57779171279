"""``python -m tests.helpers.signal_at_scan SIGNAME[,SIGNAME...] ARGS...``: the real
``contextree ARGS``, which sends itself each SIGNAME, in order, as its scan starts (a
deterministic point in the scan phase, set here in the test's process: contextree has no hook
for it)."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from contextree.workspace.scan import Scanner


def signal_at_scan(*sigs: signal.Signals) -> None:
    original = Scanner.scan

    def scan(self: Scanner, *args: Any, **kwargs: Any) -> Any:
        for sig in sigs:
            os.kill(os.getpid(), sig)
        return original(self, *args, **kwargs)

    Scanner.scan = scan  # type: ignore[method-assign]


def main() -> None:
    signal_at_scan(*(signal.Signals[name] for name in sys.argv[1].split(",")))
    from contextree.cli.app import main as cli_main  # after the hook is set

    sys.argv = ["contextree", *sys.argv[2:]]
    cli_main()


if __name__ == "__main__":
    main()
