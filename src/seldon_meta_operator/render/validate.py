"""Warnings for chart values that no component reads. Never silently ignore a user's key.

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
