"""``export --format agents-md`` and ``export --check``: directory frames kept in marked blocks
of ``AGENTS.md`` / ``CLAUDE.md``.

Owns which files are written (each ``[export] agents_md_files`` name in each
``[export] agents_md_dirs`` directory, or those at or under the path asked for), the checks
before anything is written, the writes, and the check of the blocks against the tree on disk.

A workspace config is untrusted input, so every configured directory must resolve inside the
workspace, reached without a symlink, and be a directory of the last scan (``ConfigError``
naming the value otherwise). A target is refused (``WorkspaceWriteError``) when it is a
symlink, not a regular file, withheld by the secret patterns or skipped by the scan's ignore
rules. Every directory must have a frame of the agent before any file is written. A file gets
the directory's frame in its first marked block (``marked_blocks``: the grammar), or a block
appended when it has none, or is created holding just the block; every other byte is kept. A
file whose new bytes equal its old ones is not written at all (its mtime stays). Writes are
atomic and never through a symlink (``safe_write``).

The check scans into a throwaway store (``bootstrap.scratch``), so it works in a fresh clone
with no store, and compares each block's node id with its directory's id now; it writes
nothing.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from contextree.api import NodeView
from contextree.bootstrap import (
    WorkspaceSetup,
    context_api,
    ignore_options,
    load_agents,
    open_store_for_reading,
    prompt_file_withheld,
    tree_rows,
)
from contextree.bootstrap.scratch import scratch_tree
from contextree.core.frame import default_frame_type
from contextree.core.ids import NodeKind
from contextree.core.tree import TreeNode, display_path
from contextree.errors import (
    ConfigError,
    FrameNotFoundError,
    PathNotFoundError,
    WorkspaceWriteError,
)
from contextree.facade.export_values import (
    BlockCheck,
    BlockStatus,
    ExportCheck,
    ExportedFile,
    ExportResult,
    FileAction,
)
from contextree.facade.reading import unadopted_store_error
from contextree.store.tree import TreeRows
from contextree.workspace.marked_blocks import (
    MARKED_FILE_CAP,
    find_blocks,
    render_block,
    with_block,
)
from contextree.workspace.marked_hash import marked_content
from contextree.workspace.paths import relative_path, skipped_by_scan
from contextree.workspace.safe_write import read_existing, replace_file

_SETTING = "export.agents_md_dirs"


@dataclass(frozen=True, slots=True)
class _Target:
    directory: bytes
    file: bytes
    absolute: Path


def selected_dirs(setup: WorkspaceSetup) -> list[bytes]:
    """The configured directories as workspace-relative raw paths (the root is ``b""``), in
    order, without repeats; a ``ConfigError`` naming the first value that does not resolve
    to a directory inside the workspace reached without a symlink."""
    root = setup.layout.root
    out: list[bytes] = []
    for value in setup.settings.export.agents_md_dirs:
        rel = _resolve_dir(root, value)
        if rel not in out:
            out.append(rel)
    return out


def _resolve_dir(root: Path, value: str) -> bytes:
    def bad(why: str) -> ConfigError:
        return ConfigError(
            f"{_SETTING} entry {value!r} {why}",
            hint=f'Give directories inside the workspace {root}, relative to it ("." is the '
            "root), in [export] agents_md_dirs of .contextree/config.toml or your user config.",
        )

    if not value or "\x00" in value:
        raise bad("is not a directory name")
    given = Path(value).expanduser()
    candidate = Path(os.path.normpath(given if given.is_absolute() else root / given))
    if candidate != root and root not in candidate.parents:
        raise bad("is outside the workspace")
    rel = candidate.relative_to(root)
    here = root
    for part in rel.parts:
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            raise bad(f"does not exist ({here} is missing)") from None
        except OSError as exc:
            raise bad(f"cannot be looked at ({exc.strerror})") from exc
        if stat.S_ISLNK(mode):
            raise bad(f"goes through the symbolic link {here}")
        if not stat.S_ISDIR(mode):
            raise bad(f"is not a directory ({here})")
    return b"" if rel == Path(".") else os.fsencode(rel.as_posix())


def _targets(setup: WorkspaceSetup, dirs: list[bytes]) -> list[_Target]:
    root = setup.layout.root
    out = []
    for directory in dirs:
        for name in setup.settings.export.agents_md_files:
            file = (directory + b"/" if directory else b"") + name.encode("ascii")
            out.append(_Target(directory=directory, file=file, absolute=root / os.fsdecode(file)))
    return out


def _check_target(setup: WorkspaceSetup, target: _Target) -> None:
    """Refuse a target the secret patterns withhold or the scan would skip."""
    shown = display_path(target.file)
    if prompt_file_withheld(setup.settings)(os.fsdecode(target.file)):
        raise WorkspaceWriteError(
            f"export does not write {shown}: the secret patterns withhold it",
            hint="Drop its directory from [export] agents_md_dirs, or change "
            "generation.secret_patterns.",
        )
    skipped = skipped_by_scan(
        target.file, root=setup.layout.root, options=ignore_options(setup.settings)
    )
    if skipped is not None:
        raise WorkspaceWriteError(
            f"export does not write {shown}: {skipped.message}",
            hint="Drop its directory from [export] agents_md_dirs, or stop ignoring the file.",
        )


def export_agents_md(
    setup: WorkspaceSetup, path: str | None, *, agent: str | None, cwd: Path | None
) -> ExportResult:
    """Write each selected directory's frame into its marked files (see the module doc)."""
    root = setup.layout.root
    dirs = selected_dirs(setup)
    if path is not None:
        under = relative_path(path, root=root, cwd=cwd if cwd is not None else root)
        dirs = [d for d in dirs if not under or d == under or d.startswith(under + b"/")]
        if not dirs:
            raise PathNotFoundError(
                f"no directory of {_SETTING} is at or under {path}",
                hint="Add it to [export] agents_md_dirs, or give no path to export them all.",
            )
    with open_store_for_reading(setup) as store:
        if not store.input_keys_trusted:
            raise unadopted_store_error(setup.layout.store_path, command="export")
        agents = load_agents(setup)
        profile = agents.choose(agent, setup.settings.default_agent)
        frame_type = default_frame_type(profile.id)
        rows = tree_rows(store)
        api = context_api(store, agents)
        frames: dict[bytes, tuple[str, str, str]] = {}
        for directory in dirs:
            entry = _tree_dir(rows, directory)
            node = api.get_node(
                entry.node_id, NodeView(max_frames=1, agent_id=profile.id, frame_type=frame_type)
            )
            if not node.frames:
                shown = display_path(directory)
                raise FrameNotFoundError(
                    f"no frame yet for agent {profile.id} on {shown}; nothing was exported",
                    hint=f"Run `contextree generate --agent {profile.id}` first.",
                )
            frame = node.frames[0].frame
            text = frame.text()
            frames[directory] = (
                entry.node_id.hex(),
                frame.frame_id.hex(),
                text if text is not None else "(frame content is not UTF-8)",
            )
        root_id = _tree_dir(rows, b"").node_id.hex() if b"" not in dirs else frames[b""][0]
    targets = _targets(setup, dirs)
    plans = [_plan(setup, target, frames[target.directory]) for target in targets]
    files = [_apply(plan) for plan in plans]
    return ExportResult(
        format="agents-md",
        path=display_path(dirs[0]) if len(dirs) == 1 else ".",
        node_id=root_id,
        agent_id=profile.id,
        frame_type=frame_type,
        nodes=len(dirs),
        files=tuple(files),
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    target: _Target
    node_id: str
    frame_id: str
    old: bytes | None
    new: bytes
    mode: int


def _plan(setup: WorkspaceSetup, target: _Target, frame: tuple[str, str, str]) -> _Plan:
    """What ``target`` will hold; every check happens here, before any file is written."""
    _check_target(setup, target)
    found = read_existing(target.absolute, cap=MARKED_FILE_CAP)
    old, mode = found if found is not None else (None, 0o644)
    node_id, frame_id, text = frame
    new = with_block(old or b"", render_block(node_id, frame_id, text))
    return _Plan(target, node_id, frame_id, old, new, mode)


def _apply(plan: _Plan) -> ExportedFile:
    action: FileAction
    if plan.old == plan.new:
        action = "unchanged"
    else:
        replace_file(plan.target.absolute, plan.new, mode=plan.mode)
        action = "created" if plan.old is None else "updated"
    changed = plan.old is None or marked_content(plan.old) != marked_content(plan.new)
    return ExportedFile(
        path=display_path(plan.target.file),
        directory=display_path(plan.target.directory),
        node_id=plan.node_id,
        frame_id=plan.frame_id,
        action=action,
        tree_changed=changed,
    )


def _tree_dir(rows: TreeRows, directory: bytes) -> TreeNode:
    entry = rows.entry(directory)
    if entry is None or entry.kind != NodeKind.DIR:
        shown = display_path(directory)
        raise ConfigError(
            f"{_SETTING} entry {shown!r} is not a directory of the last scan",
            hint="Run `contextree scan` (a directory the scan skips, or one without files, "
            "cannot be exported), or drop it from [export] agents_md_dirs.",
        )
    return entry


def export_check(setup: WorkspaceSetup) -> ExportCheck:
    """Scan now into a throwaway store and compare every configured block with it."""
    dirs = selected_dirs(setup)
    targets = _targets(setup, dirs)
    with scratch_tree(setup) as rows:
        ids: dict[bytes, str | None] = {}
        for directory in dirs:
            entry = rows.entry(directory)
            ids[directory] = (
                entry.node_id.hex() if entry is not None and entry.kind == NodeKind.DIR else None
            )
        root = rows.entry(b"")
        root_id = root.node_id.hex() if root is not None else ""
    return ExportCheck(
        root_id=root_id, blocks=tuple(_check_one(t, ids[t.directory]) for t in targets)
    )


def _check_one(target: _Target, current: str | None) -> BlockCheck:
    shown, directory = display_path(target.file), display_path(target.directory)

    def verdict(
        status: BlockStatus,
        reason: str,
        block_node: str | None = None,
        block_frame: str | None = None,
    ) -> BlockCheck:
        return BlockCheck(
            path=shown,
            directory=directory,
            status=status,
            block_node_id=block_node,
            current_node_id=current,
            block_frame_id=block_frame,
            reason=reason,
        )

    try:
        found = read_existing(target.absolute, cap=MARKED_FILE_CAP)
    except WorkspaceWriteError as exc:
        return verdict("unreadable", exc.message)
    if found is None:
        return verdict("missing", "the file does not exist")
    blocks = find_blocks(found[0])
    if not blocks:
        return verdict("missing", "the file has no contextree block")
    block = blocks[0]
    if current is None:
        return verdict("stale", "the directory is not in the tree", block.node_id, block.frame_id)
    if block.node_id != current:
        return verdict(
            "stale",
            "the directory changed since the block was written",
            block.node_id,
            block.frame_id,
        )
    return verdict("current", "", block.node_id, block.frame_id)
