"""``contextree agent list | show ID | validate [ID]``: presentation only.

Agents come from ``bootstrap.load_agents`` (built-ins, user and workspace profiles); this
module only prints them, as text or a JSON document.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from contextree.agents.profile import AgentProfile
from contextree.agents.registry import BUILTIN_IDS, AgentRegistry, ProfileCheck
from contextree.bootstrap import WorkspaceSetup, check_agents, load_agents, load_workspace
from contextree.cli.errors import user_errors
from contextree.cli.output import CliState, emit_json, term_name
from contextree.errors import AgentNotFoundError

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


def _summary(profile: AgentProfile, registry: AgentRegistry, default: str) -> dict[str, Any]:
    return {
        "id": profile.id,
        "role": profile.role.value,
        "description": profile.description,
        "provider": profile.provider,
        "source": profile.source,
        "replaces": list(registry.replaced(profile.id)),
        "prompt_digest": profile.prompt_digest,
        "default": profile.id == default,
        "trusted": _trusted(registry, profile.id),
    }


def _trusted(registry: AgentRegistry, agent_id: str) -> bool:
    """Built-in and user agents are; a workspace one once ``contextree trust`` approved it."""
    origin = registry.origin(agent_id)
    return origin is None or origin.trusted


def _problem_message(check: ProfileCheck) -> str:
    return check.error.message if check.error is not None else "invalid"


def list_cmd(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """List every agent: built-in ones and those from profile files."""
    state: CliState = ctx.obj
    with user_errors(state):
        ws = load_workspace(state.workspace)
        registry = load_agents(ws)
    default = ws.settings.default_agent
    if json_out:
        emit_json(
            {
                "default_agent": default,
                "agents": [_summary(p, registry, default) for p in registry.profiles()],
                "problems": [
                    {"path": str(c.path), "error": _problem_message(c)} for c in registry.problems()
                ],
            }
        )
        return
    width = max(len(p.id) for p in registry.profiles()) + 2
    state.out.print(f"{'ID':<{width}}  ROLE    PROVIDER      SOURCE", markup=False)
    for profile in registry.profiles():
        mark = "*" if profile.id == default else " "
        provider = profile.provider or "(default)"
        state.out.print(
            f"{mark}{profile.id:<{width - 1}}  {profile.role.value:<6}  {provider:<12}  "
            f"{profile.source}",
            markup=False,
        )
    if not state.quiet:
        state.out.print(f"* default agent (default_agent = {default!r})", markup=False)
    # A broken file breaks only its own id: list it, so it is never silently missing.
    for check in registry.problems():
        state.err.print(f"cannot use {term_name(_problem_message(check))}", markup=False)
    if registry.problems():
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
    with user_errors(state):
        ws = load_workspace(state.workspace)
        registry = load_agents(ws)
        profile = registry.get(agent_id)
    default = ws.settings.default_agent
    if json_out:
        emit_json(
            {
                **_summary(profile, registry, default),
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
        ("replaces", ", ".join(registry.replaced(profile.id)) or "-"),
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
    with user_errors(state):
        ws = load_workspace(state.workspace)
        checks = check_agents(ws)
        if agent_id is not None:
            checks = [c for c in checks if c.path.stem == agent_id]
            if not checks and agent_id not in BUILTIN_IDS:
                raise AgentNotFoundError(
                    f"no profile file defines agent '{agent_id}' and it is not built in",
                    hint="`contextree agent list` shows the known agents.",
                )
    problems = [str(c.error) for c in checks if c.error is not None]
    default_problem = _default_agent_problem(ws, checks) if agent_id is None else None
    if default_problem is not None:
        problems.append(default_problem)
    if json_out:
        emit_json(
            {
                "ok": not problems,
                "files": [_check_json(c) for c in checks],
                "default_agent": ws.settings.default_agent,
                "default_agent_problem": default_problem,
            }
        )
    else:
        _print_checks(state, checks, agent_id, default_problem)
    if problems:
        raise typer.Exit(2)


def _default_agent_problem(ws: WorkspaceSetup, checks: list[ProfileCheck]) -> str | None:
    if any(c.error is not None for c in checks):
        return None  # the registry cannot be built; the file errors say why
    registry = load_agents(ws)
    default = ws.settings.default_agent
    profile = registry.find(default)
    if profile is None:
        return (
            f"default_agent '{default}' is not a known agent (known: {', '.join(registry.ids())})"
        )
    if not profile.can_write:
        return f"default_agent '{default}' is a reader and cannot generate frames"
    return None


def _check_json(check: ProfileCheck) -> dict[str, Any]:
    return {
        "path": str(check.path),
        "id": check.profile.id if check.profile else check.path.stem,
        "ok": check.error is None,
        "error": check.error.message if check.error else None,
    }


def _print_checks(
    state: CliState, checks: list[ProfileCheck], agent_id: str | None, default_problem: str | None
) -> None:
    out = state.out
    if agent_id is None or agent_id in BUILTIN_IDS:
        shown = BUILTIN_IDS if agent_id is None else (agent_id,)
        for builtin in shown:
            out.print(f"ok     built-in {builtin}", markup=False)
    for check in checks:
        if check.error is None:
            out.print(f"ok     {check.path}", markup=False)
        else:
            out.print(f"error  {check.error.message}", markup=False)
    if default_problem is not None:
        out.print(f"error  {default_problem}", markup=False)
    if not checks and agent_id is None and not state.quiet:
        out.print("No agent profile files found; only the built-in agents exist.", markup=False)
