"""Adoption of a helm-era install (issue 11): pure decisions over what reconcile found in the cluster.

Layer: render (pure). The reconciler reads the cluster (``reconcile/facts.py`` and the applier's reads) and calls
these functions with what it found; nothing here does I/O.

Two cases, documented in docs/api.md ("Adoption of a helm-era install"):

- **Objects a Helm release installed** under the names our render gives (Seldon Core's chart names its objects
  as we do whatever the release; Seldon Deploy's with the release ``seldon-deploy``): the operator takes them
  over in place. ``ownership_transfer`` first hands the fields Helm set to our field manager, so that server-side
  apply with force then owns every field we render and removes the ones Helm set that we do not (Helm's labels
  and annotations among them); ``helm_strip_patch`` then removes any Helm metadata left and marks the object
  ``ADOPTED_ANNOTATION``.
  Fields the API server will not change (a Deployment's selector, a StatefulSet's selector, claim templates,
  service name and pod management policy) keep Helm's values for the object's life (``keep_immutable``), so
  nothing is deleted and re-created.
- **Data volumes of a helm-era store that the operator cannot mount** (another namespace, another StatefulSet
  name: the stores of Seldon's documentation, ``FOREIGN_STORES``): rather than start an empty store beside them,
  the component is Stalled with a message naming the volumes and the options (``volume_problems``). The volumes
  it can mount are adopted by the components themselves (components/postgres.py, components/opensearch.py).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seldon_meta_operator.api.v1alpha1 import GROUP
from seldon_meta_operator.components.base import ClusterFacts, Manifest
from seldon_meta_operator.render.ownership import object_key

#: Set on an object the operator took over from a Helm release: ``helm/<release>``. Its immutable fields keep
#: Helm's values from then on.
ADOPTED_ANNOTATION = f"{GROUP}/adopted-from"
#: A claim of ``FOREIGN_STORES`` labelled ``operator.seldon.io/adoption: ignore`` is left alone: the user chose
#: to start an empty trial store beside it.
IGNORE_LABEL = f"{GROUP}/adoption"
IGNORE_VALUE = "ignore"

#: The field manager Helm 3 writes with.
HELM_MANAGER = "helm"
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"
HELM_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace"
#: Labels whose value says Helm manages the object (``heritage`` in charts older than Helm 3's conventions).
HELM_VALUE_LABELS = ("app.kubernetes.io/managed-by", "heritage")
#: Labels and annotations Helm's charts and Helm itself stamp; removed on adoption unless we render them too.
HELM_LABELS = ("app.kubernetes.io/managed-by", "heritage", "helm.sh/chart", "chart")
HELM_ANNOTATIONS = (HELM_RELEASE_ANNOTATION, HELM_NAMESPACE_ANNOTATION)

#: Fields of a workload the API server refuses to change (apps/v1 validation), per kind.
IMMUTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "Deployment": ("selector",),
    "DaemonSet": ("selector",),
    "StatefulSet": ("selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy"),
}


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return obj.get("metadata", {}).get("annotations") or {}


def is_helm(live: Mapping[str, Any] | None) -> bool:
    """Whether Helm installed ``live`` (its labels or release annotation say so)."""
    if not live:
        return False
    labels = _labels(live)
    return HELM_RELEASE_ANNOTATION in _annotations(live) or any(labels.get(k) == "Helm" for k in HELM_VALUE_LABELS)


def is_adopted(live: Mapping[str, Any] | None) -> bool:
    """Whether the operator took ``live`` over from Helm (an earlier pass did)."""
    return bool(live) and ADOPTED_ANNOTATION in _annotations(live or {})


def helm_release(live: Mapping[str, Any]) -> str:
    """The Helm release that installed ``live``: its release annotation, else its instance/release label."""
    labels = _labels(live)
    return str(
        _annotations(live).get(HELM_RELEASE_ANNOTATION)
        or labels.get("app.kubernetes.io/instance")
        or labels.get("release")
        or "unknown"
    )


def keep_immutable(desired: Manifest, live: Mapping[str, Any]) -> Manifest:
    """``desired`` with the live values of the fields the API server will not change, for an object taken over
    from Helm: its selector (the pod template's labels then include the selector's, so the pods still match),
    and a StatefulSet's claim templates, service name and pod management policy. Other kinds are returned as
    they are."""
    fields = IMMUTABLE_FIELDS.get(str(desired.get("kind")), ())
    live_spec = live.get("spec") or {}
    if not fields or not live_spec:
        return desired
    out = copy.deepcopy(desired)
    spec = out.setdefault("spec", {})
    for name in fields:
        if name in live_spec:
            spec[name] = copy.deepcopy(live_spec[name])
        else:
            spec.pop(name, None)
    selected = (live_spec.get("selector") or {}).get("matchLabels") or {}
    if selected and "template" in spec:
        # The pods must match the kept selector (the API server checks it): Helm's values win over ours.
        template_meta = spec["template"].setdefault("metadata", {})
        template_meta["labels"] = {**(template_meta.get("labels") or {}), **selected}
    return out


def _selector(manifest: Mapping[str, Any]) -> dict[str, str] | None:
    """The label selector of a Service (``spec.selector``) or a PodDisruptionBudget (``matchLabels``)."""
    spec = manifest.get("spec") or {}
    if manifest.get("kind") == "Service":
        return spec.get("selector")
    if manifest.get("kind") == "PodDisruptionBudget":
        return (spec.get("selector") or {}).get("matchLabels")
    return None


def adapt_component(
    manifests: Sequence[Manifest], live: Mapping[str, Mapping[str, Any] | None]
) -> tuple[list[Manifest], list[str]]:
    """One component's render, adapted to what lives under its names (``live``: object key -> object or None).

    A workload that is Helm's, or was taken over from Helm, keeps its immutable fields (``keep_immutable``). Where
    Helm's selector gives a label another value than ours (a release name in ``app.kubernetes.io/instance``), its
    pods carry Helm's value, so the component's Services and PodDisruptionBudgets select that value instead.
    Returns the adapted manifests and the keys of objects to take over now (Helm's, not yet adopted)."""
    kept: list[Manifest] = []
    take_over: list[str] = []
    renamed: dict[tuple[str, str], str] = {}  # (label, our value) -> Helm's value
    for manifest in manifests:
        key = object_key(manifest)
        found = live.get(key)
        helm = is_helm(found) and not is_adopted(found)
        if helm:
            take_over.append(key)
        if found is None or not (helm or is_adopted(found)):
            kept.append(manifest)
            continue
        adapted = keep_immutable(manifest, found)
        ours = ((manifest.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
        theirs = ((adapted.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        for label, value in theirs.items():
            if label in ours and ours[label] != value:
                renamed[(label, ours[label])] = value
        kept.append(adapted)
    if not renamed:
        return kept, take_over
    out: list[Manifest] = []
    for manifest in kept:
        selector = _selector(manifest)
        if not selector or not any((k, v) in renamed for k, v in selector.items()):
            out.append(manifest)
            continue
        followed = copy.deepcopy(manifest)
        target = _selector(followed) or {}
        for label, value in list(target.items()):
            target[label] = renamed.get((label, value), value)
        out.append(followed)
    return out, take_over


def helm_strip_patch(live: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch that removes Helm's labels and annotations from ``live`` (those ``desired`` does not set
    itself), also from a workload's pod template (except its selector's), and records the adoption."""
    release = helm_release(live)
    labels = {k: None for k in HELM_LABELS if k in _labels(live) and k not in _labels(desired)}
    annotations: dict[str, Any] = {k: None for k in HELM_ANNOTATIONS if k in _annotations(live)}
    annotations[ADOPTED_ANNOTATION] = f"helm/{release}"
    metadata: dict[str, Any] = {"annotations": annotations}
    if labels:
        metadata["labels"] = labels
    patch: dict[str, Any] = {"metadata": metadata}
    live_spec = live.get("spec") or {}
    template_labels = ((live_spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    wanted = (((desired.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    selected = (live_spec.get("selector") or {}).get("matchLabels") or {}
    stale = {k: None for k in HELM_LABELS if k in template_labels and k not in wanted and k not in selected}
    if stale:
        patch["spec"] = {"template": {"metadata": {"labels": stale}}}
    return patch


def _union(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """The union of two ``fieldsV1`` sets (trees of field paths)."""
    out = {k: copy.deepcopy(v) for k, v in a.items()}
    for key, value in b.items():
        mine = out.get(key)
        out[key] = _union(mine, value) if isinstance(mine, Mapping) and isinstance(value, Mapping) else value
    return out


def ownership_transfer(live: Mapping[str, Any], field_manager: str) -> dict[str, Any] | None:
    """A merge patch of ``metadata.managedFields`` that hands the fields Helm set to ``field_manager``'s apply
    entry (as Flux's server-side apply takes over objects), or None when Helm owns nothing.

    Server-side apply removes a field only when its own manager set it and stops setting it. So before our first
    apply, Helm's fields become ours: the apply then removes every one the render does not set (Helm's labels and
    annotations, a container or an env var the chart has and we do not), instead of leaving them behind."""
    entries = list(live.get("metadata", {}).get("managedFields") or [])
    taken = [e for e in entries if e.get("manager") == HELM_MANAGER and not e.get("subresource")]
    if not taken:
        return None
    ours = [
        e
        for e in entries
        if e.get("manager") == field_manager and e.get("operation") == "Apply" and not e.get("subresource")
    ]
    fields: dict[str, Any] = {}
    for entry in [*ours, *taken]:
        fields = _union(fields, entry.get("fieldsV1") or {})
    entry = {
        "manager": field_manager,
        "operation": "Apply",
        "apiVersion": str(live.get("apiVersion") or taken[0].get("apiVersion", "")),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if taken[0].get("time"):
        entry["time"] = taken[0]["time"]
    rest = [e for e in entries if e not in taken and e not in ours]
    return {"metadata": {"managedFields": [entry, *rest]}}


def replicas_owner_is_helm(owner: str | None, live: Mapping[str, Any] | None) -> bool:
    """True when the other owner of ``spec.replicas`` is Helm on an object being (or already) adopted: Helm's
    ownership is taken over like every other field, not respected as an autoscaler's would be."""
    return owner == HELM_MANAGER and (is_helm(live) or is_adopted(live))


# --- Data volumes the operator cannot mount ------------------------------------------------------------------


@dataclass(frozen=True)
class ForeignStore:
    """The first data volume of a helm-era store from Seldon's documentation that the operator cannot mount."""

    component: str
    namespace: str | None  # None: the platform's namespace
    claim: str
    what: str  # which install left it
    keep_using: str  # the spec that keeps using it instead of a trial store


_OPENSEARCH_KEEP = (
    "set spec.payloadstore.internal_elastic.use_internal: false with enterprise.values.elasticsearch.url "
    "https://opensearch-cluster-master.{ns}.svc.cluster.local:9200 and enterprise.values.requestLogger."
    "elasticsearch.host opensearch-cluster-master.{ns}.svc.cluster.local"
)

#: Stores of Seldon's documentation (upstream-seldon-facts.md §6.1, §6.2), by their first claim.
FOREIGN_STORES: tuple[ForeignStore, ...] = (
    ForeignStore(
        "opensearch",
        "seldon-logs",
        "opensearch-cluster-master-opensearch-cluster-master-0",
        "the OpenSearch release 'opensearch' of Seldon's documentation",
        _OPENSEARCH_KEEP.replace("{ns}", "seldon-logs"),
    ),
    ForeignStore(
        "opensearch",
        None,
        "opensearch-cluster-master-opensearch-cluster-master-0",
        "an OpenSearch release 'opensearch'",
        _OPENSEARCH_KEEP,
    ),
    ForeignStore(
        "postgres",
        "postgres",
        "pgdata-seldon-metadata-storage-0",
        "the PostgreSQL 'seldon-metadata-storage' of Seldon Deploy's documentation (Zalando postgres-operator)",
        "set spec.enable.catalogue: false and keep Seldon Deploy on it with enterprise.values.metadata.pg.enabled: "
        "true and metadata.pg.secret naming the Secret of its credentials",
    ),
)


def claims_elsewhere(namespace: str) -> list[tuple[str, str]]:
    """``(namespace, claim)`` of ``FOREIGN_STORES`` outside the platform's namespace: what reconcile reads by
    name (the operator may list claims only in its own namespace)."""
    return sorted({(s.namespace, s.claim) for s in FOREIGN_STORES if s.namespace and s.namespace != namespace})


def first_claims(manifests: Sequence[Manifest]) -> list[str]:
    """``<template>-<statefulset>-0``: the first claim of each StatefulSet among ``manifests``."""
    return sorted(
        f"{template['metadata']['name']}-{m['metadata']['name']}-0"
        for m in manifests
        if m["kind"] == "StatefulSet"
        for template in m["spec"].get("volumeClaimTemplates") or []
    )


def volume_problem(component: str, manifests: Sequence[Manifest], namespace: str, facts: ClusterFacts) -> str | None:
    """Why ``component`` must not start an empty store (Stalled), or None.

    A store of ``FOREIGN_STORES`` was found and not labelled ``IGNORE_LABEL=ignore``, while the component's own
    first claim does not exist yet (once it does, the choice was made: an upgrade never stalls a running store)."""
    if facts.claims is None:
        return None
    if any(facts.claim(namespace, name) for name in first_claims(manifests)):
        return None
    found = []
    for store in FOREIGN_STORES:
        if store.component != component:
            continue
        where = store.namespace or namespace
        claim = facts.claim(where, store.claim)
        if claim is None or claim.labels.get(IGNORE_LABEL) == IGNORE_VALUE:
            continue
        found.append((store, where))
    if not found:
        return None
    store, where = found[0]
    volumes = ", ".join(f"{ns}/{s.claim}" for s, ns in found)
    return (
        f"found the data volumes of {store.what} ({volumes}), which the trial store cannot mount; it would start "
        f"empty beside them. Either keep using that store: {store.keep_using.replace('{ns}', where)}; or start an "
        f"empty trial store and keep the old volumes: kubectl label pvc -n {where} {store.claim} "
        f"{IGNORE_LABEL}={IGNORE_VALUE}"
    )
