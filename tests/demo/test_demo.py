"""`make demo`, run as a user runs it: hack/demo.py on its own local control plane, twice (it must be repeatable),
then checked against what the product documentation's Verification sections show and `seldonctl status`.

It uses a cluster of its own (its own state directory), not the session cluster of the other suites, so that its
operator never meets theirs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

#: Pod-name prefixes and READY columns of the documentation's Verification sections (all features on).
DOCUMENTED_PODS = {
    "seldon-operator-controller-manager-": "2/2",
    "seldon-controller-manager-": "1/1",
    "seldon-deploy-": "1/1",
    "seldon-core-analytics-kube-state-metrics-": "1/1",
    "seldon-core-analytics-prometheus-alertmanager-": "2/2",
    "seldon-core-analytics-prometheus-node-exporter-": "1/1",
    "seldon-core-analytics-prometheus-pushgateway-": "1/1",
    "seldon-core-analytics-prometheus-seldon-": "2/2",
    "seldon-internal-opensearch-cluster-master-0": "1/1",
    "seldon-internal-opensearch-cluster-master-1": "1/1",
    "seldon-internal-opensearch-cluster-master-2": "1/1",
    "seldon-internal-postgres-postgresql-0": "1/1",
    "seldon-request-logger-": "1/1",
}


@pytest.fixture
def demo_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["SMO_CLUSTER_DIR"] = str(tmp_path / "demo-cluster")
    yield env
    # What `make cluster-down` does, for this cluster only.
    subprocess.run([str(BIN / "python"), str(ROOT / "hack" / "demo.py"), "stop-background"], env=env, check=False)
    subprocess.run(
        [str(BIN / "python"), str(ROOT / "hack" / "cluster" / "localcluster.py"), "down"], env=env, check=False
    )


def run_demo(env: dict[str, str]) -> str:
    proc = subprocess.run(
        [str(BIN / "python"), str(ROOT / "hack" / "demo.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"make demo failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def pods_table(output: str) -> dict[str, tuple[str, str]]:
    """name -> (READY, STATUS) from the last `kubectl get pods` table the demo printed."""
    section = output.rsplit("$ kubectl get pods", 1)[1].split("\n$ ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] != "NAME" and re.fullmatch(r"\d+/\d+", fields[1]):
            rows[fields[0]] = (fields[1], fields[2])
    return rows


def test_make_demo_runs_the_documented_platform_and_can_run_again(demo_env: dict[str, str]) -> None:
    first = run_demo(demo_env)
    output = run_demo(demo_env)  # repeatable: reuses the cluster, restarts the operator, re-applies
    assert "Stand-in" in first or "stand-in" in first  # it says plainly that Istio and Knative are stand-ins

    pods = pods_table(output)
    for prefix, ready in DOCUMENTED_PODS.items():
        found = {name: row for name, row in pods.items() if name.startswith(prefix)}
        assert found, f"no pod {prefix}* in the demo's `kubectl get pods`:\n{pods}"
        assert all(row == (ready, "Running") for row in found.values()), f"{prefix}: {found}"

    assert re.search(r"^\s*seldon-gateway\s", output, re.MULTILINE), "the Gateway the routing section shows"
    assert "broker.eventing.knative.dev/default" in output
    assert "http://broker-ingress.knative-eventing.svc.cluster.local/seldon-system/default" in output
    assert "trigger.eventing.knative.dev/seldon-request-logger-trigger" in output

    kubeconfig = next(line.split("=", 1)[1] for line in reversed(output.splitlines()) if line.startswith("KUBECONFIG="))
    status = subprocess.run(
        [str(BIN / "seldonctl"), "status", "-n", "seldon-system"],
        env={**demo_env, "KUBECONFIG": kubeconfig},
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode == 0, f"seldonctl status is not Ready:\n{status.stdout}\n{status.stderr}"
