"""Every object the examples render is a valid Kubernetes 1.34 object.

- Built-in kinds: the Kubernetes 1.34 OpenAPI schemas shipped by kubernetes-validate, in strict mode (unknown fields
  are errors, as with ``kubectl apply``'s server-side field validation).
- Custom kinds (Istio, Knative, cert-manager): the openAPIV3Schema of their CRDs in hack/prereqs/, the ones the
  local cluster installs, with unknown fields rejected where the CRD does not preserve them.
- The CRDs we render (the SeldonDeployment CRD) are valid, structural apiextensions.k8s.io/v1 CRDs, and every example
  validates against our own SeldonOperator CRD.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from tests.builders import ROOT, custom_gateway, enable, example, example_files, external_elastic, platform, render

from seldon_meta_operator.api.crd import seldonoperator_crd
from seldon_meta_operator.components.base import BUILTIN_GROUPS, Manifest
from seldon_meta_operator.render.ownership import object_key

KUBERNETES_VERSION = "1.34.0"
PREREQS = ROOT / "hack" / "prereqs"


def group_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def all_objects() -> list[Manifest]:
    """Every distinct object of every example, plus variants that render what no example does."""
    docs = [example(p.name) for p in example_files()]
    docs += [
        platform(enable("analytics", "catalogue", "routing", "detectors"), external_elastic()),
        platform(enable("detectors"), custom_gateway()),
    ]
    seen: dict[str, Manifest] = {}
    for doc in docs:
        for manifest in render(doc, owner_uid="0b4e4e9c-1111-4222-8333-444455556666").manifests:
            key = object_key(manifest)
            suffix = 0
            while key in seen and seen[key] != manifest:  # same object, other content: keep both
                suffix += 1
                key = f"{object_key(manifest)}#{suffix}"
            seen[key] = manifest
    return [seen[k] for k in sorted(seen)]


OBJECTS = all_objects()
BUILTIN = [m for m in OBJECTS if group_of(m["apiVersion"]) in BUILTIN_GROUPS]
CUSTOM = [m for m in OBJECTS if group_of(m["apiVersion"]) not in BUILTIN_GROUPS]
RENDERED_CRDS = [m for m in OBJECTS if m["kind"] == "CustomResourceDefinition"]


def ids(objs: list[Manifest]) -> list[str]:
    return [f"{m['kind']} {m['metadata'].get('namespace', '-')}/{m['metadata']['name']} is valid" for m in objs]


def test_the_examples_render_built_in_and_custom_kinds() -> None:
    kinds = {m["kind"] for m in OBJECTS}
    assert {"Deployment", "Service", "ServiceAccount", "ClusterRole", "StatefulSet", "DaemonSet"} <= kinds
    assert {"Gateway", "VirtualService", "Broker", "Trigger"} <= kinds


# --- Built-in kinds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("manifest", BUILTIN, ids=ids(BUILTIN))
def test_built_in_objects_validate_against_kubernetes_1_34(manifest: Manifest) -> None:
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{object_key(manifest)}: {path}: {exc.message}")
    except kubernetes_validate.SchemaNotFoundError as exc:
        pytest.fail(exc.message)


# --- Custom kinds ------------------------------------------------------------------------------------------


def strict_json_schema(node: Any) -> Any:
    """An OpenAPI v3 structural schema as a JSON schema that rejects unknown fields, as the API server does with
    strict field validation, unless the schema preserves them."""
    if isinstance(node, list):
        return [strict_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-embedded-resource")
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    for key in ("properties", "patternProperties"):
        if key in node:
            out[key] = {name: strict_json_schema(sub) for name, sub in node[key].items()}
    return out


def crd_documents() -> Iterator[dict[str, Any]]:
    for path in sorted(PREREQS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                yield doc


@cache
def prerequisite_schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema of every served version of the CRDs in hack/prereqs/."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for doc in crd_documents():
        spec = doc["spec"]
        for version in spec["versions"]:
            if version.get("served", True):
                schema = (version.get("schema") or spec.get("validation") or {}).get("openAPIV3Schema")
                out[(spec["group"], version["name"], spec["names"]["kind"])] = schema or {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                }
    return out


def test_hack_prereqs_holds_the_crds_the_local_cluster_installs() -> None:
    assert PREREQS.is_dir(), "hack/prereqs/ is missing"
    assert list(crd_documents()), "hack/prereqs/ holds no CustomResourceDefinition"


@pytest.mark.parametrize("manifest", CUSTOM, ids=ids(CUSTOM))
def test_custom_objects_validate_against_their_prerequisite_crd(manifest: Manifest) -> None:
    group, _, version = manifest["apiVersion"].rpartition("/")
    key = (group, version, manifest["kind"])
    schemas = prerequisite_schemas()
    if key not in schemas:
        served = sorted(f"{g}/{v} {k}" for g, v, k in schemas if k == manifest["kind"])
        pytest.fail(f"{object_key(manifest)}: no CRD in hack/prereqs/ serves {'/'.join(key)} (served: {served})")
    body = {k: v for k, v in manifest.items() if k != "metadata"}
    schema = strict_json_schema(copy.deepcopy(schemas[key]))
    schema.get("properties", {}).pop("metadata", None)  # metadata is checked by the API server's ObjectMeta
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    messages = [f"{'.'.join(str(p) for p in e.path) or '<root>'}: {e.message}" for e in errors]
    assert not messages, f"{object_key(manifest)}:\n" + "\n".join(messages)


def test_strict_json_schema_rejects_unknown_fields_only_where_the_crd_does() -> None:
    schema = strict_json_schema(
        {
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {"port": {"x-kubernetes-int-or-string": True}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {}},
            },
        }
    )
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid({"spec": {"port": "http"}, "free": {"anything": 1}})
    assert validator.is_valid({"spec": {"port": 80}})
    assert not validator.is_valid({"spec": {"prot": 80}})
    assert not validator.is_valid({"spec": {"port": [80]}})


# --- CRDs --------------------------------------------------------------------------------------------------


def non_structural_nodes(node: dict[str, Any], path: str = "") -> Iterator[str]:
    """Schema nodes that break the structural-schema rules apiextensions.k8s.io/v1 enforces."""
    typed = "type" in node or node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-int-or-string")
    if not typed and path:
        yield f"{path}: no type"
    for forbidden in ("$ref", "definitions", "dependencies", "additionalItems", "patternProperties", "uniqueItems"):
        if forbidden in node:
            yield f"{path}: {forbidden}"
    if "properties" in node and isinstance(node.get("additionalProperties"), dict):
        yield f"{path}: both properties and additionalProperties"
    for name, sub in (node.get("properties") or {}).items():
        yield from non_structural_nodes(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from non_structural_nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from non_structural_nodes(node["additionalProperties"], f"{path}{{}}")


def test_the_platform_renders_the_seldondeployment_crd() -> None:
    names = [m["metadata"]["name"] for m in RENDERED_CRDS]
    assert "seldondeployments.machinelearning.seldon.io" in names


@pytest.mark.parametrize(
    "crd", RENDERED_CRDS, ids=[f"{m['metadata']['name']} is a valid structural CRD" for m in RENDERED_CRDS]
)
def test_rendered_crds_are_valid_and_structural(crd: Manifest) -> None:
    kubernetes_validate.validate(crd, KUBERNETES_VERSION, strict=True)
    versions = crd["spec"]["versions"]
    assert sum(1 for v in versions if v.get("storage")) == 1
    for version in versions:
        schema = version["schema"]["openAPIV3Schema"]
        assert schema.get("type") == "object"
        problems = list(non_structural_nodes(schema))
        assert not problems, f"{version['name']}: {problems}"


def test_our_own_crd_is_a_valid_structural_crd() -> None:
    crd = seldonoperator_crd()
    kubernetes_validate.validate(crd, KUBERNETES_VERSION, strict=True)
    assert not list(non_structural_nodes(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]))


EXAMPLE_FILES = example_files()


@pytest.mark.parametrize(
    "path", EXAMPLE_FILES, ids=[f"examples/{p.name} is accepted by the SeldonOperator CRD" for p in EXAMPLE_FILES]
)
def test_each_example_validates_against_our_crd(path: Any) -> None:
    schema = strict_json_schema(seldonoperator_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    doc = example(path.name)
    errors = [
        f"{'.'.join(str(p) for p in e.path)}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(doc)
    ]
    assert not errors


def test_our_crd_rejects_what_the_models_reject() -> None:
    schema = strict_json_schema(seldonoperator_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    validator = jsonschema.Draft7Validator(schema)
    doc = example("minimal")
    for bad_spec in (
        {"enable": {"analytic": True}},
        {"enable": {"analytics": "yes"}},
        {"payloadstore": {"internal_elastic": {"replicas": 0}}},
        {"catalogue": {"internal_postgres": {"storage_size": "8 gigs"}}},
        {"rooting": {}},
    ):
        assert not validator.is_valid({**doc, "spec": bad_spec}), bad_spec
