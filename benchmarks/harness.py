"""Shared set-up of the cluster benchmarks: a local control plane of their own, the install manifest, and the
operator run the way the e2e suite runs it (tests/e2e/conftest.py: a process on this machine, ``seldonctl operator
run`` under the operator ServiceAccount's token, so its RBAC is the install manifest's).

Loopback only; everything started here is stopped on exit. ``python -m benchmarks.<x>`` runs one part.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.conftest import OperatorProcess, _token_kubeconfig, start_operator, stop_operator

from benchmarks.cluster_bench import ready_platform, rss_mib, wait

ROOT = Path(__file__).resolve().parents[1]
LOCALCLUSTER = ROOT / "hack" / "cluster" / "localcluster.py"
INSTALL = ROOT / "deploy" / "seldonoperator_install.yaml"
NS = "seldon-system"
OPERATOR_SA = "seldon-operator-controller-manager"
PROFILES = ("minimal", "builtin-trial", "all-features")
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")

__all__ = ["OperatorProcess", "ready_platform", "rss_mib", "wait"]


def kubectl(*args: str, stdin: str | None = None, timeout: float = 300) -> str:
    proc = subprocess.run(["kubectl", *args], capture_output=True, text=True, input=stdin, check=False, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args[:4])}: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def env_seconds(name: str, default: float) -> float:
    """A duration from the environment (``BENCH_SOAK=60``), so that a quick run can shorten the long parts."""
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))])
             for r in [header, tuple("-" * w for w in widths), *rows]]  # fmt: skip
    return "\n".join(lines)


def requests_by_verb(resources: frozenset[str] | None = None) -> Counter[str]:
    """Requests the API server has served so far by verb (its ``apiserver_request_total``), optionally only for
    some resources. The API server does not label them by user: the operator's share is running minus stopped."""
    totals: Counter[str] = Counter()
    for line in kubectl("get", "--raw", "/metrics").splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if resources is not None and labels.get("resource") not in resources:
            continue
        if labels.get("dry_run"):
            continue
        totals[labels.get("verb", "?")] += int(float(match.group("value")))
    return totals


def requests_by_resource() -> Counter[tuple[str, str]]:
    """Requests served so far by (verb, resource[/subresource]), dry runs excluded."""
    totals: Counter[tuple[str, str]] = Counter()
    for line in kubectl("get", "--raw", "/metrics").splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if labels.get("dry_run"):
            continue
        resource = labels.get("resource", "") + (f"/{labels['subresource']}" if labels.get("subresource") else "")
        totals[(labels.get("verb", "?"), resource or "-")] += int(float(match.group("value")))
    return totals


@dataclass
class BenchCluster:
    state: Path
    admin_kubeconfig: str
    operator_kubeconfig: Path
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)
    operator: OperatorProcess | None = None

    def start_operator(self, resync: str = "300") -> OperatorProcess:
        """``seldon-meta-operator`` under the ServiceAccount's token (tests/e2e/conftest.py's start_operator)."""
        self.stop_operator()
        self.operator = start_operator(self.operator_kubeconfig, self.state / "bench-operator.log", resync)
        return self.operator

    def stop_operator(self) -> None:
        if self.operator is not None:
            stop_operator(self.operator)
            self.operator = None

    @contextlib.contextmanager
    def helpers_paused(self) -> Iterator[None]:
        """The stand-in Knative controller polls every second: paused while idle requests are counted."""
        for proc in self.background:
            proc.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            for proc in self.background:
                proc.send_signal(signal.SIGCONT)

    def operator_rss(self) -> float:
        assert self.operator is not None
        return rss_mib(self.operator.proc.pid)

    def apply_profile(self, profile: str) -> float:
        """kubectl apply of examples/<profile>.yaml; seconds until Ready at the new generation."""
        started = time.monotonic()
        kubectl("apply", "-f", str(ROOT / "examples" / f"{profile}.yaml"))
        wait(f"{profile} Ready", ready_platform)
        return time.monotonic() - started

    def delete_profile(self) -> None:
        kubectl("delete", "seldonoperator", "--all", "-n", NS, "--wait=true", "--timeout=180s")
        wait("the platform's workloads gone", lambda: not managed_workloads(), 180)


def managed_workloads() -> str:
    selector = "app.kubernetes.io/managed-by=seldon-meta-operator"
    return kubectl("get", "deploy,sts,ds", "-A", "-l", selector, "-o", "name").strip()


@contextlib.contextmanager
def bench_cluster() -> Iterator[BenchCluster]:
    """A fresh local control plane with the stand-in prerequisites and the install manifest applied."""
    state = Path(tempfile.mkdtemp(prefix="smo-bench-")) / "cluster"
    env = {**os.environ, "SMO_CLUSTER_DIR": str(state)}
    bin_dir = subprocess.run(
        ["bash", str(ROOT / "hack" / "cluster" / "build.sh"), "--print"], capture_output=True, text=True, check=True
    ).stdout.strip()
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ["PATH"]
    cluster: BenchCluster | None = None
    try:
        up = subprocess.run(
            [sys.executable, str(LOCALCLUSTER), "up"], env=env, capture_output=True, text=True, check=True
        )
        admin = up.stdout.strip().splitlines()[-1].split("=", 1)[1]
        os.environ["KUBECONFIG"] = admin
        for name in ("istio", "knative-eventing", "knative-serving"):
            subprocess.run(
                [sys.executable, str(LOCALCLUSTER), "prereqs", "install", name],
                env=env,
                check=True,
                capture_output=True,
            )
        subprocess.run(["kubectl", "create", "namespace", NS], capture_output=True, check=False)
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(INSTALL))
        kubectl("wait", "--for=condition=Established", "crd/seldonoperators.operator.seldon.io", "--timeout=60s")
        token = kubectl("-n", NS, "create", "token", OPERATOR_SA, "--duration=6h").strip()
        operator_kubeconfig = _token_kubeconfig(admin, token, state / "operator.kubeconfig")
        cluster = BenchCluster(state, admin, operator_kubeconfig)
        with (state / "bench-fake-knative.log").open("ab") as log:
            cluster.background.append(
                subprocess.Popen(
                    [sys.executable, str(ROOT / "hack" / "cluster" / "fake_knative.py")], stdout=log, stderr=log
                )
            )
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop_operator()
            for proc in cluster.background:
                proc.terminate()
                proc.wait(20)
        subprocess.run([sys.executable, str(LOCALCLUSTER), "down"], env=env, capture_output=True, check=False)


def json_lines(objects: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})


def timed(call: Callable[[], object]) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started
