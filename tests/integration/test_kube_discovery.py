"""Served kinds from the API server's aggregated discovery (issue 12): one GET of /apis of a few tens of KiB, where
the list of CRDs every pass used to read carries every schema and grows with the cluster. Against the real API
server: a CRD installed by the test appears once Established, with its plural and scope, exactly as the CRD list
would say, and goes when the CRD is deleted; no CRD is listed on the way."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from prometheus_client import REGISTRY

from seldon_meta_operator.kube import Kube
from tests.conftest import Cluster, wait_until, with_kube

pytestmark = pytest.mark.cluster

GROUP = "discovery.test.seldon.io"
CRD = f"gadgets.{GROUP}"


def crd(scope: str) -> dict[str, Any]:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD},
        "spec": {
            "group": GROUP,
            "scope": scope,
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}},
                {"name": "v1beta1", "served": False, "storage": False, "schema": {"openAPIV3Schema": schema}},
            ],
        },
    }


def lists() -> float:
    return REGISTRY.get_sample_value("seldon_operator_api_requests_total", {"verb": "list"}) or 0.0


def test_served_kinds_come_from_discovery_and_agree_with_the_crds(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(crd("Cluster")))
    try:
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{CRD}", "--timeout=60s")

        async def served(kube: Kube) -> tuple[frozenset[str], float, Any, Any, Any]:
            before = lists()
            kinds = await kube.api_kinds()
            listed = lists() - before
            discovered = await kube._discovered()
            return kinds, listed, discovered, await kube._listed_crds(), await kube.info(f"{GROUP}/v1", "Gadget")

        def gadget_served() -> Any:
            found = with_kube(cluster, served)
            return found if f"{GROUP}/Gadget" in found[0] else None

        kinds, listed, discovered, from_crds, (info, _cls) = wait_until("Gadget in discovery", gadget_served, 30)
        assert listed == 0  # no list of CRDs
        assert discovered is not None, "the API server (1.34) serves aggregated discovery: no fallback"
        # Every served version of every CRD, with the same plural and scope; the unserved version is absent.
        assert {k: v for k, v in discovered.items() if k in from_crds} == from_crds
        assert (f"{GROUP}/v1beta1", "Gadget") not in discovered
        assert (info.plural, info.namespaced) == ("gadgets", False)
        assert {
            "apps/Deployment",
            "networking.k8s.io/Ingress",
            "apiextensions.k8s.io/CustomResourceDefinition",
        } <= kinds
    finally:
        cluster.kubectl("delete", "crd", CRD, "--ignore-not-found", "--wait=true")

    async def kinds_now(kube: Kube) -> frozenset[str]:
        return await kube.api_kinds()

    wait_until("Gadget gone from discovery", lambda: f"{GROUP}/Gadget" not in with_kube(cluster, kinds_now), 30)


def test_an_unchanged_discovery_document_is_not_sent_again(cluster: Cluster) -> None:
    """Every pass asks for the served kinds: with the document's ETag, the API server answers 304 Not Modified
    (nothing to send, nothing to parse) until a CRD changes it."""

    async def run(kube: Kube) -> tuple[bool, bool, bool]:
        first = await kube._discovered()
        unchanged = await kube._discovered() is first  # the 304's answer is what the first response said
        await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", stdin=json.dumps(crd("Namespaced")))
        seen: Any = first
        for _ in range(300):
            seen = await kube._discovered()
            if seen is not None and (f"{GROUP}/v1", "Gadget") in seen:
                break
            await asyncio.sleep(0.1)
        return unchanged, seen is not first, (f"{GROUP}/v1", "Gadget") in (seen or {})

    try:
        unchanged, changed, gadget = with_kube(cluster, run)
    finally:
        cluster.kubectl("delete", "crd", CRD, "--ignore-not-found", "--wait=true")
    assert unchanged, "the second read was answered 304 Not Modified"
    assert changed and gadget, "a new CRD changes the document, and it is read again"
