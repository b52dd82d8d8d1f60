"""Time the start-up of ``seldonctl`` and print a table (``make bench``).

Run as ``python -m benchmarks.cli_bench [--runs N]``. Each command runs N times (default 20) as a fresh process,
after one warm-up run; the table shows the median and best wall time of the whole process (start, imports, work,
exit), its median CPU time (user + system: less sensitive than wall time to other load on a shared machine), and how
many modules the process imported (``python -X importtime``). Nothing is asserted about speed: the
figures are for comparing changes on one machine (hyperfine is not installed; this is its median).

The package's byte-code is compiled first (``compileall``), as ``pip install`` and the image do: with
``PYTHONDONTWRITEBYTECODE`` set (as on our CI machines) and an editable install, every run would otherwise compile
the operator's ~70 modules from source, about 100 ms of each start-up that no installed seldonctl pays.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS: dict[str, tuple[str, ...]] = {
    "seldonctl --help": ("--help",),
    "seldonctl render -f examples/minimal.yaml": ("render", "-f", "examples/minimal.yaml"),
    "seldonctl render -f examples/all-features.yaml": ("render", "-f", "examples/all-features.yaml"),
}


@dataclass(frozen=True)
class Startup:
    command: str
    median_ms: float
    best_ms: float
    cpu_ms: float
    modules: int


def argv(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "seldon_meta_operator.cli.main", *args]


def run_once(args: Sequence[str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv(args), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def imported_modules(args: Sequence[str]) -> list[str]:
    """The modules a run imports, from ``python -X importtime``'s report on stderr."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv(args)[1:]],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    return [line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")][1:]


def bench(runs: int) -> list[Startup]:
    out: list[Startup] = []
    for label, args in COMMANDS.items():
        run_once(args)  # warm-up: byte-code caches, page cache
        samples = [run_once(args) for _ in range(runs)]
        walls = [wall for wall, _cpu in samples]
        cpu = statistics.median(cpu for _wall, cpu in samples)
        out.append(Startup(label, statistics.median(walls), min(walls), cpu, len(imported_modules(args))))
    return out


def table(rows: Sequence[Startup]) -> str:
    header = ("command", "median ms", "best ms", "CPU ms", "modules")
    cells = [(r.command, f"{r.median_ms:.0f}", f"{r.best_ms:.0f}", f"{r.cpu_ms:.0f}", str(r.modules)) for r in rows]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    lines = ["  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))])
             for r in [header, tuple("-" * w for w in widths), *cells]]  # fmt: skip
    return "\n".join(lines)


def main(argv_: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="runs per command (default 20)")
    args = parser.parse_args(argv_)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    package = ROOT / "src" / "seldon_meta_operator"
    if package.is_dir():  # an editable install: the package's byte-code, as pip writes it for an installed one
        compileall.compile_dir(package, quiet=1)
    python = sys.version.split()[0]
    print(f"seldonctl start-up, whole process, {args.runs} runs per command (Python {python}, {os.cpu_count()} CPUs)")
    print(table(bench(args.runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
