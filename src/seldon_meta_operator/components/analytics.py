"""Seldon Core Analytics (``enable.analytics``): Prometheus and its helpers, as the ``seldon-core-analytics``
chart 1.18.2 with its prometheus 11.4.0 subchart installs them (release ``seldon-core-analytics``).

Layer: components (pure).

Objects, all in the SeldonOperator's namespace except the cluster-scoped RBAC:

- the five workloads of the seed's Verification: Deployments ``seldon-core-analytics-prometheus-seldon``
  (Prometheus plus a configmap-reload sidecar), ``-prometheus-alertmanager`` (Alertmanager plus
  configmap-reload), ``-prometheus-pushgateway`` and ``seldon-core-analytics-kube-state-metrics``, and the
  DaemonSet ``-prometheus-node-exporter``; each with a Service;
- ConfigMaps ``prometheus-server-conf`` (our own Prometheus configuration, see ``prometheus_config``),
  ``prometheus-rules`` (our own alerting rules) and ``alertmanager-server-conf``;
- the PersistentVolumeClaim of Alertmanager (2Gi, the subchart's default; default StorageClass). It holds
  alert silences and notification state only, not user data, so it is owned by the platform like any other
  object and is deleted when analytics is turned off: ``spec.retain_data`` does not apply to it;
- ServiceAccounts, ClusterRoles and ClusterRoleBindings for Prometheus and kube-state-metrics. Cluster-scoped
  names end with the namespace so that two platforms in one cluster do not fight over them.

Values (added): ``spec.analytics.values``, with the keys of the ``seldon-core-analytics`` chart's prometheus
subchart (11.4.0) where one exists (``VALUES``, documented in docs/api.md): ``prometheus.server.retention``,
``.global.*`` (scrape interval, timeout, rule evaluation), ``.persistentVolume.*`` (size, class, existing claim),
``resources``, ``nodeSelector`` and ``tolerations`` of every workload, ``nodeExporter.enabled``,
``extraScrapeConfigs`` and ``alertmanagerFiles."alertmanager.yml"``. The defaults are the chart's where it has
one, and resources sized for a cluster of about 100 nodes (about 600k active series). Grafana, which the chart
installs by default, is not installed: the seed's Verification lists exactly the five workloads above.

Seldon Deploy's usage monitor reads per-namespace counts of running models; its own recording rules file
(``model-usage.rules.yml``, which Deploy 1.x's installer put in ConfigMap ``model-usage-rules``) is not public,
so ``USAGE_RULES`` are ours, built on the labels our scrape configuration produces, and Deploy's
``prometheus.seldon.*MetricName`` values are wired to those labels.

Wiring: Seldon Deploy's ``prometheus.seldon.*`` and ``env.ALERTMANAGER_URL`` point at this Prometheus and
Alertmanager while analytics is enabled. User values still win (render/values.py).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from seldon_meta_operator.components import names
from seldon_meta_operator.components.base import (
    ANALYTICS,
    ENTERPRISE,
    READ,
    Component,
    Layers,
    Manifest,
    RenderContext,
    Values,
    ValuesSchema,
    WiringContext,
    meta,
    obj,
    policy_rule,
    restricted_security_context,
)
from seldon_meta_operator.errors import SpecError

RELEASE = names.ANALYTICS_RELEASE
PROMETHEUS = names.PROMETHEUS
ALERTMANAGER = names.ALERTMANAGER
PUSHGATEWAY = f"{RELEASE}-prometheus-pushgateway"
NODE_EXPORTER = f"{RELEASE}-prometheus-node-exporter"
KUBE_STATE_METRICS = f"{RELEASE}-kube-state-metrics"

PROMETHEUS_CONFIGMAP = "prometheus-server-conf"
RULES_CONFIGMAP = "prometheus-rules"
ALERTMANAGER_CONFIGMAP = "alertmanager-server-conf"

# Images: the chart 1.18.2 dependency defaults (upstream-seldon-facts.md §3.2).
PROMETHEUS_IMAGE = "prom/prometheus:v2.18.1"
ALERTMANAGER_IMAGE = "prom/alertmanager:v0.20.0"
PUSHGATEWAY_IMAGE = "prom/pushgateway:v1.0.1"
NODE_EXPORTER_IMAGE = "prom/node-exporter:v0.18.1"
KUBE_STATE_METRICS_IMAGE = "quay.io/coreos/kube-state-metrics:v1.9.5"
CONFIGMAP_RELOAD_IMAGE = "jimmidyson/configmap-reload:v0.3.0"

PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
PUSHGATEWAY_PORT = 9091
NODE_EXPORTER_PORT = 9100
KUBE_STATE_METRICS_PORT = 8080

PROMETHEUS_CONFIG_DIR = "/etc/prometheus/conf/"
PROMETHEUS_CONFIG_FILE = "prometheus-config.yaml"
PROMETHEUS_RULES_DIR = "/etc/prometheus-rules"
PROMETHEUS_DATA_DIR = "/seldon-data"  # the parent chart's server.persistentVolume.mountPath
ALERTMANAGER_CONFIG_DIR = "/etc/config"
ALERTMANAGER_DATA_DIR = "/data"

NOBODY = 65534  # the user the Prometheus images run as
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

# kube-state-metrics v1.9.5 reads some kinds through API versions that Kubernetes 1.22-1.25 removed
# (cronjobs, horizontalpodautoscalers, poddisruptionbudgets, ingresses, certificatesigningrequests, webhook
# configurations, volumeattachments); on a current cluster those watches only fail and log, so only collectors
# served by the APIs it lists are enabled. Secrets are left out on purpose: listing them means reading them.
KUBE_STATE_METRICS_COLLECTORS: dict[str, tuple[str, ...]] = {
    "": (
        "configmaps",
        "endpoints",
        "limitranges",
        "namespaces",
        "nodes",
        "persistentvolumeclaims",
        "persistentvolumes",
        "pods",
        "replicationcontrollers",
        "resourcequotas",
        "services",
    ),
    "apps": ("daemonsets", "deployments", "replicasets", "statefulsets"),
    "batch": ("jobs",),
    "networking.k8s.io": ("networkpolicies",),
    "storage.k8s.io": ("storageclasses",),
}


def prometheus_url(namespace: str) -> str:
    """Prometheus's query API as Seldon Deploy expects it (Service port 80)."""
    return f"http://{PROMETHEUS}.{namespace}/api/v1/"


def alertmanager_url(namespace: str) -> str:
    """Alertmanager's v1 alerts API (Service port 80), Seldon Deploy's ``ALERTMANAGER_URL``."""
    return f"http://{ALERTMANAGER}.{namespace}/api/v1/alerts"


def wiring(w: WiringContext) -> Layers:
    if not w.spec.enable.analytics:
        return {}
    return {
        ENTERPRISE: {
            "prometheus": {
                "seldon": {
                    "url": prometheus_url(w.namespace),
                    # Labels our scrape configuration produces (prometheus_config, USAGE_RULES below).
                    **DEPLOY_METRIC_LABELS,
                }
            },
            "env": {"ALERTMANAGER_URL": alertmanager_url(w.namespace)},
        }
    }


# --- Configuration files -------------------------------------------------------------------------------------


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)  # no folded PromQL


def _in_cluster_api() -> dict[str, Any]:
    """Scrape through the API server with the pod's service account (kubelet and cAdvisor metrics)."""
    return {
        "scheme": "https",
        "tls_config": {"ca_file": f"{SERVICE_ACCOUNT_DIR}/ca.crt"},
        "bearer_token_file": f"{SERVICE_ACCOUNT_DIR}/token",
    }


def _node_proxy_job(job: str, path_suffix: str) -> dict[str, Any]:
    return {
        "job_name": job,
        **_in_cluster_api(),
        "kubernetes_sd_configs": [{"role": "node"}],
        "relabel_configs": [
            {"action": "labelmap", "regex": "__meta_kubernetes_node_label_(.+)"},
            {"target_label": "__address__", "replacement": "kubernetes.default.svc:443"},
            {
                "source_labels": ["__meta_kubernetes_node_name"],
                "regex": "(.+)",
                "target_label": "__metrics_path__",
                "replacement": f"/api/v1/nodes/$1/proxy/metrics{path_suffix}",
            },
        ],
    }


def _annotation(role: str, name: str) -> str:
    return f"__meta_kubernetes_{role}_annotation_prometheus_io_{name}"


def _annotated_target_rules(role: str) -> list[dict[str, Any]]:
    """Honour the ``prometheus.io/path`` and ``prometheus.io/port`` annotations of a service or pod."""
    return [
        {
            "source_labels": [_annotation(role, "path")],
            "action": "replace",
            "regex": "(.+)",
            "target_label": "__metrics_path__",
        },
        {
            "source_labels": ["__address__", _annotation(role, "port")],
            "action": "replace",
            "regex": r"([^:]+)(?::\d+)?;(\d+)",
            "replacement": "$1:$2",
            "target_label": "__address__",
        },
    ]


def prometheus_config(
    namespace: str, settings: dict[str, str] | None = None, extra_jobs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Our Prometheus configuration, written from the facts about the chart's (upstream-seldon-facts.md §3.3).

    Departures: the kubelet is scraped through the API server proxy, not on its read-only port 10255 (disabled
    on current clusters); the blackbox ``kubernetes-services`` job is left out (no blackbox exporter is
    installed); Prometheus itself and the pushgateway (with ``honor_labels``) get a job each. ``settings`` are the
    global ones (``prometheus.server.global``), ``extra_jobs`` the user's ``prometheus.extraScrapeConfigs``.
    """
    return {
        "global": settings or {"scrape_interval": "15s", "scrape_timeout": "10s", "evaluation_interval": "1m"},
        "rule_files": [f"{PROMETHEUS_RULES_DIR}/*.rules.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"{ALERTMANAGER}.{namespace}.svc:80"]}]}]},
        "scrape_configs": [
            {"job_name": "prometheus", "static_configs": [{"targets": [f"localhost:{PROMETHEUS_PORT}"]}]},
            {
                "job_name": "pushgateway",
                "honor_labels": True,  # keep the job/instance labels the pushers chose
                "static_configs": [{"targets": [f"{PUSHGATEWAY}.{namespace}.svc:{PUSHGATEWAY_PORT}"]}],
            },
            _node_proxy_job("kubernetes-nodes", ""),
            _node_proxy_job("kubernetes-cadvisor", "/cadvisor"),
            {
                "job_name": "kubernetes-endpoints",
                "kubernetes_sd_configs": [{"role": "endpoints"}],
                "relabel_configs": [
                    {"source_labels": [_annotation("service", "scrape")], "action": "keep", "regex": "true"},
                    {
                        "source_labels": [_annotation("service", "scheme")],
                        "action": "replace",
                        "regex": "(https?)",
                        "target_label": "__scheme__",
                    },
                    *_annotated_target_rules("service"),
                    {"action": "labelmap", "regex": "__meta_kubernetes_service_label_(.+)"},
                    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "kubernetes_namespace"},
                    {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "kubernetes_name"},
                ],
            },
            {
                # Scrapes Seldon's executors: annotated pods with a container port named `metrics`, path
                # /prometheus from the prometheus.io/path annotation.
                "job_name": "kubernetes-pods",
                "kubernetes_sd_configs": [{"role": "pod"}],
                "relabel_configs": [
                    {"source_labels": [_annotation("pod", "scrape")], "action": "keep", "regex": "true"},
                    {
                        "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                        "action": "keep",
                        "regex": "metrics(-.*)?",
                    },
                    {
                        "source_labels": ["__meta_kubernetes_pod_phase"],
                        "action": "drop",
                        "regex": "Pending|Succeeded|Failed",
                    },
                    *_annotated_target_rules("pod"),
                    {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
                    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "kubernetes_namespace"},
                    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "kubernetes_pod_name"},
                ],
            },
            *(extra_jobs or []),
        ],
    }


def _alert(name: str, expr: str, duration: str, summary: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": "warning"},
        "annotations": {"summary": summary},
    }


_REAL_FILESYSTEMS = 'fstype!~"tmpfs|overlay|squashfs|nsfs"'

#: Our alerting rules, one file per concern as the chart has them (node-exporter v0.18 metric names).
PROMETHEUS_RULES: dict[str, dict[str, Any]] = {
    "cpu-usage.rules.yml": {
        "groups": [
            {
                "name": "cpu-usage",
                "rules": [
                    _alert(
                        "NodeCPUUsageHigh",
                        '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))) > 90',
                        "10m",
                        "CPU usage of {{ $labels.instance }} is above 90%",
                    )
                ],
            }
        ]
    },
    "instance-availability.rules.yml": {
        "groups": [
            {
                "name": "instance-availability",
                "rules": [
                    _alert(
                        "InstanceDown",
                        "up == 0",
                        "5m",
                        "{{ $labels.job }} target {{ $labels.instance }} has been down for 5 minutes",
                    )
                ],
            }
        ]
    },
    "low-disk-space.rules.yml": {
        "groups": [
            {
                "name": "low-disk-space",
                "rules": [
                    _alert(
                        "NodeLowDiskSpace",
                        f"100 * node_filesystem_avail_bytes{{{_REAL_FILESYSTEMS}}}"
                        f" / node_filesystem_size_bytes{{{_REAL_FILESYSTEMS}}} < 10",
                        "10m",
                        "{{ $labels.mountpoint }} on {{ $labels.instance }} has less than 10% space left",
                    )
                ],
            }
        ]
    },
    "mem-usage.rules.yml": {
        "groups": [
            {
                "name": "mem-usage",
                "rules": [
                    _alert(
                        "NodeMemoryUsageHigh",
                        "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > 90",
                        "10m",
                        "Memory usage of {{ $labels.instance }} is above 90%",
                    )
                ],
            }
        ]
    },
}

#: One route and a receiver with no integrations, as the chart ships it: alerts are visible in Alertmanager
#: (and in Seldon Deploy) but notify no one.
ALERTMANAGER_CONFIG: dict[str, Any] = {
    "global": {"resolve_timeout": "5m"},
    "route": {
        "receiver": "default",
        "group_by": ["alertname"],
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "3h",
    },
    "receivers": [{"name": "default"}],
}

#: The pod labels Seldon Core 1.18.2 puts on every pod of a SeldonDeployment (operator/apis/.../
#: seldondeployment_types.go: ``app.kubernetes.io/managed-by: seldon-core`` and ``seldon-deployment-id``), as
#: kube-state-metrics v1.9.5 exports them on ``kube_pod_labels`` (``label_`` + the name with ``.``, ``/``, ``-``
#: made ``_``).
_SELDON_POD = 'label_app_kubernetes_io_managed_by="seldon-core"'
_RUNNING = '(kube_pod_status_phase{phase="Running"} == 1)'

#: Label names Seldon Deploy is told to read (wiring below): the namespace of request metrics (added by our
#: kubernetes-pods job), the namespace of active-model counts (kube-state-metrics' own ``namespace`` label: our
#: jobs add no ``namespace`` target label, so it is not renamed ``exported_namespace`` as under kube-prometheus)
#: and the executor's ``service`` label.
DEPLOY_METRIC_LABELS = {
    "namespaceMetricName": "kubernetes_namespace",
    "activeModelsNamespaceMetricName": "namespace",
    "serviceMetricName": "service",
}

#: Recording rules for Seldon Deploy's usage monitor (ours: Deploy's own rules file is not public), evaluated
#: every minute: running SeldonDeployments and their pods per namespace, and request rates per deployment.
USAGE_RULES: dict[str, Any] = {
    "groups": [
        {
            "name": "seldon-model-usage",
            "interval": "1m",
            "rules": [
                {
                    "record": "seldon_deployment:running_pods:count",
                    "expr": f"count by (namespace, label_seldon_deployment_id) (kube_pod_labels{{{_SELDON_POD}}}"
                    f" * on (namespace, pod) group_left() {_RUNNING})",
                },
                {
                    "record": "namespace:seldon_deployments_active:count",
                    "expr": "count by (namespace) (seldon_deployment:running_pods:count)",
                },
                {
                    "record": "namespace:seldon_model_pods_running:sum",
                    "expr": "sum by (namespace) (seldon_deployment:running_pods:count)",
                },
                {
                    "record": "seldon_deployment:requests:rate5m",
                    "expr": "sum by (kubernetes_namespace, service, deployment_name, predictor_name) "
                    "(rate(seldon_api_executor_server_requests_seconds_count[5m]))",
                },
            ],
        }
    ]
}
PROMETHEUS_RULES["model-usage.rules.yml"] = USAGE_RULES


# --- Values (spec.analytics.values) ----------------------------------------------------------------------------


def _sized(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


def _placement(resources: dict[str, Any]) -> dict[str, Any]:
    return {"resources": resources, "nodeSelector": {}, "tolerations": []}


#: Where each workload's settings live, as in the prometheus 11.4.0 subchart (kube-state-metrics is its subchart).
SERVER = "prometheus.server"
ALERTMANAGER_VALUES = "prometheus.alertmanager"
PUSHGATEWAY_VALUES = "prometheus.pushgateway"
NODE_EXPORTER_VALUES = "prometheus.nodeExporter"
KUBE_STATE_METRICS_VALUES = "prometheus.kube-state-metrics"
WORKLOAD_VALUES = (SERVER, ALERTMANAGER_VALUES, PUSHGATEWAY_VALUES, NODE_EXPORTER_VALUES, KUBE_STATE_METRICS_VALUES)

#: Defaults: the chart's where it has one (retention 15d, the analytics chart's 15s/10s/1m globals, Alertmanager's
#: 2Gi volume, Prometheus's volume off), resources sized for about 100 nodes: some 600k active series (node-exporter,
#: kubelet and cAdvisor for 3,000 pods, kube-state-metrics, executors) need about 4 GiB of Prometheus memory at 15s,
#: and 15 days of them about 80 GB of disk (hence the 100Gi volume size, used once the volume is enabled).
VALUES = ValuesSchema(
    root=ANALYTICS,
    defaults={
        "prometheus": {
            "server": {
                "retention": "15d",
                "global": {"scrape_interval": "15s", "scrape_timeout": "10s", "evaluation_interval": "1m"},
                "persistentVolume": {"enabled": False, "size": "100Gi", "storageClass": "", "existingClaim": ""},
                **_placement(_sized("500m", "4Gi", "2", "8Gi")),
            },
            "alertmanager": {
                "persistentVolume": {"size": "2Gi", "storageClass": ""},
                **_placement(_sized("10m", "32Mi", "100m", "128Mi")),
            },
            "pushgateway": _placement(_sized("10m", "32Mi", "100m", "128Mi")),
            "nodeExporter": {"enabled": True, **_placement(_sized("50m", "32Mi", "250m", "128Mi"))},
            "kube-state-metrics": _placement(_sized("100m", "256Mi", "500m", "1Gi")),
            "configmapReload": {
                "prometheus": {"resources": _sized("10m", "16Mi", "50m", "32Mi")},
                "alertmanager": {"resources": _sized("10m", "16Mi", "50m", "32Mi")},
            },
            "extraScrapeConfigs": "",
            "alertmanagerFiles": {"alertmanager.yml": ALERTMANAGER_CONFIG},
        }
    },
    open_maps=(
        "prometheus.alertmanagerFiles",
        *(f"{w}.{key}" for w in WORKLOAD_VALUES for key in ("resources", "nodeSelector")),
        "prometheus.configmapReload.prometheus.resources",
        "prometheus.configmapReload.alertmanager.resources",
    ),
)

_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_QUANTITY = re.compile(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[mkMGTPE])?$")


def _duration(v: Values, path: str) -> str:
    text = v.str(path)
    if not _DURATION.match(text):
        raise v.error(path, "a Prometheus duration such as 15s, 1m or 15d", text)
    return text


def _quantity(v: Values, path: str, value: Any = None) -> str:
    """A quantity at ``path`` (or ``value`` given for it: resource names such as nvidia.com/gpu hold dots)."""
    value = v.raw(path) if value is None else value
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not _QUANTITY.match(str(value)):
        raise v.error(path, "a quantity such as 500m, 2 or 4Gi", value)
    return str(value)


def _resources_of(v: Values, path: str) -> dict[str, Any]:
    """A container's ``resources`` from values: ``requests`` and ``limits`` maps of quantities."""
    out: dict[str, Any] = {}
    for key in v.map(path):
        if key not in ("requests", "limits"):
            raise v.error(f"{path}.{str(key)[:64]}", "requests or limits", key)
        out[key] = {
            str(name): _quantity(v, f"{path}.{key}.{str(name)[:64]}", qty)
            for name, qty in v.map(f"{path}.{key}").items()
        }
    return {k: out[k] for k in ("requests", "limits") if out.get(k)}


def _placement_of(v: Values, prefix: str) -> dict[str, Any]:
    """``nodeSelector`` and ``tolerations`` of a workload's pod, when set."""
    out: dict[str, Any] = {}
    if selector := v.str_map(f"{prefix}.nodeSelector"):
        out["nodeSelector"] = selector
    tolerations = v.list(f"{prefix}.tolerations")
    for i, toleration in enumerate(tolerations):
        if not isinstance(toleration, dict):
            raise v.error(f"{prefix}.tolerations[{i}]", "a toleration (key, operator, value, effect)", toleration)
    if tolerations:
        out["tolerations"] = tolerations
    return out


def _storage_class(v: Values, path: str) -> dict[str, str]:
    """The chart's convention: unset or empty, the default StorageClass; ``-``, no class (static volumes)."""
    name = v.str(path, "")
    if not name:
        return {}
    return {"storageClassName": "" if name == "-" else name}


def _claim(name: str, namespace: str, labels: dict[str, str], v: Values, prefix: str) -> Manifest:
    size = _quantity(v, f"{prefix}.persistentVolume.size")
    return obj(
        "v1",
        "PersistentVolumeClaim",
        meta(name, namespace, labels),
        spec={
            "accessModes": ["ReadWriteOnce"],
            **_storage_class(v, f"{prefix}.persistentVolume.storageClass"),
            "resources": {"requests": {"storage": size}},
        },
    )


_OUR_JOBS = (
    "prometheus",
    "pushgateway",
    "kubernetes-nodes",
    "kubernetes-cadvisor",
    "kubernetes-endpoints",
    "kubernetes-pods",
)


def extra_scrape_configs(v: Values) -> list[dict[str, Any]]:
    """``prometheus.extraScrapeConfigs``: a YAML string of scrape jobs, as the chart takes it, or a list."""
    path = "prometheus.extraScrapeConfigs"
    value = v.raw(path)
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value) if value.strip() else []
        except yaml.YAMLError as exc:
            raise SpecError(
                f"spec.analytics.values.{path}: not valid YAML ({exc.__class__.__name__}); give a "
                "list of Prometheus scrape_configs entries"
            ) from None
    if not isinstance(value, list):
        raise v.error(path, "a list of scrape jobs (or a YAML string of one)", value)
    for i, job in enumerate(value):
        name = job.get("job_name") if isinstance(job, dict) else None
        if not isinstance(name, str) or not name:
            raise v.error(f"{path}[{i}]", "a scrape job with a job_name", job)
        if name in _OUR_JOBS:
            raise SpecError(
                f"spec.analytics.values.{path}[{i}].job_name: {name!r} is one of the jobs the operator "
                "configures; choose another name"
            )
    return value


def alertmanager_config(v: Values) -> dict[str, Any]:
    """``prometheus.alertmanagerFiles."alertmanager.yml"``: Alertmanager's configuration, merged over ours."""
    config = v.map("prometheus.alertmanagerFiles").get("alertmanager.yml")
    if not isinstance(config, dict) or not isinstance(config.get("route"), dict):
        raise v.error(
            "prometheus.alertmanagerFiles.alertmanager.yml", "an Alertmanager configuration with a route", config
        )
    return config


# --- Object builders -----------------------------------------------------------------------------------------


def prometheus_labels(component: str) -> dict[str, str]:
    """Selector labels of the prometheus subchart's workloads."""
    return {"app": "prometheus", "release": RELEASE, "component": component}


#: kube-state-metrics is a chart of its own, labelled the recommended way; ``release`` as the others have it.
KUBE_STATE_METRICS_LABELS = {
    "app.kubernetes.io/name": "kube-state-metrics",
    "app.kubernetes.io/instance": RELEASE,
    "release": RELEASE,
}


def _http_probe(path: str, port: int, initial_delay: int, period: int = 10, timeout: int = 5) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": 3,
    }


def _container(
    name: str,
    image: str,
    args: list[str],
    resources: dict[str, Any],
    *,
    port: tuple[str, int] | None = None,
    host_port: bool = False,
    ready: str | None = None,
    alive: str | None = None,
    mounts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A container running as nobody with a read-only root filesystem; probes are HTTP GETs on its port."""
    out: dict[str, Any] = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent", "args": args}
    if port is not None:
        entry: dict[str, Any] = {"name": port[0], "containerPort": port[1], "protocol": "TCP"}
        if host_port:
            entry["hostPort"] = port[1]
        out["ports"] = [entry]
        if ready:
            out["readinessProbe"] = _http_probe(ready, port[1], initial_delay=10)
        if alive:
            out["livenessProbe"] = _http_probe(alive, port[1], initial_delay=30, period=15, timeout=10)
    out["resources"] = resources
    out["securityContext"] = {**restricted_security_context(NOBODY), "readOnlyRootFilesystem": True}
    if mounts:
        out["volumeMounts"] = mounts
    return out


def _configmap_reload(url: str, dirs: list[tuple[str, str]], resources: dict[str, Any]) -> dict[str, Any]:
    """The sidecar that asks its neighbour to reload when a mounted ConfigMap changes."""
    return _container(
        "configmap-reload",
        CONFIGMAP_RELOAD_IMAGE,
        [*(f"--volume-dir={path}" for _, path in dirs), f"--webhook-url={url}"],
        resources,
        mounts=[{"name": volume, "mountPath": path, "readOnly": True} for volume, path in dirs],
    )


def _pod_spec(
    containers: list[dict[str, Any]],
    *,
    service_account: str | None = None,
    volumes: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if service_account:
        spec["serviceAccountName"] = service_account
    else:
        spec["automountServiceAccountToken"] = False  # needs no API access
    spec.update(extra)
    spec["securityContext"] = {
        "runAsUser": NOBODY,
        "runAsGroup": NOBODY,
        "runAsNonRoot": True,
        "fsGroup": NOBODY,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    spec["containers"] = containers
    if volumes:
        spec["volumes"] = volumes
    return spec


def _configmap_volume(name: str, configmap: str) -> dict[str, Any]:
    return {"name": name, "configMap": {"name": configmap}}


def _workload(
    kind: str, name: str, namespace: str, labels: dict[str, str], pod: dict[str, Any], **spec: Any
) -> Manifest:
    body: dict[str, Any] = {}
    if kind == "Deployment":
        body["replicas"] = 1
    body["selector"] = {"matchLabels": dict(labels)}
    body.update(spec)
    body["template"] = {"metadata": {"labels": dict(labels)}, "spec": pod}
    return obj("apps/v1", kind, meta(name, namespace, labels), spec=body)


def _service(
    name: str,
    namespace: str,
    labels: dict[str, str],
    port: int,
    target_port: int,
    *,
    port_name: str = "http",
    scrape: bool = False,
    headless: bool = False,
) -> Manifest:
    spec: dict[str, Any] = {"type": "ClusterIP"}
    if headless:
        spec["clusterIP"] = "None"
    spec["selector"] = dict(labels)
    spec["ports"] = [{"name": port_name, "port": port, "targetPort": target_port, "protocol": "TCP"}]
    # scrape: picked up by the kubernetes-endpoints job of our Prometheus configuration.
    annotations = {"prometheus.io/scrape": "true"} if scrape else None
    return obj("v1", "Service", meta(name, namespace, labels, annotations), spec=spec)


def _cluster_rbac(name: str, namespace: str, labels: dict[str, str], rules: list[dict[str, Any]]) -> list[Manifest]:
    """ServiceAccount ``name`` in ``namespace`` bound to a ClusterRole named ``<name>-<namespace>``."""
    cluster_name = f"{name}-{namespace}"
    return [
        obj("v1", "ServiceAccount", meta(name, namespace, labels)),
        obj("rbac.authorization.k8s.io/v1", "ClusterRole", meta(cluster_name, labels=labels), rules=rules),
        obj(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            meta(cluster_name, labels=labels),
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_name},
            subjects=[{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        ),
    ]


# --- Components of the stack ---------------------------------------------------------------------------------


def render_prometheus(ctx: RenderContext) -> list[Manifest]:
    ns, v = ctx.namespace, ctx.analytics
    labels = prometheus_labels("seldon")
    settings = {key: _duration(v, f"{SERVER}.global.{key}") for key in v.map(f"{SERVER}.global")}
    persistent = v.bool(f"{SERVER}.persistentVolume.enabled")
    existing = v.str(f"{SERVER}.persistentVolume.existingClaim", "")
    config_dirs = [("config-volume", PROMETHEUS_CONFIG_DIR), ("rules-volume", PROMETHEUS_RULES_DIR)]
    server = _container(
        "prometheus",
        PROMETHEUS_IMAGE,
        [
            f"--config.file={PROMETHEUS_CONFIG_DIR}{PROMETHEUS_CONFIG_FILE}",
            f"--storage.tsdb.path={PROMETHEUS_DATA_DIR}",
            f"--storage.tsdb.retention.time={_duration(v, f'{SERVER}.retention')}",
            "--web.enable-lifecycle",  # for the reload webhook
        ],
        _resources_of(v, f"{SERVER}.resources"),
        port=("http", PROMETHEUS_PORT),
        ready="/-/ready",
        alive="/-/healthy",
        mounts=[
            *({"name": volume, "mountPath": path, "readOnly": True} for volume, path in config_dirs),
            {"name": "storage-volume", "mountPath": PROMETHEUS_DATA_DIR},
        ],
    )
    reload = _configmap_reload(
        f"http://127.0.0.1:{PROMETHEUS_PORT}/-/reload",
        config_dirs,
        _resources_of(v, "prometheus.configmapReload.prometheus.resources"),
    )
    # The parent chart disables the server's persistent volume by default: metrics then live as long as the pod.
    storage: dict[str, Any] = {"emptyDir": {}}
    claims: list[Manifest] = []
    if persistent:
        storage = {"persistentVolumeClaim": {"claimName": existing or PROMETHEUS}}
        if not existing:
            claims.append(_claim(PROMETHEUS, ns, labels, v, SERVER))
    pod = _pod_spec(
        [server, reload],
        service_account=PROMETHEUS,
        volumes=[
            _configmap_volume("config-volume", PROMETHEUS_CONFIGMAP),
            _configmap_volume("rules-volume", RULES_CONFIGMAP),
            {"name": "storage-volume", **storage},
        ],
        **_placement_of(v, SERVER),
    )
    rules = [
        policy_rule([""], ["nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints", "pods"], READ),
        policy_rule(["networking.k8s.io"], ["ingresses"], READ),
        {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
    ]
    return [
        *_cluster_rbac(PROMETHEUS, ns, labels, rules),
        obj(
            "v1",
            "ConfigMap",
            meta(PROMETHEUS_CONFIGMAP, ns, labels),
            data={PROMETHEUS_CONFIG_FILE: _yaml(prometheus_config(ns, settings, extra_scrape_configs(v)))},
        ),
        obj(
            "v1",
            "ConfigMap",
            meta(RULES_CONFIGMAP, ns, labels),
            data={file: _yaml(rules) for file, rules in PROMETHEUS_RULES.items()},
        ),
        *claims,
        _service(PROMETHEUS, ns, labels, 80, PROMETHEUS_PORT),
        # Recreate with a volume: a ReadWriteOnce volume cannot be attached to the old and the new pod at once.
        _workload(
            "Deployment", PROMETHEUS, ns, labels, pod, **({"strategy": {"type": "Recreate"}} if persistent else {})
        ),
    ]


def render_alertmanager(ctx: RenderContext) -> list[Manifest]:
    ns, v = ctx.namespace, ctx.analytics
    labels = prometheus_labels("alertmanager")
    config_dirs = [("config-volume", ALERTMANAGER_CONFIG_DIR)]
    server = _container(
        "alertmanager",
        ALERTMANAGER_IMAGE,
        [
            f"--config.file={ALERTMANAGER_CONFIG_DIR}/config.yaml",
            f"--storage.path={ALERTMANAGER_DATA_DIR}",
            # One replica: no gossip cluster (it also needs a private pod IP to advertise, which not every
            # network gives).
            "--cluster.listen-address=",
        ],
        _resources_of(v, f"{ALERTMANAGER_VALUES}.resources"),
        port=("http", ALERTMANAGER_PORT),
        ready="/-/ready",
        alive="/-/healthy",
        mounts=[
            {"name": "config-volume", "mountPath": ALERTMANAGER_CONFIG_DIR, "readOnly": True},
            {"name": "storage-volume", "mountPath": ALERTMANAGER_DATA_DIR},
        ],
    )
    reload = _configmap_reload(
        f"http://127.0.0.1:{ALERTMANAGER_PORT}/-/reload",
        config_dirs,
        _resources_of(v, "prometheus.configmapReload.alertmanager.resources"),
    )
    pod = _pod_spec(
        [server, reload],
        volumes=[
            _configmap_volume("config-volume", ALERTMANAGER_CONFIGMAP),
            {"name": "storage-volume", "persistentVolumeClaim": {"claimName": ALERTMANAGER}},
        ],
        **_placement_of(v, ALERTMANAGER_VALUES),
    )
    claim = _claim(ALERTMANAGER, ns, labels, v, ALERTMANAGER_VALUES)
    return [
        obj(
            "v1",
            "ConfigMap",
            meta(ALERTMANAGER_CONFIGMAP, ns, labels),
            data={"config.yaml": _yaml(alertmanager_config(v))},
        ),
        claim,
        _service(ALERTMANAGER, ns, labels, 80, ALERTMANAGER_PORT),
        # Recreate: a ReadWriteOnce volume cannot be attached to the old and the new pod at once.
        _workload("Deployment", ALERTMANAGER, ns, labels, pod, strategy={"type": "Recreate"}),
    ]


def render_pushgateway(ctx: RenderContext) -> list[Manifest]:
    ns, v = ctx.namespace, ctx.analytics
    labels = prometheus_labels("pushgateway")
    server = _container(
        "pushgateway",
        PUSHGATEWAY_IMAGE,
        [f"--web.listen-address=:{PUSHGATEWAY_PORT}"],
        _resources_of(v, f"{PUSHGATEWAY_VALUES}.resources"),
        port=("http", PUSHGATEWAY_PORT),
        ready="/-/ready",
        alive="/-/healthy",
    )
    return [
        _service(PUSHGATEWAY, ns, labels, PUSHGATEWAY_PORT, PUSHGATEWAY_PORT),
        _workload("Deployment", PUSHGATEWAY, ns, labels, _pod_spec([server], **_placement_of(v, PUSHGATEWAY_VALUES))),
    ]


def render_node_exporter(ctx: RenderContext) -> list[Manifest]:
    ns, v = ctx.namespace, ctx.analytics
    if not v.bool(f"{NODE_EXPORTER_VALUES}.enabled"):
        return []
    labels = prometheus_labels("node-exporter")
    host_dirs = [("proc", "/proc"), ("sys", "/sys")]
    exporter = _container(
        "node-exporter",
        NODE_EXPORTER_IMAGE,
        [
            "--path.procfs=/host/proc",
            "--path.sysfs=/host/sys",
            f"--web.listen-address=:{NODE_EXPORTER_PORT}",
        ],
        _resources_of(v, f"{NODE_EXPORTER_VALUES}.resources"),
        port=("metrics", NODE_EXPORTER_PORT),
        host_port=True,  # on the host network the port is the node's
        ready="/",
        alive="/",
        mounts=[{"name": volume, "mountPath": f"/host{path}", "readOnly": True} for volume, path in host_dirs],
    )
    pod = _pod_spec(
        [exporter],
        volumes=[{"name": volume, "hostPath": {"path": path}} for volume, path in host_dirs],
        # The node's own network and processes are what it measures.
        hostNetwork=True,
        hostPID=True,
        **_placement_of(v, NODE_EXPORTER_VALUES),
    )
    return [
        # Headless: the kubernetes-endpoints job scrapes every node's exporter, not one behind a virtual IP.
        _service(
            NODE_EXPORTER,
            ns,
            labels,
            NODE_EXPORTER_PORT,
            NODE_EXPORTER_PORT,
            port_name="metrics",
            scrape=True,
            headless=True,
        ),
        _workload("DaemonSet", NODE_EXPORTER, ns, labels, pod, updateStrategy={"type": "RollingUpdate"}),
    ]


def render_kube_state_metrics(ctx: RenderContext) -> list[Manifest]:
    ns, v = ctx.namespace, ctx.analytics
    labels = KUBE_STATE_METRICS_LABELS
    collectors = sorted(r for resources in KUBE_STATE_METRICS_COLLECTORS.values() for r in resources)
    server = _container(
        "kube-state-metrics",
        KUBE_STATE_METRICS_IMAGE,
        [f"--port={KUBE_STATE_METRICS_PORT}", f"--collectors={','.join(collectors)}"],
        _resources_of(v, f"{KUBE_STATE_METRICS_VALUES}.resources"),
        port=("http", KUBE_STATE_METRICS_PORT),
        ready="/",
        alive="/healthz",
    )
    rules = [policy_rule([group], kinds, ("list", "watch")) for group, kinds in KUBE_STATE_METRICS_COLLECTORS.items()]
    pod = _pod_spec([server], service_account=KUBE_STATE_METRICS, **_placement_of(v, KUBE_STATE_METRICS_VALUES))
    return [
        *_cluster_rbac(KUBE_STATE_METRICS, ns, labels, rules),
        _service(KUBE_STATE_METRICS, ns, labels, KUBE_STATE_METRICS_PORT, KUBE_STATE_METRICS_PORT, scrape=True),
        _workload("Deployment", KUBE_STATE_METRICS, ns, labels, pod),
    ]


def render(ctx: RenderContext) -> list[Manifest]:
    return [
        *render_prometheus(ctx),
        *render_alertmanager(ctx),
        *render_pushgateway(ctx),
        *render_node_exporter(ctx),
        *render_kube_state_metrics(ctx),
    ]


COMPONENT = Component(
    name="analytics",
    title="Seldon Core Analytics",
    enabled=lambda spec: spec.enable.analytics,
    render=render,
    depends_on=("seldon_core",),
    values=(VALUES,),
    wiring=wiring,
)
