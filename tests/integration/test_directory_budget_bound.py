"""A directory with more children than its context budget can hold headers for: the prompt
the provider receives keeps its children's section within ``directory_context_budget``,
naming the children left out and counting the rest (it once kept every header: a
20,000-child directory sent 1.9 MB against a 64 KiB budget)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fakes.provider_server import FakeProviderServer
from tests.helpers.trees import write_tree
from tests.helpers.user_profiles import write_user_fake_profile

from contextree.bootstrap import load_workspace, open_store
from contextree.bootstrap.generation import generation_environment
from contextree.context.generation.inputs import GenerateOptions
from contextree.context.generation.run import run_generate
from contextree.telemetry import NullObserver

TASK_PATH = r"the (?:file|directory) at (\S+) \("
CHILDREN = 400
BUDGET = 2048


async def test_a_crowded_directory_sends_at_most_its_budget(workspace: Path) -> None:
    write_tree(
        workspace,
        {f"many/module_with_a_rather_long_name_{n:03d}.py": f"N = {n}\n" for n in range(CHILDREN)},
    )
    (workspace / ".contextree").mkdir(exist_ok=True)
    (workspace / ".contextree" / "config.toml").write_text(
        f"[generation]\ndirectory_context_budget = {BUDGET}\n"
    )
    async with FakeProviderServer(path_pattern=TASK_PATH) as server:
        write_user_fake_profile(server.openai_url)
        ws = load_workspace(str(workspace))
        with open_store(ws.layout, ws.settings) as store:
            env = generation_environment(ws, store)
            outcome = await run_generate(
                env, GenerateOptions(provider="fake"), observer=NullObserver()
            )
        (post,) = [r for r in server.completion_requests() if r.node_path == "many"]
    assert outcome.result.succeeded

    user = post.body["messages"][-1]["content"]
    context = user.removeprefix("Context:\n").rpartition("\n\nTask: ")[0]
    assert len(context.encode()) <= BUDGET
    shown = len(re.findall(r"^Path: many/", context, re.MULTILINE))
    named = re.findall(r"^module_with_a_rather_long_name_\d{3}\.py$", context, re.MULTILINE)
    more = re.search(r"\[\.\.\. and ([\d,]+) more\]$", context)
    assert shown >= 1 and named and more is not None
    assert shown + len(named) + int(more.group(1).replace(",", "")) == CHILDREN
