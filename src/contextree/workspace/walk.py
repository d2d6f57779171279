"""Walking a workspace: which entries exist, which are ignored, and what is odd about them.

Owns the top-down listing of the workspace: .gitignore semantics (through ``IgnoreRules``),
stat signatures of regular files, and the report of everything that is not a regular file or a
directory (symlinks, FIFOs, sockets, devices), unreadable entries, NFC/NFD twins and virtual
environments. It never follows a symlink and never opens anything but directories and ignore
files. It does not hash file contents (see ``hashing``) and does not touch the store.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from contextree.errors import ScanError
from contextree.store.tree import pack_sig
from contextree.workspace.fs import REAL_FS, FileSystem, Sig
from contextree.workspace.ignore import (
    DEFAULT_IGNORES,
    IGNORE_FILE_NAMES,
    NEVER_SCANNED,
    IgnoreRules,
)

#: The packed stat signature of a file (see ``fs.stat_sig``).
StatSig = Sig

_VENV_MARKER = b"pyvenv.cfg"
_MARKERS = frozenset((*IGNORE_FILE_NAMES, _VENV_MARKER))
_IGNORE_FILE_CAP = 1 << 20  # an ignore file larger than this is almost certainly not one

#: Told the regular files of each directory as soon as it is listed: ``(path, signature,
#: size in bytes)``, or ``(path, None, 0)`` when the walker does not stat files.
FilesHook = Callable[[list[tuple[bytes, StatSig | None, int]]], None]


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "unknown"


@dataclass(slots=True, kw_only=True)
class WalkResult:
    """Everything a walk saw.

    ``dirs`` maps each directory to the relative paths of its children (files and directories
    that are nodes), sorted by raw bytes, which sorts them by name. The child paths are the
    very objects held in ``files`` and ``dirs``, so they cost no extra memory. ``files`` holds
    the regular files; their stat signatures go to the walker's ``on_files`` hook only, so a
    signature lives no longer than whoever needs it.
    """

    dirs: dict[bytes, list[bytes]] = field(default_factory=dict)
    files: set[bytes] = field(default_factory=set)
    symlinks: list[tuple[bytes, bytes]] = field(default_factory=list)
    specials: list[tuple[bytes, str]] = field(default_factory=list)
    unreadable: list[tuple[bytes, str]] = field(default_factory=list)
    nfc_twins: list[tuple[bytes, ...]] = field(default_factory=list)
    virtualenvs: list[bytes] = field(default_factory=list)
    non_utf8: list[bytes] = field(default_factory=list)


class Walker:
    """Walks one workspace root. ``skip_virtualenvs`` drops directories holding ``pyvenv.cfg``;
    ``on_files`` is told the regular files of each directory as soon as it is listed (exactly
    the files that end up in ``WalkResult.files``), so their hashing can start meanwhile.
    With ``stat_files=False`` a regular file (as the directory listing types it) is not
    stat'ed: when nothing is compared with an earlier signature, the hasher's fstat of the
    open file serves as the "before" one, and the walk saves a third of its time."""

    def __init__(
        self,
        root: bytes,
        *,
        fs: FileSystem = REAL_FS,
        extra_ignores: tuple[bytes, ...] = (),
        skip_virtualenvs: bool = True,
        on_files: FilesHook | None = None,
        stat_files: bool = True,
    ) -> None:
        self.root = root
        self.fs = fs
        self.skip_virtualenvs = skip_virtualenvs
        self._extra_ignores = extra_ignores
        self._on_files = on_files
        self._stat_files = stat_files

    def _abs(self, rel: bytes) -> bytes:
        return self.root + b"/" + rel if rel else self.root

    def _root_rules(self) -> IgnoreRules:
        exclude_path = self.root + b"/.git/info/exclude"
        try:
            exclude: bytes | None = self.fs.read_small(exclude_path)
        except OSError:
            exclude = None
        return IgnoreRules.at_root(
            defaults=DEFAULT_IGNORES + self._extra_ignores, exclude_file=exclude
        )

    def walk(self) -> WalkResult:
        result = WalkResult()
        pending: list[tuple[bytes, IgnoreRules]] = [(b"", self._root_rules())]
        while pending:
            rel, parent_rules = pending.pop()
            try:
                entries = list(self.fs.scandir(self._abs(rel)))
            except OSError as exc:
                if not rel:
                    raise ScanError(
                        f"cannot read the workspace root {os.fsdecode(self.root)}: {exc.strerror}"
                    ) from exc
                result.unreadable.append((rel, exc.strerror or type(exc).__name__))
                self._drop_child(result, rel)
                continue
            markers = {e.name: e for e in entries if e.name in _MARKERS}
            # A virtual environment is recognised from its own listing (no extra stat per
            # directory); lexists semantics: any kind of entry named pyvenv.cfg counts.
            if rel and self.skip_virtualenvs and _VENV_MARKER in markers:
                result.virtualenvs.append(rel)
                self._drop_child(result, rel)
                continue
            rules = parent_rules.descend(rel, self._ignore_files(rel, markers, result))
            result.dirs[rel] = self._list_dir(rel, entries, rules, result, pending)
        for children in result.dirs.values():
            children.sort()
        result.virtualenvs.sort()
        return result

    def _drop_child(self, result: WalkResult, rel: bytes) -> None:
        """Remove a directory from its parent's children: it is not a node."""
        cut = rel.rfind(b"/")
        siblings = result.dirs.get(b"" if cut < 0 else rel[:cut])
        if siblings is not None:
            siblings.remove(rel)

    def _ignore_files(
        self, rel: bytes, markers: dict[bytes, os.DirEntry[bytes]], result: WalkResult
    ) -> list[tuple[bytes, bytes]]:
        found: list[tuple[bytes, bytes]] = []
        for name in IGNORE_FILE_NAMES:
            entry = markers.get(name)
            if entry is None or not entry.is_file(follow_symlinks=False):
                continue
            path = rel + b"/" + name if rel else name
            try:
                content = self.fs.read_small(self._abs(path))
            except OSError as exc:
                result.unreadable.append((path, exc.strerror or type(exc).__name__))
                continue
            found.append((name, content[:_IGNORE_FILE_CAP]))
        return found

    def _list_dir(
        self,
        rel: bytes,
        entries: list[os.DirEntry[bytes]],
        rules: IgnoreRules,
        result: WalkResult,
        pending: list[tuple[bytes, IgnoreRules]],
    ) -> list[bytes]:
        # The hot loop of a scan (one pass per entry of the workspace): names are bound
        # locally and each entry costs at most one lstat (files only; d_type tells dirs).
        children: list[bytes] = []
        found: list[tuple[bytes, StatSig | None, int]] = []
        ignored = rules.ignored
        prefix = rel + b"/" if rel else b""
        is_reg = stat.S_ISREG
        stat_files = self._stat_files
        for entry in [e for e in entries if e.name not in NEVER_SCANNED]:
            path = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if not ignored(path, True):
                    children.append(path)
                    pending.append((path, rules))
                continue
            if ignored(path, False):
                continue
            if not stat_files and entry.is_file(follow_symlinks=False):
                found.append((path, None, 0))
                children.append(path)
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # vanished between listing and stat: it is simply not there now
            except OSError as exc:
                result.unreadable.append((path, exc.strerror or type(exc).__name__))
                continue
            if is_reg(st.st_mode):
                size = st.st_size
                sig = pack_sig(size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
                found.append((path, sig, size))
                children.append(path)
            elif stat.S_ISLNK(st.st_mode):
                result.symlinks.append((path, self._link_target(path)))
            else:
                result.specials.append((path, _special_kind(st.st_mode)))
        if not b"".join(children).isascii():
            self._note_names(len(prefix), children, result)
        result.files.update(path for path, _, _ in found)
        if found and self._on_files is not None:
            found.sort()  # by name: hashing, rows and the report then follow runs of names
            self._on_files(found)
        return children

    def _link_target(self, path: bytes) -> bytes:
        try:
            return self.fs.readlink(self._abs(path))
        except OSError:
            return b"?"

    @staticmethod
    def _note_names(cut: int, children: list[bytes], result: WalkResult) -> None:
        """Record names that are not UTF-8, and NFC/NFD twins (both are kept as nodes)."""
        by_nfc: dict[str, list[bytes]] = {}
        for path in children:
            try:
                text = path[cut:].decode("utf-8")
            except UnicodeDecodeError:
                result.non_utf8.append(path)
                continue
            by_nfc.setdefault(unicodedata.normalize("NFC", text), []).append(path)
        for paths in by_nfc.values():
            if len(paths) > 1:
                result.nfc_twins.append(tuple(sorted(paths)))
