"""Measure the operator on the local control plane and print a table (``make bench``).

Run as ``python -m benchmarks.cluster_bench``. It starts a cluster of its own (a temporary state directory), installs
the stand-in Istio and Knative CRDs, the install manifest and the operator (a process on this machine, as in
``make demo``), then for each profile: applies the example, waits for ``Ready`` at the new generation, and reports
the time from apply to Ready, the write requests the API server counted meanwhile (its own
``apiserver_request_total``, every resource), the number of objects in the inventory, and the operator's resident
memory; then deletes the SeldonOperator and waits until its workloads are gone. Everything is stopped at the end.
Nothing is asserted: the figures are for the issue notes and for comparing changes on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCALCLUSTER = ROOT / "hack" / "cluster" / "localcluster.py"
NS = "seldon-system"
PROFILES = ("minimal", "builtin-trial", "all-features")
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE", "APPLY"})
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")


def kubectl(*args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(["kubectl", *args], capture_output=True, text=True, input=stdin, check=False, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def writes() -> float:
    """Write requests the API server has served so far, excluding dry runs."""
    total = 0.0
    for line in kubectl("get", "--raw", "/metrics").splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
            if labels.get("verb") in WRITE_VERBS and not labels.get("dry_run"):
                total += float(match.group("value"))
    return total


def wait(what: str, probe: Callable[[], Any], timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


def ready_platform() -> dict[str, Any] | None:
    out = subprocess.run(
        ["kubectl", "get", "seldonoperator", "seldonoperator-sample", "-n", NS, "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    if not out.strip():
        return None
    obj: dict[str, Any] = json.loads(out)
    status = obj.get("status") or {}
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])
    return obj if ready and status.get("observedGeneration") == obj["metadata"]["generation"] else None


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(profile: str, operator_pid: int) -> tuple[str, float, float, int, float]:
    before = writes()
    started = time.monotonic()
    kubectl("apply", "-f", str(ROOT / "examples" / f"{profile}.yaml"))
    obj = wait(f"{profile} Ready", ready_platform)
    elapsed = time.monotonic() - started
    written = writes() - before
    objects = sum(len(v) for v in obj["status"].get("inventory", {}).values())
    memory = rss_mib(operator_pid)
    kubectl("delete", "seldonoperator", "seldonoperator-sample", "-n", NS, "--wait=true", "--timeout=120s")
    wait(
        "workloads removed",
        lambda: (
            not kubectl(
                "get",
                "deploy,sts,ds",
                "-n",
                NS,
                "-l",
                "app.kubernetes.io/managed-by=seldon-meta-operator",
                "-o",
                "name",
            ).strip()
        ),
        120,
    )
    return profile, elapsed, written, objects, memory


def table(rows: Sequence[tuple[str, float, float, int, float]]) -> str:
    header = ("profile", "apply to Ready s", "write requests", "objects", "operator RSS MiB")
    cells = [(p, f"{t:.1f}", f"{w:.0f}", str(n), f"{m:.0f}") for p, t, w, n, m in rows]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    lines = ["  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))])
             for r in [header, tuple("-" * w for w in widths), *cells]]  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--profile", action="append", choices=PROFILES, help="profiles to measure (default: all)")
    args = parser.parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="smo-bench-")) / "cluster"
    env = {**os.environ, "SMO_CLUSTER_DIR": str(state)}
    bin_dir = subprocess.run(
        ["bash", str(ROOT / "hack" / "cluster" / "build.sh"), "--print"], capture_output=True, text=True, check=True
    ).stdout.strip()
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ["PATH"]
    background: list[subprocess.Popen[bytes]] = []
    try:
        up = subprocess.run(
            [sys.executable, str(LOCALCLUSTER), "up"], env=env, capture_output=True, text=True, check=True
        )
        os.environ["KUBECONFIG"] = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
        for name in ("istio", "knative-eventing", "knative-serving"):
            subprocess.run([sys.executable, str(LOCALCLUSTER), "prereqs", "install", name], env=env, check=True)
        subprocess.run(["kubectl", "create", "namespace", NS], capture_output=True, check=False)
        kubectl("apply", "--server-side", "-f", str(ROOT / "deploy" / "seldonoperator_install.yaml"))
        kubectl("wait", "--for=condition=Established", "crd/seldonoperators.operator.seldon.io", "--timeout=60s")
        with (state / "bench-operator.log").open("ab") as log:
            operator = subprocess.Popen(
                [str(BIN / "seldon-meta-operator"), "--health-port", str(free_port()), "--metrics-port", "0"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            background.append(operator)
            background.append(
                subprocess.Popen(
                    [sys.executable, str(ROOT / "hack" / "cluster" / "fake_knative.py")], stdout=log, stderr=log
                )
            )
        rows = [measure(profile, operator.pid) for profile in args.profile or PROFILES]
        print("operator on the local control plane (apply to Ready at the new generation; writes as the API server")
        print("counted them, every client: ours, the controllers' and KWOK's)")
        print(table(rows))
    finally:
        for proc in background:
            proc.terminate()
            proc.wait(20)
        subprocess.run([sys.executable, str(LOCALCLUSTER), "down"], env=env, capture_output=True, check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
