"""Warnings: chart values that no component reads (never silently ignore a user's key), and settings that
render but cannot work as the user expects.

Layer: render (pure).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from seldon_meta_operator.api.v1alpha1 import SeldonOperatorSpec, nearest
from seldon_meta_operator.components.base import ROOTS, Component, values_path


def _paths(tree: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        yield path
        if isinstance(value, Mapping):
            yield from _paths(value, path)


def known_paths(registry: tuple[Component, ...], root: str) -> tuple[set[str], set[str]]:
    """(known dotted paths, open-map paths) under ``root`` across all components."""
    known: set[str] = set()
    open_maps: set[str] = set()
    for comp in registry:
        for schema in comp.values:
            if schema.root != root:
                continue
            known.update(_paths(schema.defaults))
            for path in schema.optional:
                parts = path.split(".")
                known.update(".".join(parts[: i + 1]) for i in range(len(parts)))
            for path in schema.open_maps:
                parts = path.split(".")
                known.update(".".join(parts[: i + 1]) for i in range(len(parts)))
                open_maps.add(path)
    return known, open_maps


def unknown_value_warnings(spec: SeldonOperatorSpec, registry: tuple[Component, ...]) -> list[str]:
    warnings: list[str] = []
    for root in ROOTS:
        user = spec.values_of(root)
        known, open_maps = known_paths(registry, root)
        for path in _paths(user):
            if path in known:
                continue
            parent, _, leaf = path.rpartition(".")
            if any(parent == m or parent.startswith(m + ".") for m in open_maps):
                continue
            if parent and parent not in known:
                continue  # already warned about an ancestor
            siblings = {k.rpartition(".")[2] for k in known if k.rpartition(".")[0] == parent}
            hint = nearest(leaf, siblings)
            fix = f"did you mean `{hint}`?" if hint else "check the key against the chart's values"
            warnings.append(f"{values_path(root, path)}: no component reads this key; {fix}")
    return warnings


def detectors_store_warnings(spec: SeldonOperatorSpec) -> list[str]:
    """Detectors without a payload store: the request logger runs (it is the Trigger's subscriber and receives
    detector replies) but would write to the chart's default host, which the platform does not install. A store
    named in ``requestLogger.elasticsearch.host`` is the user's external one: no warning then."""
    if not spec.enable.detectors or spec.enable.payloadstore:
        return []
    logger = spec.enterprise.values.get("requestLogger")
    store = logger.get("elasticsearch") if isinstance(logger, Mapping) else None
    if isinstance(store, Mapping) and store.get("host"):
        return []
    return [
        "spec.enable.detectors: no payload store, so the request logger has nowhere to write requests, responses "
        "and detector results; set spec.enable.payloadstore: true (the trial OpenSearch, or your own with "
        "spec.payloadstore.internal_elastic.use_internal: false), or name your store in "
        "spec.enterprise.values.requestLogger.elasticsearch.host (with .port and .protocol)"
    ]


def spec_warnings(spec: SeldonOperatorSpec, registry: tuple[Component, ...]) -> list[str]:
    """Every warning of a spec that renders."""
    return [*unknown_value_warnings(spec, registry), *detectors_store_warnings(spec)]
