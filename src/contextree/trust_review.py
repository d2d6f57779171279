"""Workspace trust as the commands see it: which of a workspace's own profile files are
approved, what each one does, and the refusal of a run that would use an unapproved one.

Owns the review that ``contextree trust`` shows (``trust_review``), the one-line notice that
``scan``, ``status`` and ``get`` print (``trust_notice``) and the gates that ``generate``,
``regenerate`` and ``provider test`` pass before any request (``require_trusted_run``,
``require_trusted_provider``). The approvals themselves (who approved which bytes) live in
``contextree.workspace.trust``; the registries record each profile's digest and trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from contextree.bootstrap import (
    WorkspaceSetup,
    agent_dirs,
    load_agents,
    load_providers,
    prompt_file_withheld,
    provider_dirs,
    workspace_trust,
)
from contextree.core.ids import Digest
from contextree.errors import ContextreeError, UntrustedWorkspaceError
from contextree.workspace.trust import WorkspaceTrust, file_digest

if TYPE_CHECKING:
    from contextree.agents.registry import AgentRegistry
    from contextree.context.generation.inputs import GenerateOptions, GenerationEnvironment
    from contextree.providers import LoadedProfile


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustItem:
    """One of the workspace's own profile files, for ``contextree trust``: what it does
    (label and value pairs), what it replaces and whether this user approved these bytes."""

    kind: str  # "provider" or "agent"
    name: str
    path: Path
    digest: Digest
    trusted: bool
    does: tuple[tuple[str, str], ...] = ()
    replaces: str | None = None
    problem: str | None = None


def _read_digest(path: Path) -> Digest | None:
    try:
        return file_digest(path.read_bytes())
    except OSError:
        return None


def _toml_files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.glob("*.toml") if p.is_file())
    except OSError:
        return []


def untrusted_workspace_files(ws: WorkspaceSetup) -> list[Path]:
    """The workspace profile files this user has not approved as they are now. Cheap: never
    imports the provider stack (a provider file is named by its bytes alone)."""
    from contextree.agents.registry import check_dirs

    trust = workspace_trust(ws)
    found: list[Path] = []
    for path in _toml_files(provider_dirs(ws.layout)[1]):
        digest = _read_digest(path)
        if digest is None or not trust.trusted(path, digest):
            found.append(path)
    workspace_agents = agent_dirs(ws.layout)[1]
    for check in check_dirs([workspace_agents], withheld=prompt_file_withheld(ws.settings)):
        digest = check.origin.digest if check.origin is not None else _read_digest(check.path)
        if digest is None or not trust.trusted(check.path, digest):
            found.append(check.path)
    return found


def trust_notice(ws: WorkspaceSetup) -> str | None:
    """One line for commands that keep working in an untrusted workspace (``scan``,
    ``status``, ``get``, a structural ``generate``); None when everything is trusted."""
    try:
        untrusted = untrusted_workspace_files(ws)
    except (ContextreeError, OSError):  # a notice never breaks the command it decorates
        return None
    if not untrusted:
        return None
    names = ", ".join(_printable(_relative(ws, p)) for p in untrusted[:3])
    more = f" and {len(untrusted) - 3} more" if len(untrusted) > 3 else ""
    files = "file is" if len(untrusted) == 1 else "files are"
    return (
        f"note: {len(untrusted)} workspace profile {files} not trusted ({names}{more}); "
        "runs that would use them with a provider are refused until you run `contextree trust`"
    )


def _relative(ws: WorkspaceSetup, path: Path) -> str:
    try:
        return path.relative_to(ws.layout.root).as_posix()
    except ValueError:
        return str(path)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def trust_review(ws: WorkspaceSetup) -> list[TrustItem]:
    """Every workspace provider and agent profile file, with what it does and whether it
    is trusted; broken files too (approving one is harmless: it cannot be used)."""
    trust = workspace_trust(ws)
    items = _provider_items(ws, trust)
    items.extend(_agent_items(ws, trust))
    return items


def _provider_items(ws: WorkspaceSetup, trust: WorkspaceTrust) -> list[TrustItem]:
    from contextree.providers import ProfileSource

    providers = load_providers(ws, trust=trust)
    items = []
    for entry in providers.entries():
        if entry.source is not ProfileSource.WORKSPACE or entry.path is None:
            continue
        assert entry.digest is not None
        profile = entry.profile
        items.append(
            TrustItem(
                kind="provider",
                name=profile.name,
                path=entry.path,
                digest=entry.digest,
                trusted=entry.trusted,
                does=(
                    ("wire format", profile.type.value),
                    ("base URL", _printable(profile.effective_base_url or "-")),
                    ("API key variable", profile.key_env or "(none)"),
                    ("model", _printable(profile.effective_model or "-")),
                ),
                replaces=str(entry.shadows) if entry.shadows is not None else None,
            )
        )
    for problem in providers.problems():
        if problem.path.parent != provider_dirs(ws.layout)[1]:
            continue
        digest = _read_digest(problem.path)
        if digest is not None:
            items.append(_broken_item("provider", problem.path, digest, trust, problem.error))
    return items


def _broken_item(
    kind: str, path: Path, digest: Digest, trust: WorkspaceTrust, error: Exception
) -> TrustItem:
    message = getattr(error, "message", str(error))
    return TrustItem(
        kind=kind,
        name=path.stem,
        path=path,
        digest=digest,
        trusted=trust.trusted(path, digest),
        problem=_printable(message.splitlines()[0] if message else "invalid"),
    )


def _agent_items(ws: WorkspaceSetup, trust: WorkspaceTrust) -> list[TrustItem]:
    agents = load_agents(ws, trust=trust)
    workspace_dir = agent_dirs(ws.layout)[1]
    items = []
    for profile in agents.profiles():
        origin = agents.origin(profile.id)
        if origin is None or origin.path.parent != workspace_dir:
            continue
        prompts = ", ".join(_printable(_relative(ws, p)) for p in origin.prompt_files)
        does = [("role", profile.role.value), ("provider", profile.provider or "(default)")]
        if profile.can_write:
            does.append(("prompt files", prompts or "(prompt inline)"))
        replaced = agents.replaced(profile.id)
        items.append(
            TrustItem(
                kind="agent",
                name=profile.id,
                path=origin.path,
                digest=origin.digest,
                trusted=origin.trusted,
                does=tuple(does),
                replaces=(
                    ("the built-in agent" if replaced[-1] == "built-in" else replaced[-1])
                    if replaced
                    else None
                ),
            )
        )
    for check in agents.problems():
        if check.path.parent != workspace_dir or check.error is None:
            continue
        digest = _read_digest(check.path)
        if digest is not None:
            items.append(_broken_item("agent", check.path, digest, trust, check.error))
    return items


def require_trusted_run(
    ws: WorkspaceSetup, env: GenerationEnvironment, options: GenerateOptions, *, command: str
) -> str | None:
    """Refuse (exit 2, before any request) a run that would call a non-structural provider
    through an untrusted workspace provider or agent profile, or that would use a name an
    untrusted workspace file takes from a user profile. Otherwise the trust notice, if any.

    The workspace ``config.toml`` is not a trust subject: it can only pick among profiles
    that are each checked here, and its security and spend settings only tighten the user's.
    """
    from contextree.context.generation.inputs import resolve
    from contextree.providers.registry import untrusted_profile_error

    resolved = resolve(env, options, preflight=False)
    entry = env.providers.get(resolved.provider_name)
    agent = resolved.agent
    origin = env.agents.origin(agent.id)
    user_agent = _user_profile_replaced(env.agents, agent.id)
    if origin is not None and not origin.trusted and user_agent is not None:
        raise UntrustedWorkspaceError(
            f"`contextree {command}` refused: the workspace agent profile {origin.path} is not "
            f"trusted and has the same name as your profile {user_agent}; contextree uses "
            "neither in its place",
            hint="Run `contextree trust` to review and approve the workspace file, or remove or "
            "rename it to use yours.",
        )
    # An untrusted file never stands in for the user's profile, even one that sends nothing.
    if not entry.trusted and (entry.calls_out or entry.shadows is not None):
        raise untrusted_profile_error(entry, command=command)
    if entry.calls_out and origin is not None and not origin.trusted:
        raise _untrusted_agent_error(ws, origin.path, origin.prompt_files, entry, command)
    if entry.calls_out and not env.store.input_keys_trusted:
        _refuse_unadopted_store(ws, env, command)
    return trust_notice(ws)


def _refuse_unadopted_store(ws: WorkspaceSetup, env: GenerationEnvironment, command: str) -> None:
    """A store contextree did not create for this user here (it came with a clone, or predates
    store records) counts none of its frames as current, so a run through a provider would pay
    to regenerate every one of them: refuse, and say how to keep or drop them. A store with
    no frames, and an offline run, go ahead."""
    api = env.parts.api(env, redact=env.settings.generation.redact)
    frames = sum(count for _, _, count in api.heads_in_tree())
    if frames == 0:
        return
    raise UntrustedWorkspaceError(
        f"`contextree {command}` refused: {ws.layout.store_path} came with the workspace or "
        f"predates this contextree (no record that it was made for you here), so none of its "
        f"{frames:,} frame{'' if frames == 1 else 's'} counts as current and this run would "
        "pay to generate them all again",
        hint="If it is your own store or you trust where it came from, run `contextree verify "
        "--adopt` once to keep its frames; otherwise move it aside and run `contextree "
        "generate` to make your own.",
    )


def require_trusted_provider(entry: LoadedProfile, *, command: str) -> None:
    """Refuse a command (``provider test``) that would call out through an untrusted
    workspace provider profile."""
    from contextree.providers.registry import untrusted_profile_error

    if not entry.trusted and (entry.calls_out or entry.shadows is not None):
        raise untrusted_profile_error(entry, command=command)


def _user_profile_replaced(agents: AgentRegistry, agent_id: str) -> str | None:
    sources = [s for s in agents.replaced(agent_id) if s != "built-in"]
    return sources[-1] if sources else None


def _untrusted_agent_error(
    ws: WorkspaceSetup,
    path: Path,
    prompt_files: tuple[Path, ...],
    entry: LoadedProfile,
    command: str,
) -> UntrustedWorkspaceError:
    prompts = ", ".join(_printable(_relative(ws, p)) for p in prompt_files)
    with_prompts = f" (prompt file {prompts})" if prompts else ""
    return UntrustedWorkspaceError(
        f"`contextree {command}` refused: the workspace agent profile {path}{with_prompts} is "
        f"not trusted; its prompt would be sent with your files to the provider "
        f"{entry.profile.name!r} ({_printable(entry.profile.effective_base_url or '-')})",
        hint="Run `contextree trust` to review what it does and approve it (or pass "
        "--agent with a built-in or user agent, or --provider structural to work offline).",
    )
