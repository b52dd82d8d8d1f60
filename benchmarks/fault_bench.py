"""Measure an install through injected API faults on the local control plane and print it (``make bench``).

Run as ``python -m benchmarks.fault_bench``. It starts a cluster of its own, applies the install manifest, and runs
the operator under its ServiceAccount's token through the fault proxy of the tests (``tests/faultproxy.py``). The
``builtin-trial`` profile is installed twice: once with the proxy only forwarding (clean), once with faults on a
seeded 10 % of the operator's requests (500, 429 with Retry-After, connection reset, 2 s delay). For each: time from
apply to Ready, write requests the API server counted (every client), and the faults injected. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import yaml
from tests.faultproxy import FaultProxyThread, proxy_kubeconfig, upstream_of

from benchmarks.cluster_bench import BIN, LOCALCLUSTER, NS, ROOT, free_port, kubectl, measure, wait

SERVICE_ACCOUNT = "seldon-operator-controller-manager"


def token_kubeconfig(admin: Path, token: str, out: Path) -> Path:
    config = yaml.safe_load(admin.read_text())
    context = next(c for c in config["contexts"] if c["name"] == config["current-context"])["context"]
    cluster = next(c for c in config["clusters"] if c["name"] == context["cluster"])["cluster"]
    if cluster.get("certificate-authority"):
        cluster = {**cluster, "certificate-authority": str(admin.parent / cluster["certificate-authority"])}
    out.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "operator",
                "clusters": [{"name": "local", "cluster": cluster}],
                "users": [{"name": SERVICE_ACCOUNT, "user": {"token": token}}],
                "contexts": [{"name": "operator", "context": {"cluster": "local", "user": SERVICE_ACCOUNT}}],
            }
        )
    )
    return out


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=0.1, help="fraction of requests given a fault")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--profile", default="builtin-trial")
    args = parser.parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="smo-fault-bench-")) / "cluster"
    env = {**os.environ, "SMO_CLUSTER_DIR": str(state)}
    bin_dir = subprocess.run(
        ["bash", str(ROOT / "hack" / "cluster" / "build.sh"), "--print"], capture_output=True, text=True, check=True
    ).stdout.strip()
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ["PATH"]
    runner: FaultProxyThread | None = None
    operator: subprocess.Popen[bytes] | None = None
    try:
        up = subprocess.run(
            [sys.executable, str(LOCALCLUSTER), "up"], env=env, capture_output=True, text=True, check=True
        )
        admin = Path(up.stdout.strip().splitlines()[-1].split("=", 1)[1])
        os.environ["KUBECONFIG"] = str(admin)
        subprocess.run(["kubectl", "create", "namespace", NS], capture_output=True, check=False)
        kubectl("apply", "--server-side", "-f", str(ROOT / "deploy" / "seldonoperator_install.yaml"))
        kubectl("wait", "--for=condition=Established", "crd/seldonoperators.operator.seldon.io", "--timeout=60s")
        token = kubectl("-n", NS, "create", "token", SERVICE_ACCOUNT, "--duration=1h").strip()
        operator_kc = token_kubeconfig(admin, token, state / "operator.kubeconfig")
        upstream = upstream_of(operator_kc)
        runner = FaultProxyThread(upstream.server, upstream.ssl_context, rate=args.rate, seed=args.seed)
        proxy = runner.start()
        proxy.enabled = False
        proxied = proxy_kubeconfig(operator_kc, proxy.url, state / "proxied.kubeconfig")
        health = free_port()
        with (state.parent / "operator.log").open("ab") as log:
            operator = subprocess.Popen(
                [str(BIN / "seldon-meta-operator"), "--health-port", str(health), "--metrics-port", "0"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "KUBECONFIG": str(proxied)},
            )
        wait("the operator's /healthz", lambda: healthy(health), 60)  # start-up is outside both measurements
        rows = []
        for label, faults_on in (("clean", False), (f"{args.rate:.0%} faults", True)):
            proxy.injected.clear()
            proxy.forwarded.clear()
            proxy.enabled = faults_on
            try:
                _profile, elapsed, written, objects, _memory = measure(args.profile, operator.pid)
            except RuntimeError as exc:  # not Ready in time: print what the status says instead of a figure
                proxy.enabled = False
                ready = kubectl(
                    "get", "seldonoperator", "seldonoperator-sample", "-n", NS,
                    "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].reason}",
                )  # fmt: skip
                print(f"{label}: {exc}; Ready reason {ready!r}; fault proxy: {proxy.summary()}", flush=True)
                continue
            proxy.enabled = False
            rows.append((label, elapsed, written, objects, proxy.faults(), sum(proxy.forwarded.values())))
        print(f"{args.profile} through the fault proxy (writes as the API server counted them, every client)")
        columns = ("apply to Ready s", "write requests", "objects", "faults", "forwarded")
        print(f"{'run':<12} " + " ".join(f"{c:>16}" for c in columns))
        for label, elapsed, written, objects, faults, forwarded in rows:
            print(f"{label:<12} {elapsed:>16.1f} {written:>16.0f} {objects:>16} {faults:>16} {forwarded:>16}")
    except Exception:
        print(f"operator log: {state.parent / 'operator.log'}", file=sys.stderr)
        raise
    finally:
        if operator is not None:
            operator.terminate()
            operator.wait(20)
        if runner is not None:
            runner.stop()
        subprocess.run([sys.executable, str(LOCALCLUSTER), "down"], env=env, capture_output=True, check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
