"""The SeldonDeployment CRD we render keeps every ``required`` rule upstream has on the paths we type, refuses
nothing upstream accepts, and stays small enough for client-side ``kubectl apply``."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml
from tests.unit.test_component_seldon_core import crd

from seldon_meta_operator.components.sdep_schema import required_rules, seldondeployment_schema, typed_fields

_CONTAINER_RULES: dict[str, tuple[str, ...]] = {
    "": ("name",),
    ".env[]": ("name",),
    ".env[].valueFrom.configMapKeyRef": ("key",),
    ".env[].valueFrom.fieldRef": ("fieldPath",),
    ".env[].valueFrom.resourceFieldRef": ("resource",),
    ".env[].valueFrom.secretKeyRef": ("key",),
    ".ports[]": ("containerPort",),
    ".resources.claims[]": ("name",),
    ".volumeMounts[]": ("mountPath", "name"),
    **{
        f".{probe}{sub}": rule
        for probe in ("livenessProbe", "readinessProbe", "startupProbe")
        for sub, rule in (
            (".grpc", ("port",)),
            (".httpGet", ("port",)),
            (".httpGet.httpHeaders[]", ("name", "value")),
            (".tcpSocket", ("port",)),
        )
    },
}
_ENV_RULES = {k: v for k, v in _CONTAINER_RULES.items() if k.startswith(".env[]")}
_P = ".spec.predictors[]"
_CS = f"{_P}.componentSpecs[]"

#: Upstream's ``required`` rules (Seldon Core 1.18.2, helm-charts/seldon-core-operator/templates/
#: customresourcedefinition_v1_seldondeployments.machinelearning.seldon.io.yaml, version v1) on the paths our
#: schema types. Upstream has 234 such rules in all; the others sit in PodSpec fields we keep as given.
UPSTREAM_REQUIRED: dict[str, tuple[str, ...]] = {
    ".spec": ("predictors",),
    _P: ("graph", "name"),
    f"{_P}.graph": ("name",),
    f"{_P}.graph.parameters[]": ("name", "type", "value"),
    f"{_P}.graph.children[]": ("name",),
    f"{_P}.graph.children[].parameters[]": ("name", "type", "value"),
    f"{_P}.graph.children[].children[]": ("name",),
    f"{_P}.graph.children[].children[].parameters[]": ("name", "type", "value"),
    f"{_P}.graph.children[].children[].children[]": ("name",),
    f"{_CS}.hpaSpec": ("maxReplicas",),
    f"{_CS}.hpaSpec.metrics[]": ("type",),
    f"{_CS}.hpaSpec.metricsv2[]": ("type",),
    f"{_CS}.kedaSpec": ("triggers",),
    f"{_CS}.kedaSpec.fallback": ("failureThreshold", "replicas"),
    f"{_CS}.kedaSpec.triggers[]": ("metadata", "type"),
    f"{_CS}.kedaSpec.triggers[].authenticationRef": ("name",),
    f"{_CS}.spec": ("containers",),
    **{f"{_CS}.spec.containers[]{k}": v for k, v in _CONTAINER_RULES.items()},
    f"{_CS}.spec.initContainers[]": ("name",),
    f"{_CS}.spec.topologySpreadConstraints[]": ("maxSkew", "topologyKey", "whenUnsatisfiable"),
    f"{_CS}.spec.volumes[]": ("name",),
    f"{_CS}.spec.volumes[].configMap.items[]": ("key", "path"),
    f"{_CS}.spec.volumes[].secret.items[]": ("key", "path"),
    f"{_CS}.spec.volumes[].hostPath": ("path",),
    f"{_CS}.spec.volumes[].persistentVolumeClaim": ("claimName",),
    f"{_P}.engineResources.claims[]": ("name",),
    **{f"{_P}.explainer.containerSpec{k}": v for k, v in _CONTAINER_RULES.items()},
    **{f"{_P}.svcOrchSpec{k}": v for k, v in _ENV_RULES.items()},
    f"{_P}.svcOrchSpec.resources.claims[]": ("name",),
}

SCHEMA = seldondeployment_schema()
OURS = dict(required_rules(SCHEMA))


def _typed_objects(node: dict[str, Any], path: str = "") -> set[str]:
    out = {path} if "properties" in node else set()
    for name, sub in (node.get("properties") or {}).items():
        out |= _typed_objects(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        out |= _typed_objects(node["items"], f"{path}[]")
    return out


@pytest.mark.parametrize("path", sorted(UPSTREAM_REQUIRED))
def test_every_upstream_required_rule_on_a_typed_path_is_kept(path: str) -> None:
    assert path in _typed_objects(SCHEMA), f"{path} is no longer typed: drop it from the table or type it"
    assert OURS.get(path) == UPSTREAM_REQUIRED[path]


def test_no_required_rule_upstream_lacks() -> None:
    assert {p: r for p, r in OURS.items() if p not in UPSTREAM_REQUIRED} == {}


def test_the_fields_users_get_wrong_are_typed() -> None:
    fields = set(typed_fields(SCHEMA))
    for path in (
        f"{_CS}.hpaSpec.maxReplicas",
        f"{_CS}.spec.containers[].image",
        f"{_CS}.spec.containers[].ports[].containerPort",
        f"{_CS}.spec.containers[].env[].valueFrom.secretKeyRef.key",
        f"{_CS}.spec.containers[].resources.limits",
        f"{_CS}.spec.containers[].readinessProbe.httpGet.port",
        f"{_CS}.spec.volumes[].secret.secretName",
        f"{_CS}.kedaSpec.triggers[].metadata",
        f"{_CS}.pdbSpec.minAvailable",
        f"{_P}.explainer.containerSpec.image",
        f"{_P}.graph.children[].children[].modelUri",
    ):
        assert path in fields
    assert len(fields) > 400


def _shared_nodes(node: Any, seen: dict[int, str], path: str = "") -> list[str]:
    """Paths of dicts and lists met before under another path (by identity)."""
    if not isinstance(node, dict | list):
        return []
    if id(node) in seen:
        return [f"{path} is {seen[id(node)]}"]
    seen[id(node)] = path
    children = node.items() if isinstance(node, dict) else enumerate(node)
    return [shared for key, sub in children for shared in _shared_nodes(sub, seen, f"{path}.{key}")]


def test_no_schema_node_has_two_parents() -> None:
    """The module's promise: nodes are built fresh, so nothing downstream can change two places at once. (resources'
    limits and requests once shared their additionalProperties, which PyYAML printed as an anchor and an alias.)"""
    assert _shared_nodes(seldondeployment_schema(), {}) == []


def test_the_crd_fits_client_side_apply() -> None:
    """kubectl apply (client side) stores the object as compact JSON in an annotation of at most 256 KiB."""
    manifest = crd()
    assert len(json.dumps(manifest, separators=(",", ":"))) < 256 * 1024
    assert len(yaml.safe_dump(manifest)) < 256 * 1024


VALID: dict[str, Any] = {
    "apiVersion": "machinelearning.seldon.io/v1",
    "kind": "SeldonDeployment",
    "metadata": {"name": "iris"},
    "spec": {
        "predictors": [
            {
                "name": "default",
                "replicas": 1,
                "graph": {"name": "classifier", "type": "MODEL", "children": [{"name": "child", "children": []}]},
                "componentSpecs": [
                    {
                        "spec": {
                            "containers": [
                                {
                                    "name": "classifier",
                                    "image": "seldonio/sklearnserver:1.18.2",
                                    "ports": [{"containerPort": 9000, "name": "http"}],
                                    "resources": {"requests": {"cpu": "100m", "memory": 1}},
                                    "stdin": False,
                                }
                            ],
                            "dnsPolicy": "ClusterFirst",
                        },
                        "hpaSpec": {
                            "minReplicas": 1,
                            "maxReplicas": 3,
                            "metricsv2": [{"type": "Resource", "resource": {"name": "cpu"}}],
                        },
                        "pdbSpec": {"minAvailable": "50%"},
                    }
                ],
            }
        ]
    },
}


def _without(path: list[Any]) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return doc


CS0 = ["spec", "predictors", 0, "componentSpecs", 0]


@pytest.mark.parametrize(
    ("doc", "missing"),
    [
        (_without([*CS0, "spec", "containers"]), "containers"),
        (_without([*CS0, "hpaSpec", "maxReplicas"]), "maxReplicas"),
        (_without([*CS0, "spec", "containers", 0, "name"]), "name"),
        (_without(["spec", "predictors", 0, "graph", "children", 0, "name"]), "name"),
        (_without(["spec", "predictors", 0, "name"]), "name"),
    ],
    ids=[
        "a componentSpec's pod without containers",
        "an hpaSpec without maxReplicas",
        "a container without a name",
        "a child graph node without a name",
        "a predictor without a name",
    ],
)
def test_the_schema_refuses_what_upstream_refuses(doc: dict[str, Any], missing: str) -> None:
    with pytest.raises(jsonschema.ValidationError, match=f"'{missing}' is a required property"):
        jsonschema.validate(doc, SCHEMA)


def test_the_schema_accepts_a_valid_seldondeployment_with_kubernetes_fields_it_does_not_type() -> None:
    jsonschema.validate(VALID, SCHEMA)
