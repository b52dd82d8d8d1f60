"""Our own OpenAPI schema of a SeldonDeployment (``machinelearning.seldon.io/v1``), for the CRD Seldon Core renders.

Layer: components (pure data; used by ``seldon_core``).

Upstream's CRD is generated from the Go types and embeds the whole Kubernetes PodSpec several times: about 2.5 MB
of YAML, too large for ``kubectl apply`` without ``--server-side`` (the last-applied annotation is limited to
256 KiB). We write a smaller schema that keeps what matters at admission:

- every field of the SeldonDeployment's own types (spec, predictors, the inference graph to ``GRAPH_DEPTH``
  levels, explainer, svcOrchSpec, engineResources, componentSpecs with hpaSpec, kedaSpec and pdbSpec) is typed as
  upstream types it;
- inside the Kubernetes types it embeds (PodSpec, Container, Probe, Volume, HPA metrics), the fields users most
  often get wrong are typed (names, images, ports, env, resources, volume mounts, probes, tolerations), and the rest
  is kept as given (``x-kubernetes-preserve-unknown-fields``), so a SeldonDeployment upstream's CRD accepts is
  accepted here too and nothing is dropped;
- every ``required`` rule upstream has on the paths we type is kept (``REQUIRED_RULES`` in the tests lists them).

No enums or patterns that upstream lacks: the schema refuses nothing upstream's accepts. Schema nodes are built
fresh on every call, since a node shared by two parents would be written as a YAML alias.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: Typed levels of the inference graph, the root included (root, children, grandchildren); deeper nodes are kept
#: as given, with a required ``name``.
GRAPH_DEPTH = 3


def _string() -> dict[str, Any]:
    return {"type": "string"}


def _int32() -> dict[str, Any]:
    return {"type": "integer", "format": "int32"}


def _int64() -> dict[str, Any]:
    return {"type": "integer", "format": "int64"}


def _bool() -> dict[str, Any]:
    return {"type": "boolean"}


def _string_map() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": {"type": "string"}}


def _strings() -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}}


def _int_or_string() -> dict[str, Any]:
    return {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}


def _object(
    properties: dict[str, Any], required: tuple[str, ...] = (), description: str = "", keep_unknown: bool = False
) -> dict[str, Any]:
    """An object with typed ``properties``; ``keep_unknown`` keeps the fields we do not type (Kubernetes types)."""
    out: dict[str, Any] = {"type": "object"}
    if description:
        out["description"] = description
    out["properties"] = properties
    if required:
        out["required"] = list(required)
    if keep_unknown:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _free(description: str = "") -> dict[str, Any]:
    """An object kept as given."""
    out: dict[str, Any] = {"type": "object"}
    if description:
        out["description"] = description
    out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


# --- Kubernetes types, partly typed ----------------------------------------------------------------------------


def _resources() -> dict[str, Any]:
    def quantities() -> dict[str, Any]:
        return {"type": "object", "additionalProperties": _int_or_string()}

    return _object(
        {"limits": quantities(), "requests": quantities(), "claims": _array(_object({"name": _string()}, ("name",)))},
        description="Compute resources: quantities such as 500m or 1Gi.",
    )


def _env_var() -> dict[str, Any]:
    def key_ref() -> dict[str, Any]:
        return _object({"name": _string(), "key": _string(), "optional": _bool()}, ("key",))

    return _object(
        {
            "name": _string(),
            "value": _string(),
            "valueFrom": _object(
                {
                    "configMapKeyRef": key_ref(),
                    "secretKeyRef": key_ref(),
                    "fieldRef": _object({"apiVersion": _string(), "fieldPath": _string()}, ("fieldPath",)),
                    "resourceFieldRef": _object(
                        {"containerName": _string(), "resource": _string(), "divisor": _int_or_string()},
                        ("resource",),
                    ),
                }
            ),
        },
        ("name",),
    )


def _probe() -> dict[str, Any]:
    return _object(
        {
            "httpGet": _object(
                {
                    "path": _string(),
                    "port": _int_or_string(),
                    "host": _string(),
                    "scheme": _string(),
                    "httpHeaders": _array(_object({"name": _string(), "value": _string()}, ("name", "value"))),
                },
                ("port",),
            ),
            "tcpSocket": _object({"host": _string(), "port": _int_or_string()}, ("port",)),
            "grpc": _object({"port": _int32(), "service": _string()}, ("port",)),
            "exec": _object({"command": _strings()}),
            "initialDelaySeconds": _int32(),
            "periodSeconds": _int32(),
            "timeoutSeconds": _int32(),
            "successThreshold": _int32(),
            "failureThreshold": _int32(),
            "terminationGracePeriodSeconds": _int64(),
        }
    )


def _container() -> dict[str, Any]:
    return _object(
        {
            "name": _string(),
            "image": _string(),
            "imagePullPolicy": _string(),
            "command": _strings(),
            "args": _strings(),
            "workingDir": _string(),
            "env": _array(_env_var()),
            "envFrom": _array(_free()),
            "ports": _array(
                _object(
                    {
                        "name": _string(),
                        "containerPort": _int32(),
                        "protocol": _string(),
                        "hostPort": _int32(),
                        "hostIP": _string(),
                    },
                    ("containerPort",),
                )
            ),
            "resources": _resources(),
            "volumeMounts": _array(
                _object(
                    {
                        "name": _string(),
                        "mountPath": _string(),
                        "readOnly": _bool(),
                        "subPath": _string(),
                        "subPathExpr": _string(),
                        "mountPropagation": _string(),
                    },
                    ("mountPath", "name"),
                )
            ),
            "livenessProbe": _probe(),
            "readinessProbe": _probe(),
            "startupProbe": _probe(),
            "securityContext": _free(),
            "lifecycle": _free(),
        },
        ("name",),
        keep_unknown=True,
    )


def _init_container() -> dict[str, Any]:
    """Init containers: named, the rest kept as given (typed like containers, they would cost 20 KB per version)."""
    return _object(
        {"name": _string(), "image": _string(), "command": _strings(), "args": _strings()}, ("name",), keep_unknown=True
    )


def _volume() -> dict[str, Any]:
    def items() -> dict[str, Any]:
        return _array(_object({"key": _string(), "path": _string(), "mode": _int32()}, ("key", "path")))

    return _object(
        {
            "name": _string(),
            "secret": _object(
                {"secretName": _string(), "items": items(), "defaultMode": _int32(), "optional": _bool()},
                keep_unknown=True,
            ),
            "configMap": _object(
                {"name": _string(), "items": items(), "defaultMode": _int32(), "optional": _bool()},
                keep_unknown=True,
            ),
            "persistentVolumeClaim": _object({"claimName": _string(), "readOnly": _bool()}, ("claimName",)),
            "emptyDir": _object({"medium": _string(), "sizeLimit": _int_or_string()}),
            "hostPath": _object({"path": _string(), "type": _string()}, ("path",)),
        },
        ("name",),
        keep_unknown=True,
    )


def _pod_spec() -> dict[str, Any]:
    return _object(
        {
            "containers": _array(_container()),
            "initContainers": _array(_init_container()),
            "volumes": _array(_volume()),
            "serviceAccountName": _string(),
            "nodeSelector": _string_map(),
            "tolerations": _array(
                _object(
                    {
                        "key": _string(),
                        "operator": _string(),
                        "value": _string(),
                        "effect": _string(),
                        "tolerationSeconds": _int64(),
                    }
                )
            ),
            "imagePullSecrets": _array(_object({"name": _string()})),
            "topologySpreadConstraints": _array(
                _object(
                    {
                        "maxSkew": _int32(),
                        "topologyKey": _string(),
                        "whenUnsatisfiable": _string(),
                        "labelSelector": _free(),
                    },
                    ("maxSkew", "topologyKey", "whenUnsatisfiable"),
                    keep_unknown=True,
                )
            ),
            "terminationGracePeriodSeconds": _int64(),
            "priorityClassName": _string(),
            "hostNetwork": _bool(),
            "affinity": _free(),
            "securityContext": _free(),
        },
        ("containers",),
        description="The pod of this component: a Kubernetes PodSpec.",
        keep_unknown=True,
    )


# --- SeldonDeployment types -------------------------------------------------------------------------------------


def _hpa_spec() -> dict[str, Any]:
    return _object(
        {
            "minReplicas": _int32(),
            "maxReplicas": _int32(),
            "metrics": _array(_object({"type": _string()}, ("type",), keep_unknown=True)),
            "metricsv2": _array(_object({"type": _string()}, ("type",), keep_unknown=True)),
        },
        ("maxReplicas",),
        description="A HorizontalPodAutoscaler for this component.",
    )


def _keda_spec() -> dict[str, Any]:
    return _object(
        {
            "pollingInterval": _int32(),
            "cooldownPeriod": _int32(),
            "idleReplicaCount": _int32(),
            "minReplicaCount": _int32(),
            "maxReplicaCount": _int32(),
            "advanced": _free(),
            "fallback": _object({"failureThreshold": _int32(), "replicas": _int32()}, ("failureThreshold", "replicas")),
            "triggers": _array(
                _object(
                    {
                        "type": _string(),
                        "name": _string(),
                        "metadata": _string_map(),
                        "metricType": _string(),
                        "authenticationRef": _object({"name": _string(), "kind": _string()}, ("name",)),
                    },
                    ("metadata", "type"),
                )
            ),
        },
        ("triggers",),
        description="A KEDA ScaledObject for this component.",
    )


def _component_spec() -> dict[str, Any]:
    return _object(
        {
            "metadata": _object(
                {"name": _string(), "labels": _string_map(), "annotations": _string_map()}, keep_unknown=True
            ),
            "spec": _pod_spec(),
            "replicas": _int32(),
            "hpaSpec": _hpa_spec(),
            "kedaSpec": _keda_spec(),
            "pdbSpec": _object({"minAvailable": _int_or_string(), "maxUnavailable": _int_or_string()}),
        }
    )


def _endpoint() -> dict[str, Any]:
    return _object(
        {
            "type": _string(),
            "service_host": _string(),
            "service_port": _int32(),
            "httpPort": _int32(),
            "grpcPort": _int32(),
        }
    )


def _graph_node(depth: int) -> dict[str, Any]:
    """A node of the inference graph; its children are typed the same way for ``depth`` more levels."""
    if depth == 0:
        return {
            **_free("A graph node (deeper than the typed levels), kept as given."),
            "properties": {"name": _string()},
            "required": ["name"],
        }
    return _object(
        {
            "name": _string(),
            "type": _string(),
            "implementation": _string(),
            "modelUri": _string(),
            "envSecretRefName": _string(),
            "serviceAccountName": _string(),
            "storageInitializerImage": _string(),
            "methods": _strings(),
            "endpoint": _endpoint(),
            "logger": _object(
                {"mode": _string(), "url": _string()}, description="Payload logging: mode request, response or all."
            ),
            "parameters": _array(
                _object({"name": _string(), "type": _string(), "value": _string()}, ("name", "type", "value"))
            ),
            "children": _array(_graph_node(depth - 1)),
        },
        ("name",),
    )


def _explainer() -> dict[str, Any]:
    return _object(
        {
            "type": _string(),
            "modelUri": _string(),
            "serviceAccountName": _string(),
            "envSecretRefName": _string(),
            "storageInitializerImage": _string(),
            "config": _string_map(),
            "initParameters": _string(),
            "replicas": _int32(),
            "endpoint": _endpoint(),
            "containerSpec": _container(),
        }
    )


def _predictor() -> dict[str, Any]:
    return _object(
        {
            "name": _string(),
            "graph": {**_graph_node(GRAPH_DEPTH), "description": "The inference graph's root node."},
            "componentSpecs": _array(_component_spec()),
            "annotations": _string_map(),
            "labels": _string_map(),
            "replicas": _int32(),
            "traffic": _int32(),
            "shadow": _bool(),
            "progressDeadlineSeconds": _int32(),
            "engineResources": _resources(),
            "svcOrchSpec": _object({"env": _array(_env_var()), "resources": _resources(), "replicas": _int32()}),
            "explainer": _explainer(),
            "ssl": _object({"certSecretName": _string()}),
        },
        ("graph", "name"),
    )


def seldondeployment_schema() -> dict[str, Any]:
    """The ``openAPIV3Schema`` of every served version (v1, v1alpha2, v1alpha3 share one schema upstream too)."""
    spec = _object(
        {
            "name": _string(),
            "predictors": _array(_predictor()),
            "annotations": _string_map(),
            "protocol": _string(),
            "transport": _string(),
            "serverType": _string(),
            "replicas": _int32(),
            "oauth_key": _string(),
            "oauth_secret": _string(),
        },
        ("predictors",),
    )
    return _object(
        {
            "apiVersion": _string(),
            "kind": _string(),
            "metadata": {"type": "object"},
            "spec": spec,
            "status": _free("Written by the Seldon Core manager."),
        },
        description="A model, or an inference graph of models, served by Seldon Core.",
    )


def typed_fields(schema: dict[str, Any], path: str = "") -> Iterator[str]:
    """The path of every typed field (a named property at any depth; ``[]`` marks array items)."""
    for name, sub in (schema.get("properties") or {}).items():
        here = f"{path}.{name}"
        yield here
        yield from typed_fields(sub, here)
    if isinstance(schema.get("items"), dict):
        yield from typed_fields(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from typed_fields(schema["additionalProperties"], f"{path}{{}}")


def required_rules(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, tuple[str, ...]]]:
    """(path, required field names) of every object that has ``required``."""
    if schema.get("required"):
        yield path, tuple(schema["required"])
    for name, sub in (schema.get("properties") or {}).items():
        yield from required_rules(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from required_rules(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from required_rules(schema["additionalProperties"], f"{path}{{}}")
