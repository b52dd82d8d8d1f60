"""Adoption of a helm-era install (issue 11): a user who installed Seldon with Helm, as Seldon's documentation does,
creates a SeldonOperator in the same namespace. The test writes the "helm-style" objects itself (the upstream
charts' names and labels, Helm's annotations, field manager ``helm``), then checks that the operator took them
over in place: no workload or claim re-created (same uids), Helm's metadata gone, each data volume mounted by a
trial store (none orphaned, none added), and an ``Adopted`` Event. A second test checks that the OpenSearch of
Seldon's documentation, which the trial store cannot mount, stalls it with a message naming the volume, until the
user chooses. The pure decisions are tests/unit/test_adoption.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from tests.e2e.conftest import b64
from tests.e2e.platform import NS, Platform, get_json, kubectl, poll

pytestmark = pytest.mark.cluster

POSTGRES = "seldon-internal-postgres-postgresql"
OPENSEARCH = "seldon-internal-opensearch-cluster-master"
PG_CLAIM = f"data-{POSTGRES}-0"
OS_CLAIMS = [f"{OPENSEARCH}-{OPENSEARCH}-{i}" for i in range(3)]  # the OpenSearch chart's claim names
DOCS_OS_CLAIM = "opensearch-cluster-master-opensearch-cluster-master-0"  # release "opensearch" of Seldon's docs
SECRETS = ["metadata-postgres", "elastic-credentials"]
HELM_KEYS = ("helm.sh/chart", "meta.helm.sh/release-name", "meta.helm.sh/release-namespace")

CORE_SELECTOR = {  # hard-coded in the seldon-core-operator chart
    "app": "seldon",
    "app.kubernetes.io/instance": "seldon1",
    "app.kubernetes.io/name": "seldon",
    "app.kubernetes.io/version": "v0.5",
    "control-plane": "seldon-controller-manager",
}
#: Seldon Deploy installed as the Enterprise docs do (release seldon-enterprise), named seldon-deploy with
#: fullnameOverride: the selector's instance label is the release's, not ours.
DEPLOY_SELECTOR = {"app.kubernetes.io/name": "seldon-deploy", "app.kubernetes.io/instance": "seldon-enterprise"}
BITNAMI = {
    "app.kubernetes.io/name": "postgresql",
    "app.kubernetes.io/instance": "seldon-internal-postgres",
    "app.kubernetes.io/component": "primary",
}


def helm_meta(name: str, release: str, chart: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": NS,
        "labels": {**labels, "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": chart},
        "annotations": {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": NS},
    }


def deployment(name: str, release: str, chart: str, selector: dict[str, str], container: str) -> dict[str, Any]:
    """A chart's Deployment, with a setting our render does not have (``LEGACY_SETTING``): taken over, it goes."""
    image = {"manager": "docker.io/seldonio/seldon-core-operator:1.18.2", "seldon-deploy": "seldonio/seldon-deploy"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": helm_meta(name, release, chart, selector),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**selector, "helm.sh/chart": chart}},
                "spec": {
                    "containers": [
                        {
                            "name": container,
                            "image": image[container],
                            "env": [{"name": "LEGACY_SETTING", "value": "1"}],
                        }
                    ]
                },
            },
        },
    }


def service(name: str, release: str, chart: str, selector: dict[str, str], port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": helm_meta(name, release, chart, selector),
        "spec": {"selector": selector, "ports": [{"name": "http", "port": port, "targetPort": port}]},
    }


def claim(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "stringData": data}


def helm_era_install() -> list[dict[str, Any]]:
    """What Helm left: Seldon Core (release seldon-core), Seldon Deploy (release seldon-enterprise), a Bitnami
    PostgreSQL release seldon-internal-postgres with its claim, the claims an uninstalled OpenSearch release left,
    and the credentials the documentation has the user create."""
    core_labels = {"app": "seldon", "app.kubernetes.io/instance": "seldon-core", "app.kubernetes.io/version": "1.18.2"}
    core = "seldon-core-operator-1.18.2"
    pg = "postgresql-12.1.15"
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": helm_meta(POSTGRES, "seldon-internal-postgres", pg, BITNAMI),
        "spec": {
            "replicas": 1,
            "serviceName": f"{POSTGRES}-hl",
            "selector": {"matchLabels": BITNAMI},
            "template": {
                "metadata": {"labels": BITNAMI},
                "spec": {
                    "securityContext": {"runAsUser": 1001, "fsGroup": 1001},
                    "containers": [
                        {
                            "name": "postgresql",
                            "image": "docker.io/bitnami/postgresql:15.1.0-debian-11-r20",
                            "volumeMounts": [{"name": "data", "mountPath": "/bitnami/postgresql"}],
                        }
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": BITNAMI},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }
            ],
        },
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": helm_meta("seldon-manager", "seldon-core", core, core_labels),
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": helm_meta("seldon-config", "seldon-core", core, core_labels),
            "data": {"storageInitializer": "{}"},
        },
        service("seldon-webhook-service", "seldon-core", core, CORE_SELECTOR, 443),
        deployment("seldon-controller-manager", "seldon-core", core, CORE_SELECTOR, "manager"),
        service("seldon-deploy", "seldon-enterprise", "seldon-deploy-2.0.2", DEPLOY_SELECTOR, 80),
        deployment("seldon-deploy", "seldon-enterprise", "seldon-deploy-2.0.2", DEPLOY_SELECTOR, "seldon-deploy"),
        claim(PG_CLAIM, BITNAMI),
        statefulset,
        *(claim(name, {"app.kubernetes.io/name": "opensearch"}) for name in OS_CLAIMS),
        secret(
            "metadata-postgres",
            {
                "host": f"{POSTGRES}.{NS}.svc.cluster.local",
                "port": "5432",
                "user": "seldon",
                "password": "helm-era",
                "dbname": "metadata",
                "sslmode": "disable",
            },
        ),
        # The docs' trial used admin/admin; OpenSearch 2.12+ refuses a weak initial admin password, so a user moving
        # to the operator changes it first (docs/api.md, adoption).
        secret("elastic-credentials", {"username": "admin", "password": "Helm-era-Passw0rd!"}),
    ]


def uid(kind: str, name: str) -> str | None:
    found = get_json(kind, name, "-n", NS)
    return None if found is None else str(found["metadata"]["uid"])


def claims() -> dict[str, str]:
    found = get_json("pvc", "-n", NS) or {"items": []}
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in found["items"]}


def helm_era_claims() -> dict[str, str] | None:
    found = claims()
    return found if set(found) >= {PG_CLAIM, *OS_CLAIMS} else None


def remove_stores() -> None:
    """The trial stores' claims and credentials, from this test or an earlier one: each test starts from Helm's."""
    names = [PG_CLAIM, DOCS_OS_CLAIM, *OS_CLAIMS, *(f"data-{OPENSEARCH}-{i}" for i in range(3))]
    kubectl("delete", "statefulset", POSTGRES, "-n", NS, "--ignore-not-found", "--wait=true")
    kubectl("delete", "pvc", "-n", NS, "--ignore-not-found", "--wait=true", "--timeout=90s", *names)
    # The docs' OpenSearch release lives in seldon-logs: a claim left there (by a test that failed before its own
    # clean-up) would stall the trial store of every later test.
    kubectl("delete", "pvc", DOCS_OS_CLAIM, "-n", "seldon-logs", "--ignore-not-found", "--wait=true", "--timeout=90s")
    kubectl("delete", "secret", "-n", NS, "--ignore-not-found", *SECRETS, *(f"{s}-retained" for s in SECRETS))
    for kind, name in (("deployment", "seldon-controller-manager"), ("deployment", "seldon-deploy")):
        kubectl("delete", kind, name, "-n", NS, "--ignore-not-found", "--wait=true")


@pytest.fixture
def clean_stores(platform: Platform) -> Iterator[None]:
    remove_stores()
    yield
    platform.delete_all()
    remove_stores()


def events(reason: str) -> list[str]:
    found = get_json("events.events.k8s.io", "-n", NS) or {"items": []}
    return [str(e.get("note", "")) for e in found["items"] if e.get("reason") == reason]


def test_a_helm_era_install_is_taken_over_in_place(platform: Platform, clean_stores: None) -> None:
    objects = helm_era_install()
    kubectl("create", "--field-manager=helm", "-f", "-", stdin=yaml.safe_dump_all(objects))
    workloads = {
        ("deployment", "seldon-controller-manager"): "seldon-core",
        ("deployment", "seldon-deploy"): "seldon-enterprise",
        ("statefulset", POSTGRES): "seldon-internal-postgres",
        ("service", "seldon-deploy"): "seldon-enterprise",
        ("service", "seldon-webhook-service"): "seldon-core",
        ("serviceaccount", "seldon-manager"): "seldon-core",
        ("configmap", "seldon-config"): "seldon-core",
    }
    before = {key: uid(*key) for key in workloads}
    poll("the Bitnami StatefulSet's pod", lambda: get_json("pod", f"{POSTGRES}-0", "-n", NS), 60)
    volumes = poll("the helm-era claims", helm_era_claims)
    adopted_before = len(events("Adopted"))

    platform.apply(
        {
            "apiVersion": "operator.seldon.io/v1alpha1",
            "kind": "SeldonOperator",
            "metadata": {"name": "seldonoperator-sample", "namespace": NS},
            "spec": {"enable": {"catalogue": True, "payloadstore": True}},
        }
    )
    platform.wait_ready(timeout=240)

    # Nothing was re-created: every object keeps its uid, and is ours now, without Helm's metadata.
    for (kind, name), release in workloads.items():
        live = get_json(kind, name, "-n", NS)
        assert live["metadata"]["uid"] == before[(kind, name)], f"{kind}/{name} was re-created"
        labels, annotations = live["metadata"].get("labels") or {}, live["metadata"].get("annotations") or {}
        assert labels.get("app.kubernetes.io/managed-by") == "seldon-meta-operator", (kind, name, labels)
        assert labels.get("operator.seldon.io/platform") == "seldonoperator-sample", (kind, name)
        assert not [k for k in HELM_KEYS if k in labels or k in annotations], (kind, name, labels, annotations)
        assert annotations.get("operator.seldon.io/adopted-from") == f"helm/{release}", (kind, name)
        assert live["metadata"]["ownerReferences"][0]["kind"] == "SeldonOperator", (kind, name)

    # Immutable selectors kept; the pods carry them, and our Service follows Seldon Deploy's.
    deploy = get_json("deployment", "seldon-deploy", "-n", NS)
    assert deploy["spec"]["selector"]["matchLabels"] == DEPLOY_SELECTOR
    assert get_json("service", "seldon-deploy", "-n", NS)["spec"]["selector"] == DEPLOY_SELECTOR
    core = get_json("deployment", "seldon-controller-manager", "-n", NS)
    assert core["spec"]["selector"]["matchLabels"] == CORE_SELECTOR
    # Our pod templates, and nothing left of Helm's: its chart label, and the setting our render does not have.
    for workload, container in ((deploy, "seldon-deploy"), (core, "manager")):
        template = workload["spec"]["template"]
        assert [c["name"] for c in template["spec"]["containers"]] == [container]
        assert "LEGACY_SETTING" not in {e["name"] for e in template["spec"]["containers"][0].get("env") or []}
        assert "helm.sh/chart" not in template["metadata"]["labels"]

    # The Bitnami database: the same StatefulSet and claim, served in Bitnami's layout.
    sts = get_json("statefulset", POSTGRES, "-n", NS)
    assert sts["spec"]["selector"]["matchLabels"] == BITNAMI
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 1001 and pod["securityContext"]["fsGroup"] == 1001
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["PGDATA"] == "/bitnami/postgresql/data"
    assert get_json("configmap", f"{POSTGRES}-configuration", "-n", NS) is not None

    # OpenSearch: created by us, with the chart's claim names, so its nodes mount the old volumes.
    opensearch = get_json("statefulset", OPENSEARCH, "-n", NS)
    assert [t["metadata"]["name"] for t in opensearch["spec"]["volumeClaimTemplates"]] == [OPENSEARCH]

    # No data volume re-created, added or orphaned: the same claims, each mounted by a trial store's pod.
    assert claims() == volumes
    mounted = poll("every claim mounted by a pod", lambda: mounted_claims() >= set(volumes) or None, 120)
    assert mounted
    # The credentials of the old data are kept (a new password would not open it).
    assert get_json("secret", "elastic-credentials", "-n", NS)["data"]["password"] == b64("Helm-era-Passw0rd!")

    notes = events("Adopted")[adopted_before:] or events("Adopted")
    assert any("seldon-controller-manager" in n and "release seldon-core" in n for n in notes), notes
    assert any(f"StatefulSet {NS}/{POSTGRES}" in n for n in notes), notes


def mounted_claims() -> set[str]:
    pods = get_json("pods", "-n", NS) or {"items": []}
    return {
        v["persistentVolumeClaim"]["claimName"]
        for p in pods["items"]
        if not p["metadata"].get("deletionTimestamp")
        for v in p["spec"].get("volumes") or []
        if "persistentVolumeClaim" in v
    }


@pytest.mark.parametrize(
    "where",
    [NS, "seldon-logs"],
    ids=[
        "a release 'opensearch' in the platform's namespace",
        "the docs' release in seldon-logs, read by name under the operator's own RBAC",
    ],
)
def test_a_store_it_cannot_mount_stalls_the_trial_store_until_the_user_chooses(
    platform: Platform, clean_stores: None, where: str
) -> None:
    kubectl("create", "namespace", where, check=False)
    kubectl("delete", "pvc", DOCS_OS_CLAIM, "-n", where, "--ignore-not-found", "--wait=true", "--timeout=90s")
    old = {**claim(DOCS_OS_CLAIM, {"app.kubernetes.io/name": "opensearch"})}
    old["metadata"] = {**old["metadata"], "namespace": where}
    kubectl("create", "-f", "-", stdin=yaml.safe_dump(old))
    platform.apply(
        {
            "apiVersion": "operator.seldon.io/v1alpha1",
            "kind": "SeldonOperator",
            "metadata": {"name": "seldonoperator-sample", "namespace": NS},
            "spec": {"enable": {"payloadstore": True}},
        }
    )
    stalled = platform.wait_condition("Stalled", "True", "VolumesNotAdopted")
    assert f"{where}/{DOCS_OS_CLAIM}" in stalled["message"]
    assert "use_internal: false" in stalled["message"] and "operator.seldon.io/adoption=ignore" in stalled["message"]
    status = (platform.get() or {})["status"]["components"]["opensearch"]
    assert status["reason"] == "VolumesNotAdopted" and status["ready"] is False
    assert get_json("statefulset", OPENSEARCH, "-n", NS) is None  # no empty store beside the old data
    assert not [n for n in claims() if n.startswith(f"data-{OPENSEARCH}-")]

    kubectl("label", "pvc", DOCS_OS_CLAIM, "-n", where, "operator.seldon.io/adoption=ignore")
    platform.wait_ready(timeout=240)
    assert get_json("statefulset", OPENSEARCH, "-n", NS) is not None
    assert get_json("pvc", DOCS_OS_CLAIM, "-n", where) is not None  # kept
    kubectl("delete", "pvc", DOCS_OS_CLAIM, "-n", where, "--ignore-not-found", "--wait=false")
