"""Seldon Deploy (always installed): the enterprise server and UI, as the Seldon Deploy chart 2.0.2 installs it
with a release named ``seldon-deploy`` (the release name contains the chart name, so every ``<release>-seldon-
deploy`` name collapses to ``seldon-deploy``, the name the seed's Verification shows).

Layer: components (pure).

Objects, in the SeldonOperator's namespace unless stated:

- Deployment and Service ``seldon-deploy`` (the Service's type is ``service.type``: the seed's LoadBalancer flow);
- ServiceAccount ``seldon-deploy`` (or ``serviceAccount.name``), ConfigMaps ``seldon-deploy-config`` and
  ``seldon-deploy-feature-flags``;
- RBAC: ClusterRole/ClusterRoleBinding ``seldon-deploy-role``/``seldon-deploy-rolebinding``, Role/RoleBinding
  ``seldon-deploy-role``/``seldon-deploy-rolebinding``, Role ``seldon-deploy-logs`` in the request logger's
  namespace (Deploy creates detectors there as Knative Services and Triggers) and, with Argo CD, Role
  ``seldon-deploy-argocd`` in ``gitops.argocd.namespace``;
- when asked for: the git Secret ``git-seldon-deploy``, the git webhook Service ``seldon-deploy-webhook``, an
  Ingress (``networking.k8s.io/v1``; the chart still uses the removed ``extensions/v1beta1``), the separate UI
  Deployment/Service ``seldon-deploy-ui`` (``ui.*``), and the licence ConfigMap ``seldon-deploy-license``.

Values: ``spec.enterprise.values`` are the chart's values. Defaults are the 2.0.2 chart's, with these departures:

- ``image.image`` is ``seldonio/seldon-deploy-server:2.0.2``: the chart's ``0.0.0`` is a placeholder;
- ``enableAppAuth`` is false: the platform installs no OIDC provider, and the seed's minimal flow lands on the
  licence prompt, not on a login page;
- ``gitops.argocd.enabled`` is false: Argo CD is not installed by the platform (the Deploy docs' trial values do
  the same);
- ``gitops.git.webhook.service.create`` is false: the seed's minimal flow shows one Service only (2.4.0's
  default);
- ``seldonCoreV2.enabled`` is false: the platform installs Seldon Core v1 only (2.4.0's default);
- ``license`` (added): the Deploy licence. When set it is rendered as ConfigMap ``seldon-deploy-license``, key
  ``license``, as the upstream seldon-deploy-operator applies it, and its sha256 is a pod-template annotation so
  that a new licence restarts the server (the operator repo restarts the pod by hand);
- ``elasticsearch.basicAuth`` stays true, but while ``enable.payloadstore`` is off the credentials' secret
  references are optional: there is no payload store to authenticate to, and the minimal install must start
  without ``elastic-credentials``;
- ``CLIENT_SECRET`` is not the chart's literal ``deploy-secret`` but a reference to the generated Secret
  ``seldon-deploy-oidc`` (key ``CLIENT_SECRET``), which the admin fills with the OIDC client's secret; an
  ``env.CLIENT_SECRET`` value still wins;
- Pod Security "restricted": the pods run as uid 8888 (Seldon's ``defaultUserID``), non-root, seccomp
  RuntimeDefault; the containers drop every capability; the server has the 1.2.1 chart's CPU limit (800m).

Keys other components own: ``virtualService.*`` (routing renders the VirtualService; ``create`` and ``prefix`` are
read here for ``EXTERNAL_PREFIX``) and ``requestLogger.*`` (the request logger; ``namespace.name`` is read here for
``REQUEST_LOGGER_NAMESPACE`` and the logs Role). ``nameOverride``/``fullnameOverride`` are not honoured: other
components address Deploy by the fixed name ``seldon-deploy`` (components/names.py), so they get the "no
component reads this key" warning. OpenShift-only keys (``openshiftMarketplace.*``) are not read either.

Wiring: ``requestLogger.deployHost`` points the request logger at this server's API. Analytics, the trial
PostgreSQL and OpenSearch, routing and the request logger wire ``prometheus.seldon.*``, ``metadata.pg.*``,
``elasticsearch.*``, ``virtualService.*`` and ``requestLogger.namespace.name`` into this tree.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from seldon_meta_operator.components import names
from seldon_meta_operator.components.base import (
    CRUD_WATCH,
    ENTERPRISE,
    READ,
    SELDON_UID,
    STATUS_RW,
    Component,
    EnvList,
    GeneratedSecret,
    Layers,
    Manifest,
    RenderContext,
    Values,
    ValuesSchema,
    WiringContext,
    meta,
    obj,
    policy_rule,
    restricted_pod_security_context,
    secret_env,
    values_path,
)
from seldon_meta_operator.errors import SpecError, brief

NAME = names.DEPLOY  # Deployment, Service, ServiceAccount and container name
RELEASE = names.DEPLOY
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": RELEASE}
UI = f"{NAME}-ui"
UI_LABELS = {"app.kubernetes.io/name": UI, "app.kubernetes.io/instance": RELEASE}
CONFIG_MAP = "seldon-deploy-config"
LICENSE_CONFIG_MAP = "seldon-deploy-license"
LICENSE_KEY = "license"
LICENSE_CHECKSUM_ANNOTATION = "operator.seldon.io/license-checksum"
GIT_SECRET = f"git-{NAME}"  # created from gitops.git.user/email/token when no gitops.git.secret is given
WEBHOOK_SERVICE = f"{NAME}-webhook"
CLUSTER_ROLE = "seldon-deploy-role"
CLUSTER_ROLE_BINDING = "seldon-deploy-rolebinding"
ROLE = "seldon-deploy-role"
ROLE_BINDING = "seldon-deploy-rolebinding"
LOGS_ROLE = "seldon-deploy-logs"
LOGS_ROLE_BINDING = "seldon-deploy-logs-rolebinding"
ARGOCD_ROLE = "seldon-deploy-argocd"
#: The OIDC client's secret (env ``CLIENT_SECRET``): generated once, never overwritten, so the admin can put the
#: secret of Deploy's OIDC client in it. The chart's literal ``deploy-secret`` is not rendered (issue 8).
OIDC_SECRET = "seldon-deploy-oidc"
OIDC_CLIENT_SECRET_KEY = "CLIENT_SECRET"
ARGOCD_ROLE_BINDING = "seldon-deploy-argocd-rolebinding"
CUSTOM_THEME_SECRET = "seldon-deploy-custom-theme"

HTTP_PORT = 8000
METRICS_PORT = 8001
WEBHOOK_PORT = 8080
STATUS_PATH = f"{names.DEPLOY_PREFIX}api/status"
API_PATH = f"{names.DEPLOY_PREFIX}api/v1alpha1"
FEATURE_FLAGS_DIR = "/etc/feature-flags"
POLICIES_DIR = "/etc/policies"

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("http", "https")
PATH_TYPES = ("Prefix", "Exact", "ImplementationSpecific")
RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"

# --- Default values: the chart's (upstream-seldon-facts.md §4.3, chart 2.0.2) -----------------------------------

# Go-template forms the server fills in to show users how to call a model (ConfigMap seldon-deploy-config).
_EXTERNAL_IP = (
    "CLUSTER_IP=$(kubectl -n {{ .IngressNamespace }} get service {{ .IngressServiceName }} "
    "-o jsonpath='{.status.loadBalancer.ingress[0].ip}')"
)
_MODEL_PATH = "/seldon/{{ .Namespace }}/{{ .ModelName }}"
_EXPLAINER = "http://{{ .ModelName }}-{{ .Predictor }}-explainer.{{ .Namespace }}:9000"
_MESH = "{{ .SeldonProtocol }}://seldon-mesh.{{ .Namespace }}.svc.cluster.local/v2"


def _curl_form(path: str) -> str:
    call = (
        'curl -k -H "{{ .TokenHeader }}: {{ .Token }} " -H "Content-Type: application/json" '
        f"{{{{ .SeldonProtocol }}}}://$CLUSTER_IP{_MODEL_PATH}{path} -d '{{{{ .Payload }}}}'"
    )
    return f"{_EXTERNAL_IP}<br>\n{call}\n"


def _request_form(path: str) -> str:
    return f"{{{{ .SeldonProtocol }}}}://{{{{ .IngressServiceName }}}}{_MODEL_PATH}{path}"


SELDON_FORMS: dict[str, str] = {
    "curlForm": _curl_form("/api/v0.1/predictions"),
    "tensorFlowCurlForm": _curl_form("/v1/models/:predict"),
    "seldonRequestForm": _request_form("/api/v0.1/predictions"),
    "tensorflowRequestForm": _request_form("/v1/models/{{ .GraphModelName }}:predict"),
    "v2RequestForm": _request_form("/v2/models/{{ .GraphModelName }}/infer"),
    "explainForm": f"{_EXPLAINER}/v1/models/{{{{ .ModelName }}}}:explain",
    "tensorflowExplainForm": f"{_EXPLAINER}/v1/models/{{{{ .GraphModelName }}}}:explain",
    "v2ExplainForm": f"{_EXPLAINER}/explain",
}
CORE_V2_FORMS: dict[str, str] = {
    "curlForm": (
        f"{_EXTERNAL_IP}<br>\n"
        "curl -v {{ .SeldonProtocol }}://$CLUSTER_IP/v2/models/{{ .ModelName }}/infer "
        '-H "Content-Type: application/json" -H "seldon-model: {{ .ModelName }}.pipeline" '
        "-H \"Host: {{ .Namespace }}.inference.seldon\" -d '{{ .Payload }}'\n"
    ),
    "requestForm": f"{_MESH}/pipelines/{{{{ .ModelName }}}}/infer",
    "explainForm": f"{_MESH}/models/{{{{ .GraphModelName }}}}/infer",
}

DEFAULTS: dict[str, Any] = {
    "replicaCount": 1,
    # Departure: the chart's tag 0.0.0 is a placeholder that every install overrides.
    "image": {"image": "seldonio/seldon-deploy-server:2.0.2", "pullPolicy": "Always"},
    "applicationLogs": {
        "elasticIndexPattern": "kubernetes_cluster-*",
        "elasticNamespaceField": "kubernetes.namespace_name",
        "elasticContainerNameField": "kubernetes.container_name",
        "elasticPodNameField": "kubernetes.pod_name",
    },
    "loadtest": {"image": "seldonio/hey-loadtester:0.2"},
    "alibidetect": {"image": "seldonio/alibi-detect-server:1.15.0"},
    "service": {"type": "ClusterIP", "port": 80},
    "defaultUserID": "8888",
    # Departure: no OIDC provider is installed by the platform; the seed's minimal flow shows the licence prompt.
    "enableAppAuth": False,
    "enableAppAnalytics": True,
    "env": {
        "USERID_CLAIM_KEY": "preferred_username",
        "OIDC_PROVIDER": "",
        "CLIENT_ID": "deploy-server",
        "REDIRECT_URL": "",
        "OIDC_SCOPES": "profile email groups",
        "SELDON_MANAGED_INFRA": "false",
        "ALERTMANAGER_URL": "http://seldon-monitoring-alertmanager.seldon-system:9093/api/v1/alerts",
        "NAMESPACE_CACHE_DURATION": "2m",
        "REFERENCE_DATA_FORWARDER_IMAGE": "seldonio/reference-data-forwarder:0.3.0",
    },
    "ingress": {
        "enabled": False,
        "annotations": {},
        "hosts": [{"host": "chart-example.local", "paths": []}],
        "tls": [],
    },
    # The 1.2.1 chart's CPU limit (2.0.2 has none): every container gets CPU and memory limits (issue 8).
    "resources": {"limits": {"cpu": "800m", "memory": "800Mi"}, "requests": {"cpu": "100m", "memory": "200Mi"}},
    "serviceAccount": {"create": True},
    "gitops": {
        "git": {
            "secret": "git-creds",
            "user": "",
            "email": "",
            "token": "",
            "skipVerifyGit": True,
            # Departure: the seed's `kubectl get svc | grep seldon-deploy` shows one Service (2.4.0's default).
            "webhook": {"service": {"create": False}},
        },
        "fileFormat": "json",
        # Departure: Argo CD is not installed by the platform (the Deploy docs' trial values turn it off too).
        "argocd": {"enabled": False, "namespace": "argocd"},
    },
    "workflow": {"serviceAccount": "workflow", "securityContext": {"runAsUser": 1000, "fsGroup": 1000}},
    "batchjobs": {
        "processor": {"image": "seldonio/seldon-core-s2i-python37:1.15.0"},
        "processorV2": {"image": "seldonio/mlserver:1.2.0.dev13-slim"},
        "storageInitializer": {"image": "seldonio/rclone-storage-initializer:1.15.0"},
        "pvc": {"defaultSize": "1Gi"},
    },
    "seldon": {"protocol": "http", "enabled": True, "knativeEnabled": True, **SELDON_FORMS},
    # Departure: the platform installs Seldon Core v1 only, so Deploy must not look for v2 pipelines.
    "seldonCoreV2": {"protocol": "http", "enabled": False, **CORE_V2_FORMS},
    "external": {"protocol": "http"},
    "ingressGateway": {"seldonIngressService": "istio-ingressgateway", "ingressNamespace": "istio-system"},
    "rbac": {
        "create": True,
        "clusterWide": True,
        "readNamespaces": True,
        "nsLabelsAuth": {"enabled": True},
        "opa": {
            "enabled": False,
            "configMap": "seldon-deploy-policies",
            "projectAuthEnabled": False,
            "permissionManagementAPIDisabled": False,
            "istioPolicySyncInterval": "",
        },
    },
    "nodeSelector": {},
    "tolerations": [],
    "affinity": {},
    "skipVerifyHttpCalls": True,
    "prometheus": {
        "seldon": {
            "url": "http://seldon-monitoring-prometheus.seldon-system:9090/api/v1/",
            "namespaceMetricName": "namespace",
            "activeModelsNamespaceMetricName": "exported_namespace",
            "serviceMetricName": "service",
        }
    },
    "elasticsearch": {
        "url": "https://opensearch-cluster-master.seldon-logs.svc.cluster.local:9200",
        "basicAuth": True,
        "secret": {"name": names.ELASTIC_SECRET, "userKey": "username", "passwordKey": "password"},
    },
    "metadata": {
        "pg": {"enabled": False, "secret": names.METADATA_POSTGRES_SECRET},
        "disableRuntimeMetadata": False,
        "disableRuntimeWatchers": False,
        "authorizeModelsByProject": False,
    },
    "audit": {
        "stdout": {"enabled": False},
        "fluentd": {
            "enabled": False,
            "requireConn": True,
            "host": "audit-fluentd-aggregator.seldon-logs.svc.cluster.local",
            "port": 24224,
        },
    },
    "featureFlags": {"envPrefix": "SD_FLAG_", "configMap": "seldon-deploy-feature-flags"},
    "keycloakUserManagement": {
        "enabled": False,
        "keycloakBasePath": "",
        "username": "",
        "password": "",
        "masterRealm": "master",
        "userRealm": "deploy-realm",
        "debug": "true",
        "tls_insecure": "false",
    },
}

#: Keys read when set, with no default (commented out in the chart, or added here).
OPTIONAL = (
    "imagePullSecrets",
    "service.nodePort",
    "service.loadBalancerSourceRanges",
    "serviceAccount.name",
    "ingress.className",  # (added) spec.ingressClassName of the networking.k8s.io/v1 Ingress
    "gitops.git.webhook.service.loadBalancerSourceRanges",
    "prometheus.seldon.resourceMetricsUrl",
    "prometheus.seldon.jwtSecretName",
    "prometheus.seldon.jwtSecretKey",
    "elasticsearch.jwtSecretName",
    "elasticsearch.jwtSecretKey",
    "metadata.pg.clientTLSSecret",
    "ui.image",
    "ui.pullPolicy",
    "ui.replicaCount",
    "ui.imagePullSecrets",
    "license",  # (added) the Deploy licence, see the module docstring
)
OPEN_MAPS = ("env", "resources", "nodeSelector", "affinity", "ingress.annotations")

# --- Wiring --------------------------------------------------------------------------------------------------


def api_url(namespace: str, port: int = 80) -> str:
    """The server's API base URL inside the cluster (the request logger's ``DEPLOY_API_HOST``)."""
    host = f"{NAME}.{namespace}" + ("" if port == 80 else f":{port}")
    return f"http://{host}{API_PATH}"


def wiring(w: WiringContext) -> Layers:
    service = w.spec.enterprise.values.get("service")
    raw_port = service.get("port") if isinstance(service, Mapping) else None
    # A bad port is reported by render; the wiring only follows a valid one.
    service_port = raw_port if isinstance(raw_port, int) and not isinstance(raw_port, bool) else 80
    return {ENTERPRISE: {"requestLogger": {"deployHost": api_url(w.namespace, service_port)}}}


# --- Reading values ------------------------------------------------------------------------------------------


def _b(flag: bool) -> str:
    return "true" if flag else "false"


def _text(values: Values, path: str) -> str:
    """A scalar as Helm would print it into a quoted env value: booleans as true/false."""
    raw = values.raw(path)
    return _b(raw) if isinstance(raw, bool) else values.str(path)


def _port(values: Values, path: str) -> int:
    port = values.int(path)
    if not 1 <= port <= 65535:
        raise values.error(path, "a port number between 1 and 65535", port)
    return port


def _string_list(values: Values, path: str) -> list[str]:
    raw = values.raw(path, None)
    if raw is None or (isinstance(raw, Mapping) and not raw):  # 2.4.0 defaults some lists to {}
        return []
    items = values.list(path)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise values.error(f"{path}[{i}]", "a non-empty string", item)
    return items


def _pod_spec(v: Values, container: dict[str, Any], volumes: list[Any], pull_secrets_key: str) -> dict[str, Any]:
    """The pod of the server or of the UI: Deploy's ServiceAccount, one container, scheduling values."""
    pod: dict[str, Any] = {
        "serviceAccountName": service_account_name(v),
        # Pod Security "restricted", as Seldon's uid: the server's image is not known to name a numeric user.
        "securityContext": restricted_pod_security_context(SELDON_UID),
        "containers": [container],
        "volumes": volumes,
        **_scheduling(v),
    }
    if pull_secrets := _pull_secrets(v, pull_secrets_key):
        pod["imagePullSecrets"] = pull_secrets
    return pod


def _pull_secrets(values: Values, path: str) -> list[dict[str, str]]:
    """``[{name: regcred}]`` as the chart takes it; a bare name is accepted too."""
    out: list[dict[str, str]] = []
    for i, item in enumerate(values.list(path, [])):
        if isinstance(item, str) and item:
            out.append({"name": item})
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str) and item["name"]:
            out.append({"name": item["name"]})
        else:
            raise values.error(f"{path}[{i}]", "a Secret reference `{name: <secret>}`", item)
    return out


def service_account_name(values: Values) -> str:
    return values.opt_str("serviceAccount.name") or NAME


def request_logger_namespace(ctx: RenderContext) -> str:
    """Where the request logger runs and Deploy creates detectors. The request logger component declares the
    key and wires it; the platform's namespace is the fallback while nothing does."""
    return ctx.enterprise.opt_str("requestLogger.namespace.name") or ctx.namespace


def license_text(values: Values) -> str | None:
    raw = values.raw("license", None)
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise values.error("license", "the Seldon Deploy licence as a non-empty string", "<redacted>")
    return raw


def check_integrations(values: Values) -> list[str]:
    """Settings that only work together with others: each message names the field to set, and the switch that
    turns the integration off."""
    errors: list[str] = []

    def need(path: str, why: str, switch: str | None = None, otherwise: str | None = None) -> None:
        """``switch``: the boolean that turns the integration off; ``otherwise``: another way out."""
        if not values.opt_str(path):
            fix = (
                "set it" + (f", or set {switch}: false" if switch else "") + (f", or {otherwise}" if otherwise else "")
            )
            errors.append(f"{values_path(values.root, path)}: {why}; {fix}")

    if values.bool("enableAppAuth"):
        need("env.OIDC_PROVIDER", "app auth needs your OIDC issuer URL", "enableAppAuth")
        need(
            "env.REDIRECT_URL",
            "app auth needs the login callback `<Seldon Deploy URL>/seldon-deploy/auth/callback`",
            "enableAppAuth",
        )
    if values.bool("gitops.argocd.enabled") and not values.opt_str("gitops.git.user"):
        need(
            "gitops.git.secret",
            "GitOps with Argo CD needs git credentials: a Secret with keys username, email and token (or id_rsa)",
            "gitops.argocd.enabled",
            "give gitops.git.user, gitops.git.email and gitops.git.token instead",
        )
    if values.bool("audit.fluentd.enabled"):
        need("audit.fluentd.host", "audit logging to Fluentd needs the Fluentd host", "audit.fluentd.enabled")
    if values.bool("keycloakUserManagement.enabled"):
        need(
            "keycloakUserManagement.keycloakBasePath",
            "Keycloak user management needs the Keycloak base URL (e.g. https://keycloak.example.com/auth)",
            "keycloakUserManagement.enabled",
        )
    if values.bool("metadata.pg.enabled"):
        need(
            "metadata.pg.secret",
            "the PostgreSQL metadata store needs the Secret with keys host, port, user, password, dbname and sslmode",
            "metadata.pg.enabled",
        )
    if values.bool("elasticsearch.basicAuth"):
        for key, what in (("name", "the Secret"), ("userKey", "the user's key"), ("passwordKey", "the password's key")):
            need(
                f"elasticsearch.secret.{key}",
                f"Elasticsearch basic auth needs {what} holding its credentials",
                "elasticsearch.basicAuth",
            )
    if values.bool("rbac.opa.enabled"):
        need("rbac.opa.configMap", "OPA authorization needs the ConfigMap holding its policies", "rbac.opa.enabled")
    need(
        "workflow.serviceAccount",
        "batch jobs (Argo Workflows) run as this ServiceAccount in each model namespace (chart default `workflow`)",
    )
    for prefix in ("elasticsearch", "prometheus.seldon"):
        if values.opt_str(f"{prefix}.jwtSecretName"):
            need(
                f"{prefix}.jwtSecretKey",
                f"a token from {prefix}.jwtSecretName needs the key holding it",
                otherwise=f"remove {prefix}.jwtSecretName",
            )
    return errors


# --- The server's environment --------------------------------------------------------------------------------


def _server_env(ctx: RenderContext) -> EnvList:
    """Every env var the server reads except the ``env.*`` map, with the chart's conditions (facts §4.5)."""
    v = ctx.enterprise
    env = EnvList()
    if v.bool("enableAppAuth"):
        env.add("ENABLE_APP_AUTH", "true")
    if v.bool("enableAppAnalytics"):
        env.add("ENABLE_APP_ANALYTICS", "true")
    env.add("ENABLE_READ_NAMESPACES", _b(v.bool("rbac.readNamespaces")))
    env.add("LOADTEST_IMAGE", v.str("loadtest.image"))
    env.add("ALIBI_DETECT_SERVER_IMAGE", v.str("alibidetect.image"))
    env.add("BATCHJOBS_PROCESSOR_IMAGE", v.str("batchjobs.processor.image"))
    env.add("BATCHJOBS_PROCESSOR_V2_IMAGE", v.str("batchjobs.processorV2.image"))
    env.add("BATCHJOBS_STORAGE_INITIALIZER_IMAGE", v.str("batchjobs.storageInitializer.image"))
    env.add("BATCHJOBS_PVC_DEFAULT_SIZE", v.str("batchjobs.pvc.defaultSize"))
    env.add("WORKFLOW_SECURITY_CONTEXT_RUN_AS_USER", str(v.int("workflow.securityContext.runAsUser")))
    env.add("WORKFLOW_SECURITY_CONTEXT_FS_GROUP", str(v.int("workflow.securityContext.fsGroup")))
    if file_format := v.opt_str("gitops.fileFormat"):
        env.add("GITOPS_FORMAT", file_format)
    argocd = v.bool("gitops.argocd.enabled")
    if argocd:
        env.add("ARGOCD_NAMESPACE", v.str("gitops.argocd.namespace"))
    env.add("REQUEST_LOGGER_NAMESPACE", request_logger_namespace(ctx))
    if v.bool("metadata.pg.enabled"):
        pg_secret = v.str("metadata.pg.secret")
        env.add("METADATA_PG_ENABLED", "true")
        for var, key in (
            ("HOST", "host"),
            ("PORT", "port"),
            ("USER", "user"),
            ("PASSWORD", "password"),
            ("DBNAME", "dbname"),
            ("SSLMODE", "sslmode"),
        ):
            env.secret(f"METADATA_PG_{var}", pg_secret, key)
    if v.bool("metadata.disableRuntimeMetadata"):
        env.add("DISABLE_RUNTIME_META", "true")
    if v.bool("metadata.disableRuntimeWatchers"):
        env.add("DISABLE_RUNTIME_META_WATCHERS", "true")
    if v.bool("metadata.authorizeModelsByProject"):
        env.add("ENABLE_PROJECT_META_AUTH", "true")
    if argocd:
        if git_secret := v.opt_str("gitops.git.secret"):
            env.secret("GIT_USER", git_secret, "username")
            env.secret("GIT_TOKEN", git_secret, "token", optional=True)
            env.secret("GIT_EMAIL", git_secret, "email")
            env.secret("GIT_SSHKEY", git_secret, "id_rsa", optional=True)
            env.secret("GIT_SSHKEY_PASSPHRASE", git_secret, "passphrase", optional=True)
        else:
            # Only the keys the user gave exist in the Secret we create (render_git_secret).
            for var, key in _git_literals(v):
                env.secret(var, GIT_SECRET, key)
    if v.opt_str("external.protocol"):
        env.add("EXTERNAL_PROTOCOL", v.str("external.protocol", choices=PROTOCOLS))
    if v.bool("virtualService.create", False):
        env.add("EXTERNAL_PREFIX", v.str("virtualService.prefix", names.DEPLOY_PREFIX))
    if jwt := v.opt_str("elasticsearch.jwtSecretName"):
        env.secret("ELASTICSEARCH_TOKEN", jwt, v.str("elasticsearch.jwtSecretKey"))
    if v.bool("elasticsearch.basicAuth"):
        # Without a payload store there is nothing to authenticate to: optional, so that the minimal install
        # starts without the elastic-credentials Secret.
        optional = None if ctx.spec.enable.payloadstore else True
        secret = v.str("elasticsearch.secret.name")
        env.secret("ELASTICSEARCH_USER", secret, v.str("elasticsearch.secret.userKey"), optional)
        env.secret("ELASTICSEARCH_PASS", secret, v.str("elasticsearch.secret.passwordKey"), optional)
    if jwt := v.opt_str("prometheus.seldon.jwtSecretName"):
        env.secret("PROMETHEUS_SELDON_TOKEN", jwt, v.str("prometheus.seldon.jwtSecretKey"))
    env.add("WORKFLOW_SERVICE_ACCOUNT", v.str("workflow.serviceAccount"))
    if user_id := v.opt_str("defaultUserID"):
        env.add("DEFAULT_USER_ID", user_id)
    env.add("ENABLE_NS_LABELS_AUTHORIZATION", _b(v.bool("rbac.nsLabelsAuth.enabled")))
    if v.bool("rbac.opa.enabled"):
        env.add("ENABLE_OPA_AUTHORIZATION", "true")
        env.add("OPA_DATA_FILE", f"{POLICIES_DIR}/data")
        if v.bool("rbac.opa.projectAuthEnabled"):
            env.add("ENABLE_PROJECT_META_AUTH", "true")
        if v.bool("rbac.opa.permissionManagementAPIDisabled"):
            env.add("DISABLE_PERM_MANAGEMENT_API", "true")
        env.add("OPA_CONFIG_MAP_NAME", v.str("rbac.opa.configMap"))
        if interval := v.opt_str("rbac.opa.istioPolicySyncInterval"):
            env.add("OPA_ISTIO_POLICY_SYNC_INTERVAL", interval)
        if ingress_ns := v.opt_str("ingressGateway.ingressNamespace"):
            env.add("OPA_ISTIO_POLICY_SYNC_NAMESPACE", ingress_ns)
    if v.bool("audit.stdout.enabled"):
        env.add("AUDIT_TO_STDOUT", "true")
    if v.bool("audit.fluentd.enabled"):
        env.add("AUDIT_TO_FLUENTD", "true")
        if v.bool("audit.fluentd.requireConn"):
            env.add("AUDIT_FLUENTD_REQUIRE_CONN", "true")
        env.add("AUDIT_FLUENTD_HOST", v.str("audit.fluentd.host"))
        env.add("AUDIT_FLUENTD_PORT", str(_port(v, "audit.fluentd.port")))
    flag_prefix = v.opt_str("featureFlags.envPrefix") or ""
    if v.bool("keycloakUserManagement.enabled"):
        env.add(f"{flag_prefix}USER_MANAGEMENT_ENABLED", "true")
        for var, key in (
            ("KEYCLOAK_BASE_PATH", "keycloakBasePath"),
            ("KEYCLOAK_USERNAME", "username"),
            ("KEYCLOAK_PASSWORD", "password"),
            ("KEYCLOAK_MASTER_REALM", "masterRealm"),
            ("KEYCLOAK_USER_REALM", "userRealm"),
            ("KEYCLOAK_USER_MANAGER_DEBUG", "debug"),
            ("KEYCLOAK_TLS_INSECURE_SKIP_VERIFY", "tls_insecure"),
        ):
            path = f"keycloakUserManagement.{key}"
            if v.raw(path, None) not in (None, ""):
                env.add(var, _text(v, path))
    if flag_prefix:
        env.add("FEATURE_FLAGS_ENV_PREFIX", flag_prefix)
    if v.opt_str("featureFlags.configMap"):
        env.add("FEATURE_FLAGS_CONFIG_FILE", f"{FEATURE_FLAGS_DIR}/flags")
    for var, key in (
        ("APP_LOGS_ELASTIC_INDEX_PATTERN", "elasticIndexPattern"),
        ("APP_LOGS_ELASTIC_NAMESPACE_FIELD", "elasticNamespaceField"),
        ("APP_LOGS_ELASTIC_CONTAINER_NAME_FIELD", "elasticContainerNameField"),
        ("APP_LOGS_ELASTIC_POD_NAME_FIELD", "elasticPodNameField"),
    ):
        if value := v.opt_str(f"applicationLogs.{key}"):
            env.add(var, value)
    env.add("SELDONDEPLOYMENTS", _b(v.bool("seldon.enabled")))
    env.add("SELDONPIPELINES", _b(v.bool("seldonCoreV2.enabled")))
    env.add("KNATIVE", _b(v.bool("seldon.knativeEnabled")))
    return env


def _user_env(values: Values, derived: EnvList) -> list[dict[str, Any]]:
    """``env.*``: every entry becomes an env var, sorted by name as Helm ranges over a map."""
    user = values.str_map("env")
    clashes = sorted(k for k in user if k in derived.entries)
    if clashes:
        raise SpecError(
            "; ".join(
                f"{values_path(values.root, 'env.' + k)}: Seldon Deploy sets {k} itself from its chart values; "
                "remove it from env and set the chart value instead"
                for k in clashes
            )
        )
    return [{"name": k, "value": user[k]} for k in sorted(user)]


def container_env(ctx: RenderContext) -> list[dict[str, Any]]:
    own = "SELDON_DEPLOY_NAMESPACE"
    namespace: dict[str, Any] = {"name": own, "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}
    derived = _server_env(ctx)
    derived.entries.setdefault(own, namespace)  # reserved: a user env entry may not replace it
    if OIDC_CLIENT_SECRET_KEY not in ctx.enterprise.str_map("env"):
        # Not the chart's literal `deploy-secret`: a generated Secret the admin puts the OIDC client's secret in.
        derived.secret(OIDC_CLIENT_SECRET_KEY, OIDC_SECRET, OIDC_CLIENT_SECRET_KEY)
    user = _user_env(ctx.enterprise, derived)
    rest = [e for name, e in derived.entries.items() if name != own]
    return [namespace, *user, *rest]


def _git_literals(values: Values) -> list[tuple[str, str]]:
    """(env var, Secret key) for the git credentials given as values, in the Secret we create."""
    return [
        (var, key)
        for var, key, path in (
            ("GIT_USER", "username", "gitops.git.user"),
            ("GIT_TOKEN", "token", "gitops.git.token"),
            ("GIT_EMAIL", "email", "gitops.git.email"),
        )
        if values.opt_str(path)
    ]


# --- Objects -------------------------------------------------------------------------------------------------


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _probe(path: str) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}}


#: Restrictions the server works with: it runs unprivileged on OpenShift's restricted profile (the UBI image is
#: certified there), which drops every capability and forbids privilege escalation. No runAsNonRoot: the image's
#: user is not documented, and OpenShift assigns one itself.
SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _volumes(ctx: RenderContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, mounts) of the server, each with the chart's condition."""
    v = ctx.enterprise
    volumes: list[dict[str, Any]] = [
        {"name": "custom-theme", "secret": {"secretName": CUSTOM_THEME_SECRET, "optional": True}}
    ]
    mounts: list[dict[str, Any]] = [{"name": "custom-theme", "mountPath": "/seldon-deploy/custom-theme"}]
    if v.bool("gitops.argocd.enabled") and (git_secret := v.opt_str("gitops.git.secret")):
        volumes.append(
            {
                "name": "ssh-known-hosts",
                "secret": {
                    "secretName": git_secret,
                    "optional": True,
                    "items": [{"key": "known_hosts", "path": "ssh_known_hosts"}],
                },
            }
        )
        mounts.append({"name": "ssh-known-hosts", "mountPath": "/etc/ssh"})
    if v.bool("rbac.opa.enabled"):
        volumes.append({"name": "policies", "configMap": {"name": v.str("rbac.opa.configMap")}})
        mounts.append({"name": "policies", "mountPath": POLICIES_DIR})
    if flags := v.opt_str("featureFlags.configMap"):
        volumes.append({"name": "feature-flags", "configMap": {"name": flags}})
        mounts.append({"name": "feature-flags", "mountPath": FEATURE_FLAGS_DIR})
    if v.bool("metadata.pg.enabled"):
        if client_tls := v.opt_str("metadata.pg.clientTLSSecret"):
            volumes.append(
                {
                    "name": "metadata-pg-client-certs",
                    "secret": {
                        "secretName": client_tls,
                        "optional": True,
                        # Owner read-only: libpq refuses a private key others can read.
                        "defaultMode": 0o400,
                        "items": [
                            {"key": "tls.crt", "path": "client-cert.pem"},
                            {"key": "tls.key", "path": "client-key.pem"},
                        ],
                    },
                }
            )
            mounts.append({"name": "metadata-pg-client-certs", "mountPath": "/etc/pgsql/client", "readOnly": True})
        volumes.append(
            {
                "name": "metadata-pg-ca-certs",
                "secret": {
                    "secretName": v.str("metadata.pg.secret"),
                    "optional": True,  # ca.crt is an optional key of the metadata Secret
                    "items": [{"key": "ca.crt", "path": "server-ca.pem"}],
                },
            }
        )
        mounts.append({"name": "metadata-pg-ca-certs", "mountPath": "/etc/pgsql/ca", "readOnly": True})
    return volumes, mounts


def _scheduling(values: Values) -> dict[str, Any]:
    """nodeSelector, affinity and tolerations, omitted when empty."""
    out: dict[str, Any] = {}
    if node_selector := values.str_map("nodeSelector"):
        out["nodeSelector"] = node_selector
    if affinity := values.map("affinity"):
        out["affinity"] = affinity
    tolerations = values.list("tolerations")
    for i, toleration in enumerate(tolerations):
        if not isinstance(toleration, Mapping):
            raise values.error(f"tolerations[{i}]", "a toleration mapping", toleration)
    if tolerations:
        out["tolerations"] = tolerations
    return out


def render_deployment(ctx: RenderContext, license_value: str | None) -> Manifest:
    v = ctx.enterprise
    replicas = v.int("replicaCount")
    if replicas < 0:
        raise v.error("replicaCount", "a number of replicas, 0 or more", replicas)
    volumes, mounts = _volumes(ctx)
    container: dict[str, Any] = {
        "name": NAME,
        "image": v.str("image.image"),
        "imagePullPolicy": v.str("image.pullPolicy", choices=PULL_POLICIES),
        "ports": [
            {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
            {"name": "webhook", "containerPort": WEBHOOK_PORT, "protocol": "TCP"},
        ],
        "env": container_env(ctx),
        "livenessProbe": _probe(STATUS_PATH),
        "readinessProbe": _probe(STATUS_PATH),
        "resources": v.map("resources") or None,
        "securityContext": copy.deepcopy(SECURITY_CONTEXT),
        "volumeMounts": mounts,
    }
    container = _without_none(container)
    annotations = {"prometheus.io/scrape": "true", "sidecar.istio.io/inject": "false"}
    if license_value is not None:
        # A new licence changes the pod template, so the server restarts and reads it.
        annotations[LICENSE_CHECKSUM_ANNOTATION] = hashlib.sha256(license_value.encode()).hexdigest()
    pod = _pod_spec(v, container, volumes, "imagePullSecrets")
    return obj(
        "apps/v1",
        "Deployment",
        meta(NAME, ctx.namespace, LABELS),
        spec={
            "replicas": replicas,
            "selector": {"matchLabels": dict(LABELS)},
            "template": {"metadata": {"labels": dict(LABELS), "annotations": annotations}, "spec": pod},
        },
    )


def render_service(ctx: RenderContext) -> Manifest:
    v = ctx.enterprise
    service_type = v.str("service.type", choices=SERVICE_TYPES)
    port: dict[str, Any] = {"name": "http", "port": _port(v, "service.port"), "targetPort": "http", "protocol": "TCP"}
    if v.raw("service.nodePort", None) not in (None, ""):
        if service_type == "ClusterIP":
            raise SpecError(
                f"{values_path(v.root, 'service.nodePort')}: a nodePort needs service.type NodePort or "
                "LoadBalancer; remove it or change the type"
            )
        port["nodePort"] = _port(v, "service.nodePort")
    spec: dict[str, Any] = {"type": service_type, "selector": dict(LABELS), "ports": [port]}
    if ranges := _string_list(v, "service.loadBalancerSourceRanges"):
        if service_type != "LoadBalancer":
            raise SpecError(
                f"{values_path(v.root, 'service.loadBalancerSourceRanges')}: only a LoadBalancer Service has "
                "source ranges; set service.type: LoadBalancer or remove them"
            )
        spec["loadBalancerSourceRanges"] = ranges
    return obj("v1", "Service", meta(NAME, ctx.namespace, LABELS), spec=spec)


def render_config_maps(ctx: RenderContext) -> list[Manifest]:
    v = ctx.enterprise
    url = v.str("prometheus.seldon.url")
    data = {
        "prometheusSeldonUrl": url,
        "prometheusSeldonResourceUrl": v.opt_str("prometheus.seldon.resourceMetricsUrl") or url,
        "prometheusNamespaceMetricName": v.str("prometheus.seldon.namespaceMetricName"),
        "prometheusActiveModelsNamespaceMetricName": v.str("prometheus.seldon.activeModelsNamespaceMetricName"),
        "prometheusServiceMetricName": v.str("prometheus.seldon.serviceMetricName"),
        "elasticsearchUrl": v.str("elasticsearch.url"),
        "argocdEnabled": _b(v.bool("gitops.argocd.enabled")),
        "skipVerifyGit": _b(v.bool("gitops.git.skipVerifyGit")),
        "skipVerifyHttpCalls": _b(v.bool("skipVerifyHttpCalls")),
        "seldonIngressService": v.str("ingressGateway.seldonIngressService"),
        "ingressNamespace": v.str("ingressGateway.ingressNamespace"),
        "seldonCurlForm": v.str("seldon.curlForm"),
        "seldonTensorflowCurlForm": v.str("seldon.tensorFlowCurlForm"),
        "seldonRequestForm": v.str("seldon.seldonRequestForm"),
        "seldonTensorflowRequestForm": v.str("seldon.tensorflowRequestForm"),
        "seldonV2RequestForm": v.str("seldon.v2RequestForm"),
        "seldonExplainForm": v.str("seldon.explainForm"),
        "seldonTensorflowExplainForm": v.str("seldon.tensorflowExplainForm"),
        "seldonV2ExplainForm": v.str("seldon.v2ExplainForm"),
        "seldonProtocol": v.str("seldon.protocol", choices=PROTOCOLS),
        "seldonCoreV2Protocol": v.str("seldonCoreV2.protocol", choices=PROTOCOLS),
        "seldonCoreV2CurlForm": v.str("seldonCoreV2.curlForm"),
        "seldonCoreV2RequestForm": v.str("seldonCoreV2.requestForm"),
        "seldonCoreV2ExplainForm": v.str("seldonCoreV2.explainForm"),
    }
    out = [obj("v1", "ConfigMap", meta(CONFIG_MAP, ctx.namespace, LABELS), data=data)]
    if flags_name := v.opt_str("featureFlags.configMap"):
        flags = [
            {"ID": "USER_MANAGEMENT_ENABLED", "Value": "true"},
            {"ID": "SELDON_PIPELINES_ENABLED", "Value": _b(v.bool("seldonCoreV2.enabled"))},
        ]
        out.append(
            obj("v1", "ConfigMap", meta(flags_name, ctx.namespace, LABELS), data={"flags": json.dumps(flags, indent=2)})
        )
    return out


def _cluster_rules(values: Values) -> list[dict[str, Any]]:
    """ClusterRole ``seldon-deploy-role`` (facts §4.4): namespaces with readNamespaces, the rest clusterWide."""
    rules = []
    if values.bool("rbac.readNamespaces"):
        rules.append(policy_rule([""], ["namespaces"], READ))
    if values.bool("rbac.clusterWide"):
        rules += [
            policy_rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], READ),
            *copy.deepcopy(WORKLOAD_RULES),
        ]
    return rules


#: What Deploy does to models and their workloads: in every namespace (clusterWide), else in its own.
WORKLOAD_RULES: tuple[dict[str, Any], ...] = (
    policy_rule(["argoproj.io"], ["workflows"], ("create", "delete", "get", "list", "watch")),  # batch jobs
    policy_rule([""], ["services", "pods"], READ),
    policy_rule(["apps"], ["deployments"], READ),
    policy_rule(["batch"], ["jobs"], CRUD_WATCH),
    policy_rule(["autoscaling"], ["horizontalpodautoscalers/status"], STATUS_RW),
    policy_rule(["machinelearning.seldon.io"], ["seldondeployments"], CRUD_WATCH),
    policy_rule(["machinelearning.seldon.io"], ["seldondeployments/finalizers", "seldondeployments/status"], STATUS_RW),
    policy_rule(["mlops.seldon.io"], ["pipelines", "models", "experiments"], CRUD_WATCH),
    policy_rule(
        ["mlops.seldon.io"],
        [f"{kind}/{sub}" for sub in ("finalizers", "status") for kind in ("pipelines", "models", "experiments")],
        STATUS_RW,
    ),
    policy_rule(["networking.istio.io"], ["destinationrules", "virtualservices"], READ),
    policy_rule(["networking.istio.io"], ["destinationrules/status", "virtualservices/status"], ("get",)),
    policy_rule([""], ["configmaps"], ("create", "get", "list", "update", "watch")),
    policy_rule([""], ["secrets"], CRUD_WATCH),
    policy_rule(["serving.knative.dev"], ["services"], CRUD_WATCH),  # detectors
    policy_rule(["eventing.knative.dev"], ["triggers"], CRUD_WATCH),
)

#: Detectors are Knative Services and Triggers in the request logger's namespace.
LOGS_RULES = (
    policy_rule(["serving.knative.dev"], ["services"], CRUD_WATCH),
    policy_rule(["eventing.knative.dev"], ["triggers"], CRUD_WATCH),
)


def _binding(kind: str, name: str, namespace: str | None, role_kind: str, role: str, sa: str, sa_ns: str) -> Manifest:
    return obj(
        RBAC_API,
        kind,
        meta(name, namespace, LABELS),
        roleRef={"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role},
        subjects=[{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}],
    )


def _role(
    name: str, namespace: str, binding: str, rules: Iterable[dict[str, Any]], sa: str, sa_ns: str
) -> list[Manifest]:
    return [
        obj(RBAC_API, "Role", meta(name, namespace, LABELS), rules=copy.deepcopy(list(rules))),
        _binding("RoleBinding", binding, namespace, "Role", name, sa, sa_ns),
    ]


def render_rbac(ctx: RenderContext) -> list[Manifest]:
    v = ctx.enterprise
    ns = ctx.namespace
    sa = service_account_name(v)
    out: list[Manifest] = []
    if v.bool("serviceAccount.create"):
        out.append(obj("v1", "ServiceAccount", meta(sa, ns, LABELS)))
    if cluster_rules := _cluster_rules(v):
        out += [
            obj(RBAC_API, "ClusterRole", meta(CLUSTER_ROLE, labels=LABELS), rules=cluster_rules),
            _binding("ClusterRoleBinding", CLUSTER_ROLE_BINDING, None, "ClusterRole", CLUSTER_ROLE, sa, ns),
        ]
    if v.bool("rbac.create"):
        out += _role(ROLE, ns, ROLE_BINDING, WORKLOAD_RULES, sa, ns)
        out += _role(LOGS_ROLE, request_logger_namespace(ctx), LOGS_ROLE_BINDING, LOGS_RULES, sa, ns)
        if v.bool("gitops.argocd.enabled"):
            argocd_rules = [policy_rule(["argoproj.io"], ["applications"], READ)]
            out += _role(ARGOCD_ROLE, v.str("gitops.argocd.namespace"), ARGOCD_ROLE_BINDING, argocd_rules, sa, ns)
    return out


def render_git_secret(ctx: RenderContext) -> list[Manifest]:
    """The chart's ``git-<fullname>`` Secret: only the literal credentials the user gave, never invented ones."""
    v = ctx.enterprise
    if not v.bool("gitops.argocd.enabled") or v.opt_str("gitops.git.secret") or not v.opt_str("gitops.git.user"):
        return []
    paths = {"username": "gitops.git.user", "token": "gitops.git.token", "email": "gitops.git.email"}
    data = {
        key: base64.b64encode(value.encode()).decode()
        for key, path in paths.items()
        if (value := v.opt_str(path)) is not None
    }
    return [obj("v1", "Secret", meta(GIT_SECRET, ctx.namespace, LABELS), type="Opaque", data=data)]


def render_webhook_service(ctx: RenderContext) -> list[Manifest]:
    """LoadBalancer Service through which the git provider calls Deploy's GitOps webhook."""
    v = ctx.enterprise
    if not v.bool("gitops.git.webhook.service.create"):
        return []
    spec: dict[str, Any] = {
        "type": "LoadBalancer",
        "selector": dict(LABELS),
        "ports": [{"name": "webhook", "port": 80, "targetPort": "webhook", "protocol": "TCP"}],
    }
    if ranges := _string_list(v, "gitops.git.webhook.service.loadBalancerSourceRanges"):
        spec["loadBalancerSourceRanges"] = ranges
    return [obj("v1", "Service", meta(WEBHOOK_SERVICE, ctx.namespace, LABELS), spec=spec)]


def _ingress_path(values: Values, where: str, item: Any, backend: dict[str, Any]) -> dict[str, Any]:
    """A chart path (a string, as the chart takes them) or a v1 path mapping, as an Ingress v1 path."""
    if isinstance(item, str):
        path, path_type = item, "Prefix"
    elif isinstance(item, Mapping) and isinstance(item.get("path"), str):
        path = item["path"]
        path_type = item.get("pathType", "Prefix")
        if path_type not in PATH_TYPES:
            raise SpecError(
                f"{values_path(values.root, where)}.pathType: expected one of {', '.join(PATH_TYPES)}, "
                f"got {brief(path_type)}"
            )
    else:
        raise values.error(where, "a path such as /seldon-deploy/ or {path, pathType}", item)
    if not path.startswith("/"):
        raise values.error(where, "a path starting with /", path)
    return {"path": path, "pathType": path_type, "backend": backend}


def render_ingress(ctx: RenderContext) -> list[Manifest]:
    v = ctx.enterprise
    if not v.bool("ingress.enabled"):
        return []
    backend = {"service": {"name": NAME, "port": {"number": _port(v, "service.port")}}}
    rules = []
    for i, host in enumerate(v.list("ingress.hosts")):
        where = f"ingress.hosts[{i}]"
        if not isinstance(host, Mapping):
            raise v.error(where, "a mapping {host, paths}", host)
        # The chart's default host has no paths; Deploy lives under its prefix, so that is the path then.
        paths = host.get("paths") or [names.DEPLOY_PREFIX]
        if not isinstance(paths, list):
            raise v.error(f"{where}.paths", "a list of paths", paths)
        rule: dict[str, Any] = {}
        if host.get("host"):
            if not isinstance(host["host"], str):
                raise v.error(f"{where}.host", "a host name", host["host"])
            rule["host"] = host["host"]
        rule["http"] = {"paths": [_ingress_path(v, f"{where}.paths[{j}]", p, backend) for j, p in enumerate(paths)]}
        rules.append(rule)
    spec: dict[str, Any] = {}
    if class_name := v.opt_str("ingress.className"):
        spec["ingressClassName"] = class_name
    if rules:
        spec["rules"] = rules
    else:
        spec["defaultBackend"] = backend
    tls = v.list("ingress.tls")
    for i, entry in enumerate(tls):
        if not isinstance(entry, Mapping):
            raise v.error(f"ingress.tls[{i}]", "a mapping {secretName, hosts}", entry)
    if tls:
        spec["tls"] = [dict(entry) for entry in tls]
    annotations = v.str_map("ingress.annotations")
    return [obj("networking.k8s.io/v1", "Ingress", meta(NAME, ctx.namespace, LABELS, annotations), spec=spec)]


def render_ui(ctx: RenderContext) -> list[Manifest]:
    """The separate UI server of Deploy 2.0-2.3 (``ui.*``), with the server's env and scheduling."""
    v = ctx.enterprise
    ui = v.raw("ui", None)
    if ui is None or ui == {}:
        return []
    if not isinstance(ui, Mapping):
        raise v.error("ui", "a mapping with at least ui.image", ui)
    if not v.opt_str("ui.image"):
        raise SpecError(f"{values_path(v.root, 'ui.image')}: the UI server needs an image; set it, or remove ui")
    replicas = v.int("ui.replicaCount", 1)
    env = _user_env(v, EnvList())
    if v.bool("metadata.pg.enabled"):  # UI sessions are kept in the metadata database
        pg_secret = v.str("metadata.pg.secret")
        env.append({"name": "SESSION_PG_ENABLED", "value": "true"})
        env += [
            secret_env(f"SESSION_PG_{key.upper()}", pg_secret, key)
            for key in ("host", "port", "user", "password", "dbname", "sslmode")
        ]
    volumes: list[dict[str, Any]] = [
        {"name": "custom-theme", "secret": {"secretName": CUSTOM_THEME_SECRET, "optional": True}}
    ]
    mounts: list[dict[str, Any]] = [{"name": "custom-theme", "mountPath": "/app/custom-theme"}]
    if flags := v.opt_str("featureFlags.configMap"):
        volumes.append({"name": "feature-flags", "configMap": {"name": flags}})
        mounts.append({"name": "feature-flags", "mountPath": "/app/feature-flags"})
    container: dict[str, Any] = {
        "name": "ui-container",
        "image": v.str("ui.image"),
        "imagePullPolicy": v.str("ui.pullPolicy", choices=PULL_POLICIES) if v.opt_str("ui.pullPolicy") else None,
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "env": env,
        "livenessProbe": _probe("/status"),
        "readinessProbe": _probe("/status"),
        "resources": v.map("resources") or None,
        "securityContext": copy.deepcopy(SECURITY_CONTEXT),
        "volumeMounts": mounts,
    }
    container = _without_none(container)
    pod = _pod_spec(v, container, volumes, "ui.imagePullSecrets")
    deployment = obj(
        "apps/v1",
        "Deployment",
        meta(UI, ctx.namespace, UI_LABELS),
        spec={
            "replicas": replicas,
            "selector": {"matchLabels": dict(UI_LABELS)},
            "template": {
                "metadata": {"labels": dict(UI_LABELS), "annotations": {"sidecar.istio.io/inject": "false"}},
                "spec": pod,
            },
        },
    )
    # ClusterIP: the server's Service carries service.type and any nodePort; two Services cannot share a nodePort.
    service = obj(
        "v1",
        "Service",
        meta(UI, ctx.namespace, UI_LABELS),
        spec={
            "type": "ClusterIP",
            "selector": dict(UI_LABELS),
            "ports": [{"name": "http", "port": _port(v, "service.port"), "targetPort": "http", "protocol": "TCP"}],
        },
    )
    return [deployment, service]


def render_license(ctx: RenderContext, license_value: str | None) -> list[Manifest]:
    if license_value is None:
        return []
    return [obj("v1", "ConfigMap", meta(LICENSE_CONFIG_MAP, ctx.namespace, LABELS), data={LICENSE_KEY: license_value})]


def render(ctx: RenderContext) -> list[Manifest]:
    if errors := check_integrations(ctx.enterprise):
        raise SpecError("; ".join(errors))
    license_value = license_text(ctx.enterprise)
    return [
        *render_rbac(ctx),
        *render_config_maps(ctx),
        *render_license(ctx, license_value),
        *render_git_secret(ctx),
        render_service(ctx),
        *render_webhook_service(ctx),
        render_deployment(ctx, license_value),
        *render_ingress(ctx),
        *render_ui(ctx),
    ]


def secrets(ctx: RenderContext) -> list[GeneratedSecret]:
    """The OIDC client secret's Secret, unless ``env.CLIENT_SECRET`` gives the value itself."""
    if OIDC_CLIENT_SECRET_KEY in ctx.enterprise.str_map("env"):
        return []
    return [GeneratedSecret(name=OIDC_SECRET, namespace=ctx.namespace, random_keys=(OIDC_CLIENT_SECRET_KEY,))]


COMPONENT = Component(
    name="seldon_deploy",
    title="Seldon Deploy",
    enabled=lambda spec: True,
    render=render,
    depends_on=("seldon_core",),
    values=(ValuesSchema(root=ENTERPRISE, defaults=DEFAULTS, optional=OPTIONAL, open_maps=OPEN_MAPS),),
    wiring=wiring,
    secrets=secrets,
)
