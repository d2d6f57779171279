"""A real permission denial: the scanner runs as an unprivileged user on a world-readable tree.

CI runs as root, for whom ``chmod 000`` denies nothing, so this test drops privileges with
``setpriv`` and runs the scanner with the system interpreter (root's own interpreter lives in a
private home). contextree and blake3 are copied into a world-readable temporary directory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import contextree

SYSTEM_PYTHON = Path("/usr/bin/python3")
NOBODY = 65534

_DRIVER = """
import json, os, sys
from pathlib import Path
from contextree.store.db import Store
from contextree.workspace.scan import Scanner
root, store_path = Path(sys.argv[1]), Path(sys.argv[2])
with Store.open(store_path) as store:
    report = Scanner(root, store).scan()
print(json.dumps({
    "unreadable": sorted([p.decode(), e] for p, e in report.unreadable),
    "files": report.files,
}))
"""


def _system_python_matches() -> bool:
    if not SYSTEM_PYTHON.exists():
        return False
    out = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() == str(sys.version_info[:2])


pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or not _system_python_matches(),
    reason="needs root, setpriv and a system python3 of the same minor version",
)


@pytest.fixture
def public_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ctx-nobody-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def _copy_package(module: str, dest: Path) -> None:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).parent
    shutil.copytree(source, dest / source.name, ignore=shutil.ignore_patterns("__pycache__"))


def _make_world_readable(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


def test_unreadable_file_and_directory_are_reported_when_really_denied(public_dir: Path) -> None:
    lib = public_dir / "lib"
    lib.mkdir()
    _copy_package("blake3", lib)
    shutil.copytree(
        Path(contextree.__file__).parent,
        lib / "contextree",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (public_dir / "driver.py").write_text(_DRIVER)
    ws = public_dir / "ws"
    (ws / "open").mkdir(parents=True)
    (ws / "open" / "a.txt").write_text("readable")
    (ws / "closed").mkdir()
    (ws / "closed" / "inside.txt").write_text("hidden")
    (ws / "secret.txt").write_text("no")
    state = public_dir / "state"
    state.mkdir()
    _make_world_readable(public_dir)
    os.chown(state, NOBODY, NOBODY)
    (ws / "closed").chmod(0o000)
    (ws / "secret.txt").chmod(0o000)

    result = subprocess.run(
        [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            str(SYSTEM_PYTHON),
            str(public_dir / "driver.py"),
            str(ws),
            str(state / "store.db"),
        ],
        env={"PYTHONPATH": str(lib), "HOME": str(state), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["unreadable"] == [
        ["closed", "Permission denied"],
        ["secret.txt", "Permission denied"],
    ]
    assert report["files"] == 1
