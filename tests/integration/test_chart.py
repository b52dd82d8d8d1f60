"""The Helm chart, rendered and linted by helm itself: with default values it gives exactly the install manifest's
objects (one source: render/chart.py generates it from render/install.py's objects), and each value changes what
it should and nothing else. No cluster is needed; `helm install` on the local cluster is in tests/e2e/test_helm.py.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from seldon_meta_operator.cli.generated import builtin_plural
from seldon_meta_operator.render import install
from tests.builders import ROOT
from tests.helm import CHART, helm_binary

Objects = list[dict[str, Any]]


@pytest.fixture(scope="module")
def helm() -> str:
    return helm_binary()


def template(helm: str, *args: str, namespace: str = install.NAMESPACE) -> Objects:
    done = subprocess.run(
        [helm, "template", "seldon-meta-operator", str(CHART), "--namespace", namespace, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def as_set(objects: Objects) -> set[str]:
    return {json.dumps(o, sort_keys=True) for o in objects}


def deployment(objects: Objects) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "Deployment")


def manager(objects: Objects) -> dict[str, Any]:
    pod = deployment(objects)["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "manager")


def test_helm_lint_passes_strictly(helm: str) -> None:
    done = subprocess.run([helm, "lint", "--strict", str(CHART)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_default_values_give_exactly_the_install_manifests_objects(helm: str) -> None:
    manifest = [d for d in yaml.safe_load_all((ROOT / "deploy" / "seldonoperator_install.yaml").read_text()) if d]
    rendered = template(helm)
    assert len(rendered) == len(manifest)
    assert as_set(rendered) == as_set(manifest)


@pytest.mark.parametrize(
    ("args", "namespace", "expected_namespace"),
    [
        ((), "operators", "operators"),
        (("--set", "namespaceOverride=platform"), "default", "platform"),
    ],
    ids=["the release namespace is the operator's", "namespaceOverride wins over the release namespace"],
)
def test_another_namespace_gives_the_manifest_made_for_it(
    helm: str, args: tuple[str, ...], namespace: str, expected_namespace: str
) -> None:
    expected = install.install_manifests(builtin_plural, namespace=expected_namespace)
    assert as_set(template(helm, *args, namespace=namespace)) == as_set(expected)


def digest() -> str:
    return "sha256:" + "ab" * 32


Check = Callable[[Objects], None]


def check_image_digest(objects: Objects) -> None:
    assert manager(objects)["image"] == f"registry.example/smo@{digest()}"


def check_image_tag(objects: Objects) -> None:
    assert manager(objects)["image"] == "registry.example/smo:dev"
    assert manager(objects)["imagePullPolicy"] == "Always"


def check_pull_secrets(objects: Objects) -> None:
    assert deployment(objects)["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]


def check_replicas(objects: Objects) -> None:
    assert deployment(objects)["spec"]["replicas"] == 3


def check_resources(objects: Objects) -> None:
    assert manager(objects)["resources"] == {"limits": {"memory": "1Gi"}}


def check_scheduling(objects: Objects) -> None:
    pod = deployment(objects)["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"disk": "ssd"}
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert "affinity" not in pod  # written only when set


def check_logs(objects: Objects) -> None:
    args = manager(objects)["args"]
    assert "--verbose" in args
    assert "--json-logs" not in args


def check_metrics_port(objects: Objects) -> None:
    pod = deployment(objects)["spec"]["template"]["spec"]
    assert "--metrics-port=9090" in manager(objects)["args"]
    assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in manager(objects)["ports"]
    proxy = next(c for c in pod["containers"] if c["name"] != "manager")
    assert any(":9090/" in a for a in proxy["args"])
    assert f"{install.METRICS_PORT}" not in json.dumps(pod)


def check_service_monitor(objects: Objects) -> None:
    (monitor,) = [o for o in objects if o["kind"] == "ServiceMonitor"]
    service = next(o for o in objects if o["kind"] == "Service")
    assert monitor["metadata"]["namespace"] == install.NAMESPACE
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()


def check_allowed_namespaces(objects: Objects) -> None:
    assert [a for a in manager(objects)["args"] if a.startswith("--allowed-namespace")] == [
        "--allowed-namespace=kube-system",
        "--allowed-namespace=argocd",
    ]
    bindings = {o["metadata"]["namespace"]: o for o in objects if o["kind"] == "RoleBinding"}
    assert set(bindings) == {install.NAMESPACE, "kube-system", "argocd"}
    for binding in bindings.values():
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": install.NAME, "namespace": install.NAMESPACE}]
        assert binding["roleRef"] == bindings[install.NAMESPACE]["roleRef"]


VALUES: list[tuple[str, tuple[str, ...], Check]] = [
    (
        "image.digest pins the image by digest",
        ("--set", "image.repository=registry.example/smo", "--set", f"image.digest={digest()}"),
        check_image_digest,
    ),
    (
        "image.tag and pullPolicy",
        (
            "--set",
            "image.repository=registry.example/smo",
            "--set",
            "image.tag=dev",
            "--set",
            "image.pullPolicy=Always",
        ),
        check_image_tag,
    ),
    ("imagePullSecrets", ("--set", "imagePullSecrets[0].name=regcred"), check_pull_secrets),
    ("replicas", ("--set", "replicas=3"), check_replicas),
    (
        "resources (Helm merges maps: null removes a default)",
        ("--set-json", 'resources={"requests":null,"limits":{"memory":"1Gi","cpu":null}}'),
        check_resources,
    ),
    (
        "nodeSelector, tolerations, priorityClassName, and affinity removed with null",
        (
            "--set",
            "nodeSelector.disk=ssd",
            "--set-json",
            'tolerations=[{"key":"dedicated","operator":"Exists"}]',
            "--set",
            "priorityClassName=system-cluster-critical",
            "--set",
            "affinity=null",
        ),
        check_scheduling,
    ),
    ("logLevel debug and logFormat text", ("--set", "logLevel=debug", "--set", "logFormat=text"), check_logs),
    ("metrics.port changes every use of the port", ("--set", "metrics.port=9090"), check_metrics_port),
    (
        "metrics.serviceMonitor",
        ("--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=prometheus"),
        check_service_monitor,
    ),
    (
        "allowedNamespaces add the flag and a RoleBinding in each",
        ("--set", "allowedNamespaces={kube-system,argocd}"),
        check_allowed_namespaces,
    ),
]


@pytest.mark.parametrize(("args", "check"), [v[1:] for v in VALUES], ids=[v[0] for v in VALUES])
def test_each_value_changes_what_it_names_and_nothing_else(helm: str, args: tuple[str, ...], check: Check) -> None:
    default = template(helm)
    changed = template(helm, *args)
    check(changed)
    unchanged_kinds = {o["kind"] for o in default} - {"Deployment", "RoleBinding"}
    for kind in unchanged_kinds:
        assert as_set([o for o in changed if o["kind"] == kind]) == as_set([o for o in default if o["kind"] == kind])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--set", "logLevel=loud"), "/logLevel"),
        (("--set", "logFormat=xml"), "/logFormat"),
        (("--set", "replica=2"), "replica"),
        (("--set", "image.digest=latest"), "/image/digest"),
        (("--set", "metrics.port=0"), "/metrics/port"),
    ],
    ids=["an unknown log level", "an unknown log format", "a misspelt value", "a digest that is not one", "port 0"],
)
def test_bad_values_are_refused_naming_the_field(helm: str, args: tuple[str, ...], message: str) -> None:
    done = subprocess.run(
        [helm, "template", "seldon-meta-operator", str(CHART), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
