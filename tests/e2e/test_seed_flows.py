"""Each flow of the product documentation, with its manifest from examples/, against the real API server with the
operator running under its own ServiceAccount. Each test checks what the documentation's "Verification" sections
show (objects, pod names, all Running) and Ready=True.
"""

from __future__ import annotations

import pytest
from tests.e2e.platform import NS, Platform, get_json, kubectl, poll, running_pods

pytestmark = pytest.mark.cluster


def pods_with_prefix(prefix: str, pods: dict[str, str]) -> dict[str, str]:
    return {name: ready for name, ready in pods.items() if name.startswith(prefix)}


def wait_running(prefixes: dict[str, str], namespace: str = NS) -> dict[str, str]:
    """Wait until, for each pod-name prefix, at least one pod is Running with the given READY column."""

    def check() -> dict[str, str] | None:
        pods = running_pods(namespace)
        for prefix, ready in prefixes.items():
            found = pods_with_prefix(prefix, pods)
            if not found or any(v != ready for v in found.values()):
                return None
        return pods

    return poll(f"pods {sorted(prefixes)} Running", check, 120)


def test_the_install_manifest_runs_the_operator_pod(operator: object) -> None:
    pods = wait_running({"seldon-operator-controller-manager-": "2/2"})  # READY 2/2, as the documentation shows
    assert pods_with_prefix("seldon-operator-controller-manager-", pods)


def test_minimal_installation_runs_seldon_core_and_seldon_deploy(platform: Platform) -> None:
    platform.apply("minimal.yaml")
    obj = platform.wait_ready()
    wait_running({"seldon-controller-manager-": "1/1", "seldon-deploy-": "1/1"})
    poll(
        "exactly one seldon-deploy pod running (a rollout or the previous test's pod may overlap for a moment)",
        lambda: len(pods_with_prefix("seldon-deploy-", running_pods())) == 1,
        60,
    )
    svc = get_json("service", "seldon-deploy", "-n", NS)
    assert svc["spec"]["type"] == "ClusterIP"
    assert [p["port"] for p in svc["spec"]["ports"]] == [80]
    assert obj["status"]["components"]["seldon_core"]["ready"] is True
    assert obj["status"]["components"]["seldon_deploy"]["ready"] is True
    assert obj["status"]["components"]["analytics"]["enabled"] is False
    # No finalizer, ours or kopf's (kopf adds one for timers and daemons): nothing can hang a deletion.
    assert not obj["metadata"].get("finalizers"), obj["metadata"].get("finalizers")
    # The webhook is wired to the certificate the operator generated.
    webhook = get_json("validatingwebhookconfiguration", f"seldon-validating-webhook-configuration-{NS}")
    assert webhook["webhooks"][0]["clientConfig"]["caBundle"]
    secret = get_json("secret", "seldon-webhook-server-cert", "-n", NS)
    assert secret["type"] == "kubernetes.io/tls"


def test_load_balancer_service_type_is_honoured(platform: Platform) -> None:
    platform.apply("load-balancer.yaml")
    platform.wait_ready()
    assert get_json("service", "seldon-deploy", "-n", NS)["spec"]["type"] == "LoadBalancer"


def test_built_in_trial_frameworks_run_every_workload_the_documentation_lists(platform: Platform) -> None:
    platform.apply("builtin-trial.yaml")
    platform.wait_ready(timeout=240)
    pods = wait_running(
        {
            "seldon-core-analytics-kube-state-metrics-": "1/1",
            "seldon-core-analytics-prometheus-alertmanager-": "2/2",
            "seldon-core-analytics-prometheus-node-exporter-": "1/1",
            "seldon-core-analytics-prometheus-pushgateway-": "1/1",
            "seldon-core-analytics-prometheus-seldon-": "2/2",
            "seldon-internal-opensearch-cluster-master-": "1/1",
            "seldon-internal-postgres-postgresql-": "1/1",
        }
    )
    assert sorted(n for n in pods if n.startswith("seldon-internal-opensearch")) == [
        "seldon-internal-opensearch-cluster-master-0",
        "seldon-internal-opensearch-cluster-master-1",
        "seldon-internal-opensearch-cluster-master-2",
    ]
    assert "seldon-internal-postgres-postgresql-0" in pods
    # Generated credentials exist and are referenced, never inlined.
    for secret in ("metadata-postgres", "elastic-credentials"):
        assert get_json("secret", secret, "-n", NS)["data"]["password"]
    deploy = get_json("deployment", "seldon-deploy", "-n", NS)
    env = {e["name"]: e for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["METADATA_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "metadata-postgres"


def test_routing_creates_the_gateway_in_the_seldonoperator_namespace(platform: Platform, prereqs: object) -> None:
    prereqs.install("istio")  # type: ignore[attr-defined]
    platform.apply("routing.yaml")
    platform.wait_ready()
    gateway = get_json("gateway", "seldon-gateway", "-n", NS)
    assert gateway["spec"]["selector"] == {"istio": "ingressgateway"}
    vs = get_json("virtualservice", "seldon-deploy", "-n", NS)
    assert vs["spec"]["gateways"] == [f"{NS}/seldon-gateway"]
    core = get_json("deployment", "seldon-controller-manager", "-n", NS)
    env = {e["name"]: e.get("value") for e in core["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ISTIO_ENABLED"] == "true"
    assert env["ISTIO_GATEWAY"] == f"{NS}/seldon-gateway"


def test_routing_with_a_user_gateway_creates_none_and_points_at_it(platform: Platform, prereqs: object) -> None:
    prereqs.install("istio")  # type: ignore[attr-defined]
    kubectl("create", "namespace", "istio-system", check=False)
    platform.apply("routing-custom-gateway.yaml")
    live = platform.wait_ready()
    inventory = [k for keys in live["status"]["inventory"].values() for k in keys]
    assert not [k for k in inventory if "/Gateway/" in k], inventory  # we create none
    # A previous test's Gateway goes with its SeldonOperator through the garbage collector, a moment later.
    poll("no Gateway seldon-gateway", lambda: get_json("gateway", "seldon-gateway", "-n", NS) is None, 90)
    vs = get_json("virtualservice", "seldon-deploy", "-n", NS)
    assert vs["spec"]["gateways"] == ["istio-system/seldon-gateway"]


def test_detectors_create_the_broker_and_trigger_the_documentation_shows(platform: Platform, prereqs: object) -> None:
    for name in ("istio", "knative-eventing", "knative-serving"):
        prereqs.install(name)  # type: ignore[attr-defined]
    platform.apply("detectors.yaml")
    platform.wait_ready()
    broker = get_json("broker", "default", "-n", NS)
    assert broker["status"]["address"]["url"] == (
        "http://broker-ingress.knative-eventing.svc.cluster.local/seldon-system/default"
    )
    trigger = get_json("trigger", "seldon-request-logger-trigger", "-n", NS)
    assert trigger["spec"]["broker"] == "default"
    assert trigger["status"]["subscriberUri"] == "http://seldon-request-logger.seldon-system.svc.cluster.local"
    wait_running({"seldon-request-logger-": "1/1"})
    # The known issue: Deploy's detector reply URL follows the logger's namespace, not seldon-logs.
    deploy = get_json("deployment", "seldon-deploy", "-n", NS)
    env = {e["name"]: e.get("value") for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["REQUEST_LOGGER_NAMESPACE"] == NS


def test_external_payload_store_installs_no_opensearch(platform: Platform) -> None:
    platform.apply("external-payloadstore.yaml")
    platform.wait_ready()
    assert get_json("statefulset", "seldon-internal-opensearch-cluster-master", "-n", NS) is None
    logger = get_json("deployment", "seldon-request-logger", "-n", NS)
    env = {e["name"]: e.get("value") for e in logger["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ELASTICSEARCH_HOST"] == "opensearch-cluster-master.seldon-logs.svc.cluster.local"
    wait_running({"seldon-request-logger-": "1/1"})
