"""Operator restarts and removal of the operator before its SeldonOperators (the original's first known issue).

Runs last in the e2e suite (file name): it uninstalls the operator.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.e2e.conftest import INSTALL, OperatorProcess, start_operator, stop_operator
from tests.e2e.platform import NS, Platform, get_json, kubectl, poll
from tests.e2e.test_lifecycle import delta, write_requests

pytestmark = pytest.mark.cluster


def pvcs_in(namespace: str) -> list[str]:
    found = get_json("pvc", "-n", namespace) or {"items": []}
    return [p["metadata"]["name"] for p in found["items"]]


def test_an_operator_restart_makes_no_writes(
    platform: Platform, operator: OperatorProcess, operator_kubeconfig: Path, tmp_path: Path
) -> None:
    platform.apply("builtin-trial.yaml")
    platform.wait_ready(timeout=240)
    annotations = (platform.get() or {})["metadata"].get("annotations", {})
    stop_operator(operator)
    before = write_requests()
    restarted = start_operator(operator_kubeconfig, tmp_path / "restarted.log")
    try:
        time.sleep(15)  # resume handlers plus a few timer ticks
        assert delta(before, write_requests()) == {}
        assert (platform.get() or {})["metadata"].get("annotations", {}) == annotations
    finally:
        stop_operator(restarted)
    # Hand the session's operator back for the next test.
    fresh = start_operator(operator_kubeconfig, operator.log)
    operator.proc, operator.metrics_port, operator.health_port = fresh.proc, fresh.metrics_port, fresh.health_port


def test_removing_the_operator_first_leaves_nothing_stuck(platform: Platform, operator: OperatorProcess) -> None:
    platform.apply("builtin-trial.yaml")
    platform.wait_ready(timeout=240)
    # The operator's pod goes away with the install manifest; so does our out-of-cluster process.
    stop_operator(operator)
    kubectl("delete", "-f", str(INSTALL), "--wait=false")

    def settled() -> bool:
        stuck = kubectl("get", "namespaces", "-o", "jsonpath={.items[?(@.status.phase=='Terminating')].metadata.name}")
        crd = get_json("crd", "seldonoperators.operator.seldon.io")
        left = kubectl(
            "get",
            "deployments,statefulsets,daemonsets,services,configmaps,serviceaccounts,roles,"
            "rolebindings,clusterroles,clusterrolebindings,validatingwebhookconfigurations",
            "-A",
            "-l",
            "app.kubernetes.io/managed-by=seldon-meta-operator",
            "-o",
            "name",
        )
        return not stuck.strip() and crd is None and not left.strip()

    poll("CRD, SeldonOperators and every platform object gone, nothing Terminating", settled, 120)
    # The install manifest holds no Namespace, so removing it keeps seldon-system and the data in it.
    assert get_json("namespace", NS) is not None
    assert any(n.startswith("data-seldon-internal") for n in pvcs_in(NS)), pvcs_in(NS)
    assert get_json("secret", "metadata-postgres", "-n", NS) is not None
    assert get_json("crd", "seldondeployments.machinelearning.seldon.io") is not None
    platform.applied.clear()  # nothing left to delete

    # Put the operator back for whatever runs after this module.
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(INSTALL))
    poll("operator reinstalled", lambda: get_json("crd", "seldonoperators.operator.seldon.io"), 60)
