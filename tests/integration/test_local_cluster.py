"""The local control plane (hack/cluster/localcluster.py) is a real Kubernetes: workloads become Ready (KWOK plays
the kubelets), PVCs bind, namespaces finish deleting, `up` reuses a running cluster, `down` leaves nothing, and the
stand-in prerequisite CRDs come and go."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, Cluster, Prereqs, kubeconfig_of, localcluster, run_localcluster, wait_until

pytestmark = pytest.mark.cluster

WORKLOADS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.invalid/web:1, readinessProbe: {httpGet: {path: /, port: 80}}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 1
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: registry.invalid/db:1
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: registry.invalid/agent:1}]
"""


def _ready(cluster: Cluster, namespace: str) -> dict[str, Any] | None:
    """What is Ready, once everything is (None before)."""
    deploy = cluster.get_json("deployment", "web", "-n", namespace) or {}
    sts = cluster.get_json("statefulset", "db", "-n", namespace) or {}
    ds = cluster.get_json("daemonset", "agent", "-n", namespace) or {}
    pvc = cluster.get_json("pvc", "data-db-0", "-n", namespace) or {}
    state = {
        "deployment": (deploy.get("status") or {}).get("readyReplicas"),
        "statefulset": (sts.get("status") or {}).get("readyReplicas"),
        "daemonset": (ds.get("status") or {}).get("numberReady"),
        "daemonset_desired": (ds.get("status") or {}).get("desiredNumberScheduled"),
        "pvc": (pvc.get("status") or {}).get("phase"),
        "pv": (pvc.get("spec") or {}).get("volumeName"),
    }
    done = (
        state["deployment"] == 2
        and state["statefulset"] == 1
        and state["daemonset"] == state["daemonset_desired"] == 3
        and state["pvc"] == "Bound"
    )
    return state if done else None


def test_kubectl_on_path_is_the_one_built_with_the_cluster(cluster: Cluster) -> None:
    assert Path(shutil.which("kubectl") or "") == cluster.bin_dir / "kubectl"
    version = json.loads(cluster.kubectl("version", "-o", "json"))
    expected = localcluster().versions()["K8S_VERSION"]
    assert version["clientVersion"]["gitVersion"] == expected
    if cluster.state_dir is not None:
        assert version["serverVersion"]["gitVersion"] == expected


def test_workloads_become_ready_and_the_namespace_deletion_finishes(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=WORKLOADS)
    state = wait_until(
        f"Deployment, StatefulSet (PVC bound) and DaemonSet Ready in {namespace}", lambda: _ready(cluster, namespace)
    )
    pods = cluster.get_json("pods", "-n", namespace)["items"]
    assert len(pods) == 6
    assert all(p["status"]["phase"] == "Running" and p["spec"].get("nodeName") for p in pods)
    pv = cluster.get_json("pv", state["pv"])
    assert pv["spec"]["storageClassName"] == "standard" and pv["spec"]["hostPath"]["path"].startswith("/tmp/")

    cluster.kubectl("delete", "namespace", namespace, "--wait=false")
    wait_until(f"namespace {namespace} to be gone", lambda: cluster.get_json("namespace", namespace) is None, 60)
    wait_until(
        f"PV {state['pv']} to be deleted (reclaimPolicy Delete)",
        lambda: cluster.get_json("pv", state["pv"]) is None,
        60,
    )


def _processes_of(state_dir: Path) -> list[int]:
    """Live processes whose command line names a file in state_dir (zombies are dead: they only await reaping)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if f"{state_dir}/" in cmdline and stat not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_a_second_cluster_starts_and_down_leaves_nothing(tmp_path: Path) -> None:
    state = tmp_path / "second"
    kubeconfig = kubeconfig_of(run_localcluster("up", state_dir=state).stdout)
    try:
        assert kubeconfig == state / "kubeconfig"
        pids = json.loads((state / "state.json").read_text())["pids"]
        assert set(pids) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
        assert all(_alive(pid) for pid in pids.values())
        assert sorted(_processes_of(state)) == sorted(pids.values())
        kubectl = str(Path(localcluster().bin_dir()) / "kubectl")
        nodes = subprocess.run(
            [kubectl, f"--kubeconfig={kubeconfig}", "get", "nodes", "-o", "name"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert len(nodes.stdout.split()) == 3, nodes.stderr
        assert "running" in run_localcluster("status", state_dir=state).stdout
    finally:
        down = run_localcluster("down", state_dir=state, check=False)
    assert down.returncode == 0, down.stderr
    assert not [pid for pid in pids.values() if _alive(pid)]
    assert not _processes_of(state)
    assert not state.exists()
    assert run_localcluster("status", state_dir=state, check=False).returncode == 1


@pytest.fixture
def our_state_dir(cluster: Cluster, tmp_path: Path) -> Iterator[Path]:
    """The state dir of the session's cluster, or of a cluster of this test if the session reuses a foreign one."""
    if cluster.state_dir is not None:
        yield cluster.state_dir
        return
    state = tmp_path / "own"
    run_localcluster("up", state_dir=state)
    try:
        yield state
    finally:
        run_localcluster("down", state_dir=state, check=False)


def test_up_twice_reuses_the_running_cluster(our_state_dir: Path) -> None:
    pid_before = json.loads((our_state_dir / "state.json").read_text())["pids"]["kube-apiserver"]
    first = run_localcluster("up", state_dir=our_state_dir)
    second = run_localcluster("up", state_dir=our_state_dir)
    assert kubeconfig_of(first.stdout) == kubeconfig_of(second.stdout) == our_state_dir / "kubeconfig"
    assert "reusing the running cluster" in second.stderr
    assert json.loads((our_state_dir / "state.json").read_text())["pids"]["kube-apiserver"] == pid_before
    assert _alive(pid_before)


def _kinds(path: Path) -> list[tuple[str, str, str]]:
    """(group, version, plural) of every served version of every CRD in a hack/prereqs file."""
    out = []
    for doc in yaml.safe_load_all(path.read_text()):
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
            spec = doc["spec"]
            out += [(spec["group"], v["name"], spec["names"]["plural"]) for v in spec["versions"] if v["served"]]
    return out


@pytest.mark.parametrize("name", localcluster().PREREQ_SETS)
def test_prereqs_install_and_remove_make_their_kinds_served_and_not(name: str, prereqs: Prereqs) -> None:
    kinds = _kinds(ROOT / "hack" / "prereqs" / f"{name}.yaml")
    was_installed = all(p in prereqs.served(g, v) for g, v, p in kinds)
    try:
        prereqs.remove(name)
        assert not [(g, v, p) for g, v, p in kinds if p in prereqs.served(g, v)]
        prereqs.install(name)
        assert not [(g, v, p) for g, v, p in kinds if p not in prereqs.served(g, v)]
        prereqs.install(name)  # idempotent
        prereqs.remove(name)
        assert not [(g, v, p) for g, v, p in kinds if p in prereqs.served(g, v)]
    finally:
        if was_installed:
            prereqs.install(name)


def test_a_removal_that_cannot_finish_names_what_holds_it(prereqs: Prereqs, cluster: Cluster) -> None:
    # A CI run once timed out deleting the stand-in Workflow CRD, with nothing to say why. The error now says what
    # the API server reports: the CRD's finalizers, its conditions and the objects of its kind still there. Here an
    # object with a finalizer nobody removes holds it.
    was_installed = "workflows" in prereqs.served("argoproj.io", "v1alpha1")
    prereqs.install("argo-workflows")
    held = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "held", "namespace": "default", "finalizers": ["smo.test/held"]},
        "spec": {},
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(held))
    try:
        with pytest.raises(localcluster().ClusterError) as failed:
            localcluster().remove_prereqs(["argo-workflows"], cluster.kubeconfig, timeout=3)
        message = str(failed.value)
        # The finalizer and the object are there from the start; the Terminating condition may come later.
        assert "customresourcecleanup.apiextensions.k8s.io" in message, message
        assert "objects of its kind left: 1" in message and "conditions [" in message, message
    finally:
        cluster.kubectl(
            "patch", "workflow", "held", "-n", "default", "--type=merge", "-p", '{"metadata":{"finalizers":null}}',
            check=False,
        )  # fmt: skip
        prereqs.remove("argo-workflows")
        if was_installed:
            prereqs.install("argo-workflows")


def test_istio_kinds_are_served_as_v1beta1_and_v1(prereqs: Prereqs) -> None:
    prereqs.install("istio")
    for version in ("v1beta1", "v1"):
        assert {"gateways", "virtualservices", "destinationrules"} <= prereqs.served("networking.istio.io", version)


def test_fake_knative_marks_brokers_and_triggers_ready(cluster: Cluster, prereqs: Prereqs, namespace: str) -> None:
    prereqs.install("knative-eventing")
    objects = [
        {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "metadata": {"name": "default"}},
        {
            "apiVersion": "eventing.knative.dev/v1",
            "kind": "Trigger",
            "metadata": {"name": "t"},
            "spec": {"broker": "default", "subscriber": {"ref": {"apiVersion": "v1", "kind": "Service", "name": "s"}}},
        },
    ]
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(objects))
    sys.path.insert(0, str(ROOT / "hack" / "cluster"))
    import fake_knative
    from lightkube import Client

    client = Client(field_manager="fake-knative-test")
    wait_until(
        "fake_knative to update the broker and the trigger", lambda: fake_knative.reconcile_once(client) or None, 10
    )
    broker = cluster.get_json("broker", "default", "-n", namespace)
    trigger = cluster.get_json("trigger", "t", "-n", namespace)
    assert broker["status"]["address"]["url"].endswith(f"/{namespace}/default")
    assert {"type": "Ready", "status": "True"}.items() <= broker["status"]["conditions"][0].items()
    assert trigger["status"]["subscriberUri"] == f"http://s.{namespace}.svc.cluster.local"
    assert "True" in cluster.kubectl("get", "broker", "default", "-n", namespace)  # the Ready printer column
