"""`helm install` of charts/seldon-meta-operator on a local cluster, then the minimal profile reaches Ready with the
operator run as the rest of the e2e suite runs it: a host process (pods are simulated) under the token of the
ServiceAccount the chart created, so the chart's RBAC is proven sufficient. `helm uninstall` removes it all.

The chart creates the same cluster-scoped objects as the install manifest the other e2e tests apply (the CRD,
ClusterRoles, the admission policy), and Helm refuses to adopt objects it did not create: so this test runs on a
local cluster of its own, started in a temporary dir and stopped at the end (a few seconds), and leaves the
session's cluster alone.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.conftest import Cluster, kubeconfig_of, run_localcluster
from tests.e2e.conftest import _token_kubeconfig, start_operator, stop_operator
from tests.e2e.logcheck import LogWatch
from tests.helm import CHART, helm_binary

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "examples" / "minimal.yaml"
RELEASE = "seldon-meta-operator"
NAMESPACE = "seldon-system"


@pytest.fixture(scope="module")
def own_cluster(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A second local cluster (``cluster`` has put the control-plane binaries on PATH)."""
    state = tmp_path_factory.mktemp("helm-cluster")
    proc = run_localcluster("up", state_dir=state, check=False)
    if proc.returncode != 0:
        pytest.fail(f"the chart's own local cluster did not start:\n{proc.stderr[-8000:]}", pytrace=False)
    try:
        yield Cluster(kubeconfig_of(proc.stdout), cluster.bin_dir, state, started=True)
    finally:
        run_localcluster("down", state_dir=state, check=False, timeout=120)


def helm(cluster: Cluster, *args: str) -> str:
    done = subprocess.run(
        [helm_binary(), f"--kubeconfig={cluster.kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"helm {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def ready(cluster: Cluster, name: str) -> bool:
    found = cluster.get_json("seldonoperator", name, "-n", NAMESPACE)
    conditions = (found or {}).get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_helm_install_then_the_minimal_profile_reaches_ready(
    own_cluster: Cluster, tmp_path: Path, operator_logs: LogWatch
) -> None:
    started = time.monotonic()
    helm(own_cluster, "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--create-namespace", "--wait")
    print(f"\nhelm install --wait: {time.monotonic() - started:.1f}s")
    release = json.loads(helm(own_cluster, "status", RELEASE, "--namespace", NAMESPACE, "-o", "json"))
    assert release["info"]["status"] == "deployed"
    manifest = [d for d in yaml.safe_load_all(helm(own_cluster, "get", "manifest", RELEASE, "-n", NAMESPACE)) if d]
    (account,) = [d["metadata"]["name"] for d in manifest if d["kind"] == "ServiceAccount"]
    (deployment,) = [d["metadata"]["name"] for d in manifest if d["kind"] == "Deployment"]
    own_cluster.kubectl("-n", NAMESPACE, "rollout", "status", f"deployment/{deployment}", "--timeout=120s")
    # As the `installed` fixture: the new CRD established and its storage serving (a 429 until then).
    own_cluster.kubectl("wait", "--for=condition=Established", "crd/seldonoperators.operator.seldon.io")
    list_them = [
        str(own_cluster.bin_dir / "kubectl"),
        f"--kubeconfig={own_cluster.kubeconfig}",
        "get",
        "seldonoperators",
    ]
    deadline = time.monotonic() + 60
    while subprocess.run([*list_them, "-n", NAMESPACE], capture_output=True, check=False).returncode != 0:
        assert time.monotonic() < deadline, "the SeldonOperator CRD's storage did not serve within 60 s"
        time.sleep(0.5)

    token = own_cluster.kubectl("-n", NAMESPACE, "create", "token", account, "--duration=1h").strip()
    kubeconfig = _token_kubeconfig(str(own_cluster.kubeconfig), token, tmp_path / "kubeconfig")
    log = tmp_path / "operator.log"
    operator_logs.watch(log)
    op = start_operator(kubeconfig, log)
    name = yaml.safe_load(MINIMAL.read_text())["metadata"]["name"]
    try:
        own_cluster.kubectl("apply", "-n", NAMESPACE, "-f", str(MINIMAL))
        deadline = time.monotonic() + 180
        while not ready(own_cluster, name):
            assert op.proc.poll() is None, f"the operator exited:\n{op.log_text()[-4000:]}"
            assert time.monotonic() < deadline, f"minimal not Ready:\n{op.log_text()[-4000:]}"
            time.sleep(1)
        own_cluster.kubectl("-n", NAMESPACE, "delete", "seldonoperator", name, "--timeout=120s")
    finally:
        stop_operator(op)

    helm(own_cluster, "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait")
    for kind, obj in (("deployment", deployment), ("serviceaccount", account)):
        assert own_cluster.get_json(kind, obj, "-n", NAMESPACE) is None, f"{kind} {obj} left after uninstall"
    assert own_cluster.get_json("crd", "seldonoperators.operator.seldon.io") is None
