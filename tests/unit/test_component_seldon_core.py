"""Seldon Core v1: the controller manager, its webhook and TLS, the SeldonDeployment CRD, seldon-config, RBAC and
usage metrics, as the seldon-core-operator chart 1.18.2 renders them, and every chart value that changes them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest
from tests.builders import (
    NS,
    container,
    core_values,
    enable,
    env,
    find,
    names,
    platform,
    privileged_pods,
    render,
    select,
)

from seldon_meta_operator.components import seldon_core
from seldon_meta_operator.components.base import BUILTIN_GROUPS, Manifest
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render.ownership import object_key

MANAGER = "seldon-controller-manager"
WEBHOOK_SERVICE = "seldon-webhook-service"
WEBHOOK_CONFIG = f"seldon-validating-webhook-configuration-{NS}"
CRD = "seldondeployments.machinelearning.seldon.io"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEB\n-----END CERTIFICATE-----\n"
P = "spec.core.values"


# --- builders ------------------------------------------------------------------------------------------------


#: The chart puts usage metrics in kube-system: the admin must allow it (render/policy.py).
KUBE_SYSTEM = frozenset({"kube-system"})


def objects(
    values: dict[str, Any] | None = None, namespace: str = NS, privileged: bool = False, **kwargs: Any
) -> list[Manifest]:
    doc = platform(core_values(values or {}), *([privileged_pods()] if privileged else []), namespace=namespace)
    kwargs.setdefault("allowed_namespaces", KUBE_SYSTEM)
    return list(render(doc, **kwargs).component("seldon_core").manifests)


def manager(objs: list[Manifest]) -> Manifest:
    return find(objs, "Deployment", MANAGER)


def pod(objs: list[Manifest]) -> dict[str, Any]:
    spec: dict[str, Any] = manager(objs)["spec"]["template"]["spec"]
    return spec


def webhook(objs: list[Manifest]) -> dict[str, Any]:
    hook: dict[str, Any] = find(objs, "ValidatingWebhookConfiguration", WEBHOOK_CONFIG)["webhooks"][0]
    return hook


def kinds_and_names(objs: list[Manifest]) -> list[tuple[str, str, str]]:
    return sorted((m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"]) for m in objs)


def config(objs: list[Manifest], key: str) -> Any:
    return json.loads(find(objs, "ConfigMap", "seldon-config")["data"][key])


# --- The minimal installation --------------------------------------------------------------------------------

MINIMAL = [
    ("ClusterRole", "", f"seldon-manager-role-{NS}"),
    ("ClusterRole", "", f"seldon-manager-sas-role-{NS}"),
    ("ClusterRoleBinding", "", f"seldon-manager-rolebinding-{NS}"),
    ("ClusterRoleBinding", "", f"seldon-manager-sas-rolebinding-{NS}"),
    ("ConfigMap", NS, "seldon-config"),
    ("CustomResourceDefinition", "", CRD),
    ("Deployment", NS, MANAGER),
    ("Role", NS, "seldon-leader-election-role"),
    ("RoleBinding", NS, "seldon-leader-election-rolebinding"),
    ("Service", NS, WEBHOOK_SERVICE),
    ("ServiceAccount", NS, "seldon-manager"),
    ("ValidatingWebhookConfiguration", "", WEBHOOK_CONFIG),
]


def test_the_minimal_spec_renders_the_manager_its_webhook_crd_configmap_and_rbac() -> None:
    assert kinds_and_names(objects()) == sorted(MINIMAL)


def test_seldon_core_is_always_enabled_and_first() -> None:
    result = render(platform(enable("analytics")))
    assert result.component("seldon_core").enabled
    assert seldon_core.COMPONENT.depends_on == ()
    assert result.components[0].name == "seldon_core"


def test_the_manager_runs_the_1_18_2_operator_image_with_the_charts_command_and_arguments() -> None:
    main = container(manager(objects()), "manager")
    assert main["image"] == "docker.io/seldonio/seldon-core-operator:1.18.2"
    assert main["imagePullPolicy"] == "IfNotPresent"
    assert main["command"] == ["/manager"]
    assert main["args"][:3] == ["--enable-leader-election", "--webhook-port=4443", "--metrics-addr=:8080"]
    assert "--create-resources=$(MANAGER_CREATE_RESOURCES)" in main["args"]
    assert not [a for a in main["args"] if a.startswith("--namespace") or a == ""]
    assert main["ports"] == [
        {"name": "webhook-server", "containerPort": 4443, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 8080, "protocol": "TCP"},
    ]
    assert main["resources"] == {
        "limits": {"cpu": "500m", "memory": "300Mi"},
        "requests": {"cpu": "100m", "memory": "200Mi"},
    }


def test_the_manager_pod_is_shaped_as_the_chart_shapes_it() -> None:
    deployment = manager(objects())
    spec = pod(objects())
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["selector"]["matchLabels"] == deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "seldon1"  # hard-coded
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {
        "prometheus.io/port": "8080",
        "prometheus.io/scrape": "true",
        "sidecar.istio.io/inject": "false",
    }
    assert spec["serviceAccountName"] == "seldon-manager"
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 8888,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert spec["terminationGracePeriodSeconds"] == 10
    assert "hostNetwork" not in spec and "priorityClassName" not in spec
    assert spec["volumes"] == [
        {"name": "cert", "secret": {"secretName": "seldon-webhook-server-cert", "defaultMode": 420}}
    ]
    assert spec["containers"][0]["volumeMounts"] == [
        {"name": "cert", "mountPath": "/tmp/k8s-webhook-server/serving-certs", "readOnly": True}
    ]


def test_the_manager_has_no_probes_because_the_chart_and_the_binary_have_none() -> None:
    main = container(manager(objects()), "manager")
    assert "readinessProbe" not in main and "livenessProbe" not in main


def test_every_env_var_of_the_chart_is_set_with_its_default() -> None:
    values = env(manager(objects()))
    assert values == {
        "MANAGER_LEADER_ELECTION_ID": "a33bd623.machinelearning.seldon.io",
        "MANAGER_LEADER_ELECTION_RESOURCE_LOCK": None,
        "MANAGER_LEADER_ELECTION_LEASE_DURATION_SECS": "15",
        "MANAGER_LEADER_ELECTION_RENEW_DEADLINE_SECS": "10",
        "MANAGER_LEADER_ELECTION_RETRY_PERIOD_SECS": "2",
        "MANAGER_LOG_LEVEL": "INFO",
        "WATCH_NAMESPACE": None,
        **{f"RELATED_IMAGE_{image}": None for image in seldon_core.RELATED_IMAGES},
        "MANAGER_CREATE_RESOURCES": "false",
        "POD_NAMESPACE": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        "CONTROLLER_ID": None,
        "AMBASSADOR_ENABLED": "false",
        "AMBASSADOR_VERSION": "v2",
        "AMBASSADOR_SINGLE_NAMESPACE": "false",
        "PREDICTIVE_UNIT_HTTP_SERVICE_PORT": "9000",
        "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": "9500",
        "PREDICTIVE_UNIT_DEFAULT_ENV_SECRET_REF_NAME": None,
        "PREDICTIVE_UNIT_METRICS_PORT_NAME": "metrics",
        "ISTIO_ENABLED": "false",
        "KEDA_ENABLED": "false",
        "ISTIO_GATEWAY": "istio-system/seldon-gateway",
        "ISTIO_TLS_MODE": None,
        "USE_EXECUTOR": "true",
        "EXECUTOR_CONTAINER_IMAGE_AND_VERSION": "docker.io/seldonio/seldon-core-executor:1.18.2",
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


def test_empty_env_values_are_written_as_a_name_alone_as_the_api_server_stores_them() -> None:
    entries = container(manager(objects()), "manager")["env"]
    assert {"name": "WATCH_NAMESPACE"} in entries
    assert not [e for e in entries if e.get("value") == ""]


# --- Webhook and TLS -----------------------------------------------------------------------------------------


def test_the_webhook_service_sends_port_443_to_the_managers_webhook_port() -> None:
    objs = objects()
    service = find(objs, "Service", WEBHOOK_SERVICE)
    assert service["spec"]["ports"] == [{"port": 443, "targetPort": 4443}]
    assert service["spec"]["selector"] == manager(objs)["spec"]["template"]["metadata"]["labels"]


def test_the_webhook_validates_seldondeployments_on_create_and_update_through_the_service() -> None:
    hook = webhook(objects())
    assert hook["name"] == "v1.vseldondeployment.kb.io"
    assert hook["admissionReviewVersions"] == ["v1", "v1beta1"]
    assert hook["clientConfig"]["service"] == {
        "name": WEBHOOK_SERVICE,
        "namespace": NS,
        "path": "/validate-machinelearning-seldon-io-v1-seldondeployment",
    }
    assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
    assert hook["rules"] == [
        {
            "apiGroups": ["machinelearning.seldon.io"],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["seldondeployments"],
        }
    ]


UNCLAIMED = {"matchExpressions": [{"key": "seldon.io/controller-id", "operator": "DoesNotExist"}]}

SELECTORS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any] | None]] = [
    ("by default it validates what no other manager claims", {}, UNCLAIMED, UNCLAIMED),
    (
        "a controllerId selects the objects labelled with it",
        {"controllerId": "team-a"},
        UNCLAIMED,
        {"matchLabels": {"seldon.io/controller-id": "team-a"}},
    ),
    (
        "singleNamespace selects its own namespace by label",
        {"singleNamespace": True},
        {"matchLabels": {"seldon.io/controller-id": NS}},
        UNCLAIMED,
    ),
    (
        "kubeflow adds the inference-service namespaces and drops the object selector",
        {"kubeflow": True},
        {**UNCLAIMED, "matchLabels": {"serving.kubeflow.org/inferenceservice": "enabled"}},
        None,
    ),
]


@pytest.mark.parametrize(
    ("values", "namespace_selector", "object_selector"),
    [s[1:] for s in SELECTORS],
    ids=[s[0] for s in SELECTORS],
)
def test_the_webhook_selectors_follow_single_namespace_controller_id_and_kubeflow(
    values: dict[str, Any], namespace_selector: dict[str, Any], object_selector: dict[str, Any] | None
) -> None:
    hook = webhook(objects(values))
    assert hook["namespaceSelector"] == namespace_selector
    assert hook.get("objectSelector") == object_selector


def test_the_ca_bundle_read_by_reconcile_is_written_base64_encoded() -> None:
    hook = webhook(objects(webhook_ca_bundle=CA_PEM))
    assert base64.b64decode(hook["clientConfig"]["caBundle"]).decode() == CA_PEM


def test_without_a_ca_bundle_the_webhook_has_none() -> None:
    assert "caBundle" not in webhook(objects())["clientConfig"]


def test_the_tls_secret_is_mounted_but_never_rendered() -> None:
    objs = objects(webhook_ca_bundle=CA_PEM)
    assert not select(objs, "Secret")
    assert pod(objs)["volumes"][0]["secret"]["secretName"] == "seldon-webhook-server-cert"


def test_cert_manager_issues_the_certificate_and_injects_the_ca() -> None:
    objs = objects({"certManager": {"enabled": True}}, webhook_ca_bundle=CA_PEM)
    issuer = find(objs, "Issuer", "seldon-selfsigned-issuer")
    assert issuer["apiVersion"] == "cert-manager.io/v1" and issuer["spec"] == {"selfSigned": {}}
    certificate = find(objs, "Certificate", "seldon-serving-cert")
    assert certificate["metadata"]["namespace"] == NS
    assert certificate["spec"] == {
        "commonName": f"seldon-webhook-service.{NS}.svc",
        "dnsNames": [f"seldon-webhook-service.{NS}.svc.cluster.local", f"seldon-webhook-service.{NS}.svc"],
        "issuerRef": {"kind": "Issuer", "name": "seldon-selfsigned-issuer"},
        "secretName": "seldon-webhook-server-cert",
    }
    inject = {"cert-manager.io/inject-ca-from": f"{NS}/seldon-serving-cert"}
    assert find(objs, "ValidatingWebhookConfiguration", WEBHOOK_CONFIG)["metadata"]["annotations"] == inject
    assert "caBundle" not in webhook(objs)["clientConfig"]
    assert find(objs, "CustomResourceDefinition", CRD)["metadata"]["annotations"] == inject


def test_without_cert_manager_there_is_no_issuer_certificate_or_injection_annotation() -> None:
    objs = objects()
    assert not select(objs, "Issuer") and not select(objs, "Certificate")
    assert "annotations" not in find(objs, "ValidatingWebhookConfiguration", WEBHOOK_CONFIG)["metadata"]
    assert "annotations" not in find(objs, "CustomResourceDefinition", CRD)["metadata"]


def test_cert_manager_objects_are_a_prerequisite_the_platform_reports() -> None:
    result = render(platform(core_values({"certManager": {"enabled": True}})))
    assert "cert-manager.io/Certificate" in [p.key for p in result.component("seldon_core").prerequisites]
    assert not render(platform()).component("seldon_core").prerequisites


def test_when_the_manager_creates_its_resources_the_chart_objects_it_makes_are_left_out() -> None:
    objs = objects({"managerCreateResources": True})
    assert not select(objs, "Service") and not select(objs, "ValidatingWebhookConfiguration")
    assert not select(objs, "ConfigMap")
    # The manager writes its own certificate: a writable emptyDir under the read-only root filesystem.
    assert pod(objs)["volumes"] == [{"name": "cert", "emptyDir": {}}]
    assert pod(objs)["containers"][0]["volumeMounts"] == [
        {"name": "cert", "mountPath": "/tmp/k8s-webhook-server/serving-certs", "readOnly": False}
    ]
    assert env(manager(objs))["MANAGER_CREATE_RESOURCES"] == "true"
    role = find(objs, "ClusterRole", f"seldon-webhook-role-{NS}")
    assert {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"]} in [
        {k: r[k] for k in ("apiGroups", "resources")} for r in role["rules"]
    ]
    binding = find(objs, "ClusterRoleBinding", f"seldon-webhook-rolebinding-{NS}")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "seldon-manager", "namespace": NS}]


# --- SeldonDeployment CRD ------------------------------------------------------------------------------------


def crd(values: dict[str, Any] | None = None) -> Manifest:
    return find(objects(values), "CustomResourceDefinition", CRD)


def test_the_crd_serves_v1_as_storage_and_the_two_alpha_versions_with_one_schema() -> None:
    spec = crd()["spec"]
    assert spec["group"] == "machinelearning.seldon.io" and spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "SeldonDeployment",
        "listKind": "SeldonDeploymentList",
        "plural": "seldondeployments",
        "singular": "seldondeployment",
        "shortNames": ["sdep"],
    }
    assert [(v["name"], v["served"], v["storage"]) for v in spec["versions"]] == [
        ("v1", True, True),
        ("v1alpha2", True, False),
        ("v1alpha3", True, False),
    ]
    schemas = [v["schema"]["openAPIV3Schema"] for v in spec["versions"]]
    assert schemas[0] == schemas[1] == schemas[2]


def test_the_crd_has_status_and_scale_subresources() -> None:
    for version in crd()["spec"]["versions"]:
        assert version["subresources"] == {
            "status": {},
            "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
        }


def non_structural(node: dict[str, Any], path: str = "") -> Iterator[str]:
    """Schema nodes that break the structural-schema rules of apiextensions.k8s.io/v1."""
    if (
        "type" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and not node.get("x-kubernetes-int-or-string")
    ):
        yield f"{path or '<root>'}: no type"
    if "properties" in node and isinstance(node.get("additionalProperties"), dict):
        yield f"{path}: both properties and additionalProperties"
    for name, sub in (node.get("properties") or {}).items():
        yield from non_structural(sub, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from non_structural(node[key], f"{path}[{key}]")


def test_the_crd_schema_is_structural_and_a_valid_1_34_crd() -> None:
    manifest = crd()
    kubernetes_validate.validate(manifest, "1.34.0", strict=True)
    assert not list(non_structural(manifest["spec"]["versions"][0]["schema"]["openAPIV3Schema"]))


def test_the_crd_requires_predictors_each_with_a_graph_and_a_name() -> None:
    schema = crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec = schema["properties"]["spec"]
    assert spec["required"] == ["predictors"]
    predictor = spec["properties"]["predictors"]["items"]
    assert predictor["required"] == ["graph", "name"]
    assert predictor["properties"]["graph"]["required"] == ["name"]
    assert schema["properties"]["status"]["x-kubernetes-preserve-unknown-fields"] is True
    pod_spec = predictor["properties"]["componentSpecs"]["items"]["properties"]["spec"]
    assert pod_spec["required"] == ["containers"] and pod_spec["x-kubernetes-preserve-unknown-fields"] is True


def test_crd_create_false_renders_no_crd() -> None:
    assert not select(objects({"crd": {"create": False}}), "CustomResourceDefinition")


def test_crd_annotations_are_added_to_the_crd() -> None:
    annotations = crd({"crd": {"annotations": {"helm.sh/resource-policy": "keep"}}})["metadata"]["annotations"]
    assert annotations == {"helm.sh/resource-policy": "keep"}


# --- seldon-config -------------------------------------------------------------------------------------------


def test_seldon_config_holds_the_json_of_the_four_chart_sections() -> None:
    objs = objects()
    configmap = find(objs, "ConfigMap", "seldon-config")
    assert configmap["metadata"]["labels"]["control-plane"] == MANAGER
    assert sorted(configmap["data"]) == ["credentials", "explainer", "predictor_servers", "storageInitializer"]
    assert config(objs, "storageInitializer") == seldon_core.DEFAULTS["storageInitializer"]
    assert config(objs, "explainer") == {
        "image": "seldonio/alibiexplainer:1.18.2",
        "image_v2": "seldonio/mlserver:1.3.5-alibi-explain",
    }
    assert config(objs, "predictor_servers")["SKLEARN_SERVER"]["protocols"]["v2"] == {
        "image": "seldonio/mlserver",
        "defaultImageVersion": "1.3.5-sklearn",
    }


def test_seldon_config_json_has_sorted_keys_so_it_changes_only_with_the_values() -> None:
    text = find(objects(), "ConfigMap", "seldon-config")["data"]["predictor_servers"]
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def test_a_users_own_prediction_server_is_added_to_the_charts() -> None:
    mine = {"protocols": {"v2": {"image": "example.com/my-server", "defaultImageVersion": "0.1"}}}
    servers = config(objects({"predictor_servers": {"MY_SERVER": mine}}), "predictor_servers")
    assert servers["MY_SERVER"] == mine and "SKLEARN_SERVER" in servers


def test_storage_initializer_values_reach_seldon_config() -> None:
    objs = objects({"storageInitializer": {"image": "example.com/init:2", "cpuLimit": "2"}})
    assert config(objs, "storageInitializer")["image"] == "example.com/init:2"
    assert config(objs, "storageInitializer")["cpuLimit"] == "2"


# --- Values that change the manager --------------------------------------------------------------------------

ENV_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "istio settings reach the manager",
        {"istio": {"enabled": True, "gateway": "istio-system/my-gateway", "tlsMode": "ISTIO_MUTUAL"}},
        {"ISTIO_ENABLED": "true", "ISTIO_GATEWAY": "istio-system/my-gateway", "ISTIO_TLS_MODE": "ISTIO_MUTUAL"},
    ),
    (
        "the executor's image and pull policy",
        {"executor": {"image": {"registry": "quay.io", "tag": "1.18.1", "pullPolicy": "Always"}}},
        {
            "EXECUTOR_CONTAINER_IMAGE_AND_VERSION": "quay.io/seldonio/seldon-core-executor:1.18.1",
            "EXECUTOR_CONTAINER_IMAGE_PULL_POLICY": "Always",
        },
    ),
    (
        "the executor's request logger endpoint and queue",
        {
            "executor": {
                "requestLogger": {
                    "defaultEndpoint": "http://broker-ingress.knative-eventing.svc.cluster.local/seldon-logs/default",
                    "workQueueSize": 500,
                    "writeTimeoutMs": 100,
                }
            }
        },
        {
            "EXECUTOR_REQUEST_LOGGER_DEFAULT_ENDPOINT": (
                "http://broker-ingress.knative-eventing.svc.cluster.local/seldon-logs/default"
            ),
            "EXECUTOR_REQUEST_LOGGER_WORK_QUEUE_SIZE": "500",
            "EXECUTOR_REQUEST_LOGGER_WRITE_TIMEOUT_MS": "100",
        },
    ),
    (
        "the executor's default resources, port, user and health checks",
        {
            "executor": {
                "resources": {"cpuRequest": "1", "memoryLimit": "1Gi"},
                "port": 8001,
                "user": 1000,
                "fullHealthChecks": True,
                "serviceAccount": {"name": "executor"},
                "prometheus": {"path": "/metrics"},
                "metricsPortName": "exec-metrics",
            }
        },
        {
            "EXECUTOR_DEFAULT_CPU_REQUEST": "1",
            "EXECUTOR_DEFAULT_MEMORY_LIMIT": "1Gi",
            "EXECUTOR_SERVER_PORT": "8001",
            "EXECUTOR_CONTAINER_USER": "1000",
            "EXECUTOR_FULL_HEALTH_CHECKS": "true",
            "EXECUTOR_CONTAINER_SERVICE_ACCOUNT_NAME": "executor",
            "EXECUTOR_PROMETHEUS_PATH": "/metrics",
            "EXECUTOR_SERVER_METRICS_PORT_NAME": "exec-metrics",
        },
    ),
    (
        "keda and ambassador",
        {"keda": {"enabled": True}, "ambassador": {"enabled": True, "version": "v1", "singleNamespace": True}},
        {
            "KEDA_ENABLED": "true",
            "AMBASSADOR_ENABLED": "true",
            "AMBASSADOR_VERSION": "v1",
            "AMBASSADOR_SINGLE_NAMESPACE": "true",
        },
    ),
    (
        "predictive unit ports, metrics port name and default secret",
        {
            "predictiveUnit": {
                "httpPort": 9001,
                "grpcPort": 9501,
                "metricsPortName": "pu-metrics",
                "defaultEnvSecretRefName": "model-credentials",
            }
        },
        {
            "PREDICTIVE_UNIT_HTTP_SERVICE_PORT": "9001",
            "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": "9501",
            "PREDICTIVE_UNIT_METRICS_PORT_NAME": "pu-metrics",
            "PREDICTIVE_UNIT_DEFAULT_ENV_SECRET_REF_NAME": "model-credentials",
        },
    ),
    (
        "leader election and log level",
        {
            "manager": {
                "leaderElectionID": "mine.seldon.io",
                "leaderElectionResourceLock": "leases",
                "leaderElectionLeaseDurationSecs": 30,
                "logLevel": "DEBUG",
                "deploymentNameAsPrefix": True,
            }
        },
        {
            "MANAGER_LEADER_ELECTION_ID": "mine.seldon.io",
            "MANAGER_LEADER_ELECTION_RESOURCE_LOCK": "leases",
            "MANAGER_LEADER_ELECTION_LEASE_DURATION_SECS": "30",
            "MANAGER_LOG_LEVEL": "DEBUG",
            "DEPLOYMENT_NAME_AS_PREFIX": "true",
        },
    ),
    (
        "an empty default user id (OpenShift) is an empty variable",
        {"defaultUserID": "", "controllerId": "team-a"},
        {"DEFAULT_USER_ID": None, "CONTROLLER_ID": "team-a"},
    ),
]


@pytest.mark.parametrize(("values", "expected"), [c[1:] for c in ENV_CASES], ids=[c[0] for c in ENV_CASES])
def test_values_become_the_managers_environment(values: dict[str, Any], expected: dict[str, Any]) -> None:
    actual = env(manager(objects(values)))
    assert {k: actual[k] for k in expected} == expected


def test_the_manager_image_comes_from_registry_repository_and_tag() -> None:
    values = {"image": {"registry": "quay.io", "repository": "me/operator", "tag": "dev", "pullPolicy": "Always"}}
    main = container(manager(objects(values)), "manager")
    assert (main["image"], main["imagePullPolicy"]) == ("quay.io/me/operator:dev", "Always")
    assert container(manager(objects({"image": {"registry": ""}})), "manager")["image"] == (
        "seldonio/seldon-core-operator:1.18.2"
    )


def test_manager_resources_are_honoured() -> None:
    values = {"manager": {"cpuLimit": "1", "memoryLimit": "1Gi", "cpuRequest": "250m", "memoryRequest": "512Mi"}}
    assert container(manager(objects(values)), "manager")["resources"] == {
        "limits": {"cpu": "1", "memory": "1Gi"},
        "requests": {"cpu": "250m", "memory": "512Mi"},
    }


def test_the_webhook_and_metrics_ports_move_everywhere_they_appear() -> None:
    objs = objects({"webhook": {"port": 9443}, "metrics": {"port": 9090}})
    main = container(manager(objs), "manager")
    assert "--webhook-port=9443" in main["args"] and "--metrics-addr=:9090" in main["args"]
    assert [p["containerPort"] for p in main["ports"]] == [9443, 9090]
    assert find(objs, "Service", WEBHOOK_SERVICE)["spec"]["ports"][0]["targetPort"] == 9443
    assert manager(objs)["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9090"


POD_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "a priority class is set when named",
        {"manager": {"priorityClassName": "system-cluster-critical"}},
        {"priorityClassName": "system-cluster-critical"},
    ),
    (
        "managerUserID sets runAsUser",
        {"managerUserID": 1001},
        {"securityContext": {"runAsNonRoot": True, "runAsUser": 1001, "seccompProfile": {"type": "RuntimeDefault"}}},
    ),
    (
        "an empty managerUserID leaves runAsUser to the platform",
        {"managerUserID": ""},
        {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}},
    ),
    (
        "serviceAccount.name names the pod's account",
        {"serviceAccount": {"name": "core"}},
        {"serviceAccountName": "core"},
    ),
]


@pytest.mark.parametrize(("values", "expected"), [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_values_shape_the_manager_pod(values: dict[str, Any], expected: dict[str, Any]) -> None:
    spec = pod(objects(values))
    assert {k: spec.get(k) for k in expected} == expected


def test_host_network_is_set_when_true_and_the_admin_opted_in() -> None:
    assert pod(objects({"hostNetwork": True}, privileged=True))["hostNetwork"] is True
    with pytest.raises(SpecError, match=r"spec\.template\.spec\.hostNetwork.*spec\.core\.values\.hostNetwork"):
        objects({"hostNetwork": True})


def test_manager_annotations_are_added_to_the_pod_template() -> None:
    annotations = manager(objects({"manager": {"annotations": {"example.com/team": "ml"}}}))["spec"]["template"][
        "metadata"
    ]["annotations"]
    assert annotations["example.com/team"] == "ml" and annotations["sidecar.istio.io/inject"] == "false"


RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_the_manager_container_meets_pod_security_restricted_by_default() -> None:
    main = container(manager(objects()), "manager")
    assert main["securityContext"] == {**RESTRICTED, "readOnlyRootFilesystem": True}


@pytest.mark.parametrize(
    "context",
    [
        {"runAsUser": 1001, "readOnlyRootFilesystem": None},
        {"securityContext": {"runAsUser": 1001, "readOnlyRootFilesystem": None}},
    ],
    ids=["given as the securityContext itself", "given in the chart's shape, under securityContext"],
)
def test_the_container_security_context_is_merged_over_the_restricted_default(context: dict[str, Any]) -> None:
    main = container(manager(objects({"manager": {"containerSecurityContext": context}})), "manager")
    assert main["securityContext"] == {**RESTRICTED, "runAsUser": 1001}


def test_single_namespace_restricts_the_manager_and_uses_roles_instead_of_cluster_roles() -> None:
    objs = objects({"singleNamespace": True})
    assert f"--namespace={NS}" in container(manager(objs), "manager")["args"]
    assert not select(objs, "ClusterRole") and not select(objs, "ClusterRoleBinding")
    assert names(objs, "Role") == ["seldon-leader-election-role", "seldon1-manager-role", "seldon1-manager-sas-role"]
    assert names(objs, "RoleBinding") == [
        "seldon-leader-election-rolebinding",
        "seldon1-manager-rolebinding",
        "seldon1-manager-sas-rolebinding",
    ]
    role = find(objs, "Role", "seldon1-manager-role")
    assert not [r for r in role["rules"] if "namespaces" in r["resources"]]
    assert role["metadata"]["namespace"] == NS


def test_the_cluster_role_lets_the_manager_own_what_it_creates_for_seldondeployments() -> None:
    role = find(objects(), "ClusterRole", f"seldon-manager-role-{NS}")
    granted = {
        (g, r): set(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    for group, resource in [
        ("apps", "deployments"),
        ("", "services"),
        ("autoscaling", "horizontalpodautoscalers"),
        ("policy", "poddisruptionbudgets"),
        ("networking.istio.io", "virtualservices"),
        ("networking.istio.io", "destinationrules"),
        ("keda.sh", "scaledobjects"),
        ("getambassador.io", "mappings"),
        ("machinelearning.seldon.io", "seldondeployments"),
    ]:
        assert granted[(group, resource)] >= {"create", "delete", "get", "list", "patch", "update", "watch"}
    assert granted[("machinelearning.seldon.io", "seldondeployments/status")] == {"get", "patch", "update"}
    assert granted[("", "namespaces")] == {"get", "list", "watch"}
    assert not [g for g, _ in granted if g == "v1"]


def test_every_binding_names_the_managers_service_account_in_the_platform_namespace() -> None:
    objs = objects({"serviceAccount": {"name": "core-manager"}, "managerCreateResources": True}, namespace="ml")
    bindings = select(objs, "ClusterRoleBinding") + select(objs, "RoleBinding")
    assert len(bindings) == 4
    for binding in bindings:
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "core-manager", "namespace": "ml"}]
    assert names(objs, "ServiceAccount") == ["core-manager"]


def test_the_leader_election_role_covers_leases_and_configmaps() -> None:
    rules = find(objects(), "Role", "seldon-leader-election-role")["rules"]
    resources = {(r["apiGroups"][0], res) for r in rules for res in r["resources"]}
    assert {("coordination.k8s.io", "leases"), ("", "configmaps"), ("", "events")} <= resources


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        ({"rbac": {"create": False}}, ["ServiceAccount"]),
        ({"rbac": {"create": False}, "serviceAccount": {"create": False}}, []),
    ],
    ids=["rbac.create false leaves the service account only", "and serviceAccount.create false leaves nothing"],
)
def test_rbac_and_service_account_can_be_left_to_the_user(values: dict[str, Any], kinds: list[str]) -> None:
    objs = objects(values)
    rbac = ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
    assert sorted(m["kind"] for m in objs if m["kind"] in rbac) == kinds
    assert pod(objs)["serviceAccountName"] == "seldon-manager"


def test_rbac_configmap_create_false_drops_the_secrets_reading_role() -> None:
    objs = objects({"rbac": {"configmap": {"create": False}}})
    assert names(objs, "ClusterRole") == [f"seldon-manager-role-{NS}"]


def test_usage_metrics_run_the_spartakus_volunteer_in_kube_system() -> None:
    objs = objects({"usageMetrics": {"enabled": True}})
    volunteer = find(objs, "Deployment", "seldon-spartakus-volunteer")
    assert volunteer["metadata"]["namespace"] == "kube-system"
    assert container(volunteer)["image"] == "gcr.io/google_containers/spartakus-amd64:v1.1.0"
    assert "--database=http://seldon-core-stats.seldon.io" in container(volunteer)["args"][1]
    assert container(volunteer)["resources"]["limits"]
    assert find(objs, "ServiceAccount", "seldon-spartakus-volunteer")["metadata"]["namespace"] == "kube-system"
    assert find(objs, "ConfigMap", "seldon-spartakus-config")["metadata"]["namespace"] == "kube-system"
    binding = find(objs, "ClusterRoleBinding", f"seldon-spartakus-volunteer-{NS}")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "seldon-spartakus-volunteer", "namespace": "kube-system"}
    ]
    assert not select(objects(), "Deployment", "seldon-spartakus-volunteer")


# --- Wiring from other components ----------------------------------------------------------------------------


def test_routing_points_the_manager_at_the_created_gateway() -> None:
    values = env(manager(list(render(platform(enable("routing"))).component("seldon_core").manifests)))
    assert (values["ISTIO_ENABLED"], values["ISTIO_GATEWAY"]) == ("true", f"{NS}/seldon-gateway")


def test_a_users_istio_gateway_wins_over_the_wiring() -> None:
    doc = platform(enable("routing"), core_values({"istio": {"gateway": "istio-system/seldon-gateway"}}))
    values = env(manager(list(render(doc).component("seldon_core").manifests)))
    assert values["ISTIO_GATEWAY"] == "istio-system/seldon-gateway"


# --- Validation ----------------------------------------------------------------------------------------------

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("webhook port zero", {"webhook": {"port": 0}}, f"{P}.webhook.port: expected a port number"),
    ("webhook port too large", {"webhook": {"port": 70000}}, f"{P}.webhook.port: expected a port number"),
    ("webhook port a word", {"webhook": {"port": "https"}}, f"{P}.webhook.port: expected an integer"),
    ("metrics port a list", {"metrics": {"port": [8080]}}, f"{P}.metrics.port: expected an integer"),
    ("executor port", {"executor": {"port": -1}}, f"{P}.executor.port: expected a port number"),
    ("istio.enabled not a boolean", {"istio": {"enabled": "yes"}}, f"{P}.istio.enabled: expected true or false"),
    ("istio tls mode", {"istio": {"tlsMode": "strict"}}, f"{P}.istio.tlsMode: expected one of"),
    ("pull policy", {"image": {"pullPolicy": "Sometimes"}}, f"{P}.image.pullPolicy: expected one of"),
    ("log level", {"manager": {"logLevel": "VERBOSE"}}, f"{P}.manager.logLevel: expected one of"),
    ("image tag with a space", {"image": {"tag": "1.18 2"}}, f"{P}.image.tag: expected a non-empty string"),
    ("empty executor tag", {"executor": {"image": {"tag": ""}}}, f"{P}.executor.image.tag: expected a non-empty"),
    ("cpu limit", {"manager": {"cpuLimit": "lots"}}, f"{P}.manager.cpuLimit: expected a Kubernetes quantity"),
    ("executor memory", {"executor": {"resources": {"memoryRequest": "1 GB"}}}, "executor.resources.memoryRequest"),
    ("storage initializer", {"storageInitializer": {"cpuLimit": "x"}}, f"{P}.storageInitializer.cpuLimit"),
    ("queue size", {"executor": {"requestLogger": {"workQueueSize": 0}}}, "requestLogger.workQueueSize: expected a"),
    ("controller id", {"controllerId": "team a!"}, f"{P}.controllerId: expected a label value"),
    ("service account name", {"serviceAccount": {"name": "Core_SA"}}, f"{P}.serviceAccount.name: expected a"),
    ("user id", {"managerUserID": "root"}, f"{P}.managerUserID: expected an integer"),
    ("a section as a scalar", {"ambassador": "off"}, f"{P}.ambassador: expected a mapping"),
    ("annotations as a list", {"manager": {"annotations": ["a"]}}, f"{P}.manager.annotations: expected a mapping"),
    ("a server without protocols", {"predictor_servers": {"MY_SERVER": "x"}}, f"{P}.predictor_servers.MY_SERVER"),
    (
        "a server protocol without an image",
        {"predictor_servers": {"MY_SERVER": {"protocols": {"v2": {"defaultImageVersion": "1"}}}}},
        f"{P}.predictor_servers.MY_SERVER.protocols.v2.image",
    ),
    ("crd.create", {"crd": {"create": "no"}}, f"{P}.crd.create: expected true or false"),
    ("namespaceOverride", {"namespaceOverride": "elsewhere"}, f"{P}.namespaceOverride: Seldon Core is installed"),
]


@pytest.mark.parametrize(
    ("values", "message"), [b[1:] for b in BAD], ids=[f"a bad {b[0]} names its field" for b in BAD]
)
def test_a_bad_value_is_a_spec_error_naming_its_field(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=r"spec\.core\.values\.") as caught:
        objects(values)
    assert message in str(caught.value)


def test_a_namespace_override_equal_to_the_platform_namespace_is_accepted() -> None:
    assert kinds_and_names(objects({"namespaceOverride": NS})) == sorted(MINIMAL)


def test_a_null_value_falls_back_to_the_charts_default() -> None:
    objs = objects({"webhook": {"port": None}, "executor": None})
    assert "--webhook-port=4443" in container(manager(objs), "manager")["args"]
    assert env(manager(objs))["EXECUTOR_SERVER_PORT"] == "8000"


# --- Unknown keys --------------------------------------------------------------------------------------------


def test_a_misspelt_key_is_a_warning_suggesting_the_right_one() -> None:
    result = render(platform(core_values({"istio": {"gatway": "istio-system/x"}})))
    assert f"{P}.istio.gatway: no component reads this key; did you mean `gateway`?" in result.warnings


@pytest.mark.parametrize(
    "values",
    [
        {"manager": {"annotations": {"example.com/a": "b"}}},
        {"predictor_servers": {"MY_SERVER": {"protocols": {"v2": {"image": "a", "defaultImageVersion": "1"}}}}},
        {"crd": {"annotations": {"a": "b"}, "forceV1": True}},
        {"manager": {"priorityClassName": "high", "leaderElectionResourceLock": "leases"}},
        {"manager": {"containerSecurityContext": {"runAsNonRoot": True}}},
    ],
    ids=["pod annotations", "a user's prediction server", "crd keys", "keys without a default", "security context"],
)
def test_chart_keys_and_free_form_maps_give_no_warning(values: dict[str, Any]) -> None:
    assert render(platform(core_values(values))).warnings == ()


def test_every_chart_key_has_a_default() -> None:
    sections = {
        "namespaceOverride", "ambassador", "istio", "keda", "certManager", "controllerId", "managerCreateResources",
        "defaultUserID", "managerUserID", "executor", "image", "manager", "rbac", "serviceAccount", "singleNamespace",
        "storageInitializer", "usageMetrics", "hostNetwork", "webhook", "metrics", "predictiveUnit",
        "predictor_servers", "crd", "credentials", "kubeflow", "explainer",
    }  # fmt: skip
    assert set(seldon_core.DEFAULTS) == sections


# --- Every variant is valid ----------------------------------------------------------------------------------

VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("minimal", {}),
    ("cert-manager", {"certManager": {"enabled": True}}),
    ("single namespace", {"singleNamespace": True, "controllerId": "team-a"}),
    ("manager creates resources", {"managerCreateResources": True}),
    ("kubeflow", {"kubeflow": True}),
    (
        "everything else on",
        {
            "usageMetrics": {"enabled": True},
            "manager": {
                "priorityClassName": "system-cluster-critical",
                "containerSecurityContext": {"runAsNonRoot": True},
                "annotations": {"a": "b"},
            },
        },
    ),
]


def built_in(values: dict[str, Any]) -> list[Manifest]:
    objs = objects(values, webhook_ca_bundle=CA_PEM)
    return [m for m in objs if m["apiVersion"].rpartition("/")[0] in BUILTIN_GROUPS]


@pytest.mark.parametrize("values", [v[1] for v in VARIANTS], ids=[f"{v[0]}: objects are valid" for v in VARIANTS])
def test_every_object_is_a_valid_kubernetes_1_34_object(values: dict[str, Any]) -> None:
    for manifest in built_in(values):
        try:
            kubernetes_validate.validate(manifest, "1.34.0", strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{object_key(manifest)}: {'.'.join(str(p) for p in exc.path)}: {exc.message}")


def test_two_platforms_in_one_cluster_use_different_cluster_scoped_names() -> None:
    def cluster_scoped(namespace: str) -> set[str]:
        values = {"usageMetrics": {"enabled": True}, "crd": {"create": False}}
        return {object_key(m) for m in objects(values, namespace=namespace) if "namespace" not in m["metadata"]}

    assert not cluster_scoped("team-a") & cluster_scoped("team-b")


def test_rendering_is_deterministic() -> None:
    assert objects({"usageMetrics": {"enabled": True}}) == objects({"usageMetrics": {"enabled": True}})
