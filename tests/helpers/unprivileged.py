"""Running the real ``contextree`` CLI as an unprivileged user (uid 65534), for cases where a
permission must really deny: CI runs as root, for whom chmod denies nothing.

The process is started with ``setpriv`` and the system ``python3`` (root's own interpreter may
live in a private home), with ``PYTHONPATH`` naming this interpreter's package directories,
which must be world-readable. ``unprivileged_skip`` says why that is impossible here, if it is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import contextree

SYSTEM_PYTHON = Path("/usr/bin/python3")
NOBODY = 65534


def _world_readable(path: Path) -> bool:
    for part in (path, *path.parents):
        try:
            mode = part.stat().st_mode
        except OSError:
            return False
        if not mode & stat.S_IROTH or (stat.S_ISDIR(mode) and not mode & stat.S_IXOTH):
            return False
    return True


def python_path() -> list[str]:
    """The directories the unprivileged interpreter imports from: contextree's own, then this
    interpreter's site-packages."""
    own = str(Path(contextree.__file__).resolve().parents[1])
    sites = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    return [own, *sites]


def unprivileged_skip() -> str | None:
    """Why this machine cannot run the CLI as another user (None: it can)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None or not SYSTEM_PYTHON.exists():
        return "needs root, setpriv and a system python3"
    out = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.stdout.strip() != str(sys.version_info[:2]):
        return "the system python3 is another minor version"
    if not all(_world_readable(Path(p)) for p in python_path()):
        return "this interpreter's packages are not world-readable"
    return None


def run_cli_as_nobody(
    *args: str, home: Path, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``contextree ARGS`` as uid/gid 65534 with ``HOME``/``XDG_*`` under ``home`` (which that
    user must be able to write)."""
    env = {
        "PYTHONPATH": os.pathsep.join(python_path()),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "PATH": "/usr/bin:/bin",
        "COLUMNS": "200",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            str(SYSTEM_PYTHON),
            "-m",
            "contextree",
            *args,
        ],
        cwd=cwd or home,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def public_temp_dir(prefix: str) -> Iterator[Path]:
    """A fresh temporary directory uid 65534 can enter (the default one is root's, 0700);
    removed afterwards even when a test left parts of it 0555 or 0000."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for dirpath, _dirs, _files in os.walk(path):
            os.chmod(dirpath, 0o755)
        shutil.rmtree(path)
