"""Day-2 behaviour of the running operator: pruning without data loss, drift, late prerequisites, one platform per
cluster, clean removal, and zero writes when idle (counted by the API server, not by our code). The attacks of
issue 8 (tenants, takeover, hostile specs) are in test_security.py.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from tests.e2e.platform import NS, Platform, example, get_json, kubectl, poll

pytestmark = pytest.mark.cluster

WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE", "APPLY")
#: Resources the platform manages, plus the SeldonOperator itself (status and kopf's annotations).
MANAGED = (
    "deployments",
    "statefulsets",
    "daemonsets",
    "services",
    "configmaps",
    "secrets",
    "serviceaccounts",
    "roles",
    "rolebindings",
    "clusterroles",
    "clusterrolebindings",
    "persistentvolumeclaims",
    "validatingwebhookconfigurations",
    "customresourcedefinitions",
    "gateways",
    "virtualservices",
    "brokers",
    "triggers",
    "seldonoperators",
)
_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")


def write_requests() -> dict[str, float]:
    """Write requests to managed resources so far, by resource/subresource, from the API server's own metrics."""
    counts: dict[str, float] = {}
    for line in kubectl("get", "--raw", "/metrics").splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if labels.get("verb") in WRITE_VERBS and labels.get("resource") in MANAGED and labels.get("dry_run", "") == "":
            # Status written by the workload controllers (KCM, KWOK) is theirs, not ours.
            if labels.get("subresource") == "status" and labels["resource"] != "seldonoperators":
                continue
            key = f"{labels['resource']}/{labels.get('subresource', '')}"
            counts[key] = counts.get(key, 0.0) + float(match.group("value"))
    return counts


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


def pvcs() -> dict[str, str]:
    found = get_json("pvc", "-n", NS) or {"items": []}
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in found["items"]}


def secret_value(name: str, key: str = "password") -> str | None:
    secret = get_json("secret", name, "-n", NS)
    return None if secret is None else str(secret["data"][key])


def test_turning_features_off_prunes_them_and_keeps_their_data(platform: Platform) -> None:
    platform.apply("builtin-trial.yaml")
    platform.wait_ready(timeout=240)
    data = {n: u for n, u in pvcs().items() if "seldon-internal" in n}
    assert len(data) == 4, data  # 3 OpenSearch nodes and PostgreSQL
    passwords = {s: secret_value(s) for s in ("metadata-postgres", "elastic-credentials")}

    platform.apply("minimal.yaml")
    platform.wait_ready()
    poll(
        "trial workloads pruned",
        lambda: (
            get_json("statefulset", "-n", NS, "-l", "app.kubernetes.io/managed-by=seldon-meta-operator")["items"] == []
        ),
    )
    assert get_json("deployment", "seldon-core-analytics-prometheus-seldon", "-n", NS) is None
    kept = pvcs()
    assert all(kept.get(n) == u for n, u in data.items()), f"data PVCs lost: {data} vs {kept}"
    assert {s: secret_value(s) for s in passwords} == passwords

    # Turning the feature back on finds the same volumes and the same credentials.
    platform.apply("builtin-trial.yaml")
    platform.wait_ready(timeout=240)
    assert all(pvcs().get(n) == u for n, u in data.items())
    assert {s: secret_value(s) for s in passwords} == passwords


def test_retain_data_false_deletes_the_trial_volumes_with_the_feature(platform: Platform) -> None:
    doc = example("builtin-trial.yaml")
    doc["spec"]["retain_data"] = False
    platform.apply(doc)
    platform.wait_ready(timeout=240)
    assert any("seldon-internal-postgres" in n for n in pvcs())
    off = example("minimal.yaml")
    off["spec"] = {"retain_data": False}
    platform.apply(off)
    platform.wait_ready()
    poll("trial PVCs deleted", lambda: not any("seldon-internal" in n for n in pvcs()), 90)
    poll("trial credentials deleted", lambda: secret_value("metadata-postgres") is None, 60)


def test_drift_is_restored_without_fighting_other_field_managers(platform: Platform) -> None:
    platform.apply("minimal.yaml")
    platform.wait_ready()
    started = time.monotonic()
    kubectl("delete", "deployment", "seldon-deploy", "-n", NS)
    kubectl("patch", "service", "seldon-deploy", "-n", NS, "--type", "merge", "-p", '{"spec":{"type":"NodePort"}}')
    poll("Deployment seldon-deploy restored", lambda: get_json("deployment", "seldon-deploy", "-n", NS), 60, 0.1)
    # Event-driven (the resync is 30 s in the tests): the deletion's watch event triggers the repair.
    print(f"drift repaired (deleted Deployment re-created) in {time.monotonic() - started:.2f} s")
    poll(
        "Service seldon-deploy restored",
        lambda: get_json("service", "seldon-deploy", "-n", NS)["spec"]["type"] == "ClusterIP",
        60,
    )
    assert time.monotonic() - started < 60
    platform.wait_ready()
    # kubectl scale owns replicas now: the operator leaves them alone instead of resetting them every tick.
    kubectl("scale", "deployment", "seldon-deploy", "-n", NS, "--replicas=2")
    before = write_requests()
    time.sleep(10)  # the scale's events reach the operator, which must not answer with a write
    assert get_json("deployment", "seldon-deploy", "-n", NS)["spec"]["replicas"] == 2
    assert "deployments/" not in delta(before, write_requests())


def test_prerequisites_that_appear_later_are_picked_up(platform: Platform, prereqs: object) -> None:
    prereqs.remove("istio")  # type: ignore[attr-defined]
    platform.apply("routing.yaml")
    cond = platform.wait_condition("Ready", "False", "PrerequisiteMissing")
    assert "Istio" in cond["message"]

    def others_ready() -> dict[str, object] | None:  # everything else installs and becomes ready meanwhile
        components = ((platform.get() or {}).get("status") or {}).get("components") or {}
        ready = all(components.get(c, {}).get("ready") for c in ("seldon_core", "seldon_deploy"))
        return components if ready else None

    components = poll("Seldon Core and Seldon Deploy ready without Istio", others_ready, 120)
    assert components["routing"]["reason"] == "PrerequisiteMissing"  # type: ignore[index]
    assert platform.wait_condition("Ready", "False", "PrerequisiteMissing")
    prereqs.install("istio")  # type: ignore[attr-defined]
    platform.wait_ready()  # no spec change
    assert get_json("gateway", "seldon-gateway", "-n", NS) is not None


def test_a_second_seldonoperator_is_refused_and_touches_nothing(platform: Platform) -> None:
    platform.apply("minimal.yaml")
    platform.wait_ready()
    second = example("minimal.yaml")
    second["metadata"] = {"name": "second", "namespace": NS}
    platform.apply(second)
    cond = platform.wait_condition("Stalled", "True", "DuplicatePlatform", name="second")
    assert "seldon-system/seldonoperator-sample" in cond["message"]
    labelled = kubectl("get", "all,configmaps,secrets", "-A", "-l", "operator.seldon.io/platform=second", "-o", "name")
    assert labelled.strip() == ""


def test_deleting_the_seldonoperator_removes_everything_it_created(platform: Platform) -> None:
    platform.apply("minimal.yaml")
    platform.wait_ready()
    assert kubectl("get", "clusterroles", "-l", "operator.seldon.io/platform=seldonoperator-sample", "-o", "name")
    started = time.monotonic()
    platform.delete()

    def gone() -> bool:
        left = kubectl(
            "get",
            "deployments,services,configmaps,serviceaccounts,roles,rolebindings,clusterroles,"
            "clusterrolebindings,validatingwebhookconfigurations",
            "-A",
            "-l",
            "operator.seldon.io/platform=seldonoperator-sample",
            "-o",
            "name",
        )
        return left.strip() == ""

    poll("every platform object removed", gone, 60)
    assert time.monotonic() - started < 60
    # Never deleted: it would delete every model users deployed.
    assert get_json("crd", "seldondeployments.machinelearning.seldon.io") is not None


def test_an_idle_converged_platform_makes_no_writes(platform: Platform, prereqs: object, operator: object) -> None:
    for name in ("istio", "knative-eventing", "knative-serving"):
        prereqs.install(name)  # type: ignore[attr-defined]
    before_install = write_requests()
    platform.apply("all-features.yaml")
    platform.wait_ready(timeout=240)
    install_writes = delta(before_install, write_requests())
    print(f"write requests for the all-features install: {sum(install_writes.values()):.0f} {install_writes}")
    before = write_requests()
    time.sleep(60)
    idle = delta(before, write_requests())
    assert idle == {}, f"writes while idle: {idle}"


def test_credentials_follow_their_retained_data(platform: Platform) -> None:
    """Issue 9: a deleted credential Secret comes back with the same value; with its copy gone too while the data
    remains, the component stalls naming the Secret instead of locking itself out with a new password."""
    platform.apply("builtin-trial.yaml")
    platform.wait_ready(timeout=240)
    original = get_json("secret", "metadata-postgres", "-n", NS)
    password = secret_value("metadata-postgres")
    assert password and secret_value("metadata-postgres-retained") == password

    kubectl("delete", "secret", "metadata-postgres", "-n", NS)
    poll("metadata-postgres restored", lambda: secret_value("metadata-postgres") == password, 60)

    kubectl("delete", "secret", "metadata-postgres", "metadata-postgres-retained", "-n", NS)
    cond = platform.wait_condition("Stalled", "True", "CredentialsLost")
    assert "metadata-postgres" in cond["message"] and "data-seldon-internal-postgres-postgresql-0" in cond["message"]
    assert secret_value("metadata-postgres") is None  # nothing generated over the old data

    # The first way out: restore the Secret from a backup.
    backup = {k: original[k] for k in ("apiVersion", "kind", "type", "data")}
    backup["metadata"] = {"name": "metadata-postgres", "namespace": NS, "labels": original["metadata"]["labels"]}
    kubectl("apply", "-f", "-", stdin=json.dumps(backup))
    platform.wait_ready(timeout=120)
    assert secret_value("metadata-postgres-retained") == password
