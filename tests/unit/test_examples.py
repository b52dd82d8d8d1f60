"""Each example of examples/ renders to what its section of the product documentation shows under "Verification"
(pods, Services, Gateways, Brokers and Triggers), and to nothing unexpected."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.builders import (
    EXTERNAL_ELASTIC_URL,
    NS,
    container,
    env,
    example,
    example_files,
    find,
    render,
    select,
)

from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.render.pipeline import RenderResult

CORE = "seldon-controller-manager"
DEPLOY = "seldon-deploy"
LOGGER = "seldon-request-logger"
OPENSEARCH = "seldon-internal-opensearch-cluster-master"
POSTGRES = "seldon-internal-postgres-postgresql"
BROKER_URL = "http://broker-ingress.knative-eventing.svc.cluster.local/seldon-system/default"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

MINIMAL = {("Deployment", CORE), ("Deployment", DEPLOY)}
ANALYTICS = {
    ("Deployment", "seldon-core-analytics-kube-state-metrics"),
    ("Deployment", "seldon-core-analytics-prometheus-alertmanager"),
    ("DaemonSet", "seldon-core-analytics-prometheus-node-exporter"),
    ("Deployment", "seldon-core-analytics-prometheus-pushgateway"),
    ("Deployment", "seldon-core-analytics-prometheus-seldon"),
}
TRIAL_STORES = {("StatefulSet", OPENSEARCH), ("StatefulSet", POSTGRES)}
REQUEST_LOGGER = {("Deployment", LOGGER)}

#: Every workload each example runs: the seed's Verification pods, plus the request logger wherever payload
#: logging or detectors are on (the Trigger's subscriber).
WORKLOADS: dict[str, set[tuple[str, str]]] = {
    "minimal": MINIMAL,
    "load-balancer": MINIMAL,
    "builtin-trial": MINIMAL | ANALYTICS | TRIAL_STORES | REQUEST_LOGGER,
    "routing": MINIMAL,
    "routing-custom-gateway": MINIMAL,
    "detectors": MINIMAL | REQUEST_LOGGER,
    "external-payloadstore": MINIMAL | REQUEST_LOGGER,
    "all-features": MINIMAL | ANALYTICS | TRIAL_STORES | REQUEST_LOGGER,
}

RESULTS: dict[str, RenderResult] = {}


def rendered(name: str) -> RenderResult:
    if name not in RESULTS:
        RESULTS[name] = render(example(name))
    return RESULTS[name]


def objects(name: str) -> list[Manifest]:
    return rendered(name).manifests


def workloads(name: str) -> set[tuple[str, str]]:
    return {(m["kind"], m["metadata"]["name"]) for m in objects(name) if m["kind"] in WORKLOAD_KINDS}


def test_every_example_file_is_covered_here() -> None:
    assert {p.stem for p in example_files()} == set(WORKLOADS)


@pytest.mark.parametrize(
    "name",
    sorted(WORKLOADS),
    ids=[f"examples/{n}.yaml runs exactly its documented workloads" for n in sorted(WORKLOADS)],
)
def test_each_example_runs_exactly_its_workloads(name: str) -> None:
    assert workloads(name) == WORKLOADS[name]


@pytest.mark.parametrize(
    "name", sorted(WORKLOADS), ids=[f"examples/{n}.yaml renders without warnings" for n in sorted(WORKLOADS)]
)
def test_each_example_renders_without_warnings(name: str) -> None:
    warnings = rendered(name).warnings
    if name == "detectors":  # the seed's section alone names no payload store for the logger (docs/api.md)
        assert [w.split(":")[0] for w in warnings] == ["spec.enable.detectors"]
        return
    assert warnings == ()


@pytest.mark.parametrize(
    "name", sorted(WORKLOADS), ids=[f"examples/{n}.yaml puts everything in seldon-system" for n in sorted(WORKLOADS)]
)
def test_each_example_puts_its_namespaced_objects_in_seldon_system(name: str) -> None:
    namespaces = {m["metadata"]["namespace"] for m in objects(name) if "namespace" in m["metadata"]}
    assert namespaces == {NS}


# --- Minimal installation and Getting Access ---------------------------------------------------------------


def test_minimal_exposes_seldon_deploy_as_a_cluster_ip_service_on_port_80() -> None:
    service = find(objects("minimal"), "Service", DEPLOY)
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert [p["port"] for p in service["spec"]["ports"]] == [80]


def test_minimal_serves_the_ui_under_seldon_deploy() -> None:
    deploy = find(objects("minimal"), "Deployment", DEPLOY)
    probe = container(deploy).get("readinessProbe", {})
    assert probe.get("httpGet", {}).get("path", "").startswith("/seldon-deploy/")


def test_minimal_installs_seldon_core_with_its_crd_and_webhook() -> None:
    objs = objects("minimal")
    find(objs, "CustomResourceDefinition", "seldondeployments.machinelearning.seldon.io")
    assert select(objs, "ValidatingWebhookConfiguration")
    assert not select(objs, "Gateway") and not select(objs, "VirtualService")


def test_load_balancer_changes_only_the_service_type() -> None:
    service = find(objects("load-balancer"), "Service", DEPLOY)
    assert service["spec"]["type"] == "LoadBalancer"
    assert [p["port"] for p in service["spec"]["ports"]] == [80]
    minimal_keys = {(m["kind"], m["metadata"]["name"]) for m in objects("minimal")}
    assert {(m["kind"], m["metadata"]["name"]) for m in objects("load-balancer")} == minimal_keys


# --- Built-in trial frameworks -----------------------------------------------------------------------------


def test_builtin_trial_runs_the_pods_the_seed_lists_under_internal_or_analytics() -> None:
    shown = {w for w in workloads("builtin-trial") if re.search("internal|analytics", w[1])}
    assert shown == ANALYTICS | TRIAL_STORES


CONTAINERS: list[tuple[str, int]] = [
    ("seldon-core-analytics-kube-state-metrics", 1),
    ("seldon-core-analytics-prometheus-alertmanager", 2),
    ("seldon-core-analytics-prometheus-node-exporter", 1),
    ("seldon-core-analytics-prometheus-pushgateway", 1),
    ("seldon-core-analytics-prometheus-seldon", 2),
    (OPENSEARCH, 1),
    (POSTGRES, 1),
]


@pytest.mark.parametrize(("name", "count"), CONTAINERS, ids=[f"{n} pods show READY {c}/{c}" for n, c in CONTAINERS])
def test_builtin_trial_pods_have_the_containers_the_seed_shows(name: str, count: int) -> None:
    (workload,) = [m for m in objects("builtin-trial") if m["kind"] in WORKLOAD_KINDS and m["metadata"]["name"] == name]
    assert len(workload["spec"]["template"]["spec"]["containers"]) == count


def test_builtin_trial_runs_three_opensearch_nodes_and_one_postgres() -> None:
    assert find(objects("builtin-trial"), "StatefulSet", OPENSEARCH)["spec"]["replicas"] == 3
    assert find(objects("builtin-trial"), "StatefulSet", POSTGRES)["spec"].get("replicas", 1) == 1


def test_builtin_trial_credentials_are_generated_not_rendered() -> None:
    result = rendered("builtin-trial")
    generated = {s.name for c in result.components for s in c.secrets}
    assert {"elastic-credentials", "metadata-postgres"} <= generated
    rendered_secrets = {m["metadata"]["name"] for m in select(result.manifests, "Secret")}
    assert not generated & rendered_secrets


# --- Routing -----------------------------------------------------------------------------------------------


def core_env(name: str) -> dict[str, Any]:
    return env(find(objects(name), "Deployment", CORE))


def deploy_env(name: str) -> dict[str, Any]:
    return env(find(objects(name), "Deployment", DEPLOY))


def test_routing_creates_seldon_gateway_in_seldon_system() -> None:
    gateway = find(objects("routing"), "Gateway", "seldon-gateway")
    assert gateway["metadata"]["namespace"] == NS
    assert gateway["spec"]["selector"] == {"istio": "ingressgateway"}
    assert gateway["spec"]["servers"][0]["port"]["number"] == 80


def test_routing_serves_seldon_deploy_through_the_created_gateway() -> None:
    vs = find(objects("routing"), "VirtualService", DEPLOY)
    assert vs["spec"]["gateways"] == [f"{NS}/seldon-gateway"]
    assert vs["spec"]["http"][0]["match"] == [{"uri": {"prefix": "/seldon-deploy/"}}]
    destination = vs["spec"]["http"][0]["route"][0]["destination"]
    assert destination == {"host": f"{DEPLOY}.{NS}.svc.cluster.local", "port": {"number": 80}}


def test_routing_points_seldon_core_at_the_created_gateway() -> None:
    values = core_env("routing")
    assert values["ISTIO_ENABLED"] == "true"
    assert values["ISTIO_GATEWAY"] == f"{NS}/seldon-gateway"


def test_the_custom_gateway_example_creates_no_gateway() -> None:
    assert not select(objects("routing-custom-gateway"), "Gateway")


def test_the_custom_gateway_example_points_deploy_and_core_at_the_users_gateway() -> None:
    vs = find(objects("routing-custom-gateway"), "VirtualService", DEPLOY)
    assert vs["spec"]["gateways"] == ["istio-system/seldon-gateway"]
    values = core_env("routing-custom-gateway")
    assert values["ISTIO_GATEWAY"] == "istio-system/seldon-gateway"
    assert values["ISTIO_ENABLED"] == "true"


def test_without_routing_seldon_core_does_not_use_istio() -> None:
    assert core_env("minimal").get("ISTIO_ENABLED", "false") == "false"


# --- Detectors ---------------------------------------------------------------------------------------------


def test_detectors_create_the_default_broker_in_seldon_system() -> None:
    broker = find(objects("detectors"), "Broker", "default")
    assert broker["metadata"]["namespace"] == NS
    assert broker["apiVersion"] == "eventing.knative.dev/v1"


def test_detectors_trigger_feeds_the_request_logger_service_in_seldon_system() -> None:
    trigger = find(objects("detectors"), "Trigger", "seldon-request-logger-trigger")
    assert trigger["metadata"]["namespace"] == NS
    assert trigger["spec"]["broker"] == "default"
    assert trigger["spec"]["subscriber"]["ref"] == {
        "apiVersion": "v1",
        "kind": "Service",
        "name": LOGGER,
        "namespace": NS,
    }


def test_the_triggers_subscriber_exists_at_the_uri_the_seed_shows() -> None:
    # SUBSCRIBER_URI http://seldon-request-logger.seldon-system.svc.cluster.local: the Service on port 80.
    service = find(objects("detectors"), "Service", LOGGER)
    assert service["metadata"]["namespace"] == NS
    assert 80 in [p["port"] for p in service["spec"]["ports"]]


def test_seldon_core_logs_requests_to_the_broker() -> None:
    assert core_env("detectors")["EXECUTOR_REQUEST_LOGGER_DEFAULT_ENDPOINT"] == BROKER_URL


def test_deploy_sends_detector_replies_to_the_logger_in_seldon_system_not_seldon_logs() -> None:
    # The seed's known issue: reply_url defaulted to http://seldon-request-logger.seldon-logs.
    assert deploy_env("detectors")["REQUEST_LOGGER_NAMESPACE"] == NS


# --- External payload store --------------------------------------------------------------------------------


def test_the_external_payload_store_installs_no_opensearch() -> None:
    result = rendered("external-payloadstore")
    assert result.component("opensearch").manifests == ()
    assert not [m for m in result.manifests if "opensearch" in m["metadata"]["name"]]
    assert not [s for c in result.components for s in c.secrets if s.name == "elastic-credentials"]


def test_the_request_logger_writes_to_the_users_opensearch() -> None:
    values = env(find(objects("external-payloadstore"), "Deployment", LOGGER))
    assert values["ELASTICSEARCH_HOST"] == "opensearch-cluster-master.seldon-logs.svc.cluster.local"
    assert values["ELASTICSEARCH_PORT"] == "9200"
    assert values["ELASTICSEARCH_PROTOCOL"] == "https"


def test_deploy_reads_payloads_from_the_users_opensearch() -> None:
    assert rendered("external-payloadstore").values["enterprise"]["elasticsearch"]["url"] == EXTERNAL_ELASTIC_URL
    secret_refs = [v for v in deploy_env("external-payloadstore").values() if isinstance(v, dict)]
    assert {"name": "elastic-credentials", "key": "username"} in [
        {k: r["secretKeyRef"][k] for k in ("name", "key")} for r in secret_refs if "secretKeyRef" in r
    ]


def test_the_trial_opensearch_is_what_deploy_and_the_logger_use_by_default() -> None:
    values = env(find(objects("builtin-trial"), "Deployment", LOGGER))
    assert values["ELASTICSEARCH_HOST"].startswith(f"{OPENSEARCH}.{NS}")
    assert OPENSEARCH in rendered("builtin-trial").values["enterprise"]["elasticsearch"]["url"]


# --- All features ------------------------------------------------------------------------------------------


def test_all_features_is_the_union_of_the_other_examples() -> None:
    def keys(name: str) -> set[tuple[str, str]]:
        return {(m["kind"], m["metadata"]["name"]) for m in objects(name)}

    assert keys("all-features") >= keys("builtin-trial") | keys("detectors")
