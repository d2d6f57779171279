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
from dataclasses import dataclass, field

from contextree.errors import ScanError
from contextree.workspace.fs import REAL_FS, FileSystem
from contextree.workspace.ignore import DEFAULT_IGNORES, IGNORE_FILE_NAMES, IgnoreRules
from contextree.workspace.merkle import join_path

#: (size, mtime_ns, ctime_ns, inode, device): what must stay equal for a file to be unchanged.
StatSig = tuple[int, int, int, int, int]

_VENV_MARKER = b"pyvenv.cfg"
_IGNORE_FILE_CAP = 1 << 20  # an ignore file larger than this is almost certainly not one


def stat_sig(st: os.stat_result) -> StatSig:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def display_path(rel_path: bytes) -> str:
    """A printable form of a raw relative path (undecodable bytes shown as ``\\xNN``)."""
    return rel_path.decode("utf-8", "backslashreplace") if rel_path else "."


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
    """Everything a walk saw. Directory children are sorted by raw name bytes."""

    dirs: dict[bytes, list[tuple[bytes, bool]]] = field(default_factory=dict)
    files: dict[bytes, StatSig] = field(default_factory=dict)
    symlinks: list[tuple[bytes, bytes]] = field(default_factory=list)
    specials: list[tuple[bytes, str]] = field(default_factory=list)
    unreadable: list[tuple[bytes, str]] = field(default_factory=list)
    nfc_twins: list[tuple[bytes, ...]] = field(default_factory=list)
    virtualenvs: list[bytes] = field(default_factory=list)
    non_utf8: list[bytes] = field(default_factory=list)


class Walker:
    """Walks one workspace root. ``skip_virtualenvs`` drops directories holding ``pyvenv.cfg``."""

    def __init__(
        self,
        root: bytes,
        *,
        fs: FileSystem = REAL_FS,
        extra_ignores: tuple[bytes, ...] = (),
        skip_virtualenvs: bool = True,
    ) -> None:
        self.root = root
        self.fs = fs
        self.skip_virtualenvs = skip_virtualenvs
        self._extra_ignores = extra_ignores

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
            rules = parent_rules.descend(rel, self._ignore_files(rel, entries, result))
            result.dirs[rel] = self._list_dir(rel, entries, rules, result, pending)
        for children in result.dirs.values():
            children.sort()
        return result

    def _drop_child(self, result: WalkResult, rel: bytes) -> None:
        """Remove an unreadable directory from its parent's children: it is not a node."""
        cut = rel.rfind(b"/")
        parent, name = (b"", rel) if cut < 0 else (rel[:cut], rel[cut + 1 :])
        siblings = result.dirs.get(parent)
        if siblings is not None:
            siblings.remove((name, True))

    def _ignore_files(
        self, rel: bytes, entries: list[os.DirEntry[bytes]], result: WalkResult
    ) -> list[tuple[bytes, bytes]]:
        found: list[tuple[bytes, bytes]] = []
        present = {e.name: e for e in entries if e.name in IGNORE_FILE_NAMES}
        for name in IGNORE_FILE_NAMES:
            entry = present.get(name)
            if entry is None or not entry.is_file(follow_symlinks=False):
                continue
            path = join_path(rel, name)
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
    ) -> list[tuple[bytes, bool]]:
        children: list[tuple[bytes, bool]] = []
        files = result.files
        for entry in entries:
            name = entry.name
            path = join_path(rel, name)
            is_dir = entry.is_dir(follow_symlinks=False)
            if rules.ignored(path, is_dir):
                continue
            if is_dir:
                if self.skip_virtualenvs and self.fs.exists(self._abs(path) + b"/" + _VENV_MARKER):
                    result.virtualenvs.append(path)
                    continue
                children.append((name, True))
                pending.append((path, rules))
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # vanished between listing and stat: it is simply not there now
            except OSError as exc:
                result.unreadable.append((path, exc.strerror or type(exc).__name__))
                continue
            if stat.S_ISREG(st.st_mode):
                files[path] = stat_sig(st)
                children.append((name, False))
            elif stat.S_ISLNK(st.st_mode):
                result.symlinks.append((path, self._link_target(path)))
            else:
                result.specials.append((path, _special_kind(st.st_mode)))
        self._note_names(rel, children, result)
        return children

    def _link_target(self, path: bytes) -> bytes:
        try:
            return self.fs.readlink(self._abs(path))
        except OSError:
            return b"?"

    @staticmethod
    def _note_names(rel: bytes, children: list[tuple[bytes, bool]], result: WalkResult) -> None:
        """Record names that are not UTF-8, and NFC/NFD twins (both are kept as nodes)."""
        if all(name.isascii() for name, _ in children):
            return
        by_nfc: dict[str, list[bytes]] = {}
        for name, _ in children:
            try:
                text = name.decode("utf-8")
            except UnicodeDecodeError:
                result.non_utf8.append(join_path(rel, name))
                continue
            by_nfc.setdefault(unicodedata.normalize("NFC", text), []).append(name)
        for names in by_nfc.values():
            if len(names) > 1:
                result.nfc_twins.append(tuple(join_path(rel, n) for n in sorted(names)))
