"""Measure leader-election failover on the local control plane and print it (``make bench``).

Run as ``python -m benchmarks.leader_bench``. It starts a cluster of its own (a temporary state directory) and, for
each run, two ``LeaderElector``s with the production timings (lease 15 s, renew deadline 10 s, retry 2 s, as
controller-runtime) on a fresh Lease: once one leads, (1) the leader vanishes without releasing (as after kill -9)
and the time until the other leads is measured; (2) the new leader releases the Lease (a graceful stop) and a third
elector's takeover time is measured. The kills fall at phases of the renewal period spread evenly over the runs.
Prints the median, minimum and maximum of each. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from seldon_meta_operator.kube import Kube
from seldon_meta_operator.operator.leader import LeaderElector

ROOT = Path(__file__).resolve().parents[1]
LOCALCLUSTER = ROOT / "hack" / "cluster" / "localcluster.py"
NAMESPACE = "smo-leader-bench"


async def until(probe: Callable[[], bool], timeout: float = 120.0) -> float:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError("no leader")
        await asyncio.sleep(0.01)
    return time.monotonic()


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def one_run(kube: Kube, run: int, runs: int, timings: dict[str, float]) -> tuple[float, float]:
    name = f"bench-{run}-{os.getpid()}"
    electors = [LeaderElector(kube, NAMESPACE, name, identity=i, **timings) for i in ("a", "b", "c")]
    a, b, c = electors
    tasks = {e.identity: asyncio.create_task(e.run()) for e in (a, b)}
    await until(lambda: a.is_leader or b.is_leader)
    leader, follower = (a, b) if a.is_leader else (b, a)
    await until(lambda: follower.holder == leader.identity)
    # A steady state (some renewals seen by the follower), then a kill at a phase of the renewal period that the
    # runs spread evenly: a leader killed just after renewing leaves the longest wait, just before the shortest.
    await asyncio.sleep(timings["retry_period"] * (2 + (run + 0.5) / runs))
    await stop(tasks[leader.identity])  # vanished, no release (kill -9)
    vanished = time.monotonic()
    failover = await until(lambda: follower.is_leader) - vanished
    tasks["c"] = asyncio.create_task(c.run())
    await until(lambda: c.holder == follower.identity)
    await stop(tasks[follower.identity])
    released = time.monotonic()
    await follower.release()
    handover = await until(lambda: c.is_leader) - released
    await stop(tasks["c"])
    await c.release()
    await kube.delete("coordination.k8s.io/v1", "Lease", name, NAMESPACE)
    return failover, handover


async def measure(runs: int, timings: dict[str, float]) -> list[tuple[float, float]]:
    kube = Kube.from_kubeconfig(os.environ["KUBECONFIG"])
    try:
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        results = []
        for run in range(runs):
            results.append(await one_run(kube, run, runs, timings))
            print(f"  run {run + 1}: failover {results[-1][0]:.2f}s, hand-over {results[-1][1]:.2f}s", flush=True)
        return results
    finally:
        await kube.close()


def summary(label: str, values: Sequence[float]) -> str:
    return (
        f"{label:<44} median {statistics.median(values):5.2f}s  min {min(values):5.2f}s  max {max(values):5.2f}s"
        f"  ({len(values)} runs)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--lease-duration", type=float, default=15.0)
    parser.add_argument("--renew-deadline", type=float, default=10.0)
    parser.add_argument("--retry-period", type=float, default=2.0)
    args = parser.parse_args(argv)
    timings = {
        "lease_duration": args.lease_duration,
        "renew_deadline": args.renew_deadline,
        "retry_period": args.retry_period,
    }
    state = Path(tempfile.mkdtemp(prefix="smo-leader-bench-")) / "cluster"
    env = {**os.environ, "SMO_CLUSTER_DIR": str(state)}
    try:
        up = subprocess.run(
            [sys.executable, str(LOCALCLUSTER), "up"], env=env, capture_output=True, text=True, check=True
        )
        os.environ["KUBECONFIG"] = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
        print(
            f"leader election, two electors (lease {args.lease_duration:g}s, renew deadline {args.renew_deadline:g}s,"
            f" retry {args.retry_period:g}s)",
            flush=True,
        )
        results = asyncio.run(measure(args.runs, timings))
        print(summary("failover after the leader vanished (kill -9)", [r[0] for r in results]))
        print(summary("hand-over after a graceful release", [r[1] for r in results]))
    finally:
        subprocess.run([sys.executable, str(LOCALCLUSTER), "down"], env=env, capture_output=True, check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
