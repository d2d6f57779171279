"""``contextree agent list | show ID | validate [ID]``: presentation only.

``Workspace.agents``, ``agent`` and ``check_agents`` load the agents (built-ins, user and
workspace profiles) and check the files; this module only prints them, as text or a JSON
document.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from contextree.cli.errors import user_errors
from contextree.cli.output import CliState, emit_json, term_name
from contextree.cli.workspace_open import open_cli_workspace
from contextree.facade.agent_profiles import AgentCheck, AgentInfo, ProfileCheck

JsonFlag = Annotated[bool, typer.Option("--json", help="Print a JSON document instead of text.")]


def register(app: typer.Typer) -> None:
    agent_app = typer.Typer(
        name="agent",
        help="List, show and check agent profiles.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    agent_app.command("list")(list_cmd)
    agent_app.command("show")(show_cmd)
    agent_app.command("validate")(validate_cmd)
    app.add_typer(agent_app, name="agent")


def _summary(agent: AgentInfo) -> dict[str, Any]:
    profile = agent.profile
    return {
        "id": profile.id,
        "role": profile.role.value,
        "description": profile.description,
        "provider": profile.provider,
        "source": profile.source,
        "replaces": list(agent.replaces),
        "prompt_digest": profile.prompt_digest,
        "default": agent.default,
        "trusted": agent.trusted,
    }


def _problem_message(check: ProfileCheck) -> str:
    return check.error.message if check.error is not None else "invalid"


def list_cmd(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """List every agent: built-in ones and those from profile files."""
    state: CliState = ctx.obj
    with user_errors(state), open_cli_workspace(state) as ws:
        listing = ws.agents()
    default = listing.default_agent
    if json_out:
        emit_json(
            {
                "default_agent": default,
                "agents": [_summary(a) for a in listing.agents],
                "problems": [
                    {"path": str(c.path), "error": _problem_message(c)} for c in listing.problems
                ],
            }
        )
        return
    width = max(len(a.id) for a in listing.agents) + 2
    state.out.print(f"{'ID':<{width}}  ROLE    PROVIDER      SOURCE", markup=False)
    for agent in listing.agents:
        profile = agent.profile
        mark = "*" if agent.default else " "
        provider = profile.provider or "(default)"
        state.out.print(
            f"{mark}{profile.id:<{width - 1}}  {profile.role.value:<6}  {provider:<12}  "
            f"{profile.source}",
            markup=False,
        )
    if not state.quiet:
        state.out.print(f"* default agent (default_agent = {default!r})", markup=False)
    # A broken file breaks only its own id: list it, so it is never silently missing.
    for check in listing.problems:
        state.err.print(f"cannot use {term_name(_problem_message(check))}", markup=False)
    if listing.problems:
        state.err.print(
            "Fix or move the files above; `contextree agent validate` checks every agent file.",
            markup=False,
        )


def show_cmd(
    ctx: typer.Context,
    agent_id: Annotated[str, typer.Argument(metavar="ID", help="The agent to show.")],
    json_out: JsonFlag = False,
) -> None:
    """Show one agent: role, provider, where it comes from, prompts and templates."""
    state: CliState = ctx.obj
    with user_errors(state), open_cli_workspace(state) as ws:
        agent = ws.agent(agent_id)
    profile = agent.profile
    if json_out:
        emit_json(
            {
                **_summary(agent),
                "system_prompt": profile.system_prompt,
                "file_template": profile.file_template,
                "directory_template": profile.directory_template,
            }
        )
        return
    out = state.out
    for label, value in (
        ("id", profile.id),
        ("role", profile.role.value),
        ("description", profile.description or "-"),
        ("provider", profile.provider or "(the workspace default)"),
        ("source", profile.source),
        ("replaces", ", ".join(agent.replaces) or "-"),
        ("prompt digest", profile.prompt_digest),
    ):
        out.print(f"{label + ':':<15}{value}", markup=False)
    if not profile.can_write:
        return
    for label, text in (
        ("system prompt", profile.system_prompt),
        ("file template", profile.file_template),
        ("directory template", profile.directory_template),
    ):
        out.print(f"\n--- {label} ---", markup=False)
        out.print(text.rstrip("\n"), markup=False)


def validate_cmd(
    ctx: typer.Context,
    agent_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="Check only this agent's files.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Check agent profile files and the default agent; exit 2 when something is wrong."""
    state: CliState = ctx.obj
    with user_errors(state), open_cli_workspace(state) as ws:
        report = ws.check_agents(agent_id)
    if json_out:
        emit_json(
            {
                "ok": report.ok,
                "files": [_check_json(c) for c in report.files],
                "default_agent": report.default_agent,
                "default_agent_problem": report.default_agent_problem,
            }
        )
    else:
        _print_checks(state, report)
    if not report.ok:
        raise typer.Exit(2)


def _check_json(check: ProfileCheck) -> dict[str, Any]:
    return {
        "path": str(check.path),
        "id": check.profile.id if check.profile else check.path.stem,
        "ok": check.error is None,
        "error": check.error.message if check.error else None,
    }


def _print_checks(state: CliState, report: AgentCheck) -> None:
    out = state.out
    for builtin in report.builtins:
        out.print(f"ok     built-in {builtin}", markup=False)
    for check in report.files:
        if check.error is None:
            out.print(f"ok     {check.path}", markup=False)
        else:
            out.print(f"error  {check.error.message}", markup=False)
    if report.default_agent_problem is not None:
        out.print(f"error  {report.default_agent_problem}", markup=False)
    if not report.files and report.agent_id is None and not state.quiet:
        out.print("No agent profile files found; only the built-in agents exist.", markup=False)
