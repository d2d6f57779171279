"""Shared helpers for the benchmarks: a synthetic source tree, child-process measurement, output.

Owns three things every benchmark needs and none should reinvent:

* ``plan_tree`` / ``write_tree``: a deterministic, source-repository-shaped tree (directories
  about 12% of files, depth mostly 2-8, uneven fan-out, a few ``.gitignore`` files and files they
  ignore), with file contents that are a pure function of (seed, path, size, variant) so a file
  can be rewritten and later restored exactly.
* ``run_measured``: run a command (through a tiny launcher process, see ``_LAUNCHER``) and
  report its wall time, its exit status, its peak RSS (``ru_maxrss`` from ``os.wait4``) and a
  sampled peak of the summed RSS of its whole process tree (the only way to see worker
  processes together: Linux reports ``ru_maxrss`` of reaped descendants as the largest single
  one, never a sum).
* ``machine_info`` and ``write_json``: the context every result file carries.

Nothing here knows what is being benchmarked.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Bump when the generator changes, so a kept tree from an older generator is rebuilt.
TREE_FORMAT = 1
#: Written last into a generated tree; its presence means the tree is complete and ours.
MANIFEST_NAME = ".bench-tree.json"
#: The one file listed on purpose despite ``*.log`` (checks negation handling).
KEPT_LOG = b"keep-this.log"

_DIR_RATIO = 0.12
_POOL_SIZE = 1 << 20
#: Relative weight of a new directory's depth: mostly 2-8, a few shallower or deeper.
_DEPTH_WEIGHTS = {1: 1, 2: 6, 3: 12, 4: 16, 5: 16, 6: 13, 7: 10, 8: 7, 9: 3, 10: 1}
_TOP_DIRS = (b"src", b"lib", b"tests", b"docs", b"tools", b"packages", b"services", b"web")
_DIR_WORDS = (
    b"core", b"utils", b"api", b"models", b"views", b"handlers", b"internal", b"pkg", b"cmd",
    b"common", b"config", b"db", b"auth", b"http", b"client", b"server", b"storage", b"io",
    b"net", b"parser", b"compiler", b"runtime", b"plugins", b"widgets", b"components", b"hooks",
    b"types", b"schemas", b"fixtures", b"data", b"assets", b"images", b"styles", b"i18n",
    b"migrations", b"templates", b"static", b"sdk", b"proto", b"gen", b"graph", b"sync", b"jobs",
    b"workers", b"events", b"metrics", b"logging", b"cli", b"ui", b"admin", b"billing",
    b"search", b"index", b"media", b"mail",
)  # fmt: skip
_FILE_WORDS = (
    b"main", b"index", b"util", b"helpers", b"client", b"server", b"model", b"view", b"routes",
    b"handler", b"service", b"store", b"reader", b"writer", b"parser", b"lexer", b"config",
    b"errors", b"types", b"schema", b"test_api", b"test_model", b"conftest", b"README", b"setup",
    b"factory", b"adapter", b"cache", b"queue", b"worker", b"session", b"user", b"account",
    b"order", b"invoice", b"report", b"export", b"import", b"format", b"encode", b"decode",
)  # fmt: skip
_SMALL_EXTS = (
    (b".py", 20), (b".ts", 12), (b".js", 10), (b".go", 8), (b".rs", 5), (b".c", 4), (b".h", 4),
    (b".java", 4), (b".md", 8), (b".json", 6), (b".yaml", 4), (b".txt", 3), (b".html", 3),
    (b".css", 3), (b".svg", 2), (b".sql", 2), (b".sh", 2), (b".toml", 1),
)  # fmt: skip
_LARGE_EXTS = (b".png", b".jpg", b".csv", b".pdf", b".bin", b".json", b".wasm")

ROOT_GITIGNORE = b"""\
# Build output
build/
dist/
/coverage/
node_modules/

# Editors, logs, caches
.DS_Store
*.log
!keep-this.log
*.tmp
*.pyc

# The benchmark's own manifest
/.bench-tree.json
"""
NESTED_GITIGNORE = b"""\
# generated sources and local caches
*.generated.ts
/out/
.cache/
*.o
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeSpec:
    files: int
    seed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedFile:
    path: bytes
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TreePlan:
    """What a generated tree holds. ``listed`` is what git and contextree should both list."""

    spec: TreeSpec
    dirs: tuple[bytes, ...]
    listed: tuple[PlannedFile, ...]
    ignored: tuple[PlannedFile, ...]
    gitignores: tuple[tuple[bytes, bytes], ...]

    @property
    def listed_bytes(self) -> int:
        return sum(f.size for f in self.listed)

    @property
    def ordinary(self) -> tuple[PlannedFile, ...]:
        """Listed files that are neither ignore files nor the negation test file."""
        special = {p for p, _ in self.gitignores} | {KEPT_LOG}
        return tuple(f for f in self.listed if f.path not in special)


class _Names:
    """Unique child names per directory."""

    def __init__(self) -> None:
        self._taken: dict[bytes, set[bytes]] = {}

    def claim(self, parent: bytes, name: bytes) -> bytes:
        taken = self._taken.setdefault(parent, set())
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            stem, dot, ext = name.partition(b".")
            candidate = stem + b"_%d" % n + dot + ext
        taken.add(candidate)
        return join(parent, candidate)


def join(parent: bytes, name: bytes) -> bytes:
    return parent + b"/" + name if parent else name


def _plan_dirs(rng: random.Random, count: int, names: _Names) -> list[bytes]:
    """Directories by target depth, each hung under a parent chosen by uneven 'fertility'."""
    by_depth: dict[int, list[bytes]] = {0: [b""]}
    cumulative: dict[int, list[float]] = {0: [1.0]}  # running fertility totals per depth
    out: list[bytes] = []

    def add(depth: int, path: bytes) -> None:
        totals = cumulative.setdefault(depth, [])
        by_depth.setdefault(depth, []).append(path)
        totals.append((totals[-1] if totals else 0.0) + rng.lognormvariate(0, 1.2))
        out.append(path)

    for top in _TOP_DIRS:
        add(1, names.claim(b"", top))
    depths, weights = zip(*_DEPTH_WEIGHTS.items(), strict=True)
    while len(out) < count:
        depth = rng.choices(depths, weights)[0]
        while depth - 1 not in by_depth:
            depth -= 1
        parent = rng.choices(by_depth[depth - 1], cum_weights=cumulative[depth - 1])[0]
        add(depth, names.claim(parent, rng.choice(_DIR_WORDS)))
    return out


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def _small_size(rng: random.Random) -> int:
    """A typical source file: log-normal around 1.6 KB, clipped to 200 B - 20 KB."""
    return min(20_000, max(200, int(rng.lognormvariate(math.log(1600), 0.9))))


def _sizes(rng: random.Random, count: int) -> list[int]:
    """Mostly 200 B - 20 KB, 2% 20-100 KB, 0.2% 100 KB - 1 MB, one in 10k 1-8 MB."""
    huge = max(1, count // 10_000)
    large = round(count * 0.002)
    mid = round(count * 0.02)
    sizes = [_log_uniform(rng, 1 << 20, 8 << 20) for _ in range(huge)]
    sizes += [_log_uniform(rng, 100_000, 1_000_000) for _ in range(large)]
    sizes += [_log_uniform(rng, 20_000, 100_000) for _ in range(mid)]
    sizes += [_small_size(rng) for _ in range(count - len(sizes))]
    rng.shuffle(sizes)
    return sizes


def _file_name(rng: random.Random, size: int) -> bytes:
    stem = rng.choice(_FILE_WORDS)
    if size > 100_000:
        return stem + rng.choice(_LARGE_EXTS)
    exts = [ext for ext, _ in _SMALL_EXTS]
    return stem + rng.choices(exts, [w for _, w in _SMALL_EXTS])[0]


def _plan_ignored(
    rng: random.Random, dirs: list[bytes], count: int, names: _Names
) -> tuple[list[bytes], list[PlannedFile], list[bytes]]:
    """Ignored content, ~3% of ``count`` files: (new dirs, files, dirs with a nested ignore)."""
    new_dirs: list[bytes] = []
    files: list[PlannedFile] = []

    def add_file(parent: bytes, name: bytes) -> None:
        files.append(PlannedFile(path=names.claim(parent, name), size=_small_size(rng)))

    def add_dir(parent: bytes, name: bytes) -> bytes:
        path = names.claim(parent, name)
        new_dirs.append(path)
        return path

    # One node_modules with many small packages (~1.5%).
    modules = add_dir(b"web", b"node_modules")
    for i in range(max(2, count // 2000)):
        pkg = add_dir(modules, b"pkg-%d" % i)
        for _ in range(15):
            add_file(pkg, rng.choice((b"index.js", b"package.json", b"README.md", b"lib.js")))
    # Build output under a few packages, logs, editor droppings.
    for parent in rng.sample(dirs, min(len(dirs), 6)):
        build = add_dir(parent, rng.choice((b"build", b"dist")))
        for _ in range(max(1, count // 1500)):
            add_file(build, rng.choice((b"bundle.js", b"app.min.js", b"out.bin", b"lib.so")))
    for parent in rng.sample(dirs, min(len(dirs), max(2, count // 500))):
        add_file(parent, rng.choice((b"debug.log", b"server.log", b".DS_Store", b"x.tmp")))
    # Directories with their own .gitignore and files only it ignores.
    nested = rng.sample([d for d in dirs if d.count(b"/") >= 1], min(5, len(dirs) // 4))
    for parent in nested:
        out = add_dir(parent, b"out")
        cache = add_dir(parent, b".cache")
        for _ in range(max(2, count // 2000)):
            add_file(parent, rng.choice((b"api.generated.ts", b"types.generated.ts", b"a.o")))
            add_file(out, b"artifact.js")
            add_file(cache, b"entry")
    return new_dirs, files, nested


def plan_tree(spec: TreeSpec) -> TreePlan:
    """The whole tree as data; cheap, so a kept tree is re-planned rather than re-read."""
    rng = random.Random(spec.seed)
    names = _Names()
    dirs = _plan_dirs(rng, max(len(_TOP_DIRS), round(spec.files * _DIR_RATIO)), names)
    extra_dirs, ignored, nested = _plan_ignored(rng, dirs, spec.files, names)
    gitignores = [(names.claim(b"", b".gitignore"), ROOT_GITIGNORE)]
    gitignores += [(names.claim(d, b".gitignore"), NESTED_GITIGNORE) for d in nested]
    listed = [PlannedFile(path=p, size=len(text)) for p, text in gitignores]
    listed.append(PlannedFile(path=names.claim(rng.choice(dirs), KEPT_LOG), size=512))
    # Files go to directories with uneven weights; the root gets only a handful.
    cumulative = list(itertools.accumulate(rng.lognormvariate(0, 1.0) for _ in dirs))
    ordinary = spec.files - len(listed)
    for size in _sizes(rng, ordinary):
        parent = rng.choices(dirs, cum_weights=cumulative)[0] if rng.random() > 0.0005 else b""
        listed.append(PlannedFile(path=names.claim(parent, _file_name(rng, size)), size=size))
    return TreePlan(
        spec=spec,
        dirs=tuple(dirs + extra_dirs),
        listed=tuple(listed),
        ignored=tuple(ignored),
        gitignores=tuple(gitignores),
    )


class ContentMaker:
    """File bytes as a pure function of (path, size, variant), from one random pool per seed."""

    def __init__(self, seed: int) -> None:
        self._pool = random.Random(seed ^ 0x5EED).randbytes(_POOL_SIZE)

    def content(self, path: bytes, size: int, variant: int = 0) -> bytes:
        header = b"%d %s\n" % (variant, path)
        if size <= len(header):
            return header[:size]
        digest = hashlib.blake2b(header, digest_size=4).digest()
        pos = int.from_bytes(digest, "big") % _POOL_SIZE
        parts = [header]
        remaining = size - len(header)
        while remaining:
            part = self._pool[pos : pos + remaining]
            parts.append(part)
            remaining -= len(part)
            pos = 0
        return b"".join(parts)


def write_file(root: Path, path: bytes, data: bytes) -> None:
    with open(os.path.join(os.fsencode(root), path), "wb") as fh:
        fh.write(data)


def write_tree(root: Path, plan: TreePlan) -> None:
    """Create the planned tree under ``root`` (which must be empty or absent), manifest last."""
    root.mkdir(parents=True, exist_ok=True)
    base = os.fsencode(root)
    for rel in sorted(plan.dirs, key=lambda p: p.count(b"/")):
        os.mkdir(os.path.join(base, rel))
    for rel, text in plan.gitignores:
        write_file(root, rel, text)
    maker = ContentMaker(plan.spec.seed)
    special = {p for p, _ in plan.gitignores}
    for f in (*plan.listed, *plan.ignored):
        if f.path not in special:
            write_file(root, f.path, maker.content(f.path, f.size))
    manifest = {"format": TREE_FORMAT, "files": plan.spec.files, "seed": plan.spec.seed}
    (root / MANIFEST_NAME).write_text(json.dumps(manifest) + "\n", encoding="utf-8")


def read_manifest(root: Path) -> TreeSpec | None:
    """The spec a kept tree was generated with, or None if it is not a complete generated tree."""
    try:
        data = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != TREE_FORMAT:
        return None
    return TreeSpec(files=int(data["files"]), seed=int(data["seed"]))


def warm_page_cache(root: Path, skip: Sequence[str] = (".git", ".contextree")) -> int:
    """Read every file under ``root`` once (untimed) so later reads hit the page cache."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as fh:
                while chunk := fh.read(1 << 20):
                    total += len(chunk)
    return total


# ---- child processes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessRun:
    """One measured child process."""

    returncode: int
    wall_s: float
    #: ``ru_maxrss`` from ``os.wait4``: the child itself, or its largest reaped descendant.
    max_rss_bytes: int
    #: Peak of the summed RSS of the child and all its descendants, sampled (0 if not sampled).
    tree_peak_rss_bytes: int
    #: Most processes seen at once in the child's tree while sampling.
    tree_peak_processes: int
    stdout: bytes
    stderr: bytes


def _parent_pids() -> dict[int, int]:
    """pid -> ppid for every visible process (Linux /proc)."""
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields start after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        out[int(entry)] = int(fields[1])
    return out


def _tree_rss(root_pid: int, page_size: int) -> tuple[int, int]:
    """(summed RSS in bytes, process count) of the descendants of ``root_pid`` (not itself)."""
    parents = _parent_pids()
    tree = {root_pid}
    grew = True
    while grew:
        before = len(tree)
        tree |= {pid for pid, ppid in parents.items() if ppid in tree}
        grew = len(tree) > before
    tree.discard(root_pid)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * page_size
        except (OSError, IndexError, ValueError):
            continue
    return total, len(tree)


class _TreeSampler(threading.Thread):
    """Samples the summed RSS of a process's descendants until stopped."""

    def __init__(self, pid: int, interval_s: float) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.peak_processes = 0
        self._stop_event = threading.Event()
        self._page_size = os.sysconf("SC_PAGE_SIZE")

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss, count = _tree_rss(self.pid, self._page_size)
            self.peak_bytes = max(self.peak_bytes, rss)
            self.peak_processes = max(self.peak_processes, count)
            self._stop_event.wait(self.interval_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# A child's ru_maxrss starts at its parent's high-water RSS: Linux records the old address
# space's peak when the child calls exec, and subprocess forks with vfork, so a child of a big
# benchmark process would report the benchmark's own size. A tiny interpreter (no site
# packages) therefore starts the command and reports its exit code, ru_maxrss and wall time.
_LAUNCHER = """\
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(report, "w") as fh:
    fh.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss} {wall!r}")
"""


def run_measured(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    sample_tree: bool = False,
    interval_s: float = 0.02,
) -> ProcessRun:
    """Run ``argv`` to completion through the launcher; output goes to temp files."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".rusage") as report,
    ):
        launcher = [sys.executable, "-S", "-c", _LAUNCHER, report.name, *argv]
        proc = subprocess.Popen(launcher, stdout=out, stderr=err, env=env)
        sampler = _TreeSampler(proc.pid, interval_s) if sample_tree else None
        if sampler is not None:
            sampler.start()
        proc.wait()
        if sampler is not None:
            sampler.stop()
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"the launcher failed: {err.read().decode(errors='replace')}")
        code, maxrss_kb, wall = report.read().split()
        out.seek(0)
        err.seek(0)
        return ProcessRun(
            returncode=int(code),
            wall_s=float(wall),
            max_rss_bytes=int(maxrss_kb) * 1024,  # kilobytes on Linux
            tree_peak_rss_bytes=sampler.peak_bytes if sampler else 0,
            tree_peak_processes=sampler.peak_processes if sampler else 0,
            stdout=out.read(),
            stderr=err.read(),
        )


# ---- results ---------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "load_average_1_5_15": list(os.getloadavg()),
    }


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
