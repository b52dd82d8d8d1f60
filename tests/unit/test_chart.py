"""The Helm chart is generated from the install manifest's objects (render/chart.py): its values take their defaults
from them, and what a text substitution cannot template is refused. Rendering with helm itself (lint, default
values equal the manifest, every value) is in tests/integration/test_chart.py; freshness in test_crd.py."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from seldon_meta_operator.cli.generated import builtin_plural, chart_files
from seldon_meta_operator.render import install
from seldon_meta_operator.render.chart import NAMESPACE_MARKER, ChartError, render_chart

CHART = chart_files()
VALUES = yaml.safe_load(CHART["values.yaml"])
OBJECTS = install.install_manifests(builtin_plural)
DEPLOYMENT = next(o for o in OBJECTS if o["kind"] == "Deployment")
MANAGER = next(c for c in DEPLOYMENT["spec"]["template"]["spec"]["containers"] if c["name"] == "manager")


def small(namespace: str, *, args: tuple[str, ...] = ("--json-logs", "--metrics-port=8080")) -> list[Any]:
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "op", "namespace": namespace}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "metrics", "namespace": namespace, "labels": {"app": "op"}},
            "spec": {"ports": [{"name": "https", "port": 8443}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "op", "namespace": namespace},
            "spec": {
                "replicas": 1,
                "template": {"spec": {"containers": [{"name": "manager", "image": "r/op:1.2.3", "args": list(args)}]}},
            },
        },
    ]


def chart_of(objects_for: Any) -> dict[str, str]:
    return render_chart(objects_for, "op-namespace", metrics_port=8080, metrics_service="metrics", description="d")


def test_the_values_default_to_the_install_manifests_deployment() -> None:
    repository, _, tag = MANAGER["image"].rpartition(":")
    assert VALUES["image"] == {
        "repository": repository,
        "tag": tag,
        "digest": "",
        "pullPolicy": MANAGER["imagePullPolicy"],
    }
    assert VALUES["replicas"] == DEPLOYMENT["spec"]["replicas"]
    assert VALUES["resources"] == MANAGER["resources"]
    assert VALUES["logFormat"] == "json"  # the manifest runs --json-logs
    assert VALUES["logLevel"] == "info"
    assert VALUES["metrics"]["port"] == install.METRICS_PORT
    assert VALUES["metrics"]["serviceMonitor"]["enabled"] is False
    assert VALUES["namespaceOverride"] == ""
    pod = DEPLOYMENT["spec"]["template"]["spec"]
    for key in ("nodeSelector", "tolerations", "affinity"):
        assert VALUES[key] == pod.get(key, VALUES[key] if not VALUES[key] else None), key


def test_the_chart_names_the_manifests_image_version() -> None:
    chart = yaml.safe_load(CHART["Chart.yaml"])
    assert chart["appVersion"] == chart["version"] == MANAGER["image"].rpartition(":")[2]


def test_the_chart_adds_no_helm_labels() -> None:
    text = "".join(v for k, v in CHART.items() if k.startswith("templates/"))
    assert "helm.sh/chart" not in text
    assert "app.kubernetes.io/managed-by" not in text
    assert "app.kubernetes.io/instance" not in text


def test_the_namespace_is_templated_everywhere_and_never_left_hard_wired() -> None:
    text = "".join(CHART.values())
    assert NAMESPACE_MARKER not in text
    assert f"namespace: {install.NAMESPACE}" not in text


def test_objects_that_depend_on_the_namespace_beyond_text_are_refused() -> None:
    def objects_for(namespace: str) -> list[Any]:
        objects = small(namespace)
        # A list whose order depends on the namespace's name: a substitution cannot reproduce it.
        objects[0]["metadata"]["labels"] = {"n": str(len(namespace))}
        return objects

    with pytest.raises(ChartError, match="depend on the namespace"):
        chart_of(objects_for)


def test_a_hard_wired_namespace_is_refused() -> None:
    def objects_for(namespace: str) -> list[Any]:
        objects = small(namespace)
        objects[0]["metadata"]["annotations"] = {"home": "op-namespace"}
        return objects

    with pytest.raises(ChartError, match="hard-wired"):
        chart_of(objects_for)


def test_text_that_looks_like_a_template_stays_text() -> None:
    def objects_for(namespace: str) -> list[Any]:
        objects = small(namespace)
        objects[0]["metadata"]["annotations"] = {"doc": "use {{ .Values.x }}"}
        return objects

    text = chart_of(objects_for)["templates/serviceaccount-op.yaml"]
    assert 'use {{ "{{" }} .Values.x }}' in text


def test_a_manager_without_a_metrics_port_flag_is_refused() -> None:
    with pytest.raises(ChartError, match="--metrics-port"):
        chart_of(lambda namespace: small(namespace, args=("--json-logs",)))
