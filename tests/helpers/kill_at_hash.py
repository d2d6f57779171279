"""``python -m tests.helpers.kill_at_hash ARGS...``: the real ``contextree ARGS``, which
SIGKILLs itself right after handing its hashing workers their second batch (a deterministic
point: workers are running and hold work nobody will read). Set here in the test's process:
contextree has no hook for it."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from contextree.workspace.hash_pool import HashPool


def kill_after_sends(count: int) -> None:
    original = HashPool.send
    sent = [0]

    def send(self: HashPool, *args: Any, **kwargs: Any) -> Any:
        original(self, *args, **kwargs)
        sent[0] += 1
        if sent[0] >= count:
            os.kill(os.getpid(), signal.SIGKILL)

    HashPool.send = send  # type: ignore[method-assign]


def main() -> None:
    kill_after_sends(2)
    from contextree.cli.app import main as cli_main  # after the hook is set

    sys.argv = ["contextree", *sys.argv[1:]]
    cli_main()


if __name__ == "__main__":
    main()
