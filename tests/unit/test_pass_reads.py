"""What a steady pass spares (issue 12): it renders what the pass before it rendered only once (``RenderMemo``), and
reads the Secrets it ensures from the operator's watch cache instead of the API server (``read_secret``), without
ever taking a Secret the watch does not hold for absent. No API server: a stand-in that records the reads."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from tests.builders import example, watched_cache

from seldon_meta_operator.api.v1alpha1 import parse_seldon_operator
from seldon_meta_operator.components.base import ClusterFacts, GeneratedSecret
from seldon_meta_operator.kube.cache import ObjectCache
from seldon_meta_operator.reconcile.reconciler import RenderMemo
from seldon_meta_operator.reconcile.secrets import ensure_generated_secret, read_secret
from seldon_meta_operator.render.ownership import platform_labels
from seldon_meta_operator.render.pipeline import render_platform

NS = "seldon-system"
PLATFORM = "seldonoperator-sample"
SECRETS = ("v1", "Secret", NS)


def memo_render(memo: RenderMemo, doc: dict[str, Any], ca: str | None = "CA") -> Any:
    return memo.render(
        parse_seldon_operator(doc),
        ClusterFacts(),
        owner_uid="uid-1",
        crd_uid="crd-1",
        allowed_namespaces=frozenset(),
        webhook_ca_bundle=ca,
    )


def test_the_memo_gives_the_render_of_the_same_inputs_and_renders_anew_for_others() -> None:
    memo = RenderMemo()
    doc = example("all-features")
    first = memo_render(memo, doc)
    assert first == render_platform(
        parse_seldon_operator(doc), ClusterFacts(), owner_uid="uid-1", crd_uid="crd-1", webhook_ca_bundle="CA"
    )
    # Our own status write changes the SeldonOperator's resourceVersion, not what render reads.
    bumped = copy.deepcopy(doc)
    bumped["metadata"].update(resourceVersion="42", generation=3)
    assert memo_render(memo, bumped) is first
    changed = copy.deepcopy(doc)
    changed["spec"]["enable"]["analytics"] = False
    assert memo_render(memo, changed) is not first
    assert memo_render(memo, doc, ca="another CA") is not first


def test_a_ready_platform_leaves_no_render_in_memory() -> None:
    memo = RenderMemo()
    doc = example("minimal")
    first = memo_render(memo, doc)
    memo.forget()
    again = memo_render(memo, doc)
    assert again is not first and again == first


class Reads:
    """``get`` and ``create`` of Secrets: what is asked is recorded; ``live`` is what the API server holds."""

    field_manager = "seldon-meta-operator"

    def __init__(self, *live: dict[str, Any]) -> None:
        self.live = {s["metadata"]["name"]: s for s in live}
        self.gets: list[str] = []
        self.writes: list[str] = []

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        self.gets.append(name)
        return self.live.get(name)

    async def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.writes.append(manifest["metadata"]["name"])
        return manifest

    async def patch(self, *_: Any, **__: Any) -> None:
        self.writes.append("patch")


def secret(name: str, labelled: bool = True) -> dict[str, Any]:
    labels = platform_labels(PLATFORM, "seldon_deploy", NS) if labelled else {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS, "labels": labels, "resourceVersion": "7"},
        "data": {"CLIENT_SECRET": "c2VjcmV0"},
    }


def test_a_secret_the_watch_holds_is_not_read_again() -> None:
    held = secret("seldon-deploy-oidc")
    kube = Reads(held)
    spec = GeneratedSecret(name="seldon-deploy-oidc", namespace=NS, random_keys=("CLIENT_SECRET",))
    done = asyncio.run(
        ensure_generated_secret(kube, spec, PLATFORM, "seldon_deploy", None, watched_cache(NS, SECRETS, held))
    )  # type: ignore[arg-type]
    assert (done, kube.gets, kube.writes) == ("", [], [])


def test_a_secret_the_watch_does_not_hold_is_read_never_taken_for_absent() -> None:
    # An earlier version's Secret, without the labels the watch selects on: regenerating it would change the
    # credentials. It is read, found, and labelled.
    old = secret("seldon-deploy-oidc", labelled=False)
    kube = Reads(old)
    spec = GeneratedSecret(name="seldon-deploy-oidc", namespace=NS, random_keys=("CLIENT_SECRET",))
    done = asyncio.run(ensure_generated_secret(kube, spec, PLATFORM, "seldon_deploy", None, watched_cache(NS, SECRETS)))  # type: ignore[arg-type]
    assert (done, kube.gets, kube.writes) == ("labelled", ["seldon-deploy-oidc"], ["patch"])


def test_a_scope_no_watch_feeds_is_read_from_the_api_server() -> None:
    held = secret("seldon-deploy-oidc")
    stale = ObjectCache(NS, {}, max_age=300)
    stale.observe("APPLIED", held, watched=False)  # our own write's response: no evidence of a watch
    kube = Reads(held)
    assert asyncio.run(read_secret(kube, "seldon-deploy-oidc", NS, stale)) == held  # type: ignore[arg-type]
    assert kube.gets == ["seldon-deploy-oidc"]


def test_kopf_builds_no_diff_base_of_what_it_watches(monkeypatch: Any) -> None:
    # The operator has no change handlers, so kopf's diff base (a deep copy of every watched object, per event)
    # is never read: the storage the operator configures builds, reads and stores nothing.
    from seldon_meta_operator.operator.handlers import NoDiffBase

    copies = []
    monkeypatch.setattr(copy, "deepcopy", lambda *a, **k: copies.append(a))
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "annotations": {"a": "b"}}, "spec": {}}
    storage = NoDiffBase()
    assert storage.build(body=body) == {} and storage.fetch(body=body) is None
    storage.store(body=body, patch={}, essence={})
    assert copies == []
