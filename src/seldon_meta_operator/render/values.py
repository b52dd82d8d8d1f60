"""Helm-like values merging. The precedence is defined here, and only here.

Layer: render (pure).

Precedence, lowest first (each layer deep-merged over the one before, on deep copies):

1. **component defaults**: each component's ``ValuesSchema.defaults``, taken from the upstream charts;
2. **feature wiring**: values that features set in other components' trees (``Component.wiring``), e.g.
   ``enable.routing`` sets ``core.values.istio.enabled: true``;
3. **user values**: ``spec.core.values`` and ``spec.enterprise.values``, as written.

So a user can override anything wiring chose (e.g. ``istio.gateway`` in the seed's custom-gateway example).
Merge rules, as Helm's: mappings merge key by key; lists and scalars replace; a user ``null`` deletes the key.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: ``override`` deep-merged over ``base``. Neither input is modified."""
    out: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_layers(layers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Deep-merge layers in order, lowest precedence first."""
    out: dict[str, Any] = {}
    for layer in layers:
        out = deep_merge(out, layer)
    return out


def set_path(tree: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set ``a.b.c`` in ``tree`` (creating mappings on the way) and return ``tree``; for building layers."""
    node = tree
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return tree


def tree(**paths: Any) -> dict[str, Any]:
    """Build a values tree from dotted paths given as ``tree(**{"istio.enabled": True})``."""
    out: dict[str, Any] = {}
    for path, value in paths.items():
        set_path(out, path, value)
    return out
