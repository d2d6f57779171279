"""Benchmark ``contextree scan`` against git + BLAKE3 on a synthetic source tree.

Usage::

    .venv/bin/python bench/bench_scan.py [--files N | --small] [--seed S] [--keep DIR]
                                         [--out bench/results/scan.json]

One run builds (or reuses, with ``--keep``) a deterministic tree of about N listed files shaped
like a source repository (see ``common.plan_tree``), reads it once so the page cache is warm,
and measures:

* Baseline: ``git init`` plus ``git ls-files -z --others --exclude-standard`` in an isolated git
  (temporary HOME, no system or global config), alone and followed by hashing every listed file
  with the ``blake3`` package in one process (whole-file reads).
* contextree full scan, warm, from an empty store, in process (``Scanner``), with
  ``hash_processes=1`` and with the default (``default_processes()``); 3 times each, the median
  reported.
* Rescan with nothing changed (3 times, in process; and 3 times through the CLI, start-up
  included).
* Rescan after rewriting 1,000 files (a third keep their size): time, files hashed, rows written.
* Writer-lock refusal: in process (a second ``writer_lock`` failing), ``contextree --version``
  (CLI start-up), ``contextree scan`` refused with exit 75, and the difference of the last two.
* Peak memory of a CLI full scan: the child's ``ru_maxrss`` (``os.wait4``) minus that of
  ``contextree --version``, with ``CONTEXTREE_SCAN__HASH_PROCESSES=1`` and with the default. With
  worker processes, ``ru_maxrss`` is the largest single process of the tree (Linux never sums
  it), so the summed RSS of the whole tree is also sampled from ``/proc``.

Targets (judged on this run; the rescan target scales linearly with N):

* full warm scan >= 50,000 files/s;
* rescan of 100k unchanged files < 1 s (warm, in process);
* memory growth < 100 MiB per 100k files.

MB is 10^6 bytes (throughput); MiB is 2^20 bytes (memory). Results go to a table on stdout and
to JSON (with machine info, N and seed). Temporary directories are removed at the end; a
``--keep`` tree stays, restored to its generated content.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from common import (
    MANIFEST_NAME,
    ContentMaker,
    PlannedFile,
    ProcessRun,
    TreePlan,
    TreeSpec,
    machine_info,
    median,
    plan_tree,
    read_manifest,
    run_measured,
    warm_page_cache,
    write_file,
    write_json,
    write_tree,
)
from contextree.errors import WorkspaceBusyError
from contextree.store.db import Store
from contextree.workspace.hashing import default_processes
from contextree.workspace.lock import writer_lock
from contextree.workspace.scan import RACY_WINDOW_NS, Scanner, ScanOptions

DEFAULT_FILES = 100_000
SMALL_FILES = 5_000
DEFAULT_SEED = 20_240_601
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "scan.json"
CHANGED_FILES = 1_000
RESCANS = 3
#: Full scans per setting (each from an empty store); the median one is reported.
FULL_SCANS = 3
CLI_RUNS = 5
LOCK_ATTEMPTS = 1_000

TARGET_FILES_PER_S = 50_000
TARGET_RESCAN_S_PER_100K = 1.0
TARGET_MIB_PER_100K = 100.0

MB = 1_000_000
MIB = 1 << 20


# ---- arguments -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Args:
    files: int
    seed: int
    out: Path
    keep: Path | None
    small: bool


def parse_args(argv: Sequence[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--files", type=int, default=DEFAULT_FILES, help="listed files (~N)")
    size.add_argument("--small", action="store_true", help=f"N = {SMALL_FILES:,} (for CI)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result file")
    parser.add_argument(
        "--keep", type=Path, help="generate the tree here and keep it; reused if it matches"
    )
    ns = parser.parse_args(argv)
    files = SMALL_FILES if ns.small else ns.files
    if files < 100:
        parser.error("--files must be at least 100")
    return Args(files=files, seed=ns.seed, out=ns.out, keep=ns.keep, small=ns.small)


# ---- small result types ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Rate:
    seconds: float
    files_per_s: float
    mb_per_s: float


def rate(seconds: float, files: int, nbytes: int) -> Rate:
    return Rate(seconds=seconds, files_per_s=files / seconds, mb_per_s=nbytes / MB / seconds)


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeInfo:
    root: str
    listed_files: int
    listed_bytes: int
    ignored_files: int
    dirs: int
    gitignore_files: int
    generated_s: float | None  # None when a kept tree was reused


# ---- the tree --------------------------------------------------------------------------------


def prepare_tree(spec: TreeSpec, root: Path) -> tuple[TreePlan, TreeInfo, float]:
    """Generate the tree at ``root`` or reuse it; returns (plan, info, time of last write)."""
    plan = plan_tree(spec)
    generated_s: float | None = None
    if read_manifest(root) == spec:
        print(f"reusing the tree at {root}")
        written_at = 0.0
    else:
        if root.exists() and any(root.iterdir()):
            if not (root / MANIFEST_NAME).exists():
                sys.exit(f"{root} exists and is not a benchmark tree; pick another --keep DIR")
            shutil.rmtree(root)
        print(f"generating {spec.files:,} files under {root} (seed {spec.seed}) ...", flush=True)
        started = time.perf_counter()
        write_tree(root, plan)
        generated_s = time.perf_counter() - started
        written_at = time.time()
    for leftover in (".git", ".contextree"):
        shutil.rmtree(root / leftover, ignore_errors=True)
    info = TreeInfo(
        root=str(root),
        listed_files=len(plan.listed),
        listed_bytes=plan.listed_bytes,
        ignored_files=len(plan.ignored),
        dirs=len(plan.dirs),
        gitignore_files=len(plan.gitignores),
        generated_s=generated_s,
    )
    return plan, info, written_at


def change_files(root: Path, plan: TreePlan, count: int) -> list[PlannedFile]:
    """Rewrite ``count`` files with other bytes (every third keeps its size); returns them."""
    rng = random.Random(plan.spec.seed + 1)
    chosen = rng.sample(plan.ordinary, min(count, len(plan.ordinary) // 2))
    maker = ContentMaker(plan.spec.seed)
    for i, f in enumerate(chosen):
        size = f.size if i % 3 == 0 else f.size + 1 + f.size // 20
        write_file(root, f.path, maker.content(f.path, size, variant=1))
    return chosen


def restore_files(root: Path, plan: TreePlan, files: Sequence[PlannedFile]) -> None:
    maker = ContentMaker(plan.spec.seed)
    for f in files:
        write_file(root, f.path, maker.content(f.path, f.size))


# ---- baseline: git + blake3 ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    git_init_s: float
    listed_files: int
    listed_bytes: int
    listing: Rate  # median of RESCANS runs
    hashing_s: float
    listing_and_hashing: Rate


def git_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
    env.pop("XDG_CONFIG_HOME", None)
    return env


def git_list(root: Path, env: dict[str, str]) -> tuple[float, list[bytes]]:
    argv = ["git", "-C", str(root), "ls-files", "-z", "--others", "--exclude-standard"]
    started = time.perf_counter()
    out = subprocess.run(argv, env=env, check=True, capture_output=True).stdout
    return time.perf_counter() - started, [p for p in out.split(b"\0") if p]


def hash_all(root: Path, paths: Sequence[bytes]) -> tuple[float, int]:
    import blake3

    base = os.fsencode(root)
    total = 0
    started = time.perf_counter()
    for rel in paths:
        with open(os.path.join(base, rel), "rb") as fh:
            data = fh.read()
        blake3.blake3(data).digest()
        total += len(data)
    return time.perf_counter() - started, total


def bench_baseline(root: Path, home: Path) -> Baseline:
    env = git_env(home)
    started = time.perf_counter()
    subprocess.run(["git", "init", "-q", str(root)], env=env, check=True)
    init_s = time.perf_counter() - started
    timings = []
    for _ in range(RESCANS):
        seconds, paths = git_list(root, env)
        timings.append(seconds)
    list_s = median(timings)
    hash_s, nbytes = hash_all(root, paths)
    return Baseline(
        git_init_s=init_s,
        listed_files=len(paths),
        listed_bytes=nbytes,
        listing=rate(list_s, len(paths), nbytes),
        hashing_s=hash_s,
        listing_and_hashing=rate(list_s + hash_s, len(paths), nbytes),
    )


# ---- contextree in process -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanRun:
    """One in-process scan: wall time includes opening and closing the store."""

    wall_s: float
    duration_s: float
    files: int
    dirs: int
    total_bytes: int
    hashed_files: int
    modified_files: int
    rows_written: int


def reset_store(root: Path) -> None:
    shutil.rmtree(root / ".contextree", ignore_errors=True)


def api_scan(root: Path, processes: int) -> ScanRun:
    data_dir = root / ".contextree"
    data_dir.mkdir(exist_ok=True)
    started = time.perf_counter()
    with writer_lock(data_dir / "lock"), Store.open(data_dir / "store.db") as store:
        report = Scanner(root, store, options=ScanOptions(hash_processes=processes)).scan()
    return ScanRun(
        wall_s=time.perf_counter() - started,
        duration_s=report.duration_s,
        files=report.files,
        dirs=report.dirs,
        total_bytes=report.total_bytes,
        hashed_files=report.hashed,
        modified_files=len(report.modified),
        rows_written=report.rows_written,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FullScan:
    hash_processes: int
    #: The run with the median wall time (of FULL_SCANS, each from an empty store).
    run: ScanRun
    rate: Rate
    min_s: float
    walls_s: tuple[float, ...]


def bench_full_scan(root: Path, processes: int) -> FullScan:
    runs = []
    for _ in range(FULL_SCANS):
        reset_store(root)
        runs.append(api_scan(root, processes))
    runs.sort(key=lambda r: r.wall_s)
    run = runs[len(runs) // 2]
    return FullScan(
        hash_processes=processes,
        run=run,
        rate=rate(run.wall_s, run.files, run.total_bytes),
        min_s=runs[0].wall_s,
        walls_s=tuple(r.wall_s for r in runs),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Rescans:
    runs: tuple[ScanRun, ...]
    min_s: float
    median_s: float


def bench_rescans(root: Path, processes: int) -> Rescans:
    runs = tuple(api_scan(root, processes) for _ in range(RESCANS))
    walls = [r.wall_s for r in runs]
    return Rescans(runs=runs, min_s=min(walls), median_s=median(walls))


# ---- contextree through the CLI --------------------------------------------------------------


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "contextree"
    return [str(script)] if script.exists() else [sys.executable, "-m", "contextree"]


def cli_env(config_home: Path, **extra: str) -> dict[str, str]:
    """The environment minus any CONTEXTREE_* setting, with an empty user config directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTEXTREE_")}
    env["XDG_CONFIG_HOME"] = str(config_home)
    env.update(extra)
    return env


@dataclass(frozen=True, slots=True, kw_only=True)
class CliRescans:
    walls_s: tuple[float, ...]
    min_s: float
    median_s: float


def bench_cli_rescans(cli: list[str], root: Path, env: dict[str, str]) -> CliRescans:
    walls = []
    for _ in range(RESCANS):
        run = run_measured([*cli, "--workspace", str(root), "scan", "--json"], env=env)
        check(run, 0, "contextree scan")
        walls.append(run.wall_s)
    return CliRescans(walls_s=tuple(walls), min_s=min(walls), median_s=median(walls))


def check(run: ProcessRun, expected: int, what: str) -> None:
    if run.returncode != expected:
        sys.exit(
            f"{what} exited {run.returncode}, expected {expected}:\n"
            + run.stderr.decode(errors="replace")
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LockLatency:
    in_process_attempts: int
    in_process_median_us: float
    in_process_p95_us: float
    version_median_s: float
    refused_median_s: float
    refused_exit_code: int
    refused_minus_version_s: float


def in_process_refusals(lock_path: Path) -> list[float]:
    timings = []
    with writer_lock(lock_path):
        for _ in range(LOCK_ATTEMPTS):
            started = time.perf_counter()
            try:
                with writer_lock(lock_path):
                    sys.exit("a second writer_lock was granted while the first was held")
            except WorkspaceBusyError:
                timings.append(time.perf_counter() - started)
    return timings


def bench_lock(
    cli: list[str], root: Path, env: dict[str, str], versions: Sequence[ProcessRun]
) -> LockLatency:
    lock_path = root / ".contextree" / "lock"
    timings = in_process_refusals(lock_path)
    refused = []
    with writer_lock(lock_path):
        for _ in range(CLI_RUNS):
            run = run_measured([*cli, "--workspace", str(root), "scan"], env=env)
            check(run, 75, "contextree scan while the lock is held")
            if b"busy" not in run.stderr:
                sys.exit(f"refused scan did not say 'busy': {run.stderr!r}")
            refused.append(run.wall_s)
    version_s = median([v.wall_s for v in versions])
    refused_s = median(refused)
    return LockLatency(
        in_process_attempts=len(timings),
        in_process_median_us=median(timings) * 1e6,
        in_process_p95_us=statistics.quantiles(timings, n=20)[-1] * 1e6,
        version_median_s=version_s,
        refused_median_s=refused_s,
        refused_exit_code=75,
        refused_minus_version_s=refused_s - version_s,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryRun:
    label: str
    wall_s: float
    #: ``ru_maxrss`` of the CLI child (with workers: the largest single process of its tree).
    max_rss_mib: float
    growth_mib: float
    growth_mib_per_100k: float
    #: ``ru_maxrss`` of a scan of an empty workspace: start-up plus what only a scan imports.
    empty_scan_rss_mib: float
    #: Growth over the empty-workspace scan, per 100k files: the part that scales with N.
    marginal_mib_per_100k: float
    #: Sampled peak of the summed RSS of the CLI process and its workers (shared pages counted
    #: once per process, so an upper bound), and the most processes seen at once.
    tree_peak_rss_mib: float
    tree_peak_processes: int


def bench_memory(
    cli: list[str], root: Path, env: dict[str, str], *, label: str, baseline_rss: int, files: int
) -> MemoryRun:
    empty_ws = Path(tempfile.mkdtemp(prefix="contextree-empty-"))
    try:
        empty = run_measured([*cli, "--workspace", str(empty_ws), "scan"], env=env)
        check(empty, 0, f"contextree scan of an empty workspace ({label})")
    finally:
        shutil.rmtree(empty_ws)
    reset_store(root)
    run = run_measured([*cli, "--workspace", str(root), "scan"], env=env, sample_tree=True)
    check(run, 0, f"contextree scan ({label})")
    growth = (run.max_rss_bytes - baseline_rss) / MIB
    marginal = (run.max_rss_bytes - empty.max_rss_bytes) / MIB
    return MemoryRun(
        label=label,
        wall_s=run.wall_s,
        max_rss_mib=run.max_rss_bytes / MIB,
        growth_mib=growth,
        growth_mib_per_100k=growth * 100_000 / files,
        empty_scan_rss_mib=empty.max_rss_bytes / MIB,
        marginal_mib_per_100k=marginal * 100_000 / files,
        tree_peak_rss_mib=run.tree_peak_rss_bytes / MIB,
        tree_peak_processes=run.tree_peak_processes,
    )


# ---- the table -------------------------------------------------------------------------------


Row = tuple[str, str, str, str]  # label, value, target, verdict


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def rate_text(r: Rate) -> str:
    return f"{r.seconds:8.3f} s  {r.files_per_s:>10,.0f} files/s  {r.mb_per_s:8.1f} MB/s"


def baseline_rows(b: Baseline) -> list[Row]:
    return [
        ("git init", f"{b.git_init_s:8.3f} s", "", ""),
        (f"git ls-files --others, median of {RESCANS}", rate_text(b.listing), "", ""),
        ("  + blake3 of every file (1 process)", f"{b.hashing_s:8.3f} s", "", ""),
        ("listing + hashing", rate_text(b.listing_and_hashing), "", ""),
    ]


def contextree_rows(
    full: Sequence[FullScan], rescans: Rescans, cli: CliRescans, changed: ScanRun, n: int
) -> list[Row]:
    rows: list[Row] = []
    for f in full:
        ok = f.rate.files_per_s >= TARGET_FILES_PER_S
        label = f"full scan, warm, hash_processes={f.hash_processes}, median of {FULL_SCANS}"
        rows.append((label, rate_text(f.rate), f">= {TARGET_FILES_PER_S:,} files/s", verdict(ok)))
        walls = "  ".join(f"{w:.3f} s" for w in f.walls_s)
        rows.append(("  wall times, fastest first", walls, "", ""))
    target = TARGET_RESCAN_S_PER_100K * n / 100_000
    hashed = max(r.hashed_files for r in rescans.runs)
    rows += [
        (
            f"rescan, unchanged, min / median of {RESCANS}",
            f"{rescans.min_s:8.3f} s / {rescans.median_s:.3f} s  (max hashed {hashed})",
            f"< {target:.3f} s",
            verdict(rescans.median_s < target),
        ),
        (
            f"rescan via CLI (incl. start-up), min / median of {RESCANS}",
            f"{cli.min_s:8.3f} s / {cli.median_s:.3f} s",
            "",
            "",
        ),
        (
            f"rescan after changing {changed.modified_files:,} files",
            f"{changed.wall_s:8.3f} s  hashed {changed.hashed_files:,}"
            f"  rows_written {changed.rows_written:,}",
            "",
            "",
        ),
    ]
    return rows


def lock_rows(lock: LockLatency) -> list[Row]:
    return [
        (
            f"in-process refusal, median / p95 of {lock.in_process_attempts}",
            f"{lock.in_process_median_us:8.1f} us / {lock.in_process_p95_us:.1f} us",
            "",
            "",
        ),
        (f"contextree --version, median of {CLI_RUNS}", f"{lock.version_median_s:8.3f} s", "", ""),
        (
            f"contextree scan refused (exit 75), median of {CLI_RUNS}",
            f"{lock.refused_median_s:8.3f} s",
            "",
            "",
        ),
        ("refused scan - --version", f"{lock.refused_minus_version_s * 1e3:8.1f} ms", "", ""),
    ]


def memory_rows(runs: Sequence[MemoryRun], version_rss: int) -> list[Row]:
    rows: list[Row] = [("contextree --version peak RSS", f"{version_rss / MIB:8.1f} MiB", "", "")]
    for m in runs:
        ok = m.growth_mib_per_100k < TARGET_MIB_PER_100K
        rows += [
            (
                f"full scan ({m.label}): ru_maxrss",
                f"{m.max_rss_mib:8.1f} MiB  growth {m.growth_mib:.1f} MiB"
                f"  = {m.growth_mib_per_100k:.1f} MiB/100k files",
                f"< {TARGET_MIB_PER_100K:.0f} MiB/100k",
                verdict(ok),
            ),
            (
                "  growth over an empty-workspace scan",
                f"{m.empty_scan_rss_mib:8.1f} MiB empty"
                f"  -> {m.marginal_mib_per_100k:.1f} MiB/100k files",
                "",
                "",
            ),
            (
                "  summed RSS of the process tree (sampled)",
                f"{m.tree_peak_rss_mib:8.1f} MiB  ({m.tree_peak_processes} processes at peak)"
                f"  wall {m.wall_s:.2f} s",
                "",
                "",
            ),
        ]
    return rows


def print_table(title: str, sections: Sequence[tuple[str, list[Row]]]) -> None:
    rows = [r for _, section in sections for r in section]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    print()
    print(title)
    for name, section in sections:
        print()
        print(name)
        for label, value, target, mark in section:
            line = f"  {label:<{widths[0]}}  {value:<{widths[1]}}  {target:<{widths[2]}}  {mark}"
            print(line.rstrip())
    print()


# ---- main ------------------------------------------------------------------------------------


def wait_out_racy_window(written_at: float) -> None:
    """Files written less than the racy window before a scan are re-read by the next scan."""
    remaining = written_at + RACY_WINDOW_NS / 1e9 + 0.5 - time.time()
    if remaining > 0:
        time.sleep(remaining)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    spec = TreeSpec(files=args.files, seed=args.seed)
    print(f"contextree scan benchmark: N={spec.files:,} seed={spec.seed}")
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: load average {load:.2f}: other processes will skew the timings")
    processes = default_processes()
    cli = cli_command()
    with tempfile.TemporaryDirectory(prefix="contextree-bench-") as tmp_name:
        tmp = Path(tmp_name)
        root = args.keep.resolve() if args.keep else tmp / "tree"
        plan, tree, written_at = prepare_tree(spec, root)
        print("warming the page cache ...", flush=True)
        warm_page_cache(root)

        print("baseline: git ls-files + blake3 ...", flush=True)
        baseline = bench_baseline(root, tmp / "home")
        expect(baseline.listed_files, tree.listed_files, "git ls-files")

        wait_out_racy_window(written_at)
        print("contextree: full scans ...", flush=True)
        full = [bench_full_scan(root, 1), bench_full_scan(root, processes)]
        for f in full:
            expect(f.run.files, tree.listed_files, f"scan (hash_processes={f.hash_processes})")
        print("contextree: rescans ...", flush=True)
        rescans = bench_rescans(root, processes)
        env = cli_env(tmp / "xdg")
        cli_rescans = bench_cli_rescans(cli, root, env)
        changed_files = change_files(root, plan, CHANGED_FILES)
        try:
            changed = api_scan(root, processes)
        finally:
            if args.keep:
                restore_files(root, plan, changed_files)

        print("lock and start-up ...", flush=True)
        versions = [run_measured([*cli, "--version"], env=env) for _ in range(CLI_RUNS)]
        for v in versions:
            check(v, 0, "contextree --version")
        lock = bench_lock(cli, root, env, versions)

        print("memory ...", flush=True)
        version_rss = int(median([v.max_rss_bytes for v in versions]))
        memory = [
            bench_memory(
                cli,
                root,
                cli_env(tmp / "xdg", CONTEXTREE_SCAN__HASH_PROCESSES="1"),
                label="hash_processes=1",
                baseline_rss=version_rss,
                files=tree.listed_files,
            ),
            bench_memory(
                cli,
                root,
                env,
                label=f"default={processes}",
                baseline_rss=version_rss,
                files=tree.listed_files,
            ),
        ]
        reset_store(root)
        shutil.rmtree(root / ".git", ignore_errors=True)

    machine = machine_info()  # load average taken again, at the end of the run
    generated = f"generated in {tree.generated_s:.1f} s" if tree.generated_s else "reused"
    title = (
        f"contextree scan benchmark  N={spec.files:,}  seed={spec.seed}  "
        f"cpus={machine['cpu_count']}  python {machine['python']}  {machine['platform']}\n"
        f"tree: {tree.listed_files:,} listed files ({tree.listed_bytes / MB:,.1f} MB), "
        f"{tree.ignored_files:,} ignored files, {tree.dirs:,} dirs, "
        f"{tree.gitignore_files} .gitignore files; {generated}"
    )
    print_table(
        title,
        [
            ("BASELINE: git + blake3 (page cache warm)", baseline_rows(baseline)),
            (
                "CONTEXTREE (in process unless marked; page cache warm)",
                contextree_rows(full, rescans, cli_rescans, changed, spec.files),
            ),
            ("WRITER LOCK", lock_rows(lock)),
            ("MEMORY (CLI full scan from an empty store)", memory_rows(memory, version_rss)),
        ],
    )
    results = {
        "benchmark": "scan",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "params": {"files": spec.files, "seed": spec.seed, "small": args.small},
        "default_hash_processes": processes,
        "tree": asdict(tree),
        "baseline": asdict(baseline),
        "full_scans": [asdict(f) for f in full],
        "rescan_unchanged": asdict(rescans),
        "rescan_unchanged_cli": asdict(cli_rescans),
        "rescan_changed": asdict(changed),
        "lock": asdict(lock),
        "memory": {
            "version_max_rss_mib": version_rss / MIB,
            "runs": [asdict(m) for m in memory],
        },
        "targets": {
            "full_scan_files_per_s": TARGET_FILES_PER_S,
            "rescan_s_per_100k": TARGET_RESCAN_S_PER_100K,
            "memory_mib_per_100k": TARGET_MIB_PER_100K,
        },
    }
    write_json(args.out, results)
    print(f"results written to {args.out}")
    return 0


def expect(actual: int, expected: int, what: str) -> None:
    if actual != expected:
        print(f"warning: {what} saw {actual:,} files, the tree lists {expected:,}")


if __name__ == "__main__":
    sys.exit(main())
