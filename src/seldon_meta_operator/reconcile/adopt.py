"""Taking over objects a Helm release installed under our names (issue 11): the reads and writes around the
applier's server-side apply. The decisions are pure, in render/adoption.py.

Layer: reconcile (I/O through kube/). Called by ``reconciler.Applier`` for each object it applies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.kube import Kube, UnknownKindError
from seldon_meta_operator.render import adoption

logger = logging.getLogger(__name__)


async def unlabelled(kube: Kube, manifest: Manifest) -> dict[str, Any] | None:
    """The object of ``manifest``'s name that our labelled read did not find: one a Helm release (or anyone else)
    made. Asked only for objects that are absent from our read, so a steady pass reads nothing more."""
    meta = manifest["metadata"]
    try:
        return await kube.get(manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace"))
    except UnknownKindError:
        return None


async def transfer_ownership(kube: Kube, live: Mapping[str, Any], manifest: Manifest) -> None:
    """Before our first apply of a Helm object: Helm's fields become our apply's (render/adoption.py
    ``ownership_transfer``), so the apply removes those the render does not set."""
    patch = adoption.ownership_transfer(live, kube.field_manager)
    if patch is None:
        return
    meta = manifest["metadata"]
    await kube.patch(manifest["apiVersion"], manifest["kind"], meta["name"], patch, namespace=meta.get("namespace"))


async def strip_helm(kube: Kube, live: Mapping[str, Any], desired: Manifest, component: str) -> dict[str, Any]:
    """After our forced apply made our field manager own every field we render: remove Helm's labels and
    annotations and record the adoption (one merge patch). Returns the object as it now is."""
    meta = desired["metadata"]
    patched = await kube.patch(
        desired["apiVersion"],
        desired["kind"],
        meta["name"],
        adoption.helm_strip_patch(live, desired),
        namespace=meta.get("namespace"),
    )
    logger.info(
        "Adopted object",
        extra={
            "component": component,
            "kind": desired["kind"],
            "namespace": meta.get("namespace", ""),
            "object_name": meta["name"],
            "release": adoption.helm_release(live),
        },
    )
    return patched


def describe(manifest: Manifest, live: Mapping[str, Any]) -> str:
    """``Kind namespace/name (release R)`` for the Adopted Event."""
    meta = manifest["metadata"]
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{manifest['kind']} {where}{meta['name']} (release {adoption.helm_release(live)})"
