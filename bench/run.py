#!/usr/bin/env python3
"""Benchmark the project's speed and memory budget as ratios with targets.

    .venv/bin/python bench/run.py [--runs 3] [--skip-make-test] [--json FILE]

Every line prints a value, its target and PASS/FAIL; the exit code is 1 if any
target fails. Timings are medians of fresh processes, because what a user pays
is a whole `python main.py` (jsii start-up included), not an in-process call.
See bench/README.md for what each number means and how it is measured.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
MAIN = ROOT / "main.py"
EXAMPLE_CONFIG = ROOT / "config" / "example.yaml"
#: Where the app imports provider packages from (main.py only wires stacks).
SCANNED = (ROOT / "stacks", ROOT / "platform_constructs", ROOT / "platform_services", MAIN)
PROVIDER_PREFIX = "cdktf_cdktf_provider_"
STACKS = ("network", "cluster", "bootstrap")
SAMPLE_SECONDS = 0.05
MB = 1024 * 1024

# Targets: the project's quality bars (see bench/README.md).
SYNTH_OVER_FLOOR_MAX = 1.15
MAKE_TEST_OVER_SYNTH_MAX = 3.0
PEAK_RSS_MAX_MB = 1300.0
BAD_CONFIG_MAX_SECONDS = 2.0
#: A fresh clone's first `make test` after installing (no mypy or pytest cache).
COLD_TEST_MAX_SECONDS = 45.0
COLD_TEST_PEAK_MAX_MB = 2048.0


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    """One fresh process (and everything it started), measured."""

    seconds: float
    returncode: int
    #: User + system CPU of the process and every descendant it waited for:
    #: its own work, which other load on the machine does not inflate.
    cpu_seconds: float = 0.0
    #: Highest sampled sum of VmRSS over the live process tree.
    tree_peak_mb: float = 0.0
    #: Kernel high-water mark (VmHWM) of every process seen, by "pid name".
    process_peaks_mb: dict[str, float] = field(default_factory=dict)
    stderr: str = ""

    def peaks_by_name(self) -> str:
        """Per command name (python, node): summed peaks and process count."""
        totals: dict[str, list[float]] = {}
        for key, mb in self.process_peaks_mb.items():
            totals.setdefault(key.split(" ", 1)[1], []).append(mb)
        return ", ".join(
            f"{name} {sum(mbs):.0f}" + (f" ({len(mbs)} procs)" if len(mbs) > 1 else "")
            for name, mbs in sorted(totals.items())
        )

    @property
    def peak_upper_bound_mb(self) -> float:
        """Sum of every process's own peak: >= the true peak of the tree."""
        return sum(self.process_peaks_mb.values())


def _parent_of_every_process() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def _tree(root: int) -> Iterator[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in _parent_of_every_process().items():
        children.setdefault(parent, []).append(pid)
    todo = [root]
    while todo:
        pid = todo.pop()
        yield pid
        todo.extend(children.get(pid, []))


def _memory_kb(pid: int) -> tuple[str, int, int] | None:
    """(name, VmRSS kB, VmHWM kB) of a live process, None if gone or a zombie."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    values = dict(line.split(":", 1) for line in lines if ":" in line)
    if "VmRSS" not in values:  # zombie: no memory left to count
        return None
    return (
        values["Name"].strip(),
        int(values["VmRSS"].split()[0]),
        int(values["VmHWM"].split()[0]),
    )


class _Sampler(threading.Thread):
    """Every 50 ms: RSS of the whole process tree, and each process's peak."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.stop = threading.Event()
        self.tree_peak_kb = 0
        self.process_peaks_kb: dict[str, int] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            for pid in _tree(self.root):
                memory = _memory_kb(pid)
                if memory is None:
                    continue
                name, rss, hwm = memory
                total += rss
                key = f"{pid} {name}"
                self.process_peaks_kb[key] = max(self.process_peaks_kb.get(key, 0), hwm)
            self.tree_peak_kb = max(self.tree_peak_kb, total)
            self.stop.wait(SAMPLE_SECONDS)


def run_measured(command: list[str], *, cwd: Path, env: dict[str, str]) -> Run:
    """Run a command to completion: wall time, exit code, memory of its tree."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            # Output kept (both streams, in order) for the report of a failed run.
            command,
            cwd=cwd,
            env=env,
            stdout=stderr,
            stderr=subprocess.STDOUT,
        )
        sampler = _Sampler(process.pid)
        sampler.start()
        # wait4: the child's CPU time, its reaped descendants' included.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        returncode = process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop.set()
        sampler.join()
        stderr.seek(0)
        text = stderr.read().decode(errors="replace")
    return Run(
        seconds=seconds,
        returncode=returncode,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        tree_peak_mb=sampler.tree_peak_kb / 1024,
        process_peaks_mb={k: kb / 1024 for k, kb in sampler.process_peaks_kb.items()},
        stderr=text,
    )


# --------------------------------------------------------------------------- the runs


def bench_env(**extra: str) -> dict[str, str]:
    """What `make` sets: the venv's Node 22 first on PATH, no telemetry, no banners."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(VENV_BIN), str(ROOT / "node_modules" / ".bin"), env["PATH"]])
    env["CHECKPOINT_DISABLE"] = "1"
    env["NODE_OPTIONS"] = "--no-deprecation --max-old-space-size=4096"
    env.pop("CDKTF_OUTDIR", None)
    env.pop("PLATFORM_CONFIG", None)
    env.update(extra)
    return env


def provider_import_statements() -> list[str]:
    """Every `from cdktf_cdktf_provider_* import ...` the app's code contains."""
    statements: set[str] = set()
    files = [p for path in SCANNED for p in ([path] if path.is_file() else path.rglob("*.py"))]
    for source in files:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PROVIDER_PREFIX):
                for alias in node.names:
                    statements.add(f"from {node.module} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(PROVIDER_PREFIX):
                        statements.add(f"import {alias.name}")
    return sorted(statements)


def floor_command(*, lazy: bool) -> list[str]:
    """A fresh python that only imports what the app imports from jsii land.

    `lazy=False` is the import floor the target is set against: cdktf and the
    provider packages imported as published (each package's __init__ loads all
    of its submodules). `lazy=True` imports them the way the app does (main.py
    installs stacks.provider_imports first), so synth minus that
    floor is what our own code costs.
    """
    setup = ["from stacks import provider_imports", "provider_imports.install()"]
    code = "\n".join([*(setup if lazy else []), "import cdktf", *provider_import_statements()])
    return [str(PYTHON), "-c", code]


def synth_once(workdir: Path) -> Run:
    """`python main.py` on the example config, cwd and outdir in a temp dir.

    cdktf's App() writes to `outdir ?? process.env.CDKTF_OUTDIR ?? "cdktf.out"`
    (cdktf 0.21 lib/app.js); node inherits our environment, so CDKTF_OUTDIR
    keeps the repository's cdktf.out untouched.
    """
    outdir = workdir / "cdktf.out"
    env = bench_env(CDKTF_OUTDIR=str(outdir), PLATFORM_CONFIG=str(EXAMPLE_CONFIG))
    run = run_measured([str(PYTHON), str(MAIN)], cwd=workdir, env=env)
    missing = [s for s in STACKS if not (outdir / "stacks" / s / "cdk.tf.json").is_file()]
    if run.returncode != 0 or missing:
        sys.exit(
            f"synth failed (exit {run.returncode}; missing stacks: {missing or 'none'}):\n"
            + run.stderr[-3000:]
        )
    return run


def bad_config_once(workdir: Path, config: Path) -> tuple[Run, bool]:
    """`python main.py` on an invalid config: (run, rejected cleanly?)."""
    outdir = workdir / "cdktf.out"
    env = bench_env(CDKTF_OUTDIR=str(outdir), PLATFORM_CONFIG=str(config))
    run = run_measured([str(PYTHON), str(MAIN)], cwd=workdir, env=env)
    clean = run.returncode == 2 and "Traceback" not in run.stderr and not outdir.exists()
    return run, clean


def write_bad_config(path: Path) -> None:
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    data["cluster"]["control_plane_access"] = "public"  # not dns | bastion
    data["cluster"]["deletion_protecton"] = False  # typo: unknown key
    path.write_text(yaml.safe_dump(data))


def time_make_test(*, cold: bool = False) -> Run:
    """`make test` once, after an untimed `make deps` so installing is not counted.

    cold: as on a fresh clone after installing: no mypy, pytest or ruff cache
    (the jsii package cache stays: `make deps` fills it on a fresh machine too).
    """
    env = bench_env()
    deps = subprocess.run(
        ["make", "deps"], check=False, cwd=ROOT, env=env, capture_output=True, text=True
    )
    if deps.returncode != 0:
        sys.exit(f"`make deps` failed:\n{deps.stdout[-2000:]}{deps.stderr[-2000:]}")
    if cold:
        for cache in (".mypy_cache", ".pytest_cache", ".ruff_cache"):
            shutil.rmtree(ROOT / cache, ignore_errors=True)
    return run_measured(["make", "test"], cwd=ROOT, env=env)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Line:
    metric: str
    value: str
    target: str
    passed: bool
    detail: str


def print_table(lines: list[Line]) -> None:
    width = max(len(line.metric) for line in lines)
    print(f"{'metric':<{width}}  {'value':>10}  {'target':>10}  result  detail")
    for line in lines:
        verdict = "PASS" if line.passed else "FAIL"
        print(
            f"{line.metric:<{width}}  {line.value:>10}  {line.target:>10}  {verdict:<6}  "
            f"{line.detail}"
        )


@dataclass
class Measurements:
    """Every fresh process the benchmark timed."""

    lazy_floors: list[Run] = field(default_factory=list)
    floors: list[Run] = field(default_factory=list)
    synths: list[Run] = field(default_factory=list)
    bad: list[tuple[Run, bool]] = field(default_factory=list)
    make_test: Run | None = None
    cold_test: Run | None = None


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs per median (default 3)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed synths first (jsii cache; default 1)"
    )
    parser.add_argument("--skip-make-test", action="store_true", help="do not time `make test`")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    return args


def measure(*, runs: int, warmup: int, skip_make_test: bool) -> Measurements:
    """Synths, both import floors and bad-config runs in temp dirs, then `make test`."""
    m = Measurements()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)

        def fresh_dir(name: str) -> Path:
            path = work / name
            path.mkdir()
            return path

        for i in range(warmup):
            synth_once(fresh_dir(f"warmup-{i}"))
        for i in range(runs):
            # Interleaved, order alternating, so drift hits both sides alike.
            kinds = ["lazy floor", "synth", "floor"]
            for kind in kinds if i % 2 == 0 else reversed(kinds):
                if kind == "synth":
                    m.synths.append(synth_once(fresh_dir(f"synth-{i}")))
                    continue
                floor_runs = m.lazy_floors if kind == "lazy floor" else m.floors
                command = floor_command(lazy=kind == "lazy floor")
                floor_runs.append(run_measured(command, cwd=ROOT, env=bench_env()))
                if floor_runs[-1].returncode != 0:
                    sys.exit(f"{kind} failed:\n{floor_runs[-1].stderr[-3000:]}")
            print(
                f"  run {i + 1}/{runs}: floor {m.floors[-1].seconds:.2f} s, "
                f"synth {m.synths[-1].seconds:.2f} s, lazy floor {m.lazy_floors[-1].seconds:.2f} s",
                flush=True,
            )
        bad_config = work / "bad.yaml"
        write_bad_config(bad_config)
        for i in range(runs):
            m.bad.append(bad_config_once(fresh_dir(f"bad-{i}"), bad_config))
    m.cold_test = None if skip_make_test else time_make_test(cold=True)
    m.make_test = None if skip_make_test else time_make_test()
    for run in (m.cold_test, m.make_test):
        if run is not None and run.returncode != 0:
            print(f"`make test` failed:\n{run.stderr[-3000:]}", file=sys.stderr)
    return m


def report_lines(m: Measurements, *, runs: int) -> list[Line]:
    """The table: each ratio or value against its target."""
    lazy_s = statistics.median(r.seconds for r in m.lazy_floors)
    floor_s = statistics.median(r.seconds for r in m.floors)
    synth_s = statistics.median(r.seconds for r in m.synths)
    n = f"median of {runs}"

    lines = [
        Line(
            "synth time / import floor",
            f"{synth_s / floor_s:.3f}x",
            f"<= {SYNTH_OVER_FLOOR_MAX}x",
            synth_s / floor_s <= SYNTH_OVER_FLOOR_MAX,
            f"synth {synth_s:.2f} s, floor {floor_s:.2f} s ({n}); {synth_s / lazy_s:.3f}x "
            f"the app's lazy-import floor ({lazy_s:.2f} s): our code {synth_s - lazy_s:+.2f} s",
        ),
    ]
    lines += _make_test_lines(m.make_test, m.cold_test, synth_s=synth_s)
    lines += _memory_and_bad_config_lines(m, floor_s=floor_s, n=n)
    return lines


def _make_test_lines(make_test: Run | None, cold_test: Run | None, *, synth_s: float) -> list[Line]:
    lines: list[Line] = []
    if make_test is not None:
        ratio = make_test.seconds / synth_s
        lines.append(
            Line(
                "make test time / synth time",
                f"{ratio:.2f}x",
                f"<= {MAKE_TEST_OVER_SYNTH_MAX}x",
                make_test.returncode == 0 and ratio <= MAKE_TEST_OVER_SYNTH_MAX,
                f"make test {make_test.seconds:.1f} s (CPU {make_test.cpu_seconds:.1f} s), "
                f"exit {make_test.returncode} (once)",
            )
        )
    if cold_test is not None:
        ratio = cold_test.seconds / synth_s
        lines.append(
            Line(
                "cold make test / synth",
                f"{ratio:.2f}x",
                f"<= {COLD_TEST_MAX_SECONDS / synth_s:.2f}x",
                cold_test.returncode == 0
                and cold_test.seconds <= COLD_TEST_MAX_SECONDS
                and cold_test.tree_peak_mb <= COLD_TEST_PEAK_MAX_MB,
                f"no mypy/pytest/ruff cache: {cold_test.seconds:.1f} s (target "
                f"{COLD_TEST_MAX_SECONDS:.0f} s; CPU {cold_test.cpu_seconds:.1f} s), "
                f"peak {cold_test.tree_peak_mb:.0f} MB "
                f"(sampled tree; target {COLD_TEST_PEAK_MAX_MB:.0f}), "
                f"exit {cold_test.returncode} (once)",
            )
        )
    return lines


def _memory_and_bad_config_lines(m: Measurements, *, floor_s: float, n: str) -> list[Line]:
    bad_s = statistics.median(r.seconds for r, _ in m.bad)
    worst = max(m.synths, key=lambda r: r.peak_upper_bound_mb)
    floor_peak = max(r.peak_upper_bound_mb for r in m.floors)
    lazy_peak = max(r.peak_upper_bound_mb for r in m.lazy_floors)
    return [
        Line(
            "synth peak RSS (MB)",
            f"{worst.peak_upper_bound_mb:.0f}",
            f"<= {PEAK_RSS_MAX_MB:.0f}",
            worst.peak_upper_bound_mb <= PEAK_RSS_MAX_MB,
            f"sum of per-process peaks: {worst.peaks_by_name()}; sampled tree peak "
            f"{worst.tree_peak_mb:.0f}; {worst.peak_upper_bound_mb / floor_peak:.2f}x floor's "
            f"({floor_peak:.0f}), {worst.peak_upper_bound_mb / lazy_peak:.2f}x lazy floor's "
            f"({lazy_peak:.0f})",
        ),
        Line(
            "bad config rejection (s)",
            f"{bad_s:.2f}",
            f"< {BAD_CONFIG_MAX_SECONDS}",
            bad_s < BAD_CONFIG_MAX_SECONDS and all(clean for _, clean in m.bad),
            f"{bad_s / floor_s:.3f}x floor; exit codes "
            f"{sorted({r.returncode for r, _ in m.bad})} "
            f"(want 2, no traceback, no cdktf.out) ({n})",
        ),
    ]


def write_json(path: Path, lines: list[Line], m: Measurements) -> None:
    """The raw measurements (without the captured output of successful runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = {
        "lines": [asdict(line) for line in lines],
        "floor": [asdict(r) | {"stderr": ""} for r in m.floors],
        "lazy_floor": [asdict(r) | {"stderr": ""} for r in m.lazy_floors],
        "synth": [asdict(r) | {"stderr": ""} for r in m.synths],
        "bad_config": [asdict(r) for r, _ in m.bad],
        "make_test": None if m.make_test is None else asdict(m.make_test) | {"stderr": ""},
        "cold_make_test": None if m.cold_test is None else asdict(m.cold_test) | {"stderr": ""},
    }
    path.write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n")


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    print(f"floor imports: cdktf + {len(provider_import_statements())} provider imports")
    m = measure(runs=args.runs, warmup=args.warmup, skip_make_test=args.skip_make_test)
    lines = report_lines(m, runs=args.runs)
    print()
    print_table(lines)
    if args.json:
        write_json(args.json, lines, m)
    return 0 if all(line.passed for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
