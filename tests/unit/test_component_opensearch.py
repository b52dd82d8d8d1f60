"""Trial OpenSearch: the seed's three nodes READY 1/1, their discovery, volumes and generated admin credentials, and
the wiring of Seldon Deploy and the request logger to it (only while it is the payload store in use)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.builders import (
    EXTERNAL_ELASTIC_URL,
    NS,
    Doc,
    Modifier,
    container,
    enable,
    enterprise_values,
    env,
    external_elastic,
    find,
    platform,
    render,
    spec,
)

from seldon_meta_operator.components.base import GeneratedSecret, Manifest
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render.pipeline import RenderResult

OPENSEARCH = "seldon-internal-opensearch-cluster-master"
HEADLESS = f"{OPENSEARCH}-headless"
SECRET = "elastic-credentials"
LOGGER = "seldon-request-logger"


def payloadstore(*mods: Modifier, namespace: str = NS) -> Doc:
    return platform(enable("payloadstore"), *mods, namespace=namespace)


def objects(doc: Doc) -> list[Manifest]:
    return list(render(doc).component("opensearch").manifests)


def statefulset(doc: Doc) -> Manifest:
    return find(objects(doc), "StatefulSet", OPENSEARCH)


def generated(result: RenderResult) -> GeneratedSecret:
    (secret,) = result.component("opensearch").secrets
    return secret


def nodes(count: int) -> Modifier:
    return spec(**{"payloadstore.internal_elastic.replicas": count})


# --- What is rendered ----------------------------------------------------------------------------------------

OFF: list[tuple[str, Doc]] = [
    ("without the payload store", platform()),
    ("with the user's own Elasticsearch", platform(external_elastic())),
]


@pytest.mark.parametrize("doc", [o[1] for o in OFF], ids=[f"{o[0]} nothing is rendered or generated" for o in OFF])
def test_nothing_is_rendered_or_generated_unless_the_trial_store_is_used(doc: Doc) -> None:
    comp = render(doc).component("opensearch")
    assert (comp.enabled, comp.manifests, comp.secrets) == (False, (), ())


def test_the_payload_store_renders_one_statefulset_its_two_services_and_a_disruption_budget() -> None:
    kinds = sorted((m["kind"], m["metadata"]["name"], m["metadata"]["namespace"]) for m in objects(payloadstore()))
    assert kinds == [
        ("PodDisruptionBudget", OPENSEARCH, NS),
        ("Service", OPENSEARCH, NS),
        ("Service", HEADLESS, NS),
        ("StatefulSet", OPENSEARCH, NS),
    ]


@pytest.mark.parametrize(
    ("mods", "count"),
    [((), 3), ((nodes(1),), 1), ((nodes(5),), 5)],
    ids=["three nodes by default", "one node when asked", "five nodes when asked"],
)
def test_the_cluster_has_the_asked_number_of_nodes_all_eligible_for_the_first_election(
    mods: tuple[Modifier, ...], count: int
) -> None:
    sts = statefulset(payloadstore(*mods))
    assert sts["spec"]["replicas"] == count
    values = env(sts)
    assert values["cluster.initial_cluster_manager_nodes"].split(",") == [f"{OPENSEARCH}-{i}" for i in range(count)]


def test_each_node_has_one_container_so_its_pod_shows_ready_1_of_1() -> None:
    pod = statefulset(payloadstore())["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["opensearch"]
    assert "initContainers" not in pod


def test_nodes_find_each_other_through_the_headless_service_before_they_are_ready() -> None:
    doc = payloadstore()
    headless = find(objects(doc), "Service", HEADLESS)
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert 9300 in [p["port"] for p in headless["spec"]["ports"]]
    sts = statefulset(doc)
    assert sts["spec"]["serviceName"] == HEADLESS
    assert env(sts)["discovery.seed_hosts"] == HEADLESS
    assert sts["spec"]["podManagementPolicy"] == "Parallel"


def test_every_node_is_named_after_its_pod_in_one_cluster() -> None:
    values = env(statefulset(payloadstore()))
    assert values["node.name"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert values["cluster.name"] == "seldon-internal-opensearch-cluster"
    assert set(values["node.roles"].split(",")) >= {"cluster_manager", "data", "ingest"}


def test_clients_reach_http_on_9200_through_the_service_named_like_the_statefulset() -> None:
    doc = payloadstore()
    service = find(objects(doc), "Service", OPENSEARCH)
    assert service["spec"].get("clusterIP") != "None"
    assert (9200, "http") in [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]]
    assert {p["name"]: p["containerPort"] for p in container(statefulset(doc))["ports"]} == {
        "http": 9200,
        "transport": 9300,
    }


def test_no_privileged_sysctl_is_needed_because_index_files_are_not_memory_mapped() -> None:
    sts = statefulset(payloadstore())
    assert env(sts)["node.store.allow_mmap"] == "false"
    ctx = container(sts)["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]}
    assert sts["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize(
    ("mods", "size"),
    [((), "8Gi"), ((spec(**{"payloadstore.internal_elastic.storage_size": "32Gi"}),), "32Gi")],
    ids=["each node's volume is 8Gi by default", "each node's volume has internal_elastic.storage_size"],
)
def test_the_volume_claim_template_is_sized_by_the_typed_field(mods: tuple[Modifier, ...], size: str) -> None:
    sts = statefulset(payloadstore(*mods))
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == size
    mounts = {m["name"]: m["mountPath"] for m in container(sts)["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/usr/share/opensearch/data"


@pytest.mark.parametrize(
    ("retain", "when_deleted"),
    [(True, "Retain"), (False, "Delete")],
    ids=["with retain_data the claims outlive the statefulset", "with retain_data false they go with it"],
)
def test_the_claims_follow_retain_data_and_survive_scaling_down(retain: bool, when_deleted: str) -> None:
    policy = statefulset(payloadstore(spec(retain_data=retain)))["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy == {"whenDeleted": when_deleted, "whenScaled": "Retain"}


# --- Credentials ---------------------------------------------------------------------------------------------


def test_the_admin_credentials_are_generated_by_reconcile_never_rendered() -> None:
    result = render(payloadstore())
    secret = generated(result)
    assert (secret.name, secret.namespace) == (SECRET, NS)
    assert secret.literals == {"username": "admin"}
    assert secret.random_keys == ("password",)
    assert secret.data is True  # retained with the volumes
    assert not [m for m in result.manifests if m["kind"] == "Secret"]


def test_the_admin_password_is_set_from_the_generated_secret() -> None:
    values = env(statefulset(payloadstore()))
    assert values["OPENSEARCH_INITIAL_ADMIN_PASSWORD"] == {"secretKeyRef": {"name": SECRET, "key": "password"}}


# --- Wiring --------------------------------------------------------------------------------------------------


def test_deploy_and_the_request_logger_point_at_the_trial_store_in_its_namespace() -> None:
    result = render(payloadstore(namespace="team-a"))
    host = f"{OPENSEARCH}.team-a.svc.cluster.local"
    enterprise = result.values["enterprise"]
    assert enterprise["elasticsearch"]["url"] == f"https://{host}:9200"
    assert enterprise["elasticsearch"]["basicAuth"] is True
    assert enterprise["elasticsearch"]["secret"] == {"name": SECRET, "userKey": "username", "passwordKey": "password"}
    assert enterprise["requestLogger"]["elasticsearch"] == {"host": host, "port": "9200", "protocol": "https"}
    logger = env(find(result.manifests, "Deployment", LOGGER))
    assert (logger["ELASTICSEARCH_HOST"], logger["ELASTICSEARCH_PROTOCOL"]) == (host, "https")
    assert logger["ELASTICSEARCH_PASS"]["secretKeyRef"] == {"name": SECRET, "key": "password"}


def test_with_the_users_own_store_nothing_points_at_the_trial_one() -> None:
    result = render(platform(external_elastic()))
    assert result.values["enterprise"]["elasticsearch"]["url"] == EXTERNAL_ELASTIC_URL
    assert OPENSEARCH not in result.values["enterprise"]["requestLogger"]["elasticsearch"]["host"]


def test_user_values_beat_the_wiring() -> None:
    result = render(
        payloadstore(
            enterprise_values(
                {
                    "elasticsearch": {"url": "https://es.example.com:9200"},
                    "requestLogger": {"elasticsearch": {"host": "es.example.com", "protocol": "http"}},
                }
            )
        )
    )
    enterprise = result.values["enterprise"]
    assert enterprise["elasticsearch"]["url"] == "https://es.example.com:9200"
    assert enterprise["requestLogger"]["elasticsearch"] == {
        "host": "es.example.com",
        "port": "9200",
        "protocol": "http",
    }
    assert result.component("opensearch").manifests  # the trial store itself is still installed


# --- Bad values ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["0", "0Gi"], ids=["a size of 0", "a size of 0Gi"])
def test_a_zero_sized_volume_is_a_spec_error_naming_the_field(size: str) -> None:
    with pytest.raises(SpecError, match=r"spec\.payloadstore\.internal_elastic\.storage_size"):
        render(payloadstore(spec(**{"payloadstore.internal_elastic.storage_size": size})))


@pytest.mark.parametrize("count", [0, 10, True], ids=["no nodes", "more than nine nodes", "a boolean"])
def test_a_bad_number_of_nodes_is_a_spec_error_naming_the_field(count: Any) -> None:
    with pytest.raises(SpecError, match=r"spec\.payloadstore\.internal_elastic\.replicas"):
        render(payloadstore(nodes(count)))


@pytest.mark.parametrize(
    ("nodes", "budgets"),
    [(3, 1), (2, 1), (1, 0)],
    ids=["three nodes get a budget", "two nodes get a budget", "one node gets none, so drains are not blocked"],
)
def test_a_disruption_budget_lets_drains_take_one_node_at_a_time(nodes: int, budgets: int) -> None:
    doc = platform(enable("payloadstore"))
    doc["spec"]["payloadstore"] = {"internal_elastic": {"replicas": nodes}}
    found = [m for m in render(doc).component("opensearch").manifests if m["kind"] == "PodDisruptionBudget"]
    assert len(found) == budgets
    for pdb in found:
        assert pdb["metadata"]["name"] == "seldon-internal-opensearch-cluster-master"
        assert pdb["spec"]["maxUnavailable"] == 1
        sts = next(m for m in render(doc).component("opensearch").manifests if m["kind"] == "StatefulSet")
        assert pdb["spec"]["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]
