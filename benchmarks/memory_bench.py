"""Where the operator's memory goes before it does any work: print RSS after importing each heavy dependency alone,
then the operator's own modules one after another, and the top allocations by package (``make bench``).

Run as ``python -m benchmarks.memory_bench``. Each "alone" row is a fresh interpreter that imports one module and
reads its ``VmRSS`` (``/proc/self/status``); the "cumulative" rows import the operator's modules in the order
``seldon-meta-operator`` does, so each row is what that module adds on top of the previous ones (shared
dependencies count once, at the first module that brings them). The last table is ``tracemalloc`` after importing
what ``seldon-meta-operator`` imports: the Python heap by the package whose code allocated it (RSS also holds
code, shared libraries such as OpenSSL's, and the allocator's slack, which tracemalloc does not see).

Then the running operator (``--no-cluster`` skips it): a local control plane of its own (benchmarks/harness.py),
``examples/all-features.yaml`` installed and Ready, and the operator restarted ``BENCH_MEMORY_RUNS`` times (default
3); each time, after ``BENCH_MEMORY_IDLE`` seconds idle (default 45), its ``VmRSS`` split into anonymous memory
(the Python heap) and file-backed pages (libpython and the extension modules), its threads and its open
connections (kopf's watches and pools; each costs asyncio's TLS read buffer, see operator/runner.py). Medians.
Nothing is asserted: the figures are for the issue notes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

#: Heavy dependencies, each imported alone in a fresh interpreter.
ALONE = (
    "kopf",
    "lightkube",
    "httpx2",
    "cryptography.x509",
    "pydantic",
    "prometheus_client",
    "aiohttp",
    "yaml",
    "typer",
    "rich.console",
    "seldon_meta_operator.api.v1alpha1",
    "seldon_meta_operator.components",
    "seldon_meta_operator.render.pipeline",
    "seldon_meta_operator.kube",
    "seldon_meta_operator.reconcile.secrets",
    "seldon_meta_operator.reconcile.reconciler",
    "seldon_meta_operator.operator.runner",
    "seldon_meta_operator.cli.main",
)

#: The operator's start-up, in import order: what each step adds.
CUMULATIVE = (
    "pydantic",
    "seldon_meta_operator.api.v1alpha1",
    "seldon_meta_operator.components",
    "seldon_meta_operator.render.pipeline",
    "seldon_meta_operator.render.install",
    "lightkube",
    "seldon_meta_operator.kube",
    # cryptography is not here: reconcile/secrets.py imports it only to issue or renew the webhook certificate.
    "seldon_meta_operator.reconcile.secrets",
    "prometheus_client",
    "seldon_meta_operator.reconcile.reconciler",
    "kopf",
    "seldon_meta_operator.operator.handlers",
    "seldon_meta_operator.operator.runner",
    "seldon_meta_operator.operator.main",
)

_PROBE = """
import importlib, json, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
out = [("python", rss())]
for name in sys.argv[1:]:
    importlib.import_module(name)
    out.append((name, rss()))
print(json.dumps(out))
"""

_TRACE = """
import collections, json, tracemalloc
tracemalloc.start(64)
import seldon_meta_operator.operator.main, seldon_meta_operator.operator.runner
snapshot = tracemalloc.take_snapshot()
by_package = collections.Counter()
for stat in snapshot.statistics("traceback"):
    # The innermost frame in a real file: the module whose import (or code) allocated it, not importlib's loader.
    path = next((f.filename for f in reversed(stat.traceback) if not f.filename.startswith("<")), "<frozen>")
    if "site-packages/" in path:
        package = path.split("site-packages/")[1].split("/")[0].removesuffix(".py")
    elif "seldon_meta_operator/" in path:
        package = "seldon_meta_operator." + path.split("seldon_meta_operator/")[1].split("/")[0].removesuffix(".py")
    else:
        package = "stdlib"
    by_package[package] += stat.size
print(json.dumps(by_package.most_common(20)))
"""


def probe(*modules: str) -> list[tuple[str, float]]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *modules], capture_output=True, text=True, check=True)
    return [(str(name), float(mib)) for name, mib in json.loads(proc.stdout)]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))])
             for r in [header, tuple("-" * w for w in widths), *rows]]  # fmt: skip
    return "\n".join(lines)


def process_memory(pid: int) -> dict[str, float]:
    """VmRSS, RssAnon and RssFile in MiB, Threads, and open sockets (connections and listeners) of a process."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024
        elif key == "Threads":
            out[key] = int(value)
    fds = f"/proc/{pid}/fd"
    out["sockets"] = sum(1 for fd in os.listdir(fds) if os.readlink(f"{fds}/{fd}").startswith("socket:"))
    return out


def running_operator(runs: int, idle: float) -> str:
    from benchmarks.harness import bench_cluster  # noqa: PLC0415  (the cluster part only)

    samples: list[dict[str, float]] = []
    with bench_cluster() as cluster:
        operator = cluster.start_operator()
        seconds = cluster.apply_profile("all-features")
        first = process_memory(operator.proc.pid)
        for _ in range(runs):
            operator = cluster.start_operator()  # stops the previous one
            time.sleep(idle)
            samples.append(process_memory(operator.proc.pid))
    keys = ("VmRSS", "RssAnon", "RssFile", "Threads", "sockets")
    median = {k: statistics.median(s[k] for s in samples) for k in keys}
    rows = [
        (f"all-features Ready ({seconds:.1f} s after apply, first install)", *(f"{first[k]:.1f}" for k in keys[:3]),
         f"{first['Threads']:.0f}", f"{first['sockets']:.0f}"),
        (f"restarted, {idle:.0f} s idle (median of {runs})", *(f"{median[k]:.1f}" for k in keys[:3]),
         f"{median['Threads']:.0f}", f"{median['sockets']:.0f}"),
    ]  # fmt: skip
    head = ("operator", "VmRSS MiB", "anonymous MiB", "file-backed MiB", "threads", "sockets")
    return "The running operator (seldon-meta-operator; goal: VmRSS <= 64 MiB idle)\n" + table(head, rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-cluster", action="store_true", help="only the import figures (no local cluster)")
    args = parser.parse_args(argv)
    base = probe()[0][1]
    alone = [(name, probe(name)[-1][1]) for name in ALONE]
    print(f"RSS after importing one module alone (fresh interpreter; bare Python: {base:.1f} MiB)")
    print(table(("module", "RSS MiB", "added MiB"), [(n, f"{m:.1f}", f"{m - base:+.1f}") for n, m in alone]))
    steps = probe(*CUMULATIVE)
    print("\nRSS while importing the operator's modules in start-up order (each row adds to the previous)")
    rows = [(n, f"{m:.1f}", f"{m - prev:+.1f}") for (n, m), (_p, prev) in zip(steps[1:], steps, strict=False)]
    print(table(("then import", "RSS MiB", "added MiB"), rows))
    trace = subprocess.run([sys.executable, "-c", _TRACE], capture_output=True, text=True, check=True)
    heap = json.loads(trace.stdout)
    print("\nPython heap after importing operator.main and operator.runner (tracemalloc, by importing package; top 20)")
    print(table(("package", "KiB"), [(str(p), f"{int(size) / 1024:.0f}") for p, size in heap]))
    if not args.no_cluster:
        runs = int(os.environ.get("BENCH_MEMORY_RUNS", "3"))
        print("\n" + running_operator(runs, float(os.environ.get("BENCH_MEMORY_IDLE", "45"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
