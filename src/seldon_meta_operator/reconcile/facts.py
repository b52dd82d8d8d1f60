"""Gather what render needs to know about the cluster (``ClusterFacts``), before rendering.

Layer: reconcile (reads only). Render stays pure: it gets these facts as input (house style §3).
"""

from __future__ import annotations

import asyncio
import logging

from seldon_meta_operator.api.v1alpha1 import SeldonOperatorSpec
from seldon_meta_operator.components.base import Claim, ClusterFacts
from seldon_meta_operator.kube import Kube, KubeError
from seldon_meta_operator.render.adoption import claims_elsewhere

logger = logging.getLogger(__name__)


async def gather_claims(kube: Kube, namespace: str) -> tuple[Claim, ...]:
    """Every PersistentVolumeClaim in the platform's namespace, and the helm-era stores' first claims elsewhere
    (render/adoption.py ``FOREIGN_STORES``), read by name. A claim elsewhere the operator may not read (an
    install without that grant) counts as absent."""

    async def elsewhere(other: str, name: str) -> Claim | None:
        try:
            claim = await kube.get("v1", "PersistentVolumeClaim", name, other)
        except KubeError as exc:
            if exc.code != 403:
                raise
            logger.debug("Could not read a claim", extra={"object": f"{other}/{name}", "error": str(exc)})
            return None
        return None if claim is None else Claim(other, name, dict(claim["metadata"].get("labels") or {}))

    here, *there = await asyncio.gather(
        kube.list("v1", "PersistentVolumeClaim", namespace),
        *(elsewhere(other, name) for other, name in claims_elsewhere(namespace)),
    )
    found = [Claim(namespace, c["metadata"]["name"], dict(c["metadata"].get("labels") or {})) for c in here]
    return (*found, *(claim for claim in there if claim is not None))


async def gather_facts(kube: Kube, namespace: str, spec: SeldonOperatorSpec) -> ClusterFacts:
    """Served kinds, and the claims when a trial store is on (they decide whether it adopts helm-era data)."""
    kinds = await kube.api_kinds()
    claims = await gather_claims(kube, namespace) if spec.enable.catalogue or spec.uses_internal_elastic else None
    return ClusterFacts(api_kinds=kinds, claims=claims)
