"""``contextree provider list | show | test | add``: presentation only.

``Workspace.providers``, ``provider``, ``test_provider`` and ``add_provider`` load, probe and
write the profiles; this module prints them (text or ``--json``) and maps errors to exit
codes. It never prints a key: only the name of the variable that holds it and whether that
variable is set.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated, Any

import typer

from contextree.cli.errors import user_errors
from contextree.cli.output import CliState, emit_json
from contextree.cli.workspace_open import open_cli_workspace
from contextree.facade.provider_profiles import (
    NewProvider,
    ProbeResult,
    ProviderInfo,
    add_user_provider,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print a JSON document instead of text.")]
NameArg = Annotated[str, typer.Argument(help="Provider profile name.")]


class HttpType(StrEnum):
    openai = "openai"
    anthropic = "anthropic"
    ollama = "ollama"


def register(app: typer.Typer) -> None:
    provider_app = typer.Typer(
        name="provider",
        help="List, inspect, test and add LLM provider profiles.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    provider_app.command("list")(list_cmd)
    provider_app.command("show")(show_cmd)
    provider_app.command("test")(probe_cmd)
    provider_app.command("add")(add_cmd)
    app.add_typer(provider_app, name="provider")


def _entry_json(info: ProviderInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "type": info.type.value,
        "model": info.model,
        "base_url": info.base_url,
        "api_key_env": info.api_key_env,
        "key_status": info.key_status.value,
        "source": info.source.value,
        "path": str(info.path) if info.path else None,
        "trusted": info.trusted,
    }


def list_cmd(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """List every provider profile (built-in, user and workspace) and whether its key is set."""
    state: CliState = ctx.obj
    with user_errors(state), open_cli_workspace(state) as ws:
        listing = ws.providers()
    rows = [_entry_json(info) for info in listing.providers]
    problems = [
        {"name": p.name, "path": str(p.path), "error": p.error.message} for p in listing.problems
    ]
    if json_out:
        emit_json({"providers": rows, "problems": problems})
        return
    columns = ("name", "type", "model", "source")
    widths = {k: max(len(str(r[k])) for r in rows) for k in columns}
    for row in rows:
        key = row["api_key_env"] or "-"
        cells = [str(row[k]).ljust(widths[k]) for k in columns]
        state.out.print("  ".join([*cells, f"{key} ({row['key_status']})"]), markup=False)
    for problem in problems:
        state.err.print(f"warning: {problem['error']}", markup=False)


def show_cmd(ctx: typer.Context, name: NameArg, json_out: JsonFlag = False) -> None:
    """Show one provider profile as it will be used (keys are never shown)."""
    state: CliState = ctx.obj
    with user_errors(state), open_cli_workspace(state) as ws:
        info = ws.provider(name)
    profile = info.profile
    doc = {
        **_entry_json(info),
        "options": profile.options.model_dump(exclude_none=True),
        "timeouts": profile.timeouts.model_dump(),
        "requests_per_minute": profile.requests_per_minute,
        "tokens_per_minute": profile.tokens_per_minute,
        "max_concurrency": profile.max_concurrency,
    }
    if json_out:
        emit_json({"provider": doc})
        return
    for key, value in doc.items():
        if value is None or value == {}:
            continue
        shown = (
            ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
        )
        state.out.print(f"{key:<20} {shown}", markup=False)


def _probe_json(result: ProbeResult) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": result.name,
        "type": result.type,
        "model": result.model,
        "ok": result.ok,
        "latency_s": round(result.latency_s, 4),
    }
    if result.ok:
        doc |= {
            "served_model": result.served_model,
            "tokens_in": result.tokens_in,
            "tokens_out": result.tokens_out,
            "finish_reason": result.finish_reason,
            "reply": result.reply,
            "context_window": result.context_window,
        }
    else:
        doc |= {
            "error_class": result.error_class,
            "error": result.error,
            "status": result.status,
            "retryable": result.retryable,
            "retry_after": result.retry_after,
        }
    return doc


def probe_cmd(ctx: typer.Context, name: NameArg, json_out: JsonFlag = False) -> None:
    """Send one tiny request and report latency, served model and any error class."""
    state: CliState = ctx.obj
    with user_errors(state), open_cli_workspace(state) as ws:
        # An untrusted workspace profile is refused before any request.
        result = asyncio.run(ws.test_provider(name))
    if json_out:
        emit_json({"probe": _probe_json(result)})
    elif result.ok:
        state.out.print(
            f"ok  {result.name} ({result.type}) answered in {result.latency_s:.3f} s: served by "
            f"{result.served_model}, {result.tokens_in} tokens in, {result.tokens_out} out, "
            f"finish {result.finish_reason}",
            markup=False,
        )
        state.out.print(f"reply: {result.reply}", markup=False)
        if result.context_window is not None:
            state.out.print(
                f"context window: {result.context_window:,} tokens (the server's; kept, so "
                "prompts to this provider are fitted to it)",
                markup=False,
            )
    else:
        retry = "retryable" if result.retryable else "not retryable"
        if result.retry_after is not None:
            retry += f", retry after {result.retry_after:g} s"
        status = f"HTTP {result.status}, " if result.status else ""
        state.err.print(
            f"FAILED  {result.name} ({result.type}) after {result.latency_s:.3f} s: "
            f"{result.error_class} ({status}{retry})",
            markup=False,
        )
        state.err.print(result.error or "", markup=False)
    if not result.ok:
        raise typer.Exit(1)


def add_cmd(
    ctx: typer.Context,
    name: NameArg,
    *,
    type_: Annotated[HttpType, typer.Option("--type", help="Wire format the server speaks.")],
    model: Annotated[str, typer.Option("--model", help="Model name to request.")],
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API base URL (default: the type's own).")
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            help="Environment variable holding the key (default: OPENAI_API_KEY or "
            "ANTHROPIC_API_KEY by type). Never pass the key itself.",
        ),
    ] = None,
    no_key: Annotated[
        bool, typer.Option("--no-key", help="The server needs no key (local vLLM, llama.cpp).")
    ] = False,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Default output token limit.")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="Default sampling temperature.")
    ] = None,
    requests_per_minute: Annotated[int | None, typer.Option("--requests-per-minute")] = None,
    tokens_per_minute: Annotated[int | None, typer.Option("--tokens-per-minute")] = None,
    max_concurrency: Annotated[int | None, typer.Option("--max-concurrency")] = None,
    user: Annotated[
        bool, typer.Option("--user", help="Write the user profile instead of the workspace's.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing profile.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Write a provider profile (workspace .contextree/providers/NAME.toml by default)."""
    state: CliState = ctx.obj
    new = NewProvider(
        name=name,
        type=type_.value,
        model=model,
        base_url=base_url,
        api_key_env="" if no_key else api_key_env,
        max_tokens=max_tokens,
        temperature=temperature,
        requests_per_minute=requests_per_minute,
        tokens_per_minute=tokens_per_minute,
        max_concurrency=max_concurrency,
    )
    with user_errors(state):
        if user:  # reads no workspace: it need not be one
            added = add_user_provider(new, force=force)
        else:
            new.profile()  # a bad option is reported before the workspace is read
            with open_cli_workspace(state) as ws:
                added = ws.add_provider(new, force=force)
    path, profile = added.path, added.profile
    if json_out:
        emit_json({"written": str(path), "provider": profile.model_dump(mode="json")})
        return
    if state.quiet:
        return
    state.out.print(f"wrote {path}", markup=False)
    if profile.key_env:
        state.out.print(
            f"Export {profile.key_env}=<your key> (read at call time, never stored), then run "
            f"`contextree provider test {name}`.",
            markup=False,
        )
    else:
        state.out.print(f"Next: `contextree provider test {name}`.", markup=False)
