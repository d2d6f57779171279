"""Every Python example in ``docs/python-api.md`` and the README's Python section runs, as its
own script, in order, in a small workspace with no provider configured (the offline
``structural`` provider answers). An example that raises, or whose API drifted, fails here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _examples(doc: Path, *, section: str | None = None) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    if section is not None:
        start = text.index(section)
        end = text.find("\n## ", start + len(section))
        text = text[start : end if end >= 0 else len(text)]
    return _BLOCK.findall(text)


def _sample_workspace(root: Path) -> None:
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(
        '"""The app."""\n\nfrom src.util import greet\n\n\ndef main() -> None:\n'
        '    print(greet("world"))\n'
    )
    (root / "src" / "util.py").write_text(
        "def greet(name: str) -> str:\n    return f'hello {name}'\n"
    )
    (root / "README.md").write_text("# Sample\n\nA sample project.\n")


def _run_in_order(examples: list[str], root: Path) -> list[str]:
    outputs = []
    for number, code in enumerate(examples, 1):
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"example {number} failed:\n{code}\n{done.stderr}"
        outputs.append(done.stdout)
    return outputs


def test_every_example_of_the_python_api_guide_runs(workspace: Path) -> None:
    examples = _examples(REPO / "docs" / "python-api.md")
    assert len(examples) >= 5
    _sample_workspace(workspace)

    out = _run_in_order(examples, workspace)

    first = out[0].splitlines()
    assert first[0].startswith("True ")  # succeeded, then the frame's text
    assert "app.py" in out[0]
    assert out[1].startswith("dir src docs-writer context-docs-writer")
    assert out[2].startswith("code-analyzer ")
    assert out[4].splitlines()[1] == "3 True"  # 3 files; nothing changed since the scan
    assert out[4].splitlines()[2] == "True 0"  # a healthy store, nothing to collect
    served = out[5].splitlines()
    assert served[0] == "True ['target', 'ancestor']"
    assert served[1] == "3 ['src/app.py', 'src/util.py']"  # src and its two files
    assert served[2] == "src/util.py"
    assert served[3] == "True"
    assert "not found:" in out[6] and "what to do:" in out[6]
    assert "untrusted: []" in out[7]


def test_the_readme_python_section_runs_in_under_ten_lines(workspace: Path) -> None:
    (example,) = _examples(REPO / "README.md", section="## From Python")
    lines = [x for x in example.splitlines() if x.strip()]
    assert lines[0] == "import asyncio" or "import contextree" in lines
    start = next(i for i, x in enumerate(lines) if x == "import contextree")
    assert len(lines) - start <= 10
    _sample_workspace(workspace)

    (out,) = _run_in_order([example], workspace)

    assert "util.py" in out or "greet" in out


@pytest.mark.parametrize("doc", ["docs/python-api.md", "README.md"])
def test_examples_name_only_the_public_surface(doc: str) -> None:
    import contextree

    for code in _examples(REPO / doc):
        for name in re.findall(r"\bcontextree\.(\w+)", code):
            assert name in contextree.__all__, f"{doc} uses contextree.{name}"
