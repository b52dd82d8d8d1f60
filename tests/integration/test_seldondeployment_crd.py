"""The SeldonDeployment CRD we render, applied to the real local API server with client-side ``kubectl apply``
(so it fits the last-applied annotation), refuses SeldonDeployments that upstream's CRD refuses and accepts a
valid one. No Seldon Core manager or webhook runs here: this is the API server's schema validation alone."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.builders import find, platform, render
from tests.conftest import Cluster, wait_until
from tests.unit.test_sdep_schema import CS0, VALID

pytestmark = pytest.mark.cluster

SDEP_CRD = "seldondeployments.machinelearning.seldon.io"


@pytest.fixture
def sdep_crd(cluster: Cluster) -> Iterator[None]:
    """Our CRD, applied client side; removed afterwards only if this test created it."""
    existed = cluster.get_json("crd", SDEP_CRD) is not None
    manifest = find(render(platform()).manifests, "CustomResourceDefinition", SDEP_CRD)
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    wait_until(
        "the SeldonDeployment CRD to be established",
        lambda: any(
            c.get("type") == "Established" and c.get("status") == "True"
            for c in ((cluster.get_json("crd", SDEP_CRD) or {}).get("status") or {}).get("conditions") or []
        ),
    )
    yield
    if not existed:
        cluster.kubectl("delete", "crd", SDEP_CRD, "--ignore-not-found", "--wait=false")


def _apply(cluster: Cluster, namespace: str, doc: dict[str, Any]) -> tuple[bool, str]:
    proc = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={cluster.kubeconfig}", "apply", "-n", namespace, "-f", "-"],
        input=yaml.safe_dump(doc),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode == 0, proc.stderr


def _without(path: list[Any], name: str) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    doc["metadata"] = {"name": name}
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return doc


@pytest.mark.usefixtures("sdep_crd")
def test_the_api_server_refuses_a_pod_without_containers_and_an_hpa_without_max_replicas(
    cluster: Cluster, namespace: str
) -> None:
    ok, err = _apply(cluster, namespace, _without([*CS0, "spec", "containers"], "no-containers"))
    assert not ok and "spec.predictors[0].componentSpecs[0].spec.containers: Required value" in err, err
    ok, err = _apply(cluster, namespace, _without([*CS0, "hpaSpec", "maxReplicas"], "no-max-replicas"))
    assert not ok and "spec.predictors[0].componentSpecs[0].hpaSpec.maxReplicas: Required value" in err, err
    bad_port = copy.deepcopy(VALID)
    bad_port["metadata"] = {"name": "bad-port"}
    bad_port["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"][0]["ports"][0]["containerPort"] = "x"
    ok, err = _apply(cluster, namespace, bad_port)
    assert not ok and "containerPort: Invalid value" in err, err
    assert not (cluster.get_json("seldondeployments", "-n", namespace) or {}).get("items")


@pytest.mark.usefixtures("sdep_crd")
def test_the_api_server_accepts_a_valid_seldondeployment_and_keeps_the_fields_it_does_not_type(
    cluster: Cluster, namespace: str
) -> None:
    ok, err = _apply(cluster, namespace, VALID)
    assert ok, err
    stored = wait_until("the SeldonDeployment", lambda: cluster.get_json("sdep", "iris", "-n", namespace))
    pod = stored["spec"]["predictors"][0]["componentSpecs"][0]["spec"]
    assert pod["dnsPolicy"] == "ClusterFirst"  # a PodSpec field we do not type is kept, not pruned
    assert pod["containers"][0]["stdin"] is False
    assert stored["spec"]["predictors"][0]["graph"]["children"] == [{"name": "child", "children": []}]
