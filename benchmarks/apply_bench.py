"""Apply → Ready of each profile through the operator against the limit: a bare parallel server-side apply of the same
rendered objects, then waiting for their rollout, on the same cluster, alternating; medians and ratios
(``make bench``).

Run as ``python -m benchmarks.apply_bench [--reps N] [--profile P]``. One round is, for each profile: the
operator's run (a server-side apply of examples/<profile>.yaml until ``Ready`` at the new generation, read every
0.1 s in-process as the bare run reads its rollout, then delete and wait until its workloads are gone), then the
bare run (``render_platform`` of the same file; CRDs and Namespaces first, waiting for the CRDs to be Established;
then every other object at once, at most 16 requests in flight; admission webhooks last; then every Deployment,
StatefulSet and DaemonSet rolled out, as ``reconcile.health`` judges them; then everything deleted). Both runs
start without the rendered CRDs (deleted after each run, and waited for), so both create them and wait for them.
The operator is stopped during the bare runs (the rendered objects carry its labels, and it sweeps labelled objects
that no SeldonOperator owns) and started again, healthy, before its own run; its start is not timed. Every wait is
bounded (``BENCH_TIMEOUT`` s, default 300). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from benchmarks.harness import (
    PROFILES,
    ROOT,
    BenchCluster,
    bench_cluster,
    env_seconds,
    managed_workloads,
    median,
    table,
    wait,
)
from seldon_meta_operator.api.v1alpha1 import parse_seldon_operator
from seldon_meta_operator.kube import Kube, UnknownKindError
from seldon_meta_operator.reconcile import health
from seldon_meta_operator.render.pipeline import render_platform

FIRST = frozenset({"Namespace", "CustomResourceDefinition"})
LAST = frozenset({"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})
WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
IN_FLIGHT = 16
TIMEOUT = env_seconds("BENCH_TIMEOUT", 300)


def rendered(profile: str) -> list[dict[str, Any]]:
    path = ROOT / "examples" / f"{profile}.yaml"
    resource = parse_seldon_operator(yaml.safe_load(path.read_text()), source=str(path))
    return [dict(m) for m in render_platform(resource).manifests]


async def _all(kube: Kube, objects: Sequence[Mapping[str, Any]], call: str) -> None:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(obj: Mapping[str, Any]) -> None:
        async with gate:
            if call == "apply":
                await kube.apply(obj, force=True)
            else:
                meta = obj["metadata"]
                with contextlib.suppress(UnknownKindError):  # its CRD went first
                    await kube.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))

    await asyncio.gather(*(one(o) for o in objects))


async def _rolled_out(kube: Kube, workloads: Sequence[Mapping[str, Any]]) -> bool:
    for obj in workloads:
        meta = obj["metadata"]
        live = await kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        if not health.evaluate(live, obj["kind"], meta["name"]).ready:
            return False
    return True


def operator_apply(profile: str) -> float:
    """Seconds from the SeldonOperator's apply to its Ready at the new generation, measured as the bare apply is
    (in-process requests, read every 0.1 s), not through kubectl processes whose start-up would count."""
    return asyncio.run(_operator_apply(profile))


async def _operator_apply(profile: str) -> float:
    doc = yaml.safe_load((ROOT / "examples" / f"{profile}.yaml").read_text())
    meta = doc["metadata"]
    kube = Kube.from_kubeconfig()
    kube.field_manager = "bench-kubectl"
    try:
        started = time.monotonic()
        deadline = started + TIMEOUT
        await kube.apply(doc, force=True)
        while True:
            live = await kube.get(doc["apiVersion"], doc["kind"], meta["name"], meta.get("namespace"))
            status = (live or {}).get("status") or {}
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])
            if live is not None and ready and status.get("observedGeneration") == live["metadata"]["generation"]:
                return time.monotonic() - started
            _check(deadline, f"{profile} Ready")
            await asyncio.sleep(0.1)
    finally:
        await kube.close()


async def bare_apply(objects: Sequence[Mapping[str, Any]]) -> float:
    """Seconds from the first request to every workload rolled out."""
    kube = Kube.from_kubeconfig()
    kube.field_manager = "bench-bare-apply"
    try:
        started = time.monotonic()
        deadline = started + TIMEOUT
        await _all(kube, [o for o in objects if o["kind"] in FIRST], "apply")
        for crd in (o for o in objects if o["kind"] == "CustomResourceDefinition"):
            while True:
                live = await kube.get(crd["apiVersion"], crd["kind"], crd["metadata"]["name"])
                conditions = ((live or {}).get("status") or {}).get("conditions") or []
                if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                    break
                _check(deadline, f"CRD {crd['metadata']['name']} Established")
                await asyncio.sleep(0.05)
        await _all(kube, [o for o in objects if o["kind"] not in FIRST | LAST], "apply")
        await _all(kube, [o for o in objects if o["kind"] in LAST], "apply")
        workloads = [o for o in objects if o["kind"] in WORKLOADS]
        while not await _rolled_out(kube, workloads):
            _check(deadline, "the bare apply's workloads rolled out")
            await asyncio.sleep(0.1)
        return time.monotonic() - started
    finally:
        await kube.close()


def _check(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise RuntimeError(f"timed out after {TIMEOUT:.0f} s waiting for {what}")


async def bare_delete(objects: Sequence[Mapping[str, Any]]) -> None:
    kube = Kube.from_kubeconfig()
    try:
        await _all(kube, [o for o in objects if o["kind"] not in FIRST], "delete")
    finally:
        await kube.close()
    await delete_crds(objects)


async def delete_crds(objects: Sequence[Mapping[str, Any]]) -> None:
    """Delete the rendered CRDs and wait until they are gone, after either run: both start without them (the
    operator never deletes the SeldonDeployment CRD, and a CRD still terminating would make the next run wait)."""
    crds = [o for o in objects if o["kind"] == "CustomResourceDefinition"]
    kube = Kube.from_kubeconfig()
    try:
        await _all(kube, crds, "delete")
        deadline = time.monotonic() + TIMEOUT
        for crd in crds:
            while await kube.get(crd["apiVersion"], crd["kind"], crd["metadata"]["name"]) is not None:
                _check(deadline, f"CRD {crd['metadata']['name']} gone")
                await asyncio.sleep(0.1)
    finally:
        await kube.close()


def measure(cluster: BenchCluster, profiles: Sequence[str], reps: int) -> dict[str, tuple[list[float], list[float]]]:
    results: dict[str, tuple[list[float], list[float]]] = {p: ([], []) for p in profiles}
    objects = {p: rendered(p) for p in profiles}
    for rep in range(reps):
        for profile in profiles:
            cluster.start_operator()
            results[profile][0].append(operator_apply(profile))
            cluster.delete_profile()
            asyncio.run(delete_crds(objects[profile]))
            cluster.stop_operator()
            results[profile][1].append(asyncio.run(bare_apply(objects[profile])))
            asyncio.run(bare_delete(objects[profile]))
            wait("the bare apply's workloads gone", lambda: not managed_workloads(), TIMEOUT)
            print(
                f"  round {rep + 1}/{reps} {profile}: operator {results[profile][0][-1]:.2f} s, "
                f"bare apply {results[profile][1][-1]:.2f} s",
                flush=True,
            )
    return results


def report(results: Mapping[str, tuple[Sequence[float], Sequence[float]]], reps: int) -> str:
    rows = []
    for profile, (ours, bare) in results.items():
        m_ours, m_bare = median(ours), median(bare)
        rows.append((profile, f"{m_ours:.2f}", f"{m_bare:.2f}", f"{m_ours / m_bare:.2f}x", str(len(ours))))
    head = ("profile", "operator s", "bare apply s", "ratio", "runs")
    return f"apply -> Ready, medians of {reps} alternating rounds (bare apply = the limit)\n" + table(head, rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profile", action="append", choices=PROFILES, help="profiles to measure (default: all)")
    parser.add_argument("--reps", type=int, default=3, help="alternating rounds (default 3)")
    args = parser.parse_args(argv)
    with bench_cluster() as cluster:
        results = measure(cluster, args.profile or PROFILES, args.reps)
    print(report(results, args.reps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
