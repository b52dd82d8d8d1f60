"""Seldon Core v1 (always installed): what the ``seldon-core-operator`` chart 1.18.2 installs with a release
named ``seldon-core``, written from the chart's facts (upstream-seldon-facts.md §2).

Layer: components (pure).

Objects, in the SeldonOperator's namespace unless stated; cluster-scoped names end with that namespace, as the
chart's do, so that two platforms in one cluster do not fight over them:

- Deployment ``seldon-controller-manager`` (container ``manager``), with the chart's hard-coded selector labels;
- the SeldonDeployment CRD ``seldondeployments.machinelearning.seldon.io`` (``crd.create``), with our own
  compact structural schema (see ``seldondeployment_crd``);
- unless ``managerCreateResources`` (then the manager creates them itself at start-up): the webhook Service
  ``seldon-webhook-service``, the ValidatingWebhookConfiguration
  ``seldon-validating-webhook-configuration-<namespace>`` and the ConfigMap ``seldon-config``;
- with ``certManager.enabled``: the cert-manager Issuer ``seldon-selfsigned-issuer`` and Certificate
  ``seldon-serving-cert``, which write the webhook's TLS Secret, and cainjector fills the caBundle;
- the ServiceAccount ``serviceAccount.name`` (``serviceAccount.create``) and the RBAC of ``rbac.*``: ClusterRoles
  ``seldon-manager-role-<ns>`` and ``seldon-manager-sas-role-<ns>``, or with ``singleNamespace`` the Roles
  ``seldon1-manager-role`` and ``seldon1-manager-sas-role``; ``seldon-webhook-role-<ns>`` with
  ``managerCreateResources``; the leader-election Role; a binding to the ServiceAccount for each;
- with ``usageMetrics.enabled``: the spartakus volunteer (Deployment, ServiceAccount, ConfigMap) in
  ``kube-system`` and its ClusterRole/ClusterRoleBinding ``seldon-spartakus-volunteer-<ns>``.

Values: ``spec.core.values`` are the chart's values; every key of the 1.18.2 chart has its default here.
Departures from the chart:

- a ``null`` under a chart key falls back to the chart's default (in Helm it blanks the value), except under
  the free-form maps, whose keys are the user's to delete;
- ``namespaceOverride``: platform objects always go to the SeldonOperator's namespace, so any other namespace
  is an error;
- the webhook's TLS Secret ``seldon-webhook-server-cert`` is not rendered: without cert-manager, reconcile
  generates it once, renews it before it expires, and passes its CA in as ``ctx.webhook_ca_bundle`` (the
  chart generates a new CA on every ``helm template``);
- environment variables with an empty value are written as a name alone: the same environment, and what the API
  server stores (it drops empty values, so writing ``value: ""`` would read back as drift on every pass). For
  the same reason ``hostNetwork`` is written only when true, and ``priorityClassName`` and ``runAsUser`` only
  when set. The chart's trailing empty argument (``--namespace`` when not ``singleNamespace``) is left out;
- ``manager.containerSecurityContext`` is the manager container's ``securityContext``. The chart pastes the map's
  keys into the container itself, so its users write ``{securityContext: {...}}``: that shape is accepted too.
  Its default is Pod Security "restricted" with a read-only root filesystem (the chart's is ``{}``); a user's keys
  merge over it, a null removes one. The pod gets ``runAsNonRoot`` and seccomp RuntimeDefault too, and a
  manager that creates its own certificate (``managerCreateResources``) writes it to an emptyDir (issue 8);
- ``image.registry`` / ``executor.image.registry`` may be empty (the image then has no registry prefix);
- ``crd.forceV1`` / ``crd.forceV1beta1`` have no effect, as in the chart (its templates test differently spelled
  keys): the CRD is always ``apiextensions.k8s.io/v1``;
- every binding's subject is ``serviceAccount.name`` (the chart hard-codes ``seldon-manager`` in two of them);
- the manager rules the chart grants on the API group ``v1`` are left out: no such group exists, so they grant
  nothing;
- the spartakus container gets small resource requests and limits (the chart sets none), and its extensions file
  is mounted under the name its ``--extensions`` flag reads.

The manager exposes no health endpoint and the chart sets no probes, so the manager has none.

Keys that other components wire (user values still win, render/values.py): ``istio.enabled`` and
``istio.gateway`` (routing), ``executor.requestLogger.defaultEndpoint`` (request logger). They are read here
like any other value.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

from seldon_meta_operator.components import names
from seldon_meta_operator.components.base import (
    CORE,
    CRUD_WATCH,
    READ,
    STATUS_RW,
    Component,
    Manifest,
    RenderContext,
    Values,
    ValuesSchema,
    image_ref,
    meta,
    obj,
    policy_rule,
    restricted_pod_security_context,
    restricted_security_context,
    values_path,
)
from seldon_meta_operator.components.sdep_schema import seldondeployment_schema
from seldon_meta_operator.errors import SpecError, brief

CHART_VERSION = "1.18.2"
RELEASE = "seldon-core"
CHART = "seldon-core-operator"

RBAC_API = "rbac.authorization.k8s.io/v1"
CERT_MANAGER_API = "cert-manager.io/v1"

MANAGER = names.CORE_MANAGER
WEBHOOK_SERVICE = names.CORE_WEBHOOK_SERVICE
WEBHOOK_SECRET = names.CORE_WEBHOOK_SECRET
CRD_NAME = names.SELDON_DEPLOYMENT_CRD
CONFIG_MAP = "seldon-config"
ISSUER = "seldon-selfsigned-issuer"
CERTIFICATE = "seldon-serving-cert"
LEADER_ELECTION_ROLE = "seldon-leader-election-role"
LEADER_ELECTION_BINDING = "seldon-leader-election-rolebinding"

CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"  # where controller-runtime looks for its certificate
WEBHOOK_NAME = "v1.vseldondeployment.kb.io"
WEBHOOK_PATH = "/validate-machinelearning-seldon-io-v1-seldondeployment"
CONTROLLER_ID_LABEL = "seldon.io/controller-id"
INJECT_CA_ANNOTATION = "cert-manager.io/inject-ca-from"

GROUP = "machinelearning.seldon.io"
CRD_VERSIONS = ("v1", "v1alpha2", "v1alpha3")  # v1 is the storage version; all share one schema

SPARTAKUS = "seldon-spartakus-volunteer"
SPARTAKUS_CONFIG = "seldon-spartakus-config"
SPARTAKUS_NAMESPACE = "kube-system"
SPARTAKUS_UID = 65534  # nobody: the volunteer only reads the API and /proc
SPARTAKUS_IMAGE = "gcr.io/google_containers/spartakus-amd64:v1.1.0"
SPARTAKUS_DATABASE = "http://seldon-core-stats.seldon.io"
SPARTAKUS_CONFIG_DIR = "/etc/config"
SPARTAKUS_EXTENSIONS = "spartakus_volunteer_extensions"

#: Labels of every object, as the chart sets them for release ``seldon-core``.
LABELS = {
    "app": "seldon",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/name": CHART,
    "app.kubernetes.io/version": CHART_VERSION,
}
MANAGER_LABELS = {**LABELS, "control-plane": MANAGER}
#: The manager's selector and pod labels are hard-coded in the chart (and the webhook Service selects them).
MANAGER_POD_LABELS = {
    "app": "seldon",
    "app.kubernetes.io/instance": "seldon1",
    "app.kubernetes.io/name": "seldon",
    "app.kubernetes.io/version": "v0.5",
    "control-plane": MANAGER,
}

_IMAGE_TAG = CHART_VERSION
_MLSERVER = "1.3.5"


def _server(protocols: dict[str, tuple[str, str]]) -> dict[str, Any]:
    return {
        "protocols": {
            name: {"image": image, "defaultImageVersion": version} for name, (image, version) in protocols.items()
        }
    }


#: Every key of the chart's values.yaml 1.18.2 with its default (upstream-seldon-facts.md §2.2). Keys whose
#: default is null are in OPTIONAL.
DEFAULTS: dict[str, Any] = {
    "namespaceOverride": "",
    "ambassador": {"enabled": False, "version": "v2", "singleNamespace": False},
    "istio": {"enabled": False, "gateway": "istio-system/seldon-gateway", "tlsMode": ""},
    "keda": {"enabled": False},
    "certManager": {"enabled": False},
    "controllerId": "",
    "managerCreateResources": False,
    "defaultUserID": "8888",
    "managerUserID": 8888,
    "executor": {
        "port": 8000,
        "metricsPortName": "metrics",
        "image": {
            "pullPolicy": "IfNotPresent",
            "registry": "docker.io",
            "repository": "seldonio/seldon-core-executor",
            "tag": _IMAGE_TAG,
        },
        "resources": {"cpuLimit": "500m", "cpuRequest": "500m", "memoryLimit": "512Mi", "memoryRequest": "512Mi"},
        "prometheus": {"path": "/prometheus"},
        "serviceAccount": {"name": "default"},
        "user": 8888,
        "requestLogger": {"defaultEndpoint": "http://default-broker", "workQueueSize": 10000, "writeTimeoutMs": 2000},
        "fullHealthChecks": False,
    },
    "image": {
        "pullPolicy": "IfNotPresent",
        "registry": "docker.io",
        "repository": "seldonio/seldon-core-operator",
        "tag": _IMAGE_TAG,
    },
    "manager": {
        "cpuLimit": "500m",
        "cpuRequest": "100m",
        "memoryLimit": "300Mi",
        "memoryRequest": "200Mi",
        "logLevel": "INFO",
        "leaderElectionID": "a33bd623.machinelearning.seldon.io",
        "leaderElectionLeaseDurationSecs": 15,
        "leaderElectionRenewDeadlineSecs": 10,
        "leaderElectionRetryPeriodSecs": 2,
        "annotations": {},
        # Departure (issue 8): Pod Security "restricted" by default, instead of the chart's {}.
        "containerSecurityContext": {**restricted_security_context(), "readOnlyRootFilesystem": True},
        "deploymentNameAsPrefix": False,
    },
    "rbac": {"create": True, "configmap": {"create": True}},
    "serviceAccount": {"create": True, "name": "seldon-manager"},
    "singleNamespace": False,
    "storageInitializer": {
        "cpuLimit": "1",
        "cpuRequest": "100m",
        "image": f"seldonio/rclone-storage-initializer:{_IMAGE_TAG}",
        "memoryLimit": "1Gi",
        "memoryRequest": "100Mi",
    },
    "usageMetrics": {"enabled": False},
    "hostNetwork": False,
    "webhook": {"port": 4443},
    "metrics": {"port": 8080},
    "predictiveUnit": {"httpPort": 9000, "grpcPort": 9500, "metricsPortName": "metrics", "defaultEnvSecretRefName": ""},
    "predictor_servers": {
        "MLFLOW_SERVER": _server(
            {"seldon": ("seldonio/mlflowserver", _IMAGE_TAG), "v2": ("seldonio/mlserver", f"{_MLSERVER}-mlflow")}
        ),
        "SKLEARN_SERVER": _server(
            {"seldon": ("seldonio/sklearnserver", _IMAGE_TAG), "v2": ("seldonio/mlserver", f"{_MLSERVER}-sklearn")}
        ),
        "TENSORFLOW_SERVER": _server(
            {"seldon": ("seldonio/tfserving-proxy", _IMAGE_TAG), "tensorflow": ("tensorflow/serving", "2.1.0")}
        ),
        "XGBOOST_SERVER": _server(
            {"seldon": ("seldonio/xgboostserver", _IMAGE_TAG), "v2": ("seldonio/mlserver", f"{_MLSERVER}-xgboost")}
        ),
        "TRITON_SERVER": _server({"v2": ("nvcr.io/nvidia/tritonserver", "21.08-py3")}),
        "HUGGINGFACE_SERVER": _server({"v2": ("seldonio/mlserver", f"{_MLSERVER}-huggingface")}),
        "TEMPO_SERVER": _server({"v2": ("seldonio/mlserver", f"{_MLSERVER}-slim")}),
    },
    "crd": {"create": True, "forceV1": False, "forceV1beta1": False, "annotations": {}},
    "credentials": {
        "gcs": {"gcsCredentialFileName": "gcloud-application-credentials.json"},
        "s3": {"s3AccessKeyIDName": "awsAccessKeyID", "s3SecretAccessKeyName": "awsSecretAccessKey"},
    },
    "kubeflow": False,
    "explainer": {
        "image": f"seldonio/alibiexplainer:{_IMAGE_TAG}",
        "image_v2": f"seldonio/mlserver:{_MLSERVER}-alibi-explain",
    },
}

OPTIONAL = ("manager.leaderElectionResourceLock", "manager.priorityClassName")
#: Free-form maps: their children are the user's. ``predictor_servers`` takes the user's own servers too.
OPEN_MAPS = ("manager.annotations", "manager.containerSecurityContext", "crd.annotations", "predictor_servers")

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
LOG_LEVELS = ("DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL")  # what the manager's --log-level knows
ISTIO_TLS_MODES = ("", "DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL")  # Istio's ClientTLSSettings modes

_QUANTITY = re.compile(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


# --- Typed readers whose errors name the spec field ----------------------------------------------------------


def _b(flag: bool) -> str:
    """A boolean as Helm prints it."""
    return "true" if flag else "false"


def _port(v: Values, path: str) -> int:
    port = v.int(path)
    if not 1 <= port <= 65535:
        raise v.error(path, "a port number between 1 and 65535", port)
    return port


def _positive(v: Values, path: str) -> int:
    number = v.int(path)
    if number < 1:
        raise v.error(path, "a positive integer", number)
    return number


def _quantity(v: Values, path: str) -> str:
    text = v.str(path)
    if not _QUANTITY.match(text):
        raise v.error(path, "a Kubernetes quantity such as 500m or 1Gi", text)
    return text


def _word(v: Values, path: str, *, in_open_map: bool = False) -> str:
    """A non-empty string without whitespace: image parts, names, URLs. Under an open map a key has no chart
    default to fall back to, so a missing one reads as empty (and is refused)."""
    text = v.str(path, "") if in_open_map else v.str(path)
    if not text or any(c.isspace() for c in text):
        raise v.error(path, "a non-empty string without spaces", text)
    return text


def _dns_name(v: Values, path: str) -> str:
    text = v.str(path)
    if not _DNS_SUBDOMAIN.match(text):
        raise v.error(path, "a Kubernetes object name (lower-case letters, digits, '-' and '.')", text)
    return text


def _user_id(v: Values, path: str) -> int | None:
    """A numeric user id, or None when the value is empty or null (OpenShift assigns one)."""
    value = v.raw(path, None)
    if value is None or value == "":
        return None
    uid = v.int(path)
    if uid < 0:
        raise v.error(path, "a user id (a non-negative integer) or an empty string", uid)
    return uid


def _image(v: Values, prefix: str) -> str:
    registry = v.str(f"{prefix}.registry")
    if any(c.isspace() for c in registry):
        raise v.error(f"{prefix}.registry", "a registry host without spaces", registry)
    return image_ref(registry, _word(v, f"{prefix}.repository"), _word(v, f"{prefix}.tag"))


def check_namespace(ctx: RenderContext) -> None:
    override = ctx.core.str("namespaceOverride")
    if override and override != ctx.namespace:
        raise SpecError(
            f"{values_path(CORE, 'namespaceOverride')}: Seldon Core is installed in the SeldonOperator's namespace "
            f"{ctx.namespace!r}, got {brief(override)}; remove the key, or create the SeldonOperator in that namespace"
        )


# --- Manager Deployment ----------------------------------------------------------------------------------------


def _env(name: str, value: str) -> dict[str, Any]:
    # An empty value is written as a name alone: the API server drops empty values (see the module docstring).
    return {"name": name, "value": value} if value != "" else {"name": name}


#: OpenShift image overrides the manager reads; empty on a plain cluster.
RELATED_IMAGES = (
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


def manager_env(v: Values) -> list[dict[str, Any]]:
    """The manager's environment, in the chart's order (upstream-seldon-facts.md §2.4)."""
    user_id = _user_id(v, "defaultUserID")
    executor_user = _user_id(v, "executor.user")
    lock = v.opt_str("manager.leaderElectionResourceLock") or ""
    pairs: list[tuple[str, str]] = [
        ("MANAGER_LEADER_ELECTION_ID", _word(v, "manager.leaderElectionID")),
        ("MANAGER_LEADER_ELECTION_RESOURCE_LOCK", lock),
        ("MANAGER_LEADER_ELECTION_LEASE_DURATION_SECS", str(_positive(v, "manager.leaderElectionLeaseDurationSecs"))),
        ("MANAGER_LEADER_ELECTION_RENEW_DEADLINE_SECS", str(_positive(v, "manager.leaderElectionRenewDeadlineSecs"))),
        ("MANAGER_LEADER_ELECTION_RETRY_PERIOD_SECS", str(_positive(v, "manager.leaderElectionRetryPeriodSecs"))),
        ("MANAGER_LOG_LEVEL", v.str("manager.logLevel", choices=LOG_LEVELS)),
        ("WATCH_NAMESPACE", ""),
        *((f"RELATED_IMAGE_{image}", "") for image in RELATED_IMAGES),
        ("MANAGER_CREATE_RESOURCES", _b(v.bool("managerCreateResources"))),
    ]
    env = [_env(name, value) for name, value in pairs]
    env.append({"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}})
    pairs = [
        ("CONTROLLER_ID", _controller_id(v)),
        ("AMBASSADOR_ENABLED", _b(v.bool("ambassador.enabled"))),
        ("AMBASSADOR_VERSION", v.str("ambassador.version")),
        ("AMBASSADOR_SINGLE_NAMESPACE", _b(v.bool("ambassador.singleNamespace"))),
        ("PREDICTIVE_UNIT_HTTP_SERVICE_PORT", str(_port(v, "predictiveUnit.httpPort"))),
        ("PREDICTIVE_UNIT_GRPC_SERVICE_PORT", str(_port(v, "predictiveUnit.grpcPort"))),
        ("PREDICTIVE_UNIT_DEFAULT_ENV_SECRET_REF_NAME", v.str("predictiveUnit.defaultEnvSecretRefName")),
        ("PREDICTIVE_UNIT_METRICS_PORT_NAME", _word(v, "predictiveUnit.metricsPortName")),
        ("ISTIO_ENABLED", _b(v.bool("istio.enabled"))),
        ("KEDA_ENABLED", _b(v.bool("keda.enabled"))),
        ("ISTIO_GATEWAY", v.str("istio.gateway")),
        ("ISTIO_TLS_MODE", v.str("istio.tlsMode", choices=ISTIO_TLS_MODES)),
        ("USE_EXECUTOR", "true"),
        ("EXECUTOR_CONTAINER_IMAGE_AND_VERSION", _image(v, "executor.image")),
        ("EXECUTOR_CONTAINER_IMAGE_PULL_POLICY", v.str("executor.image.pullPolicy", choices=PULL_POLICIES)),
        ("EXECUTOR_PROMETHEUS_PATH", _word(v, "executor.prometheus.path")),
        ("EXECUTOR_SERVER_PORT", str(_port(v, "executor.port"))),
        ("EXECUTOR_CONTAINER_USER", "" if executor_user is None else str(executor_user)),
        ("EXECUTOR_CONTAINER_SERVICE_ACCOUNT_NAME", _dns_name(v, "executor.serviceAccount.name")),
        ("EXECUTOR_SERVER_METRICS_PORT_NAME", _word(v, "executor.metricsPortName")),
        ("EXECUTOR_REQUEST_LOGGER_DEFAULT_ENDPOINT", _word(v, "executor.requestLogger.defaultEndpoint")),
        ("EXECUTOR_REQUEST_LOGGER_WORK_QUEUE_SIZE", str(_positive(v, "executor.requestLogger.workQueueSize"))),
        ("EXECUTOR_REQUEST_LOGGER_WRITE_TIMEOUT_MS", str(_positive(v, "executor.requestLogger.writeTimeoutMs"))),
        ("DEFAULT_USER_ID", "" if user_id is None else str(user_id)),
        ("EXECUTOR_DEFAULT_CPU_REQUEST", _quantity(v, "executor.resources.cpuRequest")),
        ("EXECUTOR_DEFAULT_MEMORY_REQUEST", _quantity(v, "executor.resources.memoryRequest")),
        ("EXECUTOR_DEFAULT_CPU_LIMIT", _quantity(v, "executor.resources.cpuLimit")),
        ("EXECUTOR_DEFAULT_MEMORY_LIMIT", _quantity(v, "executor.resources.memoryLimit")),
        ("DEPLOYMENT_NAME_AS_PREFIX", _b(v.bool("manager.deploymentNameAsPrefix"))),
        ("EXECUTOR_FULL_HEALTH_CHECKS", _b(v.bool("executor.fullHealthChecks"))),
    ]
    env.extend(_env(name, value) for name, value in pairs)
    return env


def _container_security_context(v: Values) -> dict[str, Any]:
    context = v.map("manager.containerSecurityContext")
    if "securityContext" in context:  # the chart's shape: keys pasted into the container; over our defaults
        inner = v.map("manager.containerSecurityContext.securityContext")
        context.pop("securityContext")
        for key, value in inner.items():
            below = context.get(key)
            context[key] = {**below, **value} if isinstance(below, Mapping) and isinstance(value, Mapping) else value
        context = {k: val for k, val in context.items() if val is not None}
    return context


def render_manager(ctx: RenderContext) -> Manifest:
    v = ctx.core
    webhook_port = _port(v, "webhook.port")
    metrics_port = _port(v, "metrics.port")
    create_resources = v.bool("managerCreateResources")
    args = [
        "--enable-leader-election",
        f"--webhook-port={webhook_port}",
        f"--metrics-addr=:{metrics_port}",
        "--create-resources=$(MANAGER_CREATE_RESOURCES)",
        "--log-level=$(MANAGER_LOG_LEVEL)",
        "--leader-election-id=$(MANAGER_LEADER_ELECTION_ID)",
        "--leader-election-resource-lock=$(MANAGER_LEADER_ELECTION_RESOURCE_LOCK)",
        "--leader-election-lease-duration-secs=$(MANAGER_LEADER_ELECTION_LEASE_DURATION_SECS)",
        "--leader-election-renew-deadline-secs=$(MANAGER_LEADER_ELECTION_RENEW_DEADLINE_SECS)",
        "--leader-election-retry-period-secs=$(MANAGER_LEADER_ELECTION_RETRY_PERIOD_SECS)",
    ]
    if v.bool("singleNamespace"):
        args.append(f"--namespace={ctx.namespace}")
    container: dict[str, Any] = {
        "name": "manager",
        "image": _image(v, "image"),
        "imagePullPolicy": v.str("image.pullPolicy", choices=PULL_POLICIES),
        "command": ["/manager"],
        "args": args,
        "env": manager_env(v),
        "ports": [
            {"name": "webhook-server", "containerPort": webhook_port, "protocol": "TCP"},
            {"name": "metrics", "containerPort": metrics_port, "protocol": "TCP"},
        ],
        "resources": {
            "limits": {"cpu": _quantity(v, "manager.cpuLimit"), "memory": _quantity(v, "manager.memoryLimit")},
            "requests": {"cpu": _quantity(v, "manager.cpuRequest"), "memory": _quantity(v, "manager.memoryRequest")},
        },
    }
    security_context = _container_security_context(v)
    if security_context:
        container["securityContext"] = security_context
    # With managerCreateResources the manager writes its own certificate there: a writable emptyDir, as the root
    # filesystem is read-only.
    container["volumeMounts"] = [{"name": "cert", "mountPath": CERT_DIR, "readOnly": not create_resources}]

    pod: dict[str, Any] = {"containers": [container]}
    if v.bool("hostNetwork"):
        pod["hostNetwork"] = True
    priority_class = v.opt_str("manager.priorityClassName")
    if priority_class:
        pod["priorityClassName"] = _dns_name(v, "manager.priorityClassName")
    # Pod Security "restricted" (issue 8): non-root and seccomp RuntimeDefault, as well as the chart's runAsUser.
    pod["securityContext"] = restricted_pod_security_context(_user_id(v, "managerUserID"))
    pod["serviceAccountName"] = _dns_name(v, "serviceAccount.name")
    pod["terminationGracePeriodSeconds"] = 10
    pod["volumes"] = (
        [{"name": "cert", "emptyDir": {}}]
        if create_resources
        else [{"name": "cert", "secret": {"secretName": WEBHOOK_SECRET, "defaultMode": 0o644}}]
    )

    annotations = {
        **v.str_map("manager.annotations"),
        "prometheus.io/port": str(metrics_port),
        "prometheus.io/scrape": "true",
        "sidecar.istio.io/inject": "false",  # the webhook and the API server talk directly
    }
    return obj(
        "apps/v1",
        "Deployment",
        meta(MANAGER, ctx.namespace, MANAGER_LABELS),
        spec={
            "replicas": 1,
            "selector": {"matchLabels": dict(MANAGER_POD_LABELS)},
            "template": {"metadata": {"labels": dict(MANAGER_POD_LABELS), "annotations": annotations}, "spec": pod},
        },
    )


# --- Webhook, TLS and configuration ----------------------------------------------------------------------------


def render_webhook_service(ctx: RenderContext) -> Manifest:
    return obj(
        "v1",
        "Service",
        meta(WEBHOOK_SERVICE, ctx.namespace, LABELS),
        spec={
            "ports": [{"port": 443, "targetPort": _port(ctx.core, "webhook.port")}],
            "selector": dict(MANAGER_POD_LABELS),
        },
    )


def _selectors(ctx: RenderContext) -> dict[str, Any]:
    """The webhook's namespaceSelector and objectSelector: which SeldonDeployments this manager validates."""
    v = ctx.core
    out: dict[str, Any] = {}
    kubeflow = v.bool("kubeflow")
    if v.bool("singleNamespace"):
        out["namespaceSelector"] = {"matchLabels": {CONTROLLER_ID_LABEL: ctx.namespace}}
    elif kubeflow:
        out["namespaceSelector"] = {
            **_unclaimed(),
            "matchLabels": {"serving.kubeflow.org/inferenceservice": "enabled"},
        }
    else:
        out["namespaceSelector"] = _unclaimed()
    if not kubeflow:
        controller_id = _controller_id(v)
        out["objectSelector"] = {"matchLabels": {CONTROLLER_ID_LABEL: controller_id}} if controller_id else _unclaimed()
    return out


def _unclaimed() -> dict[str, Any]:
    """Selects what no other Seldon Core manager claims with the controller-id label."""
    return {"matchExpressions": [{"key": CONTROLLER_ID_LABEL, "operator": "DoesNotExist"}]}


def _controller_id(v: Values) -> str:
    controller_id = v.str("controllerId")
    if not _LABEL_VALUE.match(controller_id):
        raise v.error("controllerId", "a label value (up to 63 letters, digits, '-', '_' or '.')", controller_id)
    return controller_id


def render_webhook_configuration(ctx: RenderContext, cert_manager: bool) -> Manifest:
    client_config: dict[str, Any] = {}
    if not cert_manager and ctx.webhook_ca_bundle is not None:
        client_config["caBundle"] = base64.b64encode(ctx.webhook_ca_bundle.encode()).decode()
    client_config["service"] = {"name": WEBHOOK_SERVICE, "namespace": ctx.namespace, "path": WEBHOOK_PATH}
    webhook: dict[str, Any] = {
        "name": WEBHOOK_NAME,
        "admissionReviewVersions": ["v1", "v1beta1"],
        "clientConfig": client_config,
        "failurePolicy": "Fail",
        "sideEffects": "None",
        **_selectors(ctx),
        "rules": [
            {
                "apiGroups": [GROUP],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["seldondeployments"],
            }
        ],
    }
    annotations = {INJECT_CA_ANNOTATION: f"{ctx.namespace}/{CERTIFICATE}"} if cert_manager else None
    return obj(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        meta(f"seldon-validating-webhook-configuration-{ctx.namespace}", labels=LABELS, annotations=annotations),
        webhooks=[webhook],
    )


def render_cert_manager(ctx: RenderContext) -> list[Manifest]:
    host = f"{WEBHOOK_SERVICE}.{ctx.namespace}.svc"
    return [
        obj(CERT_MANAGER_API, "Issuer", meta(ISSUER, ctx.namespace, LABELS), spec={"selfSigned": {}}),
        obj(
            CERT_MANAGER_API,
            "Certificate",
            meta(CERTIFICATE, ctx.namespace, LABELS),
            spec={
                "commonName": host,
                "dnsNames": [f"{host}.cluster.local", host],
                "issuerRef": {"kind": "Issuer", "name": ISSUER},
                "secretName": WEBHOOK_SECRET,
            },
        ),
    ]


def _json(v: Values, path: str) -> str:
    """The JSON of a values section, compact with sorted keys as Helm's ``toJson`` writes it: deterministic, so
    the ConfigMap changes only when the values do."""
    try:
        return json.dumps(v.map(path), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:  # keys of mixed types, NaN: not something the manager can read
        raise v.error(path, "a mapping of strings, numbers and booleans with string keys", v.raw(path)) from exc


def _check_predictor_servers(v: Values) -> None:
    """``predictor_servers.<SERVER>.protocols.<protocol>`` must each name an image and its default version."""
    for server, spec in v.map("predictor_servers").items():
        where = f"predictor_servers.{server}"
        protocols = spec.get("protocols") if isinstance(spec, dict) else None
        if not isinstance(protocols, dict) or not protocols:
            raise v.error(where, "a mapping with `protocols`", spec)
        for protocol, entry in protocols.items():
            if not isinstance(entry, dict):
                raise v.error(f"{where}.protocols.{protocol}", "a mapping {image, defaultImageVersion}", entry)
            _word(v, f"{where}.protocols.{protocol}.image", in_open_map=True)
            _word(v, f"{where}.protocols.{protocol}.defaultImageVersion", in_open_map=True)


def render_config_map(ctx: RenderContext) -> Manifest:
    v = ctx.core
    for key in ("cpuLimit", "cpuRequest", "memoryLimit", "memoryRequest"):
        _quantity(v, f"storageInitializer.{key}")
    for path in (
        "storageInitializer.image",
        "explainer.image",
        "explainer.image_v2",
        "credentials.gcs.gcsCredentialFileName",
        "credentials.s3.s3AccessKeyIDName",
        "credentials.s3.s3SecretAccessKeyName",
    ):
        _word(v, path)
    _check_predictor_servers(v)
    return obj(
        "v1",
        "ConfigMap",
        meta(CONFIG_MAP, ctx.namespace, MANAGER_LABELS),
        data={key: _json(v, key) for key in ("credentials", "explainer", "predictor_servers", "storageInitializer")},
    )


# --- SeldonDeployment CRD --------------------------------------------------------------------------------------


def seldondeployment_crd(ctx: RenderContext, cert_manager: bool) -> Manifest:
    annotations: dict[str, str] = {}
    if cert_manager:
        annotations[INJECT_CA_ANNOTATION] = f"{ctx.namespace}/{CERTIFICATE}"
    annotations.update(ctx.core.str_map("crd.annotations"))
    versions = [
        {
            "name": version,
            "served": True,
            "storage": version == "v1",
            "schema": {"openAPIV3Schema": seldondeployment_schema()},
            "subresources": {
                "status": {},
                "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
            },
            "additionalPrinterColumns": [
                {"name": "State", "type": "string", "jsonPath": ".status.state"},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
        }
        for version in CRD_VERSIONS
    ]
    return obj(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        meta(CRD_NAME, labels=LABELS, annotations=annotations),
        spec={
            "group": GROUP,
            "names": {
                "kind": "SeldonDeployment",
                "listKind": "SeldonDeploymentList",
                "plural": "seldondeployments",
                "singular": "seldondeployment",
                "shortNames": ["sdep"],
            },
            "scope": "Namespaced",
            "versions": versions,
        },
    )


# --- RBAC ------------------------------------------------------------------------------------------------------


def _owned(group: str, resources: tuple[str, ...], sub: tuple[str, ...] = ("status",)) -> list[dict[str, Any]]:
    """Full access to ``resources`` of ``group`` and get/patch/update on their ``sub`` subresources."""
    return [
        policy_rule([group], list(resources), CRUD_WATCH),
        policy_rule([group], [f"{r}/{s}" for r in resources for s in sub], STATUS_RW),
    ]


def manager_rules(cluster_wide: bool) -> list[dict[str, Any]]:
    """What the manager creates for each SeldonDeployment. The Role of ``singleNamespace`` has no namespaces."""
    rules = [policy_rule([""], ["events"], ("create", "patch"))]
    if cluster_wide:
        rules.append(policy_rule([""], ["namespaces"], READ))
    rules += [
        policy_rule([""], ["services"], CRUD_WATCH),
        *_owned("apps", ("deployments",)),
        *_owned("autoscaling", ("horizontalpodautoscalers",)),
        *_owned("getambassador.io", ("mappings", "tlscontexts")),
        policy_rule(["keda.sh"], ["scaledobjects", "scaledobjects/finalizers"], CRUD_WATCH),
        policy_rule(["keda.sh"], ["scaledobjects/status"], STATUS_RW),
        *_owned(GROUP, ("seldondeployments",), ("finalizers", "status")),
        *_owned("networking.istio.io", ("destinationrules", "virtualservices")),
        *_owned("policy", ("poddisruptionbudgets",)),
    ]
    return rules


def sas_rules(cluster_wide: bool) -> list[dict[str, Any]]:
    """Reading the secrets, service accounts (and cluster-wide, configmaps) that SeldonDeployments name."""
    resources = ["secrets", "configmaps", "serviceaccounts"] if cluster_wide else ["secrets", "serviceaccounts"]
    return [policy_rule([""], [r], READ) for r in resources]


def webhook_rules() -> list[dict[str, Any]]:
    """What the manager needs to create its webhook configuration and the CRD itself (managerCreateResources)."""
    return [
        policy_rule(
            ["admissionregistration.k8s.io"],
            ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
            ("get", "list", "create", "delete", "update"),
        ),
        policy_rule(["apps"], ["deployments/finalizers"], STATUS_RW),
        policy_rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], ("create", "get", "list")),
        policy_rule(["apiextensions.k8s.io"], ["customresourcedefinitions/finalizers"], STATUS_RW),
    ]


_ROLE_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")


def leader_election_rules() -> list[dict[str, Any]]:
    return [
        policy_rule([""], ["configmaps"], _ROLE_VERBS),
        policy_rule([""], ["configmaps/status"], ("get", "update", "patch")),
        policy_rule([""], ["events"], ("create", "patch")),
        policy_rule(["coordination.k8s.io"], ["leases"], _ROLE_VERBS),
    ]


def _role_and_binding(
    kind: str, role: str, binding: str, namespace: str | None, rules: list[dict[str, Any]], subject: dict[str, str]
) -> list[Manifest]:
    """A Role (namespace set) or ClusterRole (namespace None) and its binding to ``subject``."""
    binding_kind = "RoleBinding" if kind == "Role" else "ClusterRoleBinding"
    return [
        obj(RBAC_API, kind, meta(role, namespace, LABELS), rules=rules),
        obj(
            RBAC_API,
            binding_kind,
            meta(binding, namespace, LABELS),
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
            subjects=[subject],
        ),
    ]


def render_rbac(ctx: RenderContext) -> list[Manifest]:
    v = ctx.core
    ns = ctx.namespace
    account = _dns_name(v, "serviceAccount.name")
    out: list[Manifest] = []
    if v.bool("serviceAccount.create"):
        out.append(obj("v1", "ServiceAccount", meta(account, ns, LABELS)))
    if not v.bool("rbac.create"):
        return out
    subject = {"kind": "ServiceAccount", "name": account, "namespace": ns}
    sas = v.bool("rbac.configmap.create")
    if v.bool("singleNamespace"):
        out += _role_and_binding(
            "Role", "seldon1-manager-role", "seldon1-manager-rolebinding", ns, manager_rules(False), subject
        )
        if sas:
            out += _role_and_binding(
                "Role", "seldon1-manager-sas-role", "seldon1-manager-sas-rolebinding", ns, sas_rules(False), subject
            )
    else:
        out += _role_and_binding(
            "ClusterRole",
            f"seldon-manager-role-{ns}",
            f"seldon-manager-rolebinding-{ns}",
            None,
            manager_rules(True),
            subject,
        )
        if sas:
            out += _role_and_binding(
                "ClusterRole",
                f"seldon-manager-sas-role-{ns}",
                f"seldon-manager-sas-rolebinding-{ns}",
                None,
                sas_rules(True),
                subject,
            )
    if v.bool("managerCreateResources"):
        out += _role_and_binding(
            "ClusterRole",
            f"seldon-webhook-role-{ns}",
            f"seldon-webhook-rolebinding-{ns}",
            None,
            webhook_rules(),
            subject,
        )
    out += _role_and_binding(
        "Role", LEADER_ELECTION_ROLE, LEADER_ELECTION_BINDING, ns, leader_election_rules(), subject
    )
    return out


# --- Usage metrics (spartakus) ---------------------------------------------------------------------------------


def render_spartakus(ctx: RenderContext) -> list[Manifest]:
    """The anonymous usage reporter, in kube-system as the chart puts it. It lists nodes, cluster-wide."""
    ns = SPARTAKUS_NAMESPACE
    labels = {"app": SPARTAKUS}
    cluster_name = f"{SPARTAKUS}-{ctx.namespace}"
    extensions = f"{SPARTAKUS_CONFIG_DIR}/{SPARTAKUS_EXTENSIONS}"
    volunteer = {
        "name": SPARTAKUS,
        "image": SPARTAKUS_IMAGE,
        "command": ["/bin/sh"],
        # The cluster id is a fresh random UUID on every start: reports cannot be tied to a cluster.
        "args": [
            "-c",
            "/spartakus volunteer --cluster-id=$(cat /proc/sys/kernel/random/uuid) "
            f"--database={SPARTAKUS_DATABASE} --extensions={extensions}",
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "50m", "memory": "64Mi"}},
        "securityContext": {**restricted_security_context(), "readOnlyRootFilesystem": True},
        "volumeMounts": [{"name": "config", "mountPath": SPARTAKUS_CONFIG_DIR, "readOnly": True}],
    }
    pod = {
        "serviceAccountName": SPARTAKUS,
        "securityContext": restricted_pod_security_context(SPARTAKUS_UID),
        "containers": [volunteer],
        "volumes": [{"name": "config", "configMap": {"name": SPARTAKUS_CONFIG}}],
    }
    return [
        obj("v1", "ServiceAccount", meta(SPARTAKUS, ns, labels)),
        obj(
            "v1",
            "ConfigMap",
            meta(SPARTAKUS_CONFIG, ns, labels),
            data={SPARTAKUS_EXTENSIONS: json.dumps({"seldon-core-version": CHART_VERSION}, separators=(",", ":"))},
        ),
        *_role_and_binding(
            "ClusterRole",
            cluster_name,
            cluster_name,
            None,
            [policy_rule([""], ["nodes"], ("list",))],
            {"kind": "ServiceAccount", "name": SPARTAKUS, "namespace": ns},
        ),
        obj(
            "apps/v1",
            "Deployment",
            meta(SPARTAKUS, ns, labels),
            spec={
                "replicas": 1,
                "selector": {"matchLabels": dict(labels)},
                "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
            },
        ),
    ]


# --- Component -------------------------------------------------------------------------------------------------


def with_chart_defaults(values: Values) -> Values:
    """``values`` with every chart key present: a user ``null`` deletes a key (render/values.py), and here falls
    back to the chart's default; a scalar where the chart has a mapping is a SpecError naming the key."""

    def merge(defaults: Mapping[str, Any], node: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        out = dict(node)
        for key, default in defaults.items():
            path = f"{prefix}{key}"
            if key not in out:
                out[key] = copy.deepcopy(default)
            elif isinstance(default, Mapping):
                if not isinstance(out[key], Mapping):
                    raise values.error(path, "a mapping", out[key])
                if path not in OPEN_MAPS:  # an open map's children are the user's to delete
                    out[key] = merge(default, out[key], f"{path}.")
        return out

    return Values(values.root, merge(DEFAULTS, values.data, ""))


def render(ctx: RenderContext) -> list[Manifest]:
    ctx = dataclasses.replace(ctx, core=with_chart_defaults(ctx.core))
    v = ctx.core
    check_namespace(ctx)
    cert_manager = v.bool("certManager.enabled")
    v.bool("crd.forceV1")  # no effect (see the module docstring), but still a boolean
    v.bool("crd.forceV1beta1")
    out = [render_manager(ctx), *render_rbac(ctx)]
    if v.bool("crd.create"):
        out.append(seldondeployment_crd(ctx, cert_manager))
    if not v.bool("managerCreateResources"):
        out += [
            render_webhook_service(ctx),
            render_webhook_configuration(ctx, cert_manager),
            render_config_map(ctx),
        ]
    if cert_manager:
        out += render_cert_manager(ctx)
    if v.bool("usageMetrics.enabled"):
        out += render_spartakus(ctx)
    return out


COMPONENT = Component(
    name="seldon_core",
    title="Seldon Core",
    enabled=lambda spec: True,
    render=render,
    values=(ValuesSchema(root=CORE, defaults=DEFAULTS, optional=OPTIONAL, open_maps=OPEN_MAPS),),
)
