"""The SeldonOperator CustomResourceDefinition, generated from the pydantic models (never hand-edited).

Layer: api (pure). ``seldonctl generate deploy`` writes it to deploy/; a test fails when the file is stale.

pydantic's JSON Schema is turned into a structural OpenAPI v3 schema: references inlined, titles dropped,
defaults kept (so ``kubectl get -o yaml`` shows every setting), the two ``values`` maps preserved as free-form
objects, and the cross-field rules added as CEL ``x-kubernetes-validations``.
"""

from __future__ import annotations

from typing import Any

from seldon_meta_operator.api.v1alpha1 import (
    CROSS_FIELD_RULES,
    GROUP,
    KIND,
    PLURAL,
    SHORT_NAMES,
    SINGULAR,
    VALUES_MAX_PROPERTIES,
    VERSION,
    SeldonOperatorSpec,
    SeldonOperatorStatus,
)

CRD_NAME = f"{PLURAL}.{GROUP}"
_DROP = {"title", "additionalProperties", "$defs"}


def _structural(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(merged, defs)
    if "anyOf" in node:  # Optional[X]: the API server has no null; "unset" is the absence of the field
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        rest = {k: v for k, v in node.items() if k not in ("anyOf", "default") or (k == "default" and v is not None)}
        return _structural({**options[0], **rest}, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "properties":
            out[key] = {name: _structural(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = _structural(value, defs)
        else:
            out[key] = value
    additional = node.get("additionalProperties")
    if node.get("type") == "object" and "properties" not in node:
        if isinstance(additional, dict) and additional:
            out["additionalProperties"] = _structural(additional, defs)
        else:  # dict[str, Any]: free-form
            out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _schema(model: type[Any]) -> dict[str, Any]:
    raw: dict[str, Any] = model.model_json_schema(mode="serialization")
    return _structural(raw, raw.get("$defs", {}))


def spec_schema() -> dict[str, Any]:
    schema = _schema(SeldonOperatorSpec)
    props = schema["properties"]
    for name in ("enable", "routing", "payloadstore", "catalogue", "core", "enterprise", "security"):
        props[name]["default"] = {}
    props["payloadstore"]["properties"]["internal_elastic"]["default"] = {}
    props["catalogue"]["properties"]["internal_postgres"]["default"] = {}
    # Without a default, a spec with no `enterprise.values` makes the CEL rule's has() fail with "no such key"
    # instead of the rule's own message.
    for name in ("core", "enterprise"):
        props[name]["properties"]["values"]["default"] = {}
    for section in props.values():
        if "values" in section.get("properties", {}):
            # What the API server can bound of a free-form map (issue 8): its top-level keys. Depth and size have
            # no structural-schema or CEL form for preserve-unknown-fields maps; the operator checks them first
            # (api/v1alpha1.py, values_bounds_errors).
            section["properties"]["values"]["maxProperties"] = VALUES_MAX_PROPERTIES
    # The one value a CEL rule reads is declared, so CEL can see it; everything else stays free-form.
    props["enterprise"]["properties"]["values"]["properties"] = {
        "elasticsearch": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"url": {"type": "string"}},
        }
    }
    schema["x-kubernetes-validations"] = [
        {"rule": r.cel, "message": f"{r.field}: {r.message}"} for r in CROSS_FIELD_RULES
    ]
    return schema


def status_schema() -> dict[str, Any]:
    schema = _schema(SeldonOperatorStatus)
    conditions = schema["properties"]["conditions"]
    conditions["x-kubernetes-list-type"] = "map"
    conditions["x-kubernetes-list-map-keys"] = ["type"]
    cleaned: dict[str, Any] = _without_defaults(schema)
    return cleaned


def _without_defaults(node: Any) -> Any:
    """Status is written by the operator only; defaults there would make the API server invent values."""
    if isinstance(node, dict):
        return {k: _without_defaults(v) for k, v in node.items() if k != "default"}
    if isinstance(node, list):
        return [_without_defaults(v) for v in node]
    return node


def seldonoperator_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
                "shortNames": list(SHORT_NAMES),
                "categories": ["seldon"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {
                            "name": "Ready",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                        },
                        {
                            "name": "Reason",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
                        },
                        {"name": "Components", "type": "string", "jsonPath": ".status.enabledComponents"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "SeldonOperator describes a whole Seldon platform.",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema(),
                                "status": status_schema(),
                            },
                        }
                    },
                }
            ],
        },
    }
