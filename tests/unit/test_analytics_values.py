"""spec.analytics.values: the prometheus subchart's keys change retention, scrape settings, volumes, resources
and placement of every analytics workload; bad values are errors naming the field; misspelt keys are warned about;
and the usage recording rules only use labels our scrape configuration produces."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from tests.unit.test_component_analytics import (
    ALERTMANAGER,
    KUBE_STATE_METRICS,
    NODE_EXPORTER,
    PROMETHEUS,
    PUSHGATEWAY,
    container,
    find,
    platform,
    pod_spec,
    prometheus_config,
    render,
    scrape_job,
)

from seldon_meta_operator.components.analytics import DEPLOY_METRIC_LABELS, USAGE_RULES
from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.errors import SpecError


def with_values(values: dict[str, Any]) -> dict[str, Any]:
    doc = platform()
    doc["spec"]["analytics"] = {"values": values}
    return doc


def objects(values: dict[str, Any]) -> list[Manifest]:
    return list(render(with_values(values)).component("analytics").manifests)


def prom(values: dict[str, Any]) -> dict[str, Any]:
    return {"prometheus": values}


def test_the_defaults_are_sized_for_a_hundred_nodes_and_keep_the_charts_retention() -> None:
    objs = objects({})
    server = container(objs, PROMETHEUS, "prometheus")
    assert "--storage.tsdb.retention.time=15d" in server["args"]
    assert server["resources"] == {
        "requests": {"cpu": "500m", "memory": "4Gi"},
        "limits": {"cpu": "2", "memory": "8Gi"},
    }
    assert container(objs, KUBE_STATE_METRICS, "kube-state-metrics")["resources"]["limits"]["memory"] == "1Gi"
    assert container(objs, NODE_EXPORTER, "node-exporter")["resources"]["limits"]["memory"] == "128Mi"
    assert {"name": "storage-volume", "emptyDir": {}} in pod_spec(objs, PROMETHEUS)["volumes"]
    assert prometheus_config(objs)["global"] == {
        "scrape_interval": "15s",
        "scrape_timeout": "10s",
        "evaluation_interval": "1m",
    }


def test_retention_scrape_interval_and_resources_come_from_the_charts_keys() -> None:
    objs = objects(
        prom(
            {
                "server": {
                    "retention": "30d",
                    "global": {"scrape_interval": "30s"},
                    "resources": {"limits": {"memory": "16Gi"}},
                },
                "alertmanager": {"resources": {"requests": {"cpu": "20m"}}},
                "pushgateway": {"resources": {"limits": {"cpu": 1}}},
            }
        )
    )
    server = container(objs, PROMETHEUS, "prometheus")
    assert "--storage.tsdb.retention.time=30d" in server["args"]
    assert server["resources"]["limits"] == {"cpu": "2", "memory": "16Gi"}
    assert prometheus_config(objs)["global"]["scrape_interval"] == "30s"
    assert container(objs, ALERTMANAGER, "alertmanager")["resources"]["requests"]["cpu"] == "20m"
    assert container(objs, PUSHGATEWAY, "pushgateway")["resources"]["limits"]["cpu"] == "1"


def test_a_persistent_volume_for_prometheus_has_the_size_and_class_given_and_replaces_pods_by_recreate() -> None:
    objs = objects(prom({"server": {"persistentVolume": {"enabled": True, "size": "200Gi", "storageClass": "fast"}}}))
    claim = find(objs, "PersistentVolumeClaim", PROMETHEUS)
    assert claim["spec"]["resources"]["requests"]["storage"] == "200Gi"
    assert claim["spec"]["storageClassName"] == "fast"
    assert {"name": "storage-volume", "persistentVolumeClaim": {"claimName": PROMETHEUS}} in pod_spec(objs, PROMETHEUS)[
        "volumes"
    ]
    assert find(objs, "Deployment", PROMETHEUS)["spec"]["strategy"] == {"type": "Recreate"}


def test_an_existing_claim_is_used_instead_of_a_new_one() -> None:
    objs = objects(prom({"server": {"persistentVolume": {"enabled": True, "existingClaim": "seldon-claim"}}}))
    assert not [m for m in objs if m["kind"] == "PersistentVolumeClaim" and m["metadata"]["name"] == PROMETHEUS]
    assert {"name": "storage-volume", "persistentVolumeClaim": {"claimName": "seldon-claim"}} in pod_spec(
        objs, PROMETHEUS
    )["volumes"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("", None), ("-", ""), ("standard", "standard")],
    ids=["empty means the default class", "a dash means no class", "a name is that class"],
)
def test_the_alertmanager_volume_follows_the_charts_storage_class_convention(given: str, expected: str | None) -> None:
    claim = find(
        objects(prom({"alertmanager": {"persistentVolume": {"storageClass": given}}})),
        "PersistentVolumeClaim",
        ALERTMANAGER,
    )
    assert claim["spec"].get("storageClassName") == expected


def test_node_selectors_and_tolerations_go_on_each_workloads_pod() -> None:
    toleration = {"key": "monitoring", "operator": "Exists", "effect": "NoSchedule"}
    placement = {"nodeSelector": {"pool": "monitoring"}, "tolerations": [toleration]}
    objs = objects(
        prom({k: placement for k in ("server", "alertmanager", "pushgateway", "nodeExporter", "kube-state-metrics")})
    )
    for workload in (PROMETHEUS, ALERTMANAGER, PUSHGATEWAY, NODE_EXPORTER, KUBE_STATE_METRICS):
        assert pod_spec(objs, workload)["nodeSelector"] == {"pool": "monitoring"}
        assert pod_spec(objs, workload)["tolerations"] == [toleration]


def test_node_exporter_can_be_turned_off() -> None:
    objs = objects(prom({"nodeExporter": {"enabled": False}}))
    assert not [m for m in objs if m["metadata"]["name"] == NODE_EXPORTER]


@pytest.mark.parametrize(
    "extra",
    [
        "- job_name: blackbox\n  static_configs: [{targets: ['blackbox:9115']}]\n",
        [{"job_name": "blackbox", "static_configs": [{"targets": ["blackbox:9115"]}]}],
    ],
    ids=["as the chart's YAML string", "as a list"],
)
def test_extra_scrape_configs_are_appended_to_ours(extra: Any) -> None:
    config = prometheus_config(objects(prom({"extraScrapeConfigs": extra})))
    assert scrape_job(config, "blackbox")["static_configs"] == [{"targets": ["blackbox:9115"]}]
    assert scrape_job(config, "kubernetes-pods")


def test_the_alertmanager_configuration_comes_from_alertmanager_files() -> None:
    receivers = [{"name": "default", "slack_configs": [{"channel": "#alerts", "api_url": "https://hooks.example"}]}]
    objs = objects(prom({"alertmanagerFiles": {"alertmanager.yml": {"receivers": receivers}}}))
    config = yaml.safe_load(find(objs, "ConfigMap", "alertmanager-server-conf")["data"]["config.yaml"])
    assert config["receivers"] == receivers
    assert config["route"]["receiver"] == "default"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        (prom({"server": {"retention": "two weeks"}}), "spec.analytics.values.prometheus.server.retention"),
        (prom({"server": {"global": {"scrape_interval": 15}}}), "prometheus.server.global.scrape_interval"),
        (prom({"server": {"resources": {"limits": {"memory": "lots"}}}}), "server.resources.limits.memory"),
        (prom({"server": {"resources": {"limit": {"memory": "1Gi"}}}}), "prometheus.server.resources"),
        (prom({"nodeExporter": {"tolerations": ["all"]}}), "prometheus.nodeExporter.tolerations[0]"),
        (prom({"extraScrapeConfigs": "- static_configs: []"}), "prometheus.extraScrapeConfigs[0]"),
        (prom({"extraScrapeConfigs": [{"job_name": "kubernetes-pods"}]}), "extraScrapeConfigs[0].job_name"),
        (prom({"server": {"persistentVolume": {"enabled": "yes"}}}), "server.persistentVolume.enabled"),
    ],
    ids=[
        "a retention that is not a duration",
        "a scrape interval without a unit",
        "a memory limit that is not a quantity",
        "a misspelt resources key",
        "a toleration that is not a mapping",
        "a scrape job without a name",
        "a scrape job named like one of ours",
        "a volume switch that is not a boolean",
    ],
)
def test_bad_values_are_errors_naming_the_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError, match=re.escape(field)):
        objects(values)


def test_a_misspelt_key_is_a_warning_suggesting_the_right_one() -> None:
    warnings = render(with_values(prom({"server": {"retension": "30d"}}))).warnings
    assert any("spec.analytics.values.prometheus.server.retension" in w and "`retention`" in w for w in warnings)


def test_free_form_maps_give_no_warning() -> None:
    values = prom(
        {
            "server": {"nodeSelector": {"pool": "a"}, "resources": {"limits": {"nvidia.com/gpu": 1}}},
            "alertmanagerFiles": {"alertmanager.yml": {"inhibit_rules": []}},
        }
    )
    assert not [w for w in render(with_values(values)).warnings if "analytics" in w]


# --- Usage recording rules -----------------------------------------------------------------------------------

#: Labels the scrape targets expose themselves (not added by relabelling), per metric used by the rules:
#: kube-state-metrics v1.9.5 (``kube_pod_labels``: namespace, pod and ``label_<pod label>``;
#: ``kube_pod_status_phase``: namespace, pod, phase) and Seldon Core's executor (doc/source/analytics/analytics.md:
#: service, deployment_name, predictor_name, predictor_version, model_name, model_image, model_version).
EXPORTED: dict[str, set[str]] = {
    "kube_pod_labels": {"namespace", "pod", "label_*"},
    "kube_pod_status_phase": {"namespace", "pod", "phase"},
    "seldon_api_executor_server_requests_seconds_count": {
        "service",
        "deployment_name",
        "predictor_name",
        "predictor_version",
        "model_name",
        "model_image",
        "model_version",
    },
}
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
_GROUPING = re.compile(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def _relabel_targets(config: dict[str, Any]) -> set[str]:
    out = {"job", "instance"}
    for job in config["scrape_configs"]:
        out |= {r["target_label"] for r in job.get("relabel_configs", []) if "target_label" in r}
    return {label for label in out if not label.startswith("__")}


def _produced(label: str, metric_labels: set[str], relabelled: set[str]) -> bool:
    if label in relabelled or label in metric_labels:
        return True
    return any(p.endswith("*") and label.startswith(p[:-1]) for p in metric_labels)


def test_every_label_the_usage_rules_use_is_produced_by_a_relabel_rule_or_the_scrape_target() -> None:
    config = prometheus_config(objects({}))
    relabelled = _relabel_targets(config)
    recorded: dict[str, set[str]] = {}
    for rule in USAGE_RULES["groups"][0]["rules"]:
        expr = rule["expr"]
        metrics = {m for m in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr) if m in EXPORTED or m in recorded}
        available = set().union(*(EXPORTED.get(m, set()) | recorded.get(m, set()) for m in metrics))
        used = {name for _, body in _SELECTOR.findall(expr) for name in _MATCHER.findall(body)}
        grouped = {g.strip() for group in _GROUPING.findall(expr) for g in group.split(",") if g.strip()}
        for label in used | grouped:
            assert _produced(label, available, relabelled), f"{rule['record']}: label {label} is produced by nothing"
        by = re.match(r"^\w+ by \(([^)]*)\)", expr)
        recorded[rule["record"]] = {g.strip() for g in by.group(1).split(",")} if by else available


def test_the_label_names_seldon_deploy_reads_are_the_ones_the_rules_and_scrape_config_produce() -> None:
    config = prometheus_config(objects({}))
    active = {r["record"]: r["expr"] for r in USAGE_RULES["groups"][0]["rules"]}
    assert active["namespace:seldon_deployments_active:count"].startswith(
        f"count by ({DEPLOY_METRIC_LABELS['activeModelsNamespaceMetricName']})"
    )
    assert DEPLOY_METRIC_LABELS["namespaceMetricName"] in _relabel_targets(config)
    assert DEPLOY_METRIC_LABELS["serviceMetricName"] in EXPORTED["seldon_api_executor_server_requests_seconds_count"]
    deploy = render(platform()).values["enterprise"]["prometheus"]["seldon"]
    assert {k: deploy[k] for k in DEPLOY_METRIC_LABELS} == DEPLOY_METRIC_LABELS


def test_the_usage_rules_are_shipped_in_the_rules_configmap() -> None:
    rules = find(objects({}), "ConfigMap", "prometheus-rules")["data"]
    assert yaml.safe_load(rules["model-usage.rules.yml"]) == USAGE_RULES
    assert prometheus_config(objects({}))["rule_files"] == ["/etc/prometheus-rules/*.rules.yml"]
