"""Fidelity to the upstream seldon-core-operator chart 1.18.2, written from its documented values and templates
(shared/reference/upstream-seldon-facts.md beside the project, §2.2-2.5), not from our code: for the chart's eight
main value variants, the manager's args, env names and values, the webhook's settings, the TLS objects and the
``seldon-config`` keys. A change that drifts from upstream fails here, naming the variant.

Departures we make on purpose, asserted as such: the chart renders the empty argument ``""`` when not
``singleNamespace`` (we leave it out); it renders ``value: ''`` for empty env values (we leave out ``value``,
which Kubernetes reads as the empty string); with ``managerCreateResources`` the manager writes its own certificate,
into an ``emptyDir`` here since its root filesystem is read-only; and the spartakus ClusterRole(Binding) names end
with the platform's namespace, like the chart's other cluster-scoped names, so two platforms do not collide.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.builders import core_values, find, platform, select

from seldon_meta_operator.api.v1alpha1 import parse_seldon_operator
from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.render.pipeline import render_platform

NS = "seldon-system"
VERSION = "1.18.2"

#: Every env var of the manager with its value under the chart's default values (facts §2.4; '' for empty).
DEFAULT_ENV: dict[str, str] = {
    "MANAGER_LEADER_ELECTION_ID": "a33bd623.machinelearning.seldon.io",
    "MANAGER_LEADER_ELECTION_RESOURCE_LOCK": "",
    "MANAGER_LEADER_ELECTION_LEASE_DURATION_SECS": "15",
    "MANAGER_LEADER_ELECTION_RENEW_DEADLINE_SECS": "10",
    "MANAGER_LEADER_ELECTION_RETRY_PERIOD_SECS": "2",
    "MANAGER_LOG_LEVEL": "INFO",
    "WATCH_NAMESPACE": "",
    **{
        f"RELATED_IMAGE_{name}": ""
        for name in (
            "EXECUTOR",
            "STORAGE_INITIALIZER",
            "SKLEARNSERVER",
            "SKLEARNSERVER_V2",
            "XGBOOSTSERVER",
            "XGBOOSTSERVER_V2",
            "MLFLOWSERVER",
            "MLFLOWSERVER_V2",
            "TFPROXY",
            "TENSORFLOW",
            "EXPLAINER",
            "EXPLAINER_V2",
            "MOCK_CLASSIFIER",
        )
    },
    "MANAGER_CREATE_RESOURCES": "false",
    "POD_NAMESPACE": "fieldRef:metadata.namespace",
    "CONTROLLER_ID": "",
    "AMBASSADOR_ENABLED": "false",
    "AMBASSADOR_VERSION": "v2",
    "AMBASSADOR_SINGLE_NAMESPACE": "false",
    "PREDICTIVE_UNIT_HTTP_SERVICE_PORT": "9000",
    "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": "9500",
    "PREDICTIVE_UNIT_DEFAULT_ENV_SECRET_REF_NAME": "",
    "PREDICTIVE_UNIT_METRICS_PORT_NAME": "metrics",
    "ISTIO_ENABLED": "false",
    "ISTIO_GATEWAY": "istio-system/seldon-gateway",
    "ISTIO_TLS_MODE": "",
    "KEDA_ENABLED": "false",
    "USE_EXECUTOR": "true",
    "EXECUTOR_CONTAINER_IMAGE_AND_VERSION": f"docker.io/seldonio/seldon-core-executor:{VERSION}",
    "EXECUTOR_CONTAINER_IMAGE_PULL_POLICY": "IfNotPresent",
    "EXECUTOR_PROMETHEUS_PATH": "/prometheus",
    "EXECUTOR_SERVER_PORT": "8000",
    "EXECUTOR_CONTAINER_USER": "8888",
    "EXECUTOR_CONTAINER_SERVICE_ACCOUNT_NAME": "default",
    "EXECUTOR_SERVER_METRICS_PORT_NAME": "metrics",
    "EXECUTOR_REQUEST_LOGGER_DEFAULT_ENDPOINT": "http://default-broker",
    "EXECUTOR_REQUEST_LOGGER_WORK_QUEUE_SIZE": "10000",
    "EXECUTOR_REQUEST_LOGGER_WRITE_TIMEOUT_MS": "2000",
    "DEFAULT_USER_ID": "8888",
    "EXECUTOR_DEFAULT_CPU_REQUEST": "500m",
    "EXECUTOR_DEFAULT_MEMORY_REQUEST": "512Mi",
    "EXECUTOR_DEFAULT_CPU_LIMIT": "500m",
    "EXECUTOR_DEFAULT_MEMORY_LIMIT": "512Mi",
    "DEPLOYMENT_NAME_AS_PREFIX": "false",
    "EXECUTOR_FULL_HEALTH_CHECKS": "false",
}

#: The manager's args (facts §2.4), before the ``--namespace`` of singleNamespace.
ARGS = [
    "--enable-leader-election",
    "--webhook-port=4443",
    "--metrics-addr=:8080",
    "--create-resources=$(MANAGER_CREATE_RESOURCES)",
    "--log-level=$(MANAGER_LOG_LEVEL)",
    "--leader-election-id=$(MANAGER_LEADER_ELECTION_ID)",
    "--leader-election-resource-lock=$(MANAGER_LEADER_ELECTION_RESOURCE_LOCK)",
    "--leader-election-lease-duration-secs=$(MANAGER_LEADER_ELECTION_LEASE_DURATION_SECS)",
    "--leader-election-renew-deadline-secs=$(MANAGER_LEADER_ELECTION_RENEW_DEADLINE_SECS)",
    "--leader-election-retry-period-secs=$(MANAGER_LEADER_ELECTION_RETRY_PERIOD_SECS)",
]

NOT_LABELLED = {"key": "seldon.io/controller-id", "operator": "DoesNotExist"}


@dataclass(frozen=True)
class Variant:
    """One value variant of the chart and what the chart renders for it (facts §2.3-2.5)."""

    values: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)  # changes from DEFAULT_ENV
    extra_args: tuple[str, ...] = ()
    webhook: bool = True  # webhook, its Service and seldon-config (not with managerCreateResources)
    namespace_selector: dict[str, Any] = field(default_factory=lambda: {"matchExpressions": [NOT_LABELLED]})
    object_selector: dict[str, Any] | None = field(default_factory=lambda: {"matchExpressions": [NOT_LABELLED]})
    cert_manager: bool = False
    spartakus: bool = False


VARIANTS: dict[str, Variant] = {
    "default": Variant({}),
    "istio": Variant({"istio": {"enabled": True}}, env={"ISTIO_ENABLED": "true"}),
    "singleNamespace": Variant(
        {"singleNamespace": True},
        extra_args=(f"--namespace={NS}",),
        namespace_selector={"matchLabels": {"seldon.io/controller-id": NS}},
    ),
    "managerCreateResources": Variant(
        {"managerCreateResources": True}, env={"MANAGER_CREATE_RESOURCES": "true"}, webhook=False
    ),
    "certManager": Variant({"certManager": {"enabled": True}}, cert_manager=True),
    "controllerId": Variant(
        {"controllerId": "team-a"},
        env={"CONTROLLER_ID": "team-a"},
        object_selector={"matchLabels": {"seldon.io/controller-id": "team-a"}},
    ),
    "kubeflow": Variant(
        {"kubeflow": True},
        namespace_selector={
            "matchExpressions": [NOT_LABELLED],
            "matchLabels": {"serving.kubeflow.org/inferenceservice": "enabled"},
        },
        object_selector=None,
    ),
    "usageMetrics": Variant({"usageMetrics": {"enabled": True}}, spartakus=True),
}


def render(values: dict[str, Any]) -> list[Manifest]:
    resource = parse_seldon_operator(platform(core_values(values)))
    kwargs: dict[str, Any] = {}
    if "allowed_namespaces" in inspect.signature(render_platform).parameters:
        kwargs["allowed_namespaces"] = frozenset({"kube-system"})  # usageMetrics renders into kube-system
    return list(render_platform(resource, **kwargs).component("seldon_core").manifests)


def manager(objs: list[Manifest]) -> dict[str, Any]:
    container: dict[str, Any] = find(objs, "Deployment", "seldon-controller-manager")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def env_values(container: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in container["env"]:
        if "valueFrom" in entry:
            out[entry["name"]] = "fieldRef:" + entry["valueFrom"]["fieldRef"]["fieldPath"]
        else:
            out[entry["name"]] = entry.get("value", "")
    return out


IDS = list(VARIANTS)


@pytest.mark.parametrize("name", IDS, ids=[f"{n}: args" for n in IDS])
def test_the_managers_args_are_the_charts(name: str) -> None:
    variant = VARIANTS[name]
    assert manager(render(variant.values))["args"] == [*ARGS, *variant.extra_args]


@pytest.mark.parametrize("name", IDS, ids=[f"{n}: env names and values" for n in IDS])
def test_the_managers_env_names_and_values_are_the_charts(name: str) -> None:
    variant = VARIANTS[name]
    assert env_values(manager(render(variant.values))) == {**DEFAULT_ENV, **variant.env}


@pytest.mark.parametrize("name", IDS, ids=[f"{n}: webhook" for n in IDS])
def test_the_webhook_is_the_charts(name: str) -> None:
    variant = VARIANTS[name]
    objs = render(variant.values)
    configs = select(objs, "ValidatingWebhookConfiguration")
    if not variant.webhook:
        assert not configs and not select(objs, "Service", "seldon-webhook-service")
        return
    assert [c["metadata"]["name"] for c in configs] == [f"seldon-validating-webhook-configuration-{NS}"]
    (hook,) = configs[0]["webhooks"]
    assert hook["name"] == "v1.vseldondeployment.kb.io"
    assert hook["admissionReviewVersions"] == ["v1", "v1beta1"]
    assert hook["clientConfig"]["service"] == {
        "name": "seldon-webhook-service",
        "namespace": NS,
        "path": "/validate-machinelearning-seldon-io-v1-seldondeployment",
    }
    assert (hook["failurePolicy"], hook["sideEffects"]) == ("Fail", "None")
    assert hook["rules"] == [
        {
            "apiGroups": ["machinelearning.seldon.io"],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["seldondeployments"],
        }
    ]
    assert hook["namespaceSelector"] == variant.namespace_selector
    assert hook.get("objectSelector") == variant.object_selector
    service = find(objs, "Service", "seldon-webhook-service")
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(443, 4443)]


@pytest.mark.parametrize("name", IDS, ids=[f"{n}: TLS objects" for n in IDS])
def test_the_webhook_tls_objects_are_the_charts(name: str) -> None:
    variant = VARIANTS[name]
    objs = render(variant.values)
    configs = select(objs, "ValidatingWebhookConfiguration")
    issuers, certificates = select(objs, "Issuer"), select(objs, "Certificate")
    if variant.cert_manager:
        annotations = configs[0]["metadata"].get("annotations", {})
        assert annotations["cert-manager.io/inject-ca-from"] == f"{NS}/seldon-serving-cert"
        assert "caBundle" not in configs[0]["webhooks"][0]["clientConfig"]
        assert [i["metadata"]["name"] for i in issuers] == ["seldon-selfsigned-issuer"]
        assert issuers[0]["spec"] == {"selfSigned": {}}
        (cert,) = certificates
        assert cert["metadata"]["name"] == "seldon-serving-cert"
        assert cert["spec"]["secretName"] == "seldon-webhook-server-cert"
        assert cert["spec"]["commonName"] == f"seldon-webhook-service.{NS}.svc"
        assert sorted(cert["spec"]["dnsNames"]) == sorted(
            [f"seldon-webhook-service.{NS}.svc.cluster.local", f"seldon-webhook-service.{NS}.svc"]
        )
        assert cert["spec"]["issuerRef"]["name"] == "seldon-selfsigned-issuer"
    else:
        assert not issuers and not certificates
    volumes = find(objs, "Deployment", "seldon-controller-manager")["spec"]["template"]["spec"].get("volumes", [])
    mounts = manager(objs).get("volumeMounts", [])
    if variant.webhook:
        assert {"name": "cert", "secret": {"secretName": "seldon-webhook-server-cert", "defaultMode": 420}} in volumes
        assert {"name": "cert", "mountPath": "/tmp/k8s-webhook-server/serving-certs", "readOnly": True} in mounts
    else:  # the manager writes its own certificate: a writable emptyDir, no Secret
        assert [v for v in volumes if v["name"] == "cert"] == [{"name": "cert", "emptyDir": {}}]


@pytest.mark.parametrize("name", IDS, ids=[f"{n}: seldon-config" for n in IDS])
def test_seldon_config_has_the_charts_keys_as_json_of_the_values(name: str) -> None:
    variant = VARIANTS[name]
    configs = select(render(variant.values), "ConfigMap", "seldon-config")
    if not variant.webhook:
        assert not configs
        return
    data = configs[0]["data"]
    assert sorted(data) == ["credentials", "explainer", "predictor_servers", "storageInitializer"]
    assert json.loads(data["explainer"]) == {
        "image": f"seldonio/alibiexplainer:{VERSION}",
        "image_v2": "seldonio/mlserver:1.3.5-alibi-explain",
    }
    assert json.loads(data["storageInitializer"]) == {
        "cpuLimit": "1",
        "cpuRequest": "100m",
        "image": f"seldonio/rclone-storage-initializer:{VERSION}",
        "memoryLimit": "1Gi",
        "memoryRequest": "100Mi",
    }
    assert json.loads(data["credentials"]) == {
        "gcs": {"gcsCredentialFileName": "gcloud-application-credentials.json"},
        "s3": {"s3AccessKeyIDName": "awsAccessKeyID", "s3SecretAccessKeyName": "awsSecretAccessKey"},
    }
    servers = json.loads(data["predictor_servers"])
    assert servers["SKLEARN_SERVER"]["protocols"]["seldon"] == {
        "image": "seldonio/sklearnserver",
        "defaultImageVersion": VERSION,
    }
    assert servers["TRITON_SERVER"]["protocols"]["v2"] == {
        "image": "nvcr.io/nvidia/tritonserver",
        "defaultImageVersion": "21.08-py3",
    }


@pytest.mark.parametrize("name", IDS, ids=[f"{n}: spartakus" for n in IDS])
def test_usage_metrics_run_the_charts_spartakus_volunteer_in_kube_system(name: str) -> None:
    variant = VARIANTS[name]
    objs = render(variant.values)
    volunteers = [m for m in objs if m["metadata"]["name"].startswith("seldon-spartakus-volunteer")]
    if not variant.spartakus:
        assert not volunteers
        return
    deployment = find(objs, "Deployment", "seldon-spartakus-volunteer")
    assert deployment["metadata"]["namespace"] == "kube-system"
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "gcr.io/google_containers/spartakus-amd64:v1.1.0"
    assert find(objs, "ConfigMap", "seldon-spartakus-config")["metadata"]["namespace"] == "kube-system"
    assert {(m["kind"], m["metadata"]["name"]) for m in volunteers} == {
        ("Deployment", "seldon-spartakus-volunteer"),
        ("ServiceAccount", "seldon-spartakus-volunteer"),
        ("ClusterRole", f"seldon-spartakus-volunteer-{NS}"),
        ("ClusterRoleBinding", f"seldon-spartakus-volunteer-{NS}"),
    }
