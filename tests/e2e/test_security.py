"""Issue 8, tried as an attacker would, against the running operator under its own ServiceAccount.

The tenant is a ServiceAccount whose only right is to manage SeldonOperators in its own namespace ``team-a``; the
tests act as it through impersonation. What must hold:
- its SeldonOperator is refused at admission (the install manifest's ValidatingAdmissionPolicy) and, with that
  policy switched off, still ignored by the operator, which serves only its own namespace: nothing rendered, no
  status, no binding to the tenant's ServiceAccounts, ``kubectl auth can-i`` unchanged;
- a parked tenant SeldonOperator never takes over when the admin re-creates theirs;
- deleting a same-named SeldonOperator elsewhere changes no uid of the live platform;
- deep and huge specs leave the operator healthy, able to restart, and the SeldonOperator explained.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.e2e.conftest import INSTALL, OperatorProcess, start_operator, stop_operator
from tests.e2e.platform import NS, Platform, condition, example, get_json, kubectl, poll

from seldon_meta_operator.operator.runner import RECURSION_LIMIT

pytestmark = pytest.mark.cluster

TENANT_NS = "team-a"
TENANT = f"system:serviceaccount:{TENANT_NS}:tenant"
AS_TENANT = (f"--as={TENANT}", "--as-group=system:serviceaccounts", f"--as-group=system:serviceaccounts:{TENANT_NS}")
POLICY_BINDING = "seldon-operator-namespace-only"

#: Values that, before issue 8, bound the tenant's own ServiceAccount to the Seldon manager's ClusterRoles, ran a
#: privileged host-network manager, and put objects in kube-system and in a namespace the CR named.
HOSTILE_VALUES: dict[str, Any] = {
    "serviceAccount": {"create": False, "name": "default"},
    "hostNetwork": True,
    "manager": {"containerSecurityContext": {"privileged": True, "runAsUser": 0}},
    "usageMetrics": {"enabled": True},
}


def as_tenant(*args: str, check: bool = True, stdin: str | None = None) -> str:
    return kubectl(*AS_TENANT, *args, check=check, stdin=stdin)


def can_i() -> dict[str, str]:
    """What the tenant may do where it matters (each answer of `kubectl auth can-i`)."""
    checks = {
        "secrets everywhere": ("get", "secrets", "-A"),
        "deployments in kube-system": ("create", "deployments", "-n", "kube-system"),
        "clusterrolebindings": ("create", "clusterrolebindings"),
        "seldondeployments everywhere": ("create", "seldondeployments.machinelearning.seldon.io", "-A"),
        "pods in team-a": ("create", "pods", "-n", TENANT_NS),
    }
    return {what: as_tenant("auth", "can-i", *args, check=False).strip() for what, args in checks.items()}


def tenant_doc(name: str = "tenant-platform") -> dict[str, Any]:
    doc = example("minimal.yaml")
    doc["metadata"] = {"name": name, "namespace": TENANT_NS}
    doc["spec"] = {"core": {"values": copy.deepcopy(HOSTILE_VALUES)}}
    return doc


@pytest.fixture
def tenant(operator: OperatorProcess) -> Iterator[None]:
    kubectl("create", "namespace", TENANT_NS, check=False)
    kubectl("-n", TENANT_NS, "create", "serviceaccount", "tenant", check=False)
    kubectl(
        "-n",
        TENANT_NS,
        "create",
        "role",
        "seldonoperator-author",
        "--verb=get,list,watch,create,update,patch,delete",
        "--resource=seldonoperators.operator.seldon.io",
        check=False,
    )
    kubectl(
        "-n",
        TENANT_NS,
        "create",
        "rolebinding",
        "seldonoperator-author",
        "--role=seldonoperator-author",
        f"--serviceaccount={TENANT_NS}:tenant",
        check=False,
    )
    yield
    kubectl("delete", "seldonoperators", "--all", "-n", TENANT_NS, "--ignore-not-found", "--wait=true")
    kubectl("delete", "namespace", TENANT_NS, "--ignore-not-found", "--wait=true")


@pytest.fixture
def admission_policy_off() -> Iterator[None]:
    """The cluster without our ValidatingAdmissionPolicy's binding: proves the operator itself refuses too."""
    kubectl("delete", "validatingadmissionpolicybinding", POLICY_BINDING, "--ignore-not-found")
    yield
    binding = next(
        d
        for d in yaml.safe_load_all(INSTALL.read_text())
        if d and d["kind"] == "ValidatingAdmissionPolicyBinding" and d["metadata"]["name"] == POLICY_BINDING
    )
    kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump(binding))


def create_as_tenant_when_admitted(doc: dict[str, Any]) -> None:
    """Create as the tenant, retrying while the API server still enforces a policy binding just deleted."""

    def attempt() -> bool:
        out = kubectl(*AS_TENANT, "create", "-f", "-", stdin=yaml.safe_dump(doc), check=False)
        return "created" in out

    poll("the tenant's SeldonOperator admitted", attempt, 30)


def bump(platform: Platform) -> None:
    """A spec change to the admin's SeldonOperator, reconciled: proof the operator was at work meanwhile."""
    live = platform.get() or {}
    doc = example("minimal.yaml")
    stamp = str(time.monotonic_ns())
    doc["spec"] = {"enterprise": {"values": {"podAnnotations": {"test.seldon.io/bump": stamp}}}}
    platform.apply(doc)
    platform.wait_ready()
    assert (platform.get() or {})["metadata"]["generation"] > live.get("metadata", {}).get("generation", 0)


def objects_of(selector: str) -> list[str]:
    kinds = (
        "deployments,services,configmaps,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings,"
        "validatingwebhookconfigurations"
    )
    return kubectl("get", kinds, "-A", "-l", selector, "-o", "name").split()


def uids(selector: str) -> dict[str, str]:
    kinds = "deployments,services,clusterroles,clusterrolebindings,validatingwebhookconfigurations"
    found = json.loads(kubectl("get", kinds, "-A", "-l", selector, "-o", "json"))
    return {
        f"{i['kind']}/{i['metadata'].get('namespace', '')}/{i['metadata']['name']}": i["metadata"]["uid"]
        for i in found["items"]
    }


def bindings_to(namespace: str) -> list[str]:
    found = json.loads(kubectl("get", "clusterrolebindings,rolebindings", "-A", "-o", "json"))
    return [
        f"{b['kind']}/{b['metadata']['name']}"
        for b in found["items"]
        for s in b.get("subjects") or []
        if s.get("kind") == "ServiceAccount" and s.get("namespace") == namespace
    ]


def test_a_tenant_seldonoperator_is_refused_at_admission_and_the_tenant_gains_nothing(tenant: None) -> None:
    before = can_i()
    assert before["pods in team-a"] == "no" and before["secrets everywhere"] == "no"
    proc = subprocess.run(
        ["kubectl", *AS_TENANT, "create", "-f", "-"],
        input=yaml.safe_dump(tenant_doc()),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "belong in namespace seldon-system" in proc.stderr, proc.stderr  # the message says where they belong
    assert get_json("seldonoperator", "tenant-platform", "-n", TENANT_NS) is None
    assert can_i() == before


def test_without_the_admission_policy_the_operator_still_ignores_a_tenant_and_nobody_takes_over(
    platform: Platform, tenant: None, admission_policy_off: None
) -> None:
    platform.apply("minimal.yaml")
    platform.wait_ready()
    before = can_i()
    create_as_tenant_when_admitted(tenant_doc())
    parked = get_json("seldonoperator", "tenant-platform", "-n", TENANT_NS)
    assert parked is not None
    bump(platform)  # the operator reconciled meanwhile

    parked = get_json("seldonoperator", "tenant-platform", "-n", TENANT_NS)
    assert not parked.get("status"), parked.get("status")
    assert objects_of(f"operator.seldon.io/platform-uid={parked['metadata']['uid']}") == []
    assert objects_of("operator.seldon.io/platform=tenant-platform") == []
    assert (
        kubectl(
            "get",
            "deployments,configmaps,serviceaccounts",
            "-n",
            "kube-system",
            "-l",
            "app.kubernetes.io/managed-by=seldon-meta-operator",
            "-o",
            "name",
        ).strip()
        == ""
    )
    assert bindings_to(TENANT_NS) == ["RoleBinding/seldonoperator-author"]
    assert can_i() == before

    # "Oldest wins" no more: the admin deletes and re-creates theirs; the parked tenant CR (older) never leads.
    platform.delete()
    platform.apply("minimal.yaml")
    live = platform.wait_ready()
    assert condition(live, "Stalled") is None
    assert not (get_json("seldonoperator", "tenant-platform", "-n", TENANT_NS) or {}).get("status")


def test_deleting_a_same_named_seldonoperator_elsewhere_changes_no_uid_of_the_platform(
    platform: Platform, tenant: None, admission_policy_off: None
) -> None:
    platform.apply("minimal.yaml")
    platform.wait_ready()
    selector = "operator.seldon.io/platform=seldonoperator-sample"
    before = uids(selector)
    assert any(k.startswith("ClusterRole/") for k in before), before
    twin = tenant_doc("seldonoperator-sample")
    twin["spec"] = {}
    create_as_tenant_when_admitted(twin)
    as_tenant("delete", "seldonoperator", "seldonoperator-sample", "-n", TENANT_NS, "--wait=true")
    bump(platform)  # the operator handled the DELETED event and reconciled since
    after = uids(selector)
    assert {k: v for k, v in before.items() if k in after} == {k: after[k] for k in before if k in after}
    assert set(before) <= set(after), set(before) - set(after)


@pytest.fixture
def deep_decoding() -> Iterator[None]:
    """The test reads these objects back with Python's json too, which needs the operator's recursion limit."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, RECURSION_LIMIT))
    yield
    sys.setrecursionlimit(before)


def deep_json(levels: int) -> str:
    """``{"n": {"n": ... {"leaf": 1} ...}}`` as text: Python's own json module cannot encode it past ~1,000."""
    return '{"n":' * levels + '{"leaf":1}' + "}" * levels


@pytest.mark.parametrize("levels", [1000, 5000], ids=["values nested 1,000 deep", "values nested 5,000 deep"])
def test_a_deeply_nested_spec_is_explained_and_the_operator_stays_healthy_and_restarts(
    platform: Platform,
    operator: OperatorProcess,
    operator_kubeconfig: Path,
    tmp_path: Path,
    levels: int,
    deep_decoding: None,
) -> None:
    doc = example("minimal.yaml")
    doc["spec"] = {"core": {"values": {"extra": "DEEP"}}}
    text = json.dumps(doc).replace('"DEEP"', deep_json(levels))
    kubectl("apply", "--server-side", "-f", "-", stdin=text)
    platform.applied.append((NS, "seldonoperator-sample"))
    cond = platform.wait_condition("Stalled", "True", "InvalidSpec")
    assert "spec.core.values" in cond["message"] and len(cond["message"]) <= 1024
    assert operator.healthy()
    # A restart while that object exists: the operator starts, lists it, and stays up.
    stop_operator(operator)
    restarted = start_operator(operator_kubeconfig, tmp_path / "restarted.log")
    try:
        assert restarted.healthy()
        time.sleep(3)
        assert restarted.proc.poll() is None and restarted.healthy()
        assert "RecursionError" not in restarted.log_text()
    finally:
        stop_operator(restarted)
        fresh = start_operator(operator_kubeconfig, operator.log)
        operator.proc, operator.metrics_port, operator.health_port = fresh.proc, fresh.metrics_port, fresh.health_port
    # Replacing the spec recovers.
    platform.delete()
    platform.apply("minimal.yaml")
    platform.wait_ready()


def test_a_huge_value_gets_a_short_invalid_spec_and_the_status_write_succeeds(
    platform: Platform, operator: OperatorProcess
) -> None:
    doc = example("minimal.yaml")
    doc["spec"] = {"enterprise": {"values": {"huge": "x" * 1_000_000}}}
    kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(doc))
    platform.applied.append((NS, "seldonoperator-sample"))
    cond = platform.wait_condition("Stalled", "True", "InvalidSpec")
    assert "spec.enterprise.values" in cond["message"]
    assert len(cond["message"]) <= 1024 and "xxxxxxxxxx" not in cond["message"]
    assert operator.healthy()
    platform.delete()
    platform.apply("minimal.yaml")
    platform.wait_ready()
