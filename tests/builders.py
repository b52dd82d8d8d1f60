"""Spec builders with modifiers for the tests (cert-manager's ``gen`` style), and small readers of rendered objects.

    doc = platform(enable("routing"), core_values({"istio": {"gateway": "istio-system/seldon-gateway"}}))
    result = render(doc)
    gateway = find(result.manifests, "Gateway", "seldon-gateway")

A modifier is a function that changes a SeldonOperator document in place; ``platform(*mods)`` applies them in
order to a fresh minimal document. Values modifiers deep-merge, so several of them compose; dotted keys are
expanded (``core_values(**{"istio.gateway": "x"})``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from seldon_meta_operator.api.v1alpha1 import API_VERSION, KIND, SeldonOperator, parse_seldon_operator
from seldon_meta_operator.components.base import ClusterFacts, Manifest
from seldon_meta_operator.kube.cache import ObjectCache, Scope
from seldon_meta_operator.render.pipeline import RenderResult, render_platform
from seldon_meta_operator.render.values import set_path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NAME = "seldonoperator-sample"
NS = "seldon-system"
FEATURES = ("analytics", "catalogue", "payloadstore", "routing", "detectors")
EXTERNAL_ELASTIC_URL = "https://opensearch-cluster-master.seldon-logs.svc.cluster.local:9200"

Doc = dict[str, Any]
Modifier = Callable[[Doc], None]


# --- Documents ---------------------------------------------------------------------------------------------


def platform(*mods: Modifier, name: str = NAME, namespace: str = NS) -> Doc:
    """A SeldonOperator document (``spec: {}`` plus ``mods``), as a user would write it."""
    doc: Doc = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {},
    }
    for mod in mods:
        mod(doc)
    return doc


def _expand(values: Mapping[str, Any] | None, dotted: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with each dotted path set; an explicit ``None`` is kept (in values it means "delete")."""
    out: dict[str, Any] = copy.deepcopy(dict(values or {}))
    for path, value in dotted.items():
        set_path(out, path, value)
    return out


def spec(tree: Mapping[str, Any] | None = None, /, **dotted: Any) -> Modifier:
    """Merge a tree (and/or dotted paths) into ``spec``, e.g. ``spec(**{"routing.create_gateway": False})``."""
    patch = _expand(tree, dotted)

    def mod(doc: Doc) -> None:
        doc["spec"] = _merge_keep_null(doc.get("spec") or {}, patch)

    return mod


def _merge_keep_null(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge_keep_null(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def enable(*features: str) -> Modifier:
    """Turn features on (``analytics``, ``catalogue``, ``payloadstore``, ``routing``, ``detectors``)."""
    unknown = [f for f in features if f not in FEATURES]
    assert not unknown, f"not a feature: {unknown}"
    return spec({"enable": dict.fromkeys(features, True)})


def disable(*features: str) -> Modifier:
    return spec({"enable": dict.fromkeys(features, False)})


def all_features() -> Modifier:
    return enable(*FEATURES)


def privileged_pods() -> Modifier:
    """The admin's opt-in ``spec.security.allow_privileged_pods`` (render/policy.py)."""
    return spec({"security": {"allow_privileged_pods": True}})


def core_values(tree: Mapping[str, Any] | None = None, /, **dotted: Any) -> Modifier:
    """Seldon Core chart values (``spec.core.values``), deep-merged; ``None`` is kept as an explicit null."""
    return spec({"core": {"values": _expand(tree, dotted)}})


def enterprise_values(tree: Mapping[str, Any] | None = None, /, **dotted: Any) -> Modifier:
    """Seldon Deploy chart values (``spec.enterprise.values``), deep-merged."""
    return spec({"enterprise": {"values": _expand(tree, dotted)}})


def custom_gateway(gateway: str = "istio-system/seldon-gateway") -> Modifier:
    """The seed's custom-gateway example: routing on, no created Gateway, both charts pointed at ``gateway``."""

    def mod(doc: Doc) -> None:
        enable("routing")(doc)
        spec({"routing": {"create_gateway": False}})(doc)
        core_values({"istio": {"gateway": gateway}})(doc)
        enterprise_values({"virtualService": {"gateways": [gateway]}})(doc)

    return mod


def external_elastic(url: str = EXTERNAL_ELASTIC_URL) -> Modifier:
    """Payload store on, with the user's Elasticsearch instead of the trial OpenSearch."""

    def mod(doc: Doc) -> None:
        enable("payloadstore")(doc)
        spec({"payloadstore": {"internal_elastic": {"use_internal": False}}})(doc)
        enterprise_values({"elasticsearch": {"url": url}})(doc)

    return mod


def uid(value: str = "0b4e4e9c-1111-4222-8333-444455556666") -> Modifier:
    """As the API server would set it (the pipeline adds owner references only when the uid is known)."""

    def mod(doc: Doc) -> None:
        doc["metadata"]["uid"] = value

    return mod


# --- Rendering ---------------------------------------------------------------------------------------------


def parse(doc: Doc) -> SeldonOperator:
    return parse_seldon_operator(doc)


def render(doc: Doc, facts: ClusterFacts | None = None, **kwargs: Any) -> RenderResult:
    """Parse and render, as ``seldonctl render`` does. ``kwargs`` go to render_platform (owner_uid, crd_uid...)."""
    return render_platform(parse_seldon_operator(doc), facts, **kwargs)


def watched_cache(namespace: str, scope: Scope, *objects: Manifest, revision: str = "50") -> ObjectCache:
    """A watch cache of ``namespace`` that trusts ``scope``: the watch reported ``objects`` and a list at
    ``revision`` primed it."""
    cache = ObjectCache(namespace, {}, max_age=300)
    for obj in objects:
        cache.observe("ADDED", obj)
    cache.prime(scope, objects, revision)
    return cache


# --- Examples ----------------------------------------------------------------------------------------------


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml"))


def example(name: str) -> Doc:
    """The document of ``examples/<name>`` (``.yaml`` may be left out)."""
    path = EXAMPLES / (name if name.endswith(".yaml") else f"{name}.yaml")
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict), f"{path} is not a mapping"
    return doc


# --- Reading rendered objects ------------------------------------------------------------------------------


def select(manifests: Iterable[Manifest], kind: str | None = None, name: str | None = None) -> list[Manifest]:
    return [
        m for m in manifests if (kind is None or m["kind"] == kind) and (name is None or m["metadata"]["name"] == name)
    ]


def find(manifests: Iterable[Manifest], kind: str, name: str) -> Manifest:
    """The one object of ``kind`` named ``name``; fails listing what there is instead."""
    objs = list(manifests)
    matches = select(objs, kind, name)
    if len(matches) != 1:
        there = sorted(f"{m['kind']}/{m['metadata']['name']}" for m in objs if m["kind"] == kind)
        raise AssertionError(f"{kind} {name}: {len(matches)} found; {kind} objects: {there}")
    return matches[0]


def names(manifests: Iterable[Manifest], kind: str) -> list[str]:
    return sorted(m["metadata"]["name"] for m in manifests if m["kind"] == kind)


def containers(workload: Manifest) -> list[dict[str, Any]]:
    spec_: dict[str, Any] = workload["spec"]["template"]["spec"]
    return list(spec_.get("initContainers", [])) + list(spec_["containers"])


def container(workload: Manifest, name: str | None = None) -> dict[str, Any]:
    """A container of a workload by name, or its first (main) container."""
    main: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    if name is None:
        return main[0]
    found = [c for c in containers(workload) if c["name"] == name]
    assert found, f"{workload['metadata']['name']}: no container {name}; has {[c['name'] for c in main]}"
    return found[0]


def env(workload: Manifest, name: str | None = None) -> dict[str, Any]:
    """name -> value (or the ``valueFrom`` mapping) of a container's environment."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(workload, name).get("env", [])}


def walk(node: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    """Every (path, value) pair of a nested structure, depth first."""
    yield path, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")
