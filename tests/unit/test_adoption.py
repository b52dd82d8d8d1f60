"""Adoption of a helm-era install (issue 11), the pure parts: which layout a trial store renders for the data volumes
found (facts in, objects out), which helm-era volumes stall a store, and how an object a Helm release installed is
taken over (its immutable fields kept, Helm's metadata stripped).

The cluster side is tests/e2e/test_helm_adoption.py."""

from __future__ import annotations

from typing import Any

import pytest
from tests.builders import NS, Doc, container, enable, env, external_elastic, find, platform, render

from seldon_meta_operator.components.base import Claim, ClusterFacts, Manifest
from seldon_meta_operator.render import adoption
from seldon_meta_operator.render.ownership import object_key

POSTGRES = "seldon-internal-postgres-postgresql"
OPENSEARCH = "seldon-internal-opensearch-cluster-master"
BITNAMI_LABELS = {
    "app.kubernetes.io/name": "postgresql",
    "app.kubernetes.io/instance": "seldon-internal-postgres",
    "app.kubernetes.io/component": "primary",
}
OUR_PG_LABELS = {"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "seldon-internal-postgres"}
CHART_OS_CLAIM = f"{OPENSEARCH}-{OPENSEARCH}-0"
DOCS_OS_CLAIM = "opensearch-cluster-master-opensearch-cluster-master-0"


def facts(*claims: Claim) -> ClusterFacts:
    return ClusterFacts(claims=tuple(claims))


def stores() -> Doc:
    return platform(enable("catalogue", "payloadstore"))


def component(doc: Doc, name: str, found: ClusterFacts | None) -> list[Manifest]:
    return list(render(doc, found).component(name).manifests)


# --- Trial PostgreSQL: the layout of whoever wrote the data ---------------------------------------------------


@pytest.mark.parametrize(
    ("found", "uid", "pgdata", "mount"),
    [
        (None, 999, "/var/lib/postgresql/data/pgdata", "/var/lib/postgresql/data"),
        (facts(), 999, "/var/lib/postgresql/data/pgdata", "/var/lib/postgresql/data"),
        (facts(Claim(NS, f"data-{POSTGRES}-0", OUR_PG_LABELS)), 999, "/var/lib/postgresql/data/pgdata", None),
        (facts(Claim("elsewhere", f"data-{POSTGRES}-0", BITNAMI_LABELS)), 999, "/var/lib/postgresql/data/pgdata", None),
        (
            facts(Claim(NS, f"data-{POSTGRES}-0", BITNAMI_LABELS)),
            1001,
            "/bitnami/postgresql/data",
            "/bitnami/postgresql",
        ),
    ],
    ids=[
        "offline, nobody looked: the official image's layout",
        "no claim found: a new database in the official image's layout",
        "our own claim (no Bitnami label): the official image's layout, the data stays where we wrote it",
        "a Bitnami claim in another namespace cannot be mounted: the official layout",
        "a Bitnami claim of our name: uid 1001, fsGroup 1001, mounted at /bitnami/postgresql, PGDATA its data dir",
    ],
)
def test_postgres_renders_the_layout_of_the_image_that_wrote_the_claim(
    found: ClusterFacts | None, uid: int, pgdata: str, mount: str | None
) -> None:
    sts = find(component(stores(), "postgres", found), "StatefulSet", POSTGRES)
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == uid
    assert pod["securityContext"]["runAsGroup"] == uid
    assert pod["securityContext"]["fsGroup"] == uid
    assert env(sts)["PGDATA"] == pgdata
    mounts = {m["name"]: m["mountPath"] for m in container(sts)["volumeMounts"]}
    assert pgdata.startswith(mounts["data"] + "/")
    if mount:
        assert mounts["data"] == mount
    # The claim template keeps its name either way: the claim data-<statefulset>-0 is the one found.
    assert [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]] == ["data"]


def test_adopted_bitnami_data_is_served_with_our_configuration_files() -> None:
    objs = component(stores(), "postgres", facts(Claim(NS, f"data-{POSTGRES}-0", BITNAMI_LABELS)))
    config = find(objs, "ConfigMap", f"{POSTGRES}-configuration")
    conf = config["data"]["postgresql.conf"]
    assert "listen_addresses = '*'" in conf
    assert "hba_file = '/etc/seldon-postgresql/pg_hba.conf'" in conf
    assert "host all all 0.0.0.0/0 md5" in config["data"]["pg_hba.conf"]
    sts = find(objs, "StatefulSet", POSTGRES)
    assert container(sts)["args"] == ["-c", "config_file=/etc/seldon-postgresql/postgresql.conf"]
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert volumes["configuration"]["configMap"]["name"] == f"{POSTGRES}-configuration"
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"  # the /dev/shm of issue 11 item 4 stays


def test_a_new_database_has_no_configuration_map() -> None:
    objs = component(stores(), "postgres", facts())
    assert [m["kind"] for m in objs if m["kind"] == "ConfigMap"] == []
    assert "args" not in container(find(objs, "StatefulSet", POSTGRES))


# --- Trial OpenSearch: the chart's claim names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("found", "template"),
    [
        (None, "data"),
        (facts(Claim(NS, f"data-{OPENSEARCH}-0")), "data"),
        (facts(Claim(NS, CHART_OS_CLAIM)), OPENSEARCH),
        (facts(Claim("other", CHART_OS_CLAIM)), "data"),
    ],
    ids=[
        "offline: claims data-<statefulset>-N",
        "our own claims found: data-<statefulset>-N",
        "the chart's claims found: the chart's template name, so each node mounts its old volume",
        "the chart's claims in another namespace: our own names",
    ],
)
def test_opensearch_claim_template_takes_the_name_of_the_claims_found(
    found: ClusterFacts | None, template: str
) -> None:
    sts = find(component(stores(), "opensearch", found), "StatefulSet", OPENSEARCH)
    assert [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]] == [template]
    assert container(sts)["volumeMounts"] == [{"name": template, "mountPath": "/usr/share/opensearch/data"}]
    assert sts["spec"]["template"]["spec"]["securityContext"]["fsGroup"] == 1000  # as the chart's


# --- Stores the operator cannot mount: Stalled, naming the volumes and the options ------------------------------


def problem(doc: Doc, name: str, found: ClusterFacts) -> str | None:
    return adoption.volume_problem(name, component(doc, name, found), NS, found)


@pytest.mark.parametrize(
    ("claims", "stalled"),
    [
        ((), False),
        ((Claim("seldon-logs", DOCS_OS_CLAIM),), True),
        ((Claim(NS, DOCS_OS_CLAIM),), True),
        ((Claim("seldon-logs", DOCS_OS_CLAIM, {"operator.seldon.io/adoption": "ignore"}),), False),
        ((Claim("seldon-logs", DOCS_OS_CLAIM), Claim(NS, f"data-{OPENSEARCH}-0")), False),
        ((Claim("seldon-logs", DOCS_OS_CLAIM), Claim(NS, CHART_OS_CLAIM)), False),
        ((Claim("elsewhere", DOCS_OS_CLAIM),), False),
    ],
    ids=[
        "nothing found",
        "the docs' OpenSearch in seldon-logs: Stalled",
        "a release 'opensearch' in the platform's namespace (another StatefulSet name): Stalled",
        "labelled adoption=ignore: an empty store starts beside it",
        "our store exists already: an upgrade never stalls a running store",
        "the chart's claims of our name are adopted instead",
        "a namespace the docs never used: not looked at",
    ],
)
def test_opensearch_stalls_beside_data_it_cannot_mount(claims: tuple[Claim, ...], stalled: bool) -> None:
    message = problem(stores(), "opensearch", facts(*claims))
    assert (message is not None) == stalled
    if message:
        assert "seldon-logs/" + DOCS_OS_CLAIM in message or f"{NS}/{DOCS_OS_CLAIM}" in message
        assert "use_internal: false" in message  # option 1: keep using it
        assert "operator.seldon.io/adoption=ignore" in message  # option 2: start empty, keep the volumes


def test_postgres_stalls_beside_the_deploy_docs_database() -> None:
    found = facts(Claim("postgres", "pgdata-seldon-metadata-storage-0"))
    message = problem(stores(), "postgres", found)
    assert message is not None
    assert "postgres/pgdata-seldon-metadata-storage-0" in message
    assert "enable.catalogue: false" in message
    assert problem(stores(), "opensearch", found) is None  # only the store whose data it is


def test_nobody_looked_means_no_problem() -> None:
    assert adoption.volume_problem("opensearch", [], NS, ClusterFacts()) is None


def test_external_payload_store_renders_no_opensearch_to_stall() -> None:
    doc = platform(enable("payloadstore"), external_elastic())
    assert component(doc, "opensearch", facts(Claim("seldon-logs", DOCS_OS_CLAIM))) == []


def test_claims_read_by_name_outside_the_namespace() -> None:
    assert adoption.claims_elsewhere(NS) == [
        ("postgres", "pgdata-seldon-metadata-storage-0"),
        ("seldon-logs", DOCS_OS_CLAIM),
    ]


# --- Objects a Helm release installed -------------------------------------------------------------------------


def helm_meta(release: str = "seldon-enterprise", **labels: str) -> dict[str, Any]:
    return {
        "labels": {"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "seldon-deploy-2.0.2", **labels},
        "annotations": {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": NS},
    }


def helm_deployment() -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": "seldon-deploy", "app.kubernetes.io/instance": "seldon-enterprise"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "seldon-deploy", "namespace": NS, **helm_meta()},
        "spec": {
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": {**selector, "helm.sh/chart": "seldon-deploy-2.0.2"}}},
        },
    }


def ours() -> Manifest:
    return find(render(platform()).manifests, "Deployment", "seldon-deploy")


@pytest.mark.parametrize(
    ("live", "helm"),
    [
        (helm_deployment(), True),
        ({"metadata": {"labels": {"heritage": "Helm"}}}, True),
        ({"metadata": {"annotations": {"meta.helm.sh/release-name": "x"}}}, True),
        ({"metadata": {"labels": {"app.kubernetes.io/managed-by": "seldon-meta-operator"}}}, False),
        ({"metadata": {}}, False),
        (None, False),
    ],
    ids=["chart labels", "heritage: Helm", "release annotation only", "ours", "unlabelled", "absent"],
)
def test_helm_objects_are_recognised(live: dict[str, Any] | None, helm: bool) -> None:
    assert adoption.is_helm(live) is helm


def deploy_component() -> list[Manifest]:
    return list(render(platform()).component("seldon_deploy").manifests)


def test_a_deployment_keeps_helms_selector_and_the_services_follow_its_pods() -> None:
    live = helm_deployment()
    manifests = deploy_component()
    adapted, take_over = adoption.adapt_component(manifests, {object_key(ours()): live})
    assert take_over == [object_key(ours())]
    deployment = find(adapted, "Deployment", "seldon-deploy")
    assert deployment["spec"]["selector"] == live["spec"]["selector"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert live["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    # Helm's release name is on the pods now, so every Service that selected them selects it too.
    for service in (m for m in adapted if m["kind"] == "Service" and m["metadata"]["name"] == "seldon-deploy"):
        assert service["spec"]["selector"].items() <= pod_labels.items()
    assert ours()["spec"]["selector"] != live["spec"]["selector"]  # the case is real: the release name differs
    assert find(manifests, "Service", "seldon-deploy")["spec"]["selector"]["app.kubernetes.io/instance"] == (
        "seldon-deploy"  # the render itself is untouched
    )


def test_nothing_found_leaves_the_render_as_it_is() -> None:
    manifests = deploy_component()
    assert adoption.adapt_component(manifests, {}) == (manifests, [])


def test_a_statefulset_keeps_every_field_the_api_server_will_not_change() -> None:
    sts = find(component(stores(), "postgres", facts()), "StatefulSet", POSTGRES)
    template = {"metadata": {"name": "data", "labels": BITNAMI_LABELS}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    live: dict[str, Any] = {
        "kind": "StatefulSet",
        "metadata": {"name": POSTGRES, **helm_meta("seldon-internal-postgres")},
        "spec": {
            "selector": {"matchLabels": BITNAMI_LABELS},
            "serviceName": f"{POSTGRES}-hl",
            "podManagementPolicy": "OrderedReady",
            "volumeClaimTemplates": [template],
            "template": {"metadata": {"labels": BITNAMI_LABELS}},
        },
    }
    kept = adoption.keep_immutable(sts, live)
    for name in ("selector", "serviceName", "podManagementPolicy", "volumeClaimTemplates"):
        assert kept["spec"][name] == live["spec"][name], name
    assert kept["spec"]["template"]["spec"] == sts["spec"]["template"]["spec"]  # the pod is ours
    assert sts["spec"]["selector"] != live["spec"]["selector"]  # the render itself is untouched


def test_other_kinds_are_applied_as_rendered() -> None:
    service = find(render(platform()).manifests, "Service", "seldon-deploy")
    assert adoption.keep_immutable(service, {"spec": {"selector": {"a": "b"}}}) == service


def test_the_strip_patch_removes_helms_metadata_and_records_the_release() -> None:
    live = helm_deployment()
    patch = adoption.helm_strip_patch(live, ours())
    assert patch["metadata"]["labels"] == {"helm.sh/chart": None}  # managed-by is ours now (set by our apply)
    assert patch["metadata"]["annotations"] == {
        "meta.helm.sh/release-name": None,
        "meta.helm.sh/release-namespace": None,
        adoption.ADOPTED_ANNOTATION: "helm/seldon-enterprise",
    }
    assert patch["spec"] == {"template": {"metadata": {"labels": {"helm.sh/chart": None}}}}


def test_managed_by_is_removed_where_we_do_not_set_it() -> None:
    live = {"metadata": {"labels": {"app.kubernetes.io/managed-by": "Helm", "release": "r"}}}
    patch = adoption.helm_strip_patch(live, {"metadata": {"name": "x"}})
    assert patch["metadata"]["labels"] == {"app.kubernetes.io/managed-by": None}
    assert patch["metadata"]["annotations"] == {adoption.ADOPTED_ANNOTATION: "helm/r"}
    assert "spec" not in patch


@pytest.mark.parametrize(
    ("live", "take_over", "kept"),
    [
        (None, False, False),
        (helm_deployment(), True, True),
        ({**helm_deployment(), "metadata": {"annotations": {adoption.ADOPTED_ANNOTATION: "helm/x"}}}, False, True),
        ({**helm_deployment(), "metadata": {"labels": {"app.kubernetes.io/managed-by": "kubectl"}}}, False, False),
    ],
    ids=[
        "absent: created as rendered",
        "Helm's: taken over, its selector kept, Helm's metadata stripped after the apply",
        "adopted by an earlier pass: its selector kept for good, nothing more to strip",
        "someone else's, not Helm's: applied as rendered (as before adoption existed)",
    ],
)
def test_what_is_taken_over(live: dict[str, Any] | None, take_over: bool, kept: bool) -> None:
    key = object_key(ours())
    adapted, taken = adoption.adapt_component([ours()], {key: live})
    assert (taken == [key]) is take_over
    assert (adapted[0]["spec"]["selector"] == helm_deployment()["spec"]["selector"]) is kept


@pytest.mark.parametrize(
    ("owner", "live", "helms"),
    [
        ("helm", helm_deployment(), True),
        ("helm", {"metadata": {"annotations": {adoption.ADOPTED_ANNOTATION: "helm/x"}}}, True),
        ("kube-controller-manager", helm_deployment(), False),
        ("helm", {"metadata": {}}, False),
        (None, helm_deployment(), False),
    ],
    ids=[
        "Helm owns replicas of its object: taken over",
        "Helm still owns replicas of an adopted object: taken over",
        "an autoscaler owns them: respected",
        "a manager called helm on an object that is not Helm's: respected",
        "nobody else owns them",
    ],
)
def test_replicas_helm_owns_are_taken_over(owner: str | None, live: dict[str, Any], helms: bool) -> None:
    assert adoption.replicas_owner_is_helm(owner, live) is helms


def managed(manager: str, operation: str, fields: dict[str, Any], subresource: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {
        "manager": manager,
        "operation": operation,
        "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def test_helms_fields_are_handed_to_our_apply_so_it_removes_what_we_do_not_render() -> None:
    helm_fields = {"f:metadata": {"f:labels": {"f:helm.sh/chart": {}}}, "f:spec": {"f:replicas": {}}}
    ours = {"f:spec": {"f:template": {"f:spec": {}}}}
    status = managed("kube-controller-manager", "Update", {"f:status": {}}, subresource="status")
    live = {
        "apiVersion": "apps/v1",
        "metadata": {
            "managedFields": [
                managed("helm", "Update", helm_fields),
                managed("seldon-meta-operator", "Apply", ours),
                status,
            ]
        },
    }
    patch = adoption.ownership_transfer(live, "seldon-meta-operator")
    assert patch is not None
    entries = patch["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"]) for e in entries] == [
        ("seldon-meta-operator", "Apply"),  # one entry: a second Apply entry of one manager is not allowed
        ("kube-controller-manager", "Update"),  # other managers keep theirs
    ]
    assert entries[0]["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:helm.sh/chart": {}}},
        "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {}}},
    }


def test_no_helm_fields_no_transfer() -> None:
    live = {"metadata": {"managedFields": [managed("kubectl", "Update", {"f:spec": {}})]}}
    assert adoption.ownership_transfer(live, "seldon-meta-operator") is None
    assert adoption.ownership_transfer({"metadata": {}}, "seldon-meta-operator") is None
