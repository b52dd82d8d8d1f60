"""What the operator costs while nothing changes, and in a busy cluster (``make bench``).

Run as ``python -m benchmarks.idle_bench [--profile P] [--busy/--no-busy]``. With one SeldonOperator Ready (default
all-features):

* API requests per minute by verb, from the API server's own ``apiserver_request_total`` (every resource, dry runs
  excluded), over ``BENCH_IDLE`` seconds (default 60) with the operator running, then as long with it stopped: the
  API server does not label requests by user, so the operator's share is the difference. WATCH counts watches
  started, not events.
* The operator's RSS (``VmRSS`` of its process) right after Ready, and after a soak of ``BENCH_SOAK`` seconds
  (default 600, as the issue asks; ``BENCH_SOAK=60`` for a quick run).
* Busy cluster: 300 KWOK nodes, 3,000 pods, 5,000 Secrets and 5,000 ConfigMaps that are not ours (namespace
  ``bench-noise``, created in bulk by server-side apply), then the operator restarted, the profile re-applied from
  nothing: RSS and apply → Ready again. ``BENCH_BUSY_SCALE=0.1`` makes a tenth of it.

Loopback only, bounded: every wait has a timeout. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from benchmarks.harness import (
    NS,
    PROFILES,
    BenchCluster,
    bench_cluster,
    env_seconds,
    json_lines,
    kubectl,
    requests_by_resource,
    table,
    wait,
)

NOISE_NS = "bench-noise"
VERBS = ("GET", "LIST", "WATCH", "POST", "PUT", "PATCH", "APPLY", "DELETE")


def counted(seconds: float) -> Counter[tuple[str, str]]:
    before = requests_by_resource()
    time.sleep(seconds)
    return requests_by_resource() - before


def idle_requests(cluster: BenchCluster, seconds: float) -> str:
    with cluster.helpers_paused():
        running = counted(seconds)
        cluster.stop_operator()
        stopped = counted(seconds)
    cluster.start_operator()

    def per_minute(counts: Counter[tuple[str, str]], verb: str | None) -> float:
        return sum(n for (v, _r), n in counts.items() if verb is None or v == verb) * 60 / seconds

    rows = [
        (verb or "all", *(f"{per_minute(c, verb):.1f}" for c in (running, stopped)),
         f"{per_minute(running, verb) - per_minute(stopped, verb):+.1f}")
        for verb in (*VERBS, None)
    ]  # fmt: skip
    head = ("verb", "operator running /min", "operator stopped /min", "difference /min")
    share = Counter(running)
    share.subtract(stopped)
    top = [f"{v} {r}: {n * 60 / seconds:+.1f}/min" for (v, r), n in share.most_common(6) if n > 0]
    return (
        f"idle API requests, {seconds:.0f} s each (apiserver_request_total of every client; the stand-in Knative "
        "controller paused)\n" + table(head, rows) + "\nmost of the difference: " + ("; ".join(top) or "none")
    )


def _chunks(items: list[dict[str, Any]], size: int = 500) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def make_busy(scale: float) -> dict[str, int]:
    """Objects that are not ours, in bulk (server-side apply of 500-object Lists)."""
    full = {"nodes": 300, "pods": 3000, "secrets": 5000, "configmaps": 5000}
    counts = {kind: max(1, int(n * scale)) for kind, n in full.items()}
    kubectl("create", "namespace", NOISE_NS)
    nodes = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": f"bench-node-{i}",
                "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": {"type": "kwok", "kubernetes.io/hostname": f"bench-node-{i}"},
            },
        }
        for i in range(counts["nodes"])
    ]
    pods = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"noise-{i}", "namespace": NOISE_NS, "labels": {"app": "noise"}},
            "spec": {
                "nodeName": f"bench-node-{i % counts['nodes']}",
                "containers": [{"name": "c", "image": "registry.invalid/noise:1"}],
                "tolerations": [{"operator": "Exists"}],
            },
        }
        for i in range(counts["pods"])
    ]
    secrets = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"noise-{i}", "namespace": NOISE_NS},
            "stringData": {"k": "x" * 64},
        }
        for i in range(counts["secrets"])
    ]
    configmaps = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"noise-{i}", "namespace": NOISE_NS},
            "data": {"k": "v" * 64},
        }
        for i in range(counts["configmaps"])
    ]
    for batch in _chunks(nodes) + _chunks(secrets) + _chunks(configmaps) + _chunks(pods):
        kubectl(
            "apply", "--server-side", "--field-manager=bench-noise", "-f", "-", stdin=json_lines(batch), timeout=600
        )
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profile", choices=PROFILES, default="all-features", help="profile (default all-features)")
    parser.add_argument("--busy", action=argparse.BooleanOptionalAction, default=True, help="the busy-cluster part")
    args = parser.parse_args(argv)
    idle, soak, scale = (
        env_seconds("BENCH_IDLE", 60),
        env_seconds("BENCH_SOAK", 600),
        env_seconds("BENCH_BUSY_SCALE", 1),
    )
    lines: list[str] = []
    with bench_cluster() as cluster:
        cluster.start_operator()
        ready_s = cluster.apply_profile(args.profile)
        rss_ready = cluster.operator_rss()
        time.sleep(5)  # let the first resync-free quiet settle (the last status write, the watches' bookmarks)
        lines.append(idle_requests(cluster, idle))
        cluster.apply_profile(args.profile)  # the restarted operator takes the platform back (no change)
        rss_restart = cluster.operator_rss()
        time.sleep(soak)
        rss_soak = cluster.operator_rss()
        rows = [
            ("right after Ready (first install)", f"{rss_ready:.1f}"),
            ("after a restart, platform Ready", f"{rss_restart:.1f}"),
            (f"after {soak:.0f} s idle", f"{rss_soak:.1f}"),
        ]
        busy_rows: list[tuple[str, str, str]] = []
        if args.busy:
            # Quiet and busy both from nothing, with a freshly started operator.
            cluster.delete_profile()
            cluster.start_operator()
            quiet_s = cluster.apply_profile(args.profile)
            rss_quiet = cluster.operator_rss()
            cluster.delete_profile()
            started = time.monotonic()
            counts = make_busy(scale)
            made = time.monotonic() - started
            cluster.start_operator()
            wait("noise pods Running", lambda: _running(counts["pods"]), 900)
            busy_s = cluster.apply_profile(args.profile)
            busy_rows = [
                ("quiet cluster", f"{quiet_s:.2f}", f"{rss_quiet:.1f}"),
                (
                    f"busy: {counts['nodes']} nodes, {counts['pods']} pods, {counts['secrets']} Secrets, "
                    f"{counts['configmaps']} ConfigMaps (made in {made:.0f} s)",
                    f"{busy_s:.2f}",
                    f"{cluster.operator_rss():.1f}",
                ),
            ]
    print(f"operator, {args.profile} in {NS}, started as tests/e2e does (ServiceAccount token); the first install")
    print(f"on the fresh cluster (CRDs included) took {ready_s:.2f} s from apply to Ready")
    print("\n".join(lines))
    print("\noperator RSS (VmRSS)\n" + table(("when", "MiB"), rows))
    if busy_rows:
        print(
            f"\n{args.profile}: apply -> Ready and RSS, quiet vs busy cluster\n"
            + table(("cluster", "apply -> Ready s", "RSS MiB"), busy_rows)
        )
    return 0


def _running(expected: int) -> bool:
    out = kubectl("get", "pods", "-n", NOISE_NS, "--field-selector=status.phase=Running", "-o", "name", timeout=120)
    return len(out.split()) >= expected


if __name__ == "__main__":
    raise SystemExit(main())
