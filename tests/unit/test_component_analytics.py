"""Seldon Core Analytics: the five workloads of the seed's Verification, their wiring into Seldon Deploy, and the
Prometheus configuration that scrapes Seldon's executors."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from seldon_meta_operator.api.v1alpha1 import parse_seldon_operator
from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.render.pipeline import RenderResult, render_platform

NS = "seldon-system"
PROMETHEUS = "seldon-core-analytics-prometheus-seldon"
ALERTMANAGER = "seldon-core-analytics-prometheus-alertmanager"
PUSHGATEWAY = "seldon-core-analytics-prometheus-pushgateway"
NODE_EXPORTER = "seldon-core-analytics-prometheus-node-exporter"
KUBE_STATE_METRICS = "seldon-core-analytics-kube-state-metrics"
WORKLOAD_KINDS = ("Deployment", "DaemonSet")


# --- builders ------------------------------------------------------------------------------------------------


def platform(*, analytics: bool = True, namespace: str = NS, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "operator.seldon.io/v1alpha1",
        "kind": "SeldonOperator",
        "metadata": {"name": "seldonoperator-sample", "namespace": namespace},
        "spec": {**spec, "enable": {"analytics": analytics, **spec.get("enable", {})}},
    }


def render(document: dict[str, Any]) -> RenderResult:
    return render_platform(parse_seldon_operator(document))


def manifests(namespace: str = NS) -> list[Manifest]:
    return list(render(platform(namespace=namespace)).component("analytics").manifests)


def find(objs: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [m for m in objs if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind} {name}: {len(matches)} found"
    return matches[0]


def pod_spec(objs: list[Manifest], name: str) -> dict[str, Any]:
    workload = next(m for m in objs if m["kind"] in WORKLOAD_KINDS and m["metadata"]["name"] == name)
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container(objs: list[Manifest], workload: str, name: str) -> dict[str, Any]:
    return next(c for c in pod_spec(objs, workload)["containers"] if c["name"] == name)


def prometheus_config(objs: list[Manifest]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(
        find(objs, "ConfigMap", "prometheus-server-conf")["data"]["prometheus-config.yaml"]
    )
    return config


def scrape_job(config: dict[str, Any], job: str) -> dict[str, Any]:
    return next(j for j in config["scrape_configs"] if j["job_name"] == job)


def relabel(rules: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, str] | None:
    """Apply Prometheus relabelling rules (the actions our configuration uses) to a target's labels; None when
    the target is dropped. Regexes are anchored, as Prometheus anchors them."""
    out = dict(labels)
    for rule in rules:
        action = rule.get("action", "replace")
        regex = re.compile(f"^(?:{rule.get('regex', '(.*)')})$")
        value = rule.get("separator", ";").join(out.get(s, "") for s in rule.get("source_labels", []))
        if action == "keep" and not regex.match(value):
            return None
        if action == "drop" and regex.match(value):
            return None
        if action == "replace":
            match = regex.match(value)
            if match:
                replacement = re.sub(r"\$(\d+)", r"\\\1", rule.get("replacement", "$1"))
                out[rule["target_label"]] = match.expand(replacement)
        if action == "labelmap":
            for key, val in list(out.items()):
                match = regex.match(key)
                if match:
                    out[match.expand(re.sub(r"\$(\d+)", r"\\\1", rule.get("replacement", "$1")))] = val
    return out


def pod_target(
    port_name: str, annotations: dict[str, str] | None = None, phase: str = "Running", port: int = 8000
) -> dict[str, str]:
    """The labels Kubernetes service discovery gives one container port of a pod."""
    labels = {
        "__address__": f"10.1.2.3:{port}",
        "__metrics_path__": "/metrics",
        "__meta_kubernetes_namespace": "models",
        "__meta_kubernetes_pod_name": "iris-default-0-classifier-abc",
        "__meta_kubernetes_pod_phase": phase,
        "__meta_kubernetes_pod_container_port_name": port_name,
        "__meta_kubernetes_pod_label_seldon_deployment_id": "iris",
    }
    for key, value in (annotations or {}).items():
        labels["__meta_kubernetes_pod_annotation_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)] = value
    return labels


EXECUTOR = {"prometheus.io/scrape": "true", "prometheus.io/path": "/prometheus"}


# --- tests ---------------------------------------------------------------------------------------------------


def test_the_five_workloads_of_the_seeds_verification_are_rendered_in_the_platform_namespace() -> None:
    objs = manifests()
    workloads = sorted(
        (m["kind"], m["metadata"]["name"], m["metadata"]["namespace"]) for m in objs if m["kind"] in WORKLOAD_KINDS
    )
    assert workloads == [
        ("DaemonSet", NODE_EXPORTER, NS),
        ("Deployment", KUBE_STATE_METRICS, NS),
        ("Deployment", ALERTMANAGER, NS),
        ("Deployment", PUSHGATEWAY, NS),
        ("Deployment", PROMETHEUS, NS),
    ]


@pytest.mark.parametrize(
    ("workload", "containers"),
    [
        (PROMETHEUS, ["prometheus", "configmap-reload"]),
        (ALERTMANAGER, ["alertmanager", "configmap-reload"]),
        (PUSHGATEWAY, ["pushgateway"]),
        (NODE_EXPORTER, ["node-exporter"]),
        (KUBE_STATE_METRICS, ["kube-state-metrics"]),
    ],
    ids=[
        "prometheus runs with a configmap-reload sidecar (2/2)",
        "alertmanager runs with a configmap-reload sidecar (2/2)",
        "pushgateway runs alone (1/1)",
        "node-exporter runs alone (1/1)",
        "kube-state-metrics runs alone (1/1)",
    ],
)
def test_each_pod_has_the_containers_the_verification_counts(workload: str, containers: list[str]) -> None:
    assert [c["name"] for c in pod_spec(manifests(), workload)["containers"]] == containers


@pytest.mark.parametrize(
    ("service", "port", "target_port"),
    [
        (PROMETHEUS, 80, 9090),
        (ALERTMANAGER, 80, 9093),
        (PUSHGATEWAY, 9091, 9091),
        (NODE_EXPORTER, 9100, 9100),
        (KUBE_STATE_METRICS, 8080, 8080),
    ],
    ids=[
        "prometheus is served on port 80 from 9090",
        "alertmanager is served on port 80 from 9093",
        "pushgateway is served on 9091",
        "node-exporter is served on 9100",
        "kube-state-metrics is served on 8080",
    ],
)
def test_each_service_selects_its_own_pods_and_reaches_a_container_port(
    service: str, port: int, target_port: int
) -> None:
    objs = manifests()
    svc = find(objs, "Service", service)
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(port, target_port)]
    selector = svc["spec"]["selector"]
    selected = [
        m["metadata"]["name"]
        for m in objs
        if m["kind"] in WORKLOAD_KINDS and selector.items() <= m["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert selected == [service]
    ports = {p["containerPort"] for c in pod_spec(objs, service)["containers"] for p in c.get("ports", [])}
    assert target_port in ports


def test_every_workload_selector_matches_its_pod_labels() -> None:
    for m in manifests():
        if m["kind"] in WORKLOAD_KINDS:
            selector = m["spec"]["selector"]["matchLabels"]
            assert selector.items() <= m["spec"]["template"]["metadata"]["labels"].items(), m["metadata"]["name"]


def test_every_container_has_resource_requests_and_limits_and_runs_as_non_root() -> None:
    for m in manifests():
        if m["kind"] not in WORKLOAD_KINDS:
            continue
        for c in m["spec"]["template"]["spec"]["containers"]:
            where = f"{m['metadata']['name']}/{c['name']}"
            assert set(c["resources"]) == {"requests", "limits"}, where
            assert set(c["resources"]["requests"]) == {"cpu", "memory"}, where
            assert c["securityContext"]["runAsNonRoot"] is True, where
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, where


@pytest.mark.parametrize(
    ("workload", "name", "ready", "alive"),
    [
        (PROMETHEUS, "prometheus", "/-/ready", "/-/healthy"),
        (ALERTMANAGER, "alertmanager", "/-/ready", "/-/healthy"),
        (PUSHGATEWAY, "pushgateway", "/-/ready", "/-/healthy"),
        (KUBE_STATE_METRICS, "kube-state-metrics", "/", "/healthz"),
    ],
    ids=[
        "prometheus is probed on its ready and healthy endpoints",
        "alertmanager is probed on its ready and healthy endpoints",
        "pushgateway is probed on its ready and healthy endpoints",
        "kube-state-metrics is probed on its landing page and healthz",
    ],
)
def test_servers_are_probed_on_the_endpoints_their_versions_serve(
    workload: str, name: str, ready: str, alive: str
) -> None:
    c = container(manifests(), workload, name)
    port = c["ports"][0]["containerPort"]
    assert c["readinessProbe"]["httpGet"] == {"path": ready, "port": port}
    assert c["livenessProbe"]["httpGet"] == {"path": alive, "port": port}


def test_prometheus_runs_as_nobody_with_15_days_of_retention_on_an_empty_dir() -> None:
    objs = manifests()
    pod = pod_spec(objs, PROMETHEUS)
    assert pod["securityContext"]["runAsUser"] == 65534
    args = container(objs, PROMETHEUS, "prometheus")["args"]
    assert "--storage.tsdb.retention.time=15d" in args
    data_dir = next(a for a in args if a.startswith("--storage.tsdb.path=")).partition("=")[2]
    mount = next(m for m in container(objs, PROMETHEUS, "prometheus")["volumeMounts"] if m["mountPath"] == data_dir)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume == {"name": mount["name"], "emptyDir": {}}


@pytest.mark.parametrize(
    ("workload", "server", "configmap"),
    [(PROMETHEUS, "prometheus", "prometheus-server-conf"), (ALERTMANAGER, "alertmanager", "alertmanager-server-conf")],
    ids=[
        "prometheus reads its config file from prometheus-server-conf",
        "alertmanager reads its from alertmanager-server-conf",
    ],
)
def test_the_config_file_argument_names_a_key_of_the_mounted_configmap(
    workload: str, server: str, configmap: str
) -> None:
    objs = manifests()
    c = container(objs, workload, server)
    path = next(a for a in c["args"] if a.startswith("--config.file=")).partition("=")[2]
    volumes = {v["name"]: v for v in pod_spec(objs, workload)["volumes"]}
    mounted = {
        m["mountPath"].rstrip("/") + "/" + key
        for m in c["volumeMounts"]
        if volumes[m["name"]].get("configMap", {}).get("name") == configmap
        for key in find(objs, "ConfigMap", configmap)["data"]
    }
    assert path in mounted


@pytest.mark.parametrize(
    ("workload", "server"),
    [(PROMETHEUS, "prometheus"), (ALERTMANAGER, "alertmanager")],
    ids=["prometheus's sidecar reloads prometheus", "alertmanager's sidecar reloads alertmanager"],
)
def test_the_reload_sidecar_watches_every_config_mount_and_calls_its_servers_reload_url(
    workload: str, server: str
) -> None:
    objs = manifests()
    main, sidecar = container(objs, workload, server), container(objs, workload, "configmap-reload")
    port = main["ports"][0]["containerPort"]
    assert f"--webhook-url=http://127.0.0.1:{port}/-/reload" in sidecar["args"]
    read_only_mounts = {m["mountPath"] for m in main["volumeMounts"] if m.get("readOnly")}
    watched = {a.partition("=")[2] for a in sidecar["args"] if a.startswith("--volume-dir=")}
    assert watched == read_only_mounts


def test_prometheus_enables_the_lifecycle_api_that_reload_needs() -> None:
    assert "--web.enable-lifecycle" in container(manifests(), PROMETHEUS, "prometheus")["args"]


def test_prometheus_loads_every_rule_file_of_the_rules_configmap() -> None:
    objs = manifests()
    rule_globs = prometheus_config(objs)["rule_files"]
    rule_files = find(objs, "ConfigMap", "prometheus-rules")["data"]
    assert len(rule_files) >= 4
    for name, text in rule_files.items():
        assert any(
            re.fullmatch(g.replace(".", r"\.").replace("*", "[^/]*"), f"/etc/prometheus-rules/{name}")
            for g in rule_globs
        )
        groups = yaml.safe_load(text)["groups"]
        assert all(rule["expr"] for group in groups for rule in group["rules"]), name


@pytest.mark.parametrize("namespace", ["seldon-system", "team-a"], ids=["in seldon-system", "in another namespace"])
def test_prometheus_sends_alerts_to_the_alertmanager_service_of_the_platform_namespace(namespace: str) -> None:
    alerting = prometheus_config(manifests(namespace))["alerting"]
    targets = [t for am in alerting["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert targets == [f"{ALERTMANAGER}.{namespace}.svc:80"]


@pytest.mark.parametrize(
    ("target", "kept", "address", "path"),
    [
        (pod_target("metrics", EXECUTOR), True, "10.1.2.3:8000", "/prometheus"),
        (pod_target("metrics-extra", {"prometheus.io/scrape": "true"}), True, "10.1.2.3:8000", "/metrics"),
        (pod_target("metrics", {**EXECUTOR, "prometheus.io/port": "9000"}), True, "10.1.2.3:9000", "/prometheus"),
        (pod_target("metrics"), False, None, None),
        (pod_target("metrics", {"prometheus.io/scrape": "false"}), False, None, None),
        (pod_target("http", EXECUTOR), False, None, None),
        (pod_target("mymetrics", EXECUTOR), False, None, None),
        (pod_target("metrics", EXECUTOR, phase="Succeeded"), False, None, None),
    ],
    ids=[
        "a Seldon executor (scrape=true, port metrics) is scraped at /prometheus",
        "a port named metrics-<suffix> is scraped at the default path",
        "the prometheus.io/port annotation overrides the port",
        "a pod without the scrape annotation is not scraped",
        "a pod annotated scrape=false is not scraped",
        "an annotated pod's port not named metrics is not scraped",
        "the port name must match metrics(-.*)? in full",
        "a finished pod is not scraped",
    ],
)
def test_the_pods_job_scrapes_annotated_pods_on_their_metrics_ports(
    target: dict[str, str], kept: bool, address: str | None, path: str | None
) -> None:
    job = scrape_job(prometheus_config(manifests()), "kubernetes-pods")
    assert job["kubernetes_sd_configs"] == [{"role": "pod"}]
    result = relabel(job["relabel_configs"], target)
    assert (result is not None) == kept
    if result is not None:
        assert (result["__address__"], result["__metrics_path__"]) == (address, path)
        # The labels Seldon Deploy queries by (prometheus.seldon.namespaceMetricName) and pod labels.
        assert result["kubernetes_namespace"] == "models"
        assert result["kubernetes_pod_name"] == "iris-default-0-classifier-abc"
        assert result["seldon_deployment_id"] == "iris"


@pytest.mark.parametrize(
    ("service", "scraped"),
    [(NODE_EXPORTER, True), (KUBE_STATE_METRICS, True), (PROMETHEUS, False)],
    ids=[
        "node-exporter's service is scraped by the endpoints job",
        "kube-state-metrics's service is scraped by the endpoints job",
        "prometheus's own service is not (it scrapes itself on localhost)",
    ],
)
def test_the_endpoints_job_scrapes_annotated_services(service: str, scraped: bool) -> None:
    objs = manifests()
    job = scrape_job(prometheus_config(objs), "kubernetes-endpoints")
    annotations = find(objs, "Service", service)["metadata"].get("annotations", {})
    target = {
        "__address__": "10.1.2.3:9100",
        "__meta_kubernetes_namespace": NS,
        "__meta_kubernetes_service_name": service,
    }
    for key, value in annotations.items():
        target["__meta_kubernetes_service_annotation_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)] = value
    result = relabel(job["relabel_configs"], target)
    assert (result is not None) == scraped


def test_the_node_exporter_reads_the_hosts_proc_and_sys_read_only_on_the_host_network() -> None:
    objs = manifests()
    pod = pod_spec(objs, NODE_EXPORTER)
    assert pod["hostNetwork"] is True
    assert pod["hostPID"] is True
    host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
    mounts = {m["name"]: m for m in container(objs, NODE_EXPORTER, "node-exporter")["volumeMounts"]}
    assert sorted(host_paths.values()) == ["/proc", "/sys"]
    assert all(mounts[name]["readOnly"] is True for name in host_paths)
    assert "tolerations" not in pod


def test_alertmanager_keeps_its_state_on_a_2gi_claim_of_the_default_storage_class() -> None:
    objs = manifests()
    claim = find(objs, "PersistentVolumeClaim", ALERTMANAGER)
    assert claim["metadata"]["namespace"] == NS
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}
    volume = next(v for v in pod_spec(objs, ALERTMANAGER)["volumes"] if "persistentVolumeClaim" in v)
    assert volume["persistentVolumeClaim"] == {"claimName": ALERTMANAGER}
    mount = next(
        m for m in container(objs, ALERTMANAGER, "alertmanager")["volumeMounts"] if m["name"] == volume["name"]
    )
    assert mount["mountPath"] == "/data"
    # A ReadWriteOnce volume cannot follow a rolling update onto another node.
    assert find(objs, "Deployment", ALERTMANAGER)["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize(
    ("account", "needed"),
    [
        (
            PROMETHEUS,
            [("", "nodes/proxy", "get"), ("", "pods", "watch"), ("", "endpoints", "list"), ("", "nodes", "list")],
        ),
        (KUBE_STATE_METRICS, [("", "pods", "list"), ("apps", "deployments", "watch"), ("", "nodes", "list")]),
    ],
    ids=[
        "prometheus may discover targets and proxy to kubelets",
        "kube-state-metrics may list and watch what it reports",
    ],
)
def test_service_accounts_are_bound_to_cluster_roles_named_after_the_namespace(
    account: str, needed: list[tuple[str, str, str]]
) -> None:
    objs = manifests()
    pod = pod_spec(objs, account)
    assert pod["serviceAccountName"] == account
    find(objs, "ServiceAccount", account)
    binding = find(objs, "ClusterRoleBinding", f"{account}-{NS}")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": NS}]
    role = find(objs, "ClusterRole", binding["roleRef"]["name"])
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule["verbs"]
    }
    assert set(needed) <= granted
    assert not any("secrets" in rule.get("resources", []) for rule in role["rules"])


def test_prometheus_may_read_the_metrics_url_of_the_api_server() -> None:
    role = find(manifests(), "ClusterRole", f"{PROMETHEUS}-{NS}")
    assert {"nonResourceURLs": ["/metrics"], "verbs": ["get"]} in role["rules"]


def test_two_platforms_in_different_namespaces_do_not_share_cluster_scoped_objects() -> None:
    def cluster_scoped(namespace: str) -> set[tuple[str, str]]:
        return {(m["kind"], m["metadata"]["name"]) for m in manifests(namespace) if "namespace" not in m["metadata"]}

    first, second = cluster_scoped("seldon-system"), cluster_scoped("team-a")
    assert len(first) == 4
    assert not first & second


def test_grafana_is_not_installed() -> None:
    assert not [m for m in manifests() if "grafana" in m["metadata"]["name"]]


def test_nothing_is_rendered_when_analytics_is_off() -> None:
    comp = render(platform(analytics=False)).component("analytics")
    assert comp.enabled is False
    assert comp.manifests == ()


@pytest.mark.parametrize("namespace", ["seldon-system", "team-a"], ids=["in seldon-system", "in another namespace"])
def test_seldon_deploy_is_wired_to_this_prometheus_and_alertmanager_when_analytics_is_on(namespace: str) -> None:
    enterprise = render(platform(namespace=namespace)).values["enterprise"]
    assert enterprise["prometheus"]["seldon"]["url"] == f"http://{PROMETHEUS}.{namespace}/api/v1/"
    assert enterprise["prometheus"]["seldon"]["namespaceMetricName"] == "kubernetes_namespace"
    assert enterprise["prometheus"]["seldon"]["serviceMetricName"] == "service"
    assert enterprise["env"]["ALERTMANAGER_URL"] == f"http://{ALERTMANAGER}.{namespace}/api/v1/alerts"


def test_seldon_deploy_is_not_wired_to_analytics_when_analytics_is_off() -> None:
    enterprise = render(platform(analytics=False)).values["enterprise"]
    assert "seldon-core-analytics" not in repr(enterprise)


def test_user_values_win_over_the_analytics_wiring() -> None:
    own = "http://thanos-querier.monitoring:9090/api/v1/"
    document = platform(enterprise={"values": {"prometheus": {"seldon": {"url": own}}}})
    seldon = render(document).values["enterprise"]["prometheus"]["seldon"]
    assert seldon["url"] == own
    assert seldon["namespaceMetricName"] == "kubernetes_namespace"


def test_rendering_twice_gives_identical_objects() -> None:
    document = platform(enable={"catalogue": True, "payloadstore": True, "routing": True, "detectors": True})
    assert render(document).component("analytics").manifests == render(document).component("analytics").manifests
    assert yaml.safe_dump(manifests()) == yaml.safe_dump(manifests())
