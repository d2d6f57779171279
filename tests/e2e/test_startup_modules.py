"""Start-up cost: ``--version`` and ``get`` never load the generation stack, the HTTP client or
the MCP SDK. (Timings live in ``bench/bench_importtime.py``; this pins what is imported.)"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.cli import run_cli

HEAVY = ("contextree.context.generation", "aiohttp", "mcp")

_PROBE = """
import json, sys
sys.argv = ["contextree", *sys.argv[1:]]
from contextree.cli.app import main
try:
    main()
except SystemExit:
    pass
finally:
    sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def _modules_after(*args: str, cwd: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))


def test_version_and_get_load_no_generation_http_or_mcp(workspace: Path) -> None:
    (workspace / "a.py").write_text("def f():\n    return 1\n")
    assert run_cli("--workspace", str(workspace), "generate").returncode == 0

    version = _modules_after("--version", cwd=workspace)
    got = _modules_after("--workspace", str(workspace), "get", "a.py", cwd=workspace)

    assert "contextree.cli.app" in version
    assert "contextree.facade.reading" in got  # the command really ran
    assert _heavy(version) == []
    assert _heavy(got) == []


def test_import_contextree_loads_only_its_version_and_the_rest_on_first_use() -> None:
    probe = (
        "import sys, contextree\n"
        "before = sorted(m for m in sys.modules if m.startswith('contextree'))\n"
        "from contextree import PathNotFoundError\n"
        "import contextree.errors\n"
        "assert PathNotFoundError is contextree.errors.PathNotFoundError\n"
        "assert contextree.open_workspace.__module__ == 'contextree.facade.workspace'\n"
        "print(before)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert ast.literal_eval(done.stdout.strip()) == ["contextree", "contextree.version"]
