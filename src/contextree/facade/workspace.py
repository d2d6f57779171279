"""``open_workspace`` and ``Workspace``: the library's front door, and the CLI's.

Owns the public surface of one workspace: each method is a use case the CLI also offers
(scan, status, generate, get, verify, gc, trust, ...), taking paths as ``str`` or
``os.PathLike`` relative to the workspace and returning frozen values. The work is done by the
use-case modules beside this one, over objects the composition root (``contextree.bootstrap``)
builds; nothing here reads files or SQL itself. Opening a workspace reads its configuration
only: the store is opened by each call that needs it and closed before the call returns, so a
``Workspace`` may be kept open for a long time and used from several threads for reading.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from contextree.api import Ordering
from contextree.bootstrap import WorkspaceSetup, load_workspace
from contextree.config.settings import Settings
from contextree.facade.profile_methods import ProfileMethods
from contextree.facade.reading import ReadRequest, read_node, typed_path
from contextree.facade.serving_methods import ServingMethods
from contextree.facade.values import NodeFrames

if TYPE_CHECKING:
    from contextree.facade.frame_report import FrameReport
    from contextree.facade.generating import (
        FailurePolicy,
        GenerateOutcome,
        GenerationPlan,
        Observer,
        ResultListener,
        RunControl,
        Schedule,
    )
    from contextree.facade.trusting import TrustItem, TrustTarget
    from contextree.facade.upkeep import AdoptResult
    from contextree.facade.workspace_cases import InitResult, StatusReport
    from contextree.store.sweep import GcReport
    from contextree.store.upkeep import VerifyReport
    from contextree.workspace.scan import ScanProgress, ScanReport


def open_workspace(
    path: str | os.PathLike[str] = ".",
    *,
    settings_overrides: Mapping[str, Any] | None = None,
    discover: bool = True,
    cwd: str | os.PathLike[str] | None = None,
) -> Workspace:
    """The workspace at or above ``path``: the nearest directory holding ``.contextree/``,
    else ``path`` itself (it is initialised on first ``scan`` or ``generate``).

    ``settings_overrides`` are nested settings (``{"generation": {"concurrency": 4}}``) applied
    over the config files and the ``CONTEXTREE_*`` variables and validated like them: a bad
    value is a ``ConfigError`` naming it. ``cwd`` is where relative paths given to ``get`` and
    ``generate`` are taken from when it lies inside the workspace (the CLI passes the current
    directory); by default they are relative to the workspace root. With ``discover=False``
    ``path`` itself is the workspace (the CLI's ``--workspace DIR``)."""
    setup = load_workspace(Path(path), discover=discover, overrides=settings_overrides)
    return Workspace(setup, cwd=Path(cwd) if cwd is not None else None)


class Workspace(ProfileMethods, ServingMethods):
    """One workspace, opened by ``open_workspace``. Use it as a context manager (or call
    ``close``); it holds no open file between calls. Its agent and provider methods
    (``agents``, ``providers``, ``test_provider``, ...) are written in ``profile_methods``, its
    serving methods (``pack``, ``get_tree``, ``search``, ``export``, ...) in
    ``serving_methods``."""

    def __init__(self, setup: WorkspaceSetup, *, cwd: Path | None = None) -> None:
        self._setup = setup
        self._cwd = cwd
        self._closed = False

    # -- what it is -------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The workspace directory."""
        return self._setup.layout.root

    @property
    def store_path(self) -> Path:
        """The workspace's SQLite store (``.contextree/store.db``; it may not exist yet)."""
        return self._setup.layout.store_path

    @property
    def settings(self) -> Settings:
        """The settings in effect (defaults < user config < workspace config < environment <
        overrides)."""
        return self._setup.settings

    @property
    def notices(self) -> tuple[str, ...]:
        """Workspace config values that were ignored because they would loosen the user's
        security or spend settings (one line each, naming the file and the setting)."""
        return self._setup.notices

    @property
    def setup(self) -> WorkspaceSetup:
        """Internal: the layout and settings the use cases work with."""
        return self._setup

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Nothing stays open between calls; after ``close`` the workspace is not used again."""
        self._closed = True

    def __repr__(self) -> str:
        return f"<contextree.Workspace {str(self.root)!r}>"

    # -- reading ----------------------------------------------------------------------------

    def get(
        self,
        path: str | os.PathLike[str],
        *,
        agent: str | None = None,
        frame_type: str | None = None,
        history: bool = False,
        max_frames: int = 10,
        ordering: Ordering = Ordering.RECENCY,
    ) -> NodeFrames:
        """The frames of ``path`` (a file or directory; ``""`` or ``"."`` is the workspace)
        for ``agent`` (default: the workspace's default agent, else the only writer).
        ``history`` adds earlier writes to the same path. Raises ``FrameNotFoundError`` when
        the path has no frame yet, ``PathNotFoundError`` (saying why) when it is not in the
        last scan."""
        request = ReadRequest(
            path=typed_path(path),
            agent=agent,
            frame_type=frame_type,
            history=history,
            max_frames=max_frames,
            ordering=ordering,
        )
        return read_node(self._setup, request, cwd=self._cwd)

    # -- generating -------------------------------------------------------------------------

    async def generate(
        self,
        target: str | os.PathLike[str] | None = None,
        *,
        agent: str | None = None,
        provider: str | None = None,
        force: bool = False,
        recursive: bool = True,
        node: str | None = None,
        frame_type: str | None = None,
        schedule: Schedule | None = None,
        failure_policy: FailurePolicy | None = None,
        concurrency: int | None = None,
        scan: bool = True,
        wait: bool = False,
        retry_failed: bool = False,
        redact: bool | None = None,
        observer: Observer | None = None,
        on_result: ResultListener | None = None,
        on_plan: Callable[[GenerationPlan], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
        control: RunControl | None = None,
        command: str = "generate",
    ) -> GenerateOutcome:
        """Generate a frame for every file and directory under ``target`` (default: the whole
        workspace) that lacks a current one: scan, plan, call the provider, store. Run it with
        ``asyncio.run(ws.generate())``.

        ``agent`` and ``provider`` default as in the CLI (the agent's provider, else the
        config's, else the offline ``structural`` provider). ``force`` regenerates current
        frames too; ``node`` targets a node id instead of a path. A run that would send files
        through a workspace profile this user has not approved is refused before any request
        (``ProviderConfigError`` for a provider profile, ``UntrustedWorkspaceError`` for an
        agent profile; both are ``UsageError``). ``observer`` receives every telemetry event,
        ``on_result`` each node's result, ``on_notice`` one-line notices (by default the
        ``contextree`` logger). A failed node does not raise: read
        ``outcome.result.succeeded``."""
        from contextree.facade.generating import GenerateOptions, generate

        options = GenerateOptions(
            target=None if target is None else typed_path(target),
            node=node,
            agent=agent,
            provider=provider,
            frame_type=frame_type,
            force=force,
            recursive=recursive,
            schedule=schedule,
            failure_policy=failure_policy,
            concurrency=concurrency,
            scan=scan,
            wait_for_lock=wait,
            retry_failed=retry_failed,
            redact=redact,
        )
        return await generate(
            self._setup,
            options,
            cwd=self._cwd,
            observer=observer,
            on_result=on_result,
            on_plan=on_plan,
            on_notice=on_notice,
            control=control,
            command=command,
        )

    # -- the workspace: init, scan, status ----------------------------------------------------

    def init(self) -> InitResult:
        """Create ``.contextree/`` (the store and a commented ``config.toml``) and a starter
        ``.contextreeignore``, never over an existing file nor through a symlink. Returns
        what was created and what was already there. Optional: ``scan`` and ``generate``
        create what they need. Raises ``WorkspaceWriteError`` when a file cannot be written
        and ``WorkspaceBusyError`` when another writer holds the workspace."""
        from contextree.facade.workspace_cases import init_workspace

        return init_workspace(self._setup.layout, self._setup.settings)

    def scan(self, *, progress: ScanProgress | None = None, wait: bool = False) -> ScanReport:
        """Scan the workspace into the Merkle tree (incremental: only files whose stat
        signature changed are read) and commit the changes in one transaction, under the
        writer lock. ``progress`` is told what is walked and hashed; with ``wait`` it waits
        for another writer instead of raising ``WorkspaceBusyError``. Returns the counts, the
        root id and the paths added, modified and removed."""
        from contextree.facade.workspace_cases import scan_workspace

        return scan_workspace(
            self._setup.layout, self._setup.settings, progress=progress, wait=wait
        )

    def status(self, *, check_changes: bool = True) -> StatusReport:
        """The last scan, the store's size and whether it is adopted, and (``check_changes``)
        what a scan now would change (by stat signatures; nothing is written). Read-only and
        lock-free; a workspace never scanned gives ``last_scan`` None, not an error."""
        from contextree.facade.workspace_cases import workspace_status

        return workspace_status(
            self._setup.layout, self._setup.settings, check_changes=check_changes
        )

    def frame_status(self, *, agent: str | None = None, provider: str | None = None) -> FrameReport:
        """The frames half of ``status``: how many nodes have a current frame for ``agent``
        and ``provider`` (defaults as ``generate`` picks them), the heads per agent and frame
        type, and the last run. Read-only: it never locks, scans or calls a provider. An
        agent or provider that cannot be used leaves ``coverage`` None with the reason in
        ``coverage_error`` instead of raising; a never-scanned workspace gives empty counts."""
        from contextree.facade.frame_report import frame_report

        return frame_report(self._setup, agent=agent, provider=provider)

    # -- upkeep: verify, gc, adopt -----------------------------------------------------------

    def verify(self, *, examples: int = 5) -> VerifyReport:
        """Check the store: every frame id recomputed, heads, history rows, artifact digests
        and SQLite's own integrity (at most ``examples`` examples kept per kind of problem).
        Read-only and lock-free. Problems are in the report (``report.ok``), not raised; the
        result is recorded, so a store SQLite found damaged is refused by writers until it
        checks out again. Raises ``PathNotFoundError`` when the workspace was never scanned."""
        from contextree.facade.upkeep import verify_workspace

        return verify_workspace(self._setup, examples=examples).report

    def adopt(self) -> AdoptResult:
        """``verify``, then, when the store checks out, adopt it: a store that came with the
        workspace (a clone, another user, a moved directory) is recorded as this user's, so
        its frames count as current again. Returns the verify report and whether it was
        adopted (never when it has problems). Raises as ``verify``, and ``WorkspaceBusyError`` when
        a store without an id must be given one while another writer holds the workspace."""
        from contextree.facade.upkeep import verify_workspace

        return verify_workspace(self._setup, adopt=True)

    def gc(
        self,
        *,
        dry_run: bool = False,
        keep_history: bool | None = None,
        compact: bool = True,
        wait: bool = False,
    ) -> GcReport:
        """Remove the frames, history and artifacts of nodes no longer in the last scan's
        tree (history of paths still in it stays with ``keep_history``, default
        ``store.keep_history``), then compact the file (``compact``). Runs under the writer
        lock (``wait`` waits for another writer instead of raising ``WorkspaceBusyError``); a
        ``dry_run`` only reads and says what would go. Returns the rows and bytes removed.
        Raises ``PathNotFoundError`` when the workspace was never scanned."""
        from contextree.facade.upkeep import collect_garbage

        return collect_garbage(
            self._setup, dry_run=dry_run, keep_history=keep_history, compact=compact, wait=wait
        )

    # -- trust -------------------------------------------------------------------------------

    def untrusted(self) -> list[Path]:
        """The workspace profile files (``.contextree/providers/*.toml``,
        ``.contextree/agents/*.toml``) this user has not approved as they are now; empty when
        there are none. Cheap: loads neither the provider nor the agent stack."""
        from contextree.facade.trusting import untrusted_files

        return untrusted_files(self._setup)

    def trust_review(self) -> list[TrustItem]:
        """Every workspace provider and agent profile file, broken ones too, with what it does
        (base URL, key variable name, wire format; an agent's provider and prompt files), the
        user profile it replaces and whether this user approved its current bytes. Keys are
        never read, only the names of their variables."""
        from contextree.facade.trusting import review

        return review(self._setup)

    def trust(self, paths: Iterable[TrustTarget] | None = None) -> list[TrustItem]:
        """Approve the untrusted workspace profile files among ``paths`` (relative to the
        workspace root, or absolute; items of an earlier ``trust_review`` are approved with
        the bytes reviewed), or every untrusted one when None, in this user's state
        directory. Returns the files approved (now ``trusted``); one already trusted is left
        as it is. A path ``trust_review`` does not list raises ``UsageError`` and nothing is
        approved; an unwritable state directory, ``ConfigError``. Editing an approved file
        makes it untrusted again."""
        from contextree.facade.trusting import approve

        return approve(self._setup, paths)

    def revoke(self, paths: Iterable[str | os.PathLike[str]] | None = None) -> int:
        """Forget this user's approvals of the workspace files ``paths`` (relative to the
        workspace root, or absolute), or of every file when None. Returns how many approvals
        were forgotten; raises ``ConfigError`` when the state directory is unwritable."""
        from contextree.facade.trusting import revoke

        return revoke(self._setup, paths)

    def trusted_list(self) -> list[TrustItem]:
        """What ``contextree trust --list`` shows: every workspace profile file with whether
        it is trusted (the same items as ``trust_review``); approves nothing."""
        return self.trust_review()

    def trust_notice(self) -> str | None:
        """The one line that commands which keep working in an untrusted workspace (``scan``,
        ``status``, ``get``) print, naming the untrusted files and what to run; None when
        every workspace profile file is trusted. Never raises."""
        from contextree.facade.trusting import trust_notice

        return trust_notice(self._setup)
