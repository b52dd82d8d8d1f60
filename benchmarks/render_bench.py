"""Time ``render_platform`` for each example profile and print a table (``make bench``).

Run as ``python -m benchmarks.render_bench [--runs N]``. Each profile is parsed once and rendered N times; the table
shows the number of objects and the median and best wall time per render (``time.perf_counter``). Nothing is
asserted about speed: the figures are for comparing changes on one machine.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from seldon_meta_operator.api.v1alpha1 import SeldonOperator, parse_seldon_operator
from seldon_meta_operator.render.pipeline import render_platform

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@dataclass(frozen=True)
class Timing:
    profile: str
    objects: int
    median_ms: float
    best_ms: float


def load_profiles(directory: Path = EXAMPLES) -> dict[str, SeldonOperator]:
    """Each example file, parsed, by its stem (``minimal``, ``all-features``...)."""
    profiles: dict[str, SeldonOperator] = {}
    for path in sorted(directory.glob("*.yaml")):
        profiles[path.stem] = parse_seldon_operator(yaml.safe_load(path.read_text()), source=str(path))
    return profiles


def time_calls(call: Callable[[], object], runs: int) -> list[float]:
    """Wall time of each of ``runs`` calls, in milliseconds, after one warm-up call."""
    call()
    samples: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def bench(profiles: dict[str, SeldonOperator], runs: int) -> list[Timing]:
    out: list[Timing] = []
    for name, resource in profiles.items():
        objects = len(render_platform(resource).manifests)
        samples = time_calls(functools.partial(render_platform, resource), runs)
        out.append(Timing(name, objects, statistics.median(samples), min(samples)))
    return out


def table(timings: Sequence[Timing]) -> str:
    header = ("profile", "objects", "median ms", "best ms")
    rows = [(t.profile, str(t.objects), f"{t.median_ms:.2f}", f"{t.best_ms:.2f}") for t in timings]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))])

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=50, help="renders per profile (default 50)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    timings = bench(load_profiles(), args.runs)
    print(f"render_platform, {args.runs} runs per profile (Python {sys.version.split()[0]})")
    print(table(timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
