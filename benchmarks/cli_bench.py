"""Time the start-up of ``seldonctl`` and print a table (``make bench``).

Run as ``python -m benchmarks.cli_bench [--runs N]``. Each command runs N times (default 20) as a fresh process,
after one warm-up run, the commands taking turns (one run of each, then the next round), so that load from
elsewhere on a shared machine falls on all of them alike. The table shows the median and best wall time of the whole
process (start, imports, work, exit), its median CPU time (user + system), and how many modules the process
imported (``python -X importtime``). Nothing is asserted about speed: the figures are for comparing changes on one
machine (hyperfine is not installed; this is its median).

Two references run in the same rounds: the interpreter starting and exiting (``python -c pass``), and a process
that only imports what any `seldonctl render` must (typer, PyYAML, and pydantic with one model built: the
required stack's floor, issue 12), and ends as seldonctl does, without the interpreter's teardown. Each command's
row also shows its median above the floor.

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
SELDONCTL = ("-m", "seldon_meta_operator.cli.main")
COMMANDS: dict[str, tuple[str, ...]] = {
    "seldonctl --help": (*SELDONCTL, "--help"),
    "seldonctl render -f examples/minimal.yaml": (*SELDONCTL, "render", "-f", "examples/minimal.yaml"),
    "seldonctl render -f examples/all-features.yaml": (*SELDONCTL, "render", "-f", "examples/all-features.yaml"),
}
#: The references, run in the same rounds (module docstring).
PASS = "reference: python -c pass"
FLOOR = "reference: import typer, yaml, pydantic + 1 model"
REFERENCES: dict[str, tuple[str, ...]] = {
    PASS: ("-c", "pass"),
    # Ended as seldonctl ends (cli/main.py end_process), so that the floor is the imports alone.
    FLOOR: ("-c", "import os, typer, yaml, pydantic\nclass M(pydantic.BaseModel):\n    x: int\nos._exit(0)"),
}


@dataclass(frozen=True)
class Startup:
    command: str
    median_ms: float
    best_ms: float
    cpu_ms: float
    modules: int
    over_floor_ms: float | None = None


def argv(args: Sequence[str]) -> list[str]:
    return [sys.executable, *args]


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
    everything = {**REFERENCES, **COMMANDS}
    for args in everything.values():
        run_once(args)  # warm-up: byte-code caches, page cache
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in everything}
    for _ in range(runs):  # in turns: see the module docstring
        for label, args in everything.items():
            samples[label].append(run_once(args))
    floor = statistics.median(wall for wall, _cpu in samples[FLOOR])
    out: list[Startup] = []
    for label, args in everything.items():
        walls = [wall for wall, _cpu in samples[label]]
        cpu = statistics.median(cpu for _wall, cpu in samples[label])
        median = statistics.median(walls)
        over = median - floor if label in COMMANDS else None
        out.append(Startup(label, median, min(walls), cpu, len(imported_modules(args)), over))
    return out


def table(rows: Sequence[Startup]) -> str:
    header = ("command", "median ms", "best ms", "CPU ms", "modules", "over the floor ms")
    cells = [
        (
            r.command,
            f"{r.median_ms:.0f}",
            f"{r.best_ms:.0f}",
            f"{r.cpu_ms:.0f}",
            str(r.modules),
            "" if r.over_floor_ms is None else f"{r.over_floor_ms:+.0f}",
        )
        for r in rows
    ]
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
    print(
        f"seldonctl start-up, whole process, {args.runs} rounds of every command in turn "
        f"(Python {python}, {os.cpu_count()} CPUs)"
    )
    print(table(bench(args.runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
