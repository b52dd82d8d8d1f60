"""Request logger: when it runs, what it is called and listens on, where it writes (trial or user store), the chart
values that change it, and its wiring of Seldon Core's executors and Deploy's detector namespace."""

from __future__ import annotations

from typing import Any

import pytest
from tests.builders import (
    NS,
    Doc,
    Modifier,
    container,
    core_values,
    enable,
    enterprise_values,
    env,
    example,
    external_elastic,
    find,
    platform,
    render,
)

from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render.pipeline import RenderResult

LOGGER = "seldon-request-logger"
P = "spec.enterprise.values"
BROKER_URL = "http://broker-ingress.knative-eventing.svc.cluster.local/seldon-system/default"
LOGGER_URL = "http://seldon-request-logger.seldon-system.svc.cluster.local"
CHART_DEFAULT_ENDPOINT = "http://default-broker"


def payloadstore(*mods: Modifier, namespace: str = NS) -> Doc:
    return platform(enable("payloadstore"), *mods, namespace=namespace)


def detectors(*mods: Modifier) -> Doc:
    return platform(enable("routing", "detectors"), *mods)


def objects(doc: Doc) -> list[Manifest]:
    return list(render(doc).component("request_logger").manifests)


def deployment(doc: Doc) -> Manifest:
    return find(objects(doc), "Deployment", LOGGER)


def logger_env(doc: Doc) -> dict[str, Any]:
    return env(deployment(doc))


def values(values: dict[str, Any], *mods: Modifier) -> Doc:
    return payloadstore(enterprise_values(values), *mods)


def executor_endpoint(result: RenderResult) -> str:
    endpoint: str = result.values["core"]["executor"]["requestLogger"]["defaultEndpoint"]
    return endpoint


# --- When it runs --------------------------------------------------------------------------------------------

RUNS: list[tuple[str, Doc, bool]] = [
    ("the minimal installation", platform(), False),
    ("the trial payload store", payloadstore(), True),
    ("the user's own payload store", platform(external_elastic()), True),
    ("detectors alone, whose Trigger delivers to it", detectors(), True),
    ("analytics and the catalogue", platform(enable("analytics", "catalogue")), False),
]


@pytest.mark.parametrize(
    ("doc", "runs"),
    [r[1:] for r in RUNS],
    ids=[f"{'it runs' if r[2] else 'it does not run'} with {r[0]}" for r in RUNS],
)
def test_the_logger_runs_with_a_payload_store_or_detectors(doc: Doc, runs: bool) -> None:
    comp = render(doc).component("request_logger")
    assert comp.enabled is runs
    assert sorted((m["kind"], m["metadata"]["name"]) for m in comp.manifests) == (
        [("Deployment", LOGGER), ("Service", LOGGER)] if runs else []
    )


def test_when_it_does_not_run_nothing_is_wired() -> None:
    result = render(platform())
    assert executor_endpoint(result) == CHART_DEFAULT_ENDPOINT
    assert "name" not in result.values["enterprise"]["requestLogger"]["namespace"]


def test_with_create_false_the_user_brings_their_own_logger() -> None:
    assert objects(values({"requestLogger": {"create": False}})) == []


# --- What it is ----------------------------------------------------------------------------------------------


def test_the_service_listens_on_80_for_the_container_port_8080_in_the_platform_namespace() -> None:
    doc = payloadstore(namespace="team-a")
    service = find(objects(doc), "Service", LOGGER)
    assert service["metadata"]["namespace"] == "team-a"
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(80, "http")]
    assert container(deployment(doc))["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert service["spec"]["selector"] == deployment(doc)["spec"]["selector"]["matchLabels"] == {"app": LOGGER}


def test_the_chart_defaults_give_metronome_with_one_replica() -> None:
    doc = payloadstore()
    main = container(deployment(doc))
    assert (main["name"], main["image"], main["imagePullPolicy"]) == (
        "user-container",
        "seldonio/metronome:1.4.1",
        "IfNotPresent",
    )
    assert deployment(doc)["spec"]["replicas"] == 1
    assert main["resources"] == {
        "limits": {"cpu": "600m", "memory": "500Mi"},
        "requests": {"cpu": "100m", "memory": "200Mi"},
    }
    assert logger_env(doc)["METRONOME_SERVER_HTTP_PORT"] == "8080"


def test_chart_values_change_image_replicas_resources_and_env() -> None:
    doc = values(
        {
            "requestLogger": {
                "image": "seldonio/seldon-request-logger:1.7.0",
                "imagePullPolicy": "Always",
                "replicas": 2,
                "resources": {"limits": {"cpu": "1"}},
                "env": {"MAX_PAYLOAD_BYTES": 300000, "INDEX_NAME": "payloads"},
            }
        }
    )
    main = container(deployment(doc))
    assert (main["image"], main["imagePullPolicy"]) == ("seldonio/seldon-request-logger:1.7.0", "Always")
    assert deployment(doc)["spec"]["replicas"] == 2
    assert main["resources"]["limits"] == {"memory": "500Mi", "cpu": "1"}
    names = [e["name"] for e in main["env"]]
    assert names[-2:] == ["INDEX_NAME", "MAX_PAYLOAD_BYTES"]  # after the derived ones, sorted
    assert logger_env(doc)["MAX_PAYLOAD_BYTES"] == "300000"


def test_a_null_value_falls_back_to_the_chart_default() -> None:
    main = container(deployment(values({"requestLogger": {"image": None, "replicas": None}})))
    assert main["image"] == "seldonio/metronome:1.4.1"
    assert deployment(values({"requestLogger": {"replicas": None}}))["spec"]["replicas"] == 1


def test_the_logger_runs_without_privileges_or_api_access() -> None:
    doc = payloadstore()
    ctx = container(deployment(doc))["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]}
    assert deployment(doc)["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


# --- Where it writes -----------------------------------------------------------------------------------------


def test_with_the_users_store_it_writes_where_requestlogger_elasticsearch_says() -> None:
    found = logger_env(example("external-payloadstore"))
    assert found["ELASTICSEARCH_HOST"] == "opensearch-cluster-master.seldon-logs.svc.cluster.local"
    assert (found["ELASTICSEARCH_PORT"], found["ELASTICSEARCH_PROTOCOL"]) == ("9200", "https")


def test_a_numeric_port_is_written_as_text() -> None:
    assert logger_env(values({"requestLogger": {"elasticsearch": {"port": 9201}}}))["ELASTICSEARCH_PORT"] == "9201"


CREDENTIALS: list[tuple[str, Doc, bool | None]] = [
    ("with a payload store the credentials are required", payloadstore(), None),
    ("with detectors alone they are optional", detectors(), True),
]


@pytest.mark.parametrize(("doc", "optional"), [c[1:] for c in CREDENTIALS], ids=[c[0] for c in CREDENTIALS])
def test_basic_auth_reads_the_secret_deploy_reads(doc: Doc, optional: bool | None) -> None:
    found = logger_env(doc)
    user, password = found["ELASTICSEARCH_USER"]["secretKeyRef"], found["ELASTICSEARCH_PASS"]["secretKeyRef"]
    assert (user["name"], user["key"], password["name"], password["key"]) == (
        "elastic-credentials",
        "username",
        "elastic-credentials",
        "password",
    )
    assert user.get("optional") is optional and password.get("optional") is optional


def test_the_users_secret_and_keys_are_used_for_basic_auth() -> None:
    secret = {"name": "my-elastic", "userKey": "user", "passwordKey": "pass"}
    found = logger_env(values({"elasticsearch": {"secret": secret}}))
    assert found["ELASTICSEARCH_USER"]["secretKeyRef"] == {"name": "my-elastic", "key": "user"}
    assert found["ELASTICSEARCH_PASS"]["secretKeyRef"] == {"name": "my-elastic", "key": "pass"}


def test_without_basic_auth_no_credentials_are_read() -> None:
    found = logger_env(values({"elasticsearch": {"basicAuth": False}}))
    assert "ELASTICSEARCH_USER" not in found and "ELASTICSEARCH_PASS" not in found


def test_a_token_comes_from_the_named_secret() -> None:
    token = {"jwtSecretName": "jwt-logger", "jwtSecretKey": "jwt.txt"}
    found = logger_env(values({"requestLogger": {"elasticsearch": token}}))
    assert found["ELASTICSEARCH_TOKEN"] == {"secretKeyRef": {"name": "jwt-logger", "key": "jwt.txt"}}


# --- Metadata lookups and Kafka ------------------------------------------------------------------------------


def test_deploys_api_is_only_given_when_the_metadata_store_is_on() -> None:
    assert "DEPLOY_API_HOST" not in logger_env(payloadstore())
    found = logger_env(payloadstore(enable("catalogue"), namespace=NS))
    assert found["DEPLOY_API_HOST"] == "http://seldon-deploy.seldon-system/seldon-deploy/api/v1alpha1"


def test_the_auth_secret_is_read_with_the_metadata_lookups() -> None:
    doc = values({"requestLogger": {"authSecret": "logger-oidc"}}, enable("catalogue"))
    assert container(deployment(doc))["envFrom"] == [{"secretRef": {"name": "logger-oidc"}}]
    assert "envFrom" not in container(deployment(values({"requestLogger": {"authSecret": "logger-oidc"}})))


def test_the_kafka_consumer_is_off_unless_asked_for() -> None:
    assert not [n for n in logger_env(payloadstore()) if "KAFKA" in n]
    found = logger_env(values({"requestLogger": {"kafka_consumer": {"enabled": True}}}))
    assert (
        found["METRONOME_SERVER_KAFKA_CONSUMER_BOOTSTRAP_SERVERS"]
        == "seldon-kafka-bootstrap.kafka.svc.cluster.local:9092"
    )
    assert found["METRONOME_SERVER_KAFKA_CONSUMER_GROUP_ID"] == "metronome"


# --- Wiring --------------------------------------------------------------------------------------------------

ENDPOINTS: list[tuple[str, Doc, str]] = [
    ("with detectors the executors send to the broker", detectors(), BROKER_URL),
    ("with a payload store alone they send to the logger's Service", payloadstore(), LOGGER_URL),
    ("with both they send to the broker", detectors(enable("payloadstore")), BROKER_URL),
]


@pytest.mark.parametrize(("doc", "endpoint"), [e[1:] for e in ENDPOINTS], ids=[e[0] for e in ENDPOINTS])
def test_seldon_cores_executors_log_to_the_broker_or_the_logger(doc: Doc, endpoint: str) -> None:
    result = render(doc)
    assert executor_endpoint(result) == endpoint
    core = env(find(result.manifests, "Deployment", "seldon-controller-manager"))
    assert core["EXECUTOR_REQUEST_LOGGER_DEFAULT_ENDPOINT"] == endpoint


def test_the_users_executor_endpoint_beats_the_wiring() -> None:
    doc = detectors(core_values({"executor": {"requestLogger": {"defaultEndpoint": "http://my-logger.logs"}}}))
    assert executor_endpoint(render(doc)) == "http://my-logger.logs"


@pytest.mark.parametrize("namespace", [NS, "team-a"], ids=["in seldon-system", "in another namespace"])
def test_deploy_creates_detectors_and_replies_in_the_loggers_namespace(namespace: str) -> None:
    result = render(payloadstore(namespace=namespace))
    assert result.values["enterprise"]["requestLogger"]["namespace"]["name"] == namespace
    deploy = env(find(result.manifests, "Deployment", "seldon-deploy"))
    assert deploy["REQUEST_LOGGER_NAMESPACE"] == namespace
    logs_role = find(result.manifests, "Role", "seldon-deploy-logs")
    assert logs_role["metadata"]["namespace"] == namespace


def test_keys_this_component_reads_raise_no_warning() -> None:
    doc = values(
        {
            "requestLogger": {
                "env": {"ANYTHING": "x"},
                "resources": {"requests": {"cpu": "200m"}},
                "namespace": {"name": NS, "create": False},
                "trigger": {"broker": "default"},
                "elasticsearch": {"jwtSecretName": "jwt", "jwtSecretKey": "k"},
            }
        }
    )
    assert render(doc).warnings == ()


def test_a_misspelt_key_is_warned_about() -> None:
    warnings = render(values({"requestLogger": {"replica": 2}})).warnings
    assert any(w.startswith(f"{P}.requestLogger.replica: ") and "`replicas`" in w for w in warnings)


# --- Bad values ----------------------------------------------------------------------------------------------

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("a port that is no number", {"elasticsearch": {"port": "http"}}, "requestLogger.elasticsearch.port"),
    ("a port out of range", {"elasticsearch": {"port": 70000}}, "requestLogger.elasticsearch.port"),
    ("an unknown protocol", {"elasticsearch": {"protocol": "ftp"}}, "requestLogger.elasticsearch.protocol"),
    ("a URL for a host", {"elasticsearch": {"host": "https://es:9200"}}, "requestLogger.elasticsearch.host"),
    ("an empty host", {"elasticsearch": {"host": ""}}, "requestLogger.elasticsearch.host"),
    (
        "a token without its key",
        {"elasticsearch": {"jwtSecretName": "jwt"}},
        "requestLogger.elasticsearch.jwtSecretKey",
    ),
    ("negative replicas", {"replicas": -1}, "requestLogger.replicas"),
    ("an unknown pull policy", {"imagePullPolicy": "Sometimes"}, "requestLogger.imagePullPolicy"),
    ("an empty image", {"image": ""}, "requestLogger.image"),
    ("another namespace", {"namespace": {"name": "seldon-logs"}}, "requestLogger.namespace.name"),
    ("a namespace to create", {"namespace": {"create": True}}, "requestLogger.namespace.create"),
    ("env that is no mapping", {"env": ["MAX_PAYLOAD_BYTES"]}, "requestLogger.env"),
    ("env the logger sets itself", {"env": {"ELASTICSEARCH_HOST": "x"}}, "requestLogger.env.ELASTICSEARCH_HOST"),
    ("resources that are no mapping", {"resources": "small"}, "requestLogger.resources"),
    ("an unknown resources key", {"resources": {"limit": {"cpu": "1"}}}, "requestLogger.resources.limit"),
]


@pytest.mark.parametrize(
    ("values_", "field"), [b[1:] for b in BAD], ids=[f"{b[0]} is a spec error naming {b[2]}" for b in BAD]
)
def test_bad_values_are_spec_errors_naming_the_field(values_: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as caught:
        render(values({"requestLogger": values_}))
    assert f"{P}.{field}" in str(caught.value)
