"""``contextree trust``: review and approve the workspace's own profile files.

A cloned repository's ``.contextree/providers`` and ``.contextree/agents`` files decide where
the user's key and files go, so a run that would call a provider through one is refused until
the user approves it here. This module shows each file and what it does (the provider's base
URL, key variable name and wire format; the agent's provider and prompt files; the user profile
it replaces), asks on a terminal, and records the approval in the user state directory
(``workspace.trust``). ``--yes`` approves without asking (CI); with no terminal and no ``--yes``
it lists and exits 2. ``--list`` shows trusted and untrusted files; ``--revoke`` forgets every
approval of this workspace. Keys are never read or shown, only the names of their variables.

Presentation only: ``Workspace.trust_review``, ``trust`` and ``revoke`` do the work.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from contextree.cli.errors import user_errors
from contextree.cli.output import CliState, emit_json, plural, term_name
from contextree.cli.workspace_open import open_cli_workspace
from contextree.facade import Workspace
from contextree.facade.trusting import TrustItem, relative_name

EXIT_REFUSED = 2
EXIT_DECLINED = 1


def register(app: typer.Typer) -> None:
    app.command("trust")(trust_cmd)


def trust_cmd(
    ctx: typer.Context,
    *,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve every untrusted file without asking.")
    ] = False,
    list_: Annotated[
        bool, typer.Option("--list", help="List trusted and untrusted files; approve nothing.")
    ] = False,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Forget every approval of this workspace.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """Review the workspace's own provider and agent profiles and approve them for use.

    Until approved, a run that would call a provider through one of them (generate,
    regenerate, provider test) is refused; scan, status, get and structural generation work
    regardless. An edit to an approved file makes it untrusted again."""
    state: CliState = ctx.obj
    with user_errors(state):
        ws = open_cli_workspace(state)
        if revoke:
            _revoke(state, ws, json_out=json_out)
            return
        items = ws.trusted_list() if list_ else ws.trust_review()
    if list_:
        _list(state, ws, items, json_out=json_out)
        return
    untrusted = [i for i in items if not i.trusted]
    if not untrusted:
        if json_out:
            emit_json(_doc(ws, items, approved=[]))
        elif not state.quiet:
            what = "Every workspace profile file is trusted" if items else "No workspace profiles"
            state.out.print(f"{what} in {term_name(str(ws.root))}.", markup=False)
        return
    if not json_out:
        state.out.print(
            f"{plural(len(untrusted), 'workspace profile file')} not trusted in "
            f"{term_name(str(ws.root))}:",
            markup=False,
        )
        for item in untrusted:
            _print_item(state, ws, item)
    if not yes:
        _ask_or_refuse(state, ws, items, untrusted, json_out=json_out)
    with user_errors(state):
        ws.trust(untrusted)  # the bytes shown above, not any edit made since
    if json_out:
        emit_json(_doc(ws, items, approved=untrusted))
    elif not state.quiet:
        state.out.print(
            f"Trusted {plural(len(untrusted), 'file')}. Editing one makes it untrusted again; "
            "`contextree trust --revoke` forgets every approval of this workspace.",
            markup=False,
        )


def _ask_or_refuse(
    state: CliState,
    ws: Workspace,
    items: list[TrustItem],
    untrusted: list[TrustItem],
    *,
    json_out: bool,
) -> None:
    """Return when the user agreed on a terminal; otherwise end the command."""
    if json_out or not stdin_is_terminal():
        if json_out:
            emit_json(_doc(ws, items, approved=[]))
        state.err.print(
            "error: nothing approved: there is no terminal to ask on",
            markup=False,
        )
        state.err.print(
            "Review the files listed, then run `contextree trust --yes` to approve them.",
            markup=False,
        )
        raise typer.Exit(EXIT_REFUSED)
    count = plural(len(untrusted), "file")
    if not typer.confirm(f"Trust {count} for {term_name(str(ws.root))}?", default=False):
        state.err.print("Nothing approved.", markup=False)
        raise typer.Exit(EXIT_DECLINED)


def stdin_is_terminal() -> bool:
    """Whether there is someone to ask (a test replaces this to answer on a "terminal")."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _revoke(state: CliState, ws: Workspace, *, json_out: bool) -> None:
    count = ws.revoke()
    if json_out:
        emit_json({"workspace": str(ws.root), "revoked": count})
    elif not state.quiet:
        state.out.print(
            f"Revoked {plural(count, 'approval')} for {term_name(str(ws.root))}.",
            markup=False,
        )


def _list(state: CliState, ws: Workspace, items: list[TrustItem], *, json_out: bool) -> None:
    if json_out:
        emit_json(_doc(ws, items, approved=None))
        return
    if not items:
        state.out.print(f"No workspace profile files in {term_name(str(ws.root))}.", markup=False)
        return
    for item in items:
        _print_item(state, ws, item)


def _rel(ws: Workspace, item: TrustItem) -> str:
    return relative_name(ws.root, item.path)


def _print_item(state: CliState, ws: Workspace, item: TrustItem) -> None:
    status = "trusted" if item.trusted else "untrusted"
    out = state.out
    out.print(
        f"{status:<10} {item.kind:<9} {term_name(_rel(ws, item))}",
        markup=False,
    )
    rows = list(item.does)
    if item.replaces is not None:
        rows.append(("replaces", item.replaces))
    if item.problem is not None:
        rows.append(("cannot be used", item.problem))
    for label, value in rows:
        out.print(f"    {label:<18} {term_name(value)}", markup=False)


def _item_json(ws: Workspace, item: TrustItem) -> dict[str, Any]:
    return {
        "path": _rel(ws, item),
        "kind": item.kind,
        "name": item.name,
        "trusted": item.trusted,
        "digest": item.digest,
        "does": dict(item.does),
        "replaces": item.replaces,
        "problem": item.problem,
    }


def _doc(
    ws: Workspace, items: list[TrustItem], *, approved: list[TrustItem] | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "workspace": str(ws.root),
        "files": [_item_json(ws, i) for i in items],
    }
    if approved is not None:
        doc["approved"] = [_rel(ws, i) for i in approved]
    return doc


def print_trust_notice(state: CliState, ws: Workspace) -> None:
    """The one line that ``scan``, ``status`` and ``get`` print (on stderr) while workspace
    profile files are untrusted: they keep working, and say what to run."""
    if state.quiet:
        return
    notice = ws.trust_notice()
    if notice is not None:
        state.err.print(notice, markup=False)
