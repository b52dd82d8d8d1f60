"""Pure change detection: does a rendered object need a write, given what the cluster holds?

Layer: reconcile (pure functions; no I/O). A no-op reconcile must make zero write requests, so the decision is
taken from reads only (a list of our objects), never from a dry-run apply:

- the rendered object carries a hash of itself in an annotation; a different hash on the live object means our
  desired state changed (including fields we stopped setting, which a subset check cannot see);
- otherwise every field we set must hold the same value on the live object (the server may add defaults);
  a difference means drift (an edit by hand), and the object is applied again.
Values the API server normalises (resource quantities such as ``0.5`` vs ``500m``) compare by meaning.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from seldon_meta_operator.api.v1alpha1 import GROUP

HASH_ANNOTATION = f"{GROUP}/applied-hash"

_QUANTITY = re.compile(r"^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def _without_hash(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """``manifest`` without our hash annotation; copies only the maps on the way to it (each pass hashes every
    object, some of them hundreds of KB: deep copies were most of a steady pass's CPU, issue 12)."""
    metadata = manifest.get("metadata", {})
    annotations = metadata.get("annotations")
    if not isinstance(annotations, Mapping) or HASH_ANNOTATION not in annotations:
        return manifest
    kept = {k: v for k, v in annotations.items() if k != HASH_ANNOTATION}
    if kept:
        return {**manifest, "metadata": {**metadata, "annotations": kept}}
    # with_hash created the map: hash(with_hash(m)) == hash(m)
    return {**manifest, "metadata": {k: v for k, v in metadata.items() if k != "annotations"}}


def content_hash(manifest: Mapping[str, Any]) -> str:
    """Stable short hash of a rendered object (without our hash annotation)."""
    text = json.dumps(_without_hash(manifest), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def with_hash(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``manifest`` with its hash annotation. Only the top level, metadata and annotations are copied:
    the rest is shared with ``manifest`` (nothing downstream changes it in place; ``without_replicas`` copies)."""
    metadata = dict(manifest["metadata"])
    metadata["annotations"] = {**(metadata.get("annotations") or {}), HASH_ANNOTATION: content_hash(manifest)}
    return {**manifest, "metadata": metadata}


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value)
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]
    except InvalidOperation:
        return None


def _empty(value: Any) -> bool:
    return value in ({}, []) or value is None


def _zero(value: Any) -> bool:
    """A value the API server drops when it serialises an object: Go's ``omitempty`` omits empty strings, false,
    zero and empty collections, so a field we set to one of them is absent from the live object, not different."""
    return _empty(value) or value is False or value == "" or (type(value) is int and value == 0)


def first_difference(desired: Any, live: Any, path: str = "") -> str | None:
    """The path of the first field we set whose live value differs, or None when ``desired ⊆ live``."""
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return None if _empty(desired) and _empty(live) else path or "."
        for key, value in desired.items():
            if key not in live:
                if _zero(value):
                    continue
                return f"{path}.{key}"
            found = first_difference(value, live[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return None if _empty(desired) and _empty(live) else path
        for i, (d, lv) in enumerate(zip(desired, live, strict=True)):
            found = first_difference(d, lv, f"{path}[{i}]")
            if found:
                return found
        return None
    if desired == live:
        return None
    dq, lq = _quantity(desired), _quantity(live)
    if dq is not None and lq is not None and dq == lq and not isinstance(desired, bool):
        return None
    return path


def needs_apply(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> str | None:
    """Why ``desired`` (already hashed) must be applied, or None when the live object is up to date."""
    if live is None:
        return "absent"
    want = desired["metadata"].get("annotations", {}).get(HASH_ANNOTATION)
    have = (live.get("metadata", {}).get("annotations") or {}).get(HASH_ANNOTATION)
    if want != have:
        return "changed"
    diff = first_difference({k: v for k, v in desired.items() if k != "status"}, live)
    return f"drifted at {diff}" if diff else None


def foreign_replicas_owner(live: Mapping[str, Any] | None, field_manager: str) -> str | None:
    """The other field manager owning ``spec.replicas`` (an HPA, kubectl scale), or None.

    We then leave replicas out of our apply instead of fighting over it."""
    if not live:
        return None
    for entry in live.get("metadata", {}).get("managedFields") or []:
        if entry.get("manager") == field_manager:
            continue
        fields = entry.get("fieldsV1") or {}
        if "f:replicas" in (fields.get("f:spec") or {}):
            return str(entry.get("manager"))
    return None


def without_replicas(manifest: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(manifest))
    out.get("spec", {}).pop("replicas", None)
    return out
