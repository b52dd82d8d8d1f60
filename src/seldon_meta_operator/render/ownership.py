"""Labels and owner references stamped on every rendered object, and object identity.

Layer: render (pure).

Every object gets ``app.kubernetes.io/managed-by``, ``operator.seldon.io/platform`` and
``operator.seldon.io/component``. Namespaced objects in the SeldonOperator's own namespace also get an owner
reference to it (when its uid is known), so the garbage collector removes them with the CR even if the
operator is gone. Cluster-scoped objects and objects in other namespaces get labels only; the operator
removes them on delete and on its start-up sweep.
"""

from __future__ import annotations

import copy
from typing import Any

from seldon_meta_operator.api.v1alpha1 import API_VERSION, GROUP, KIND
from seldon_meta_operator.components.base import Manifest

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "seldon-meta-operator"
PLATFORM_LABEL = f"{GROUP}/platform"
COMPONENT_LABEL = f"{GROUP}/component"
#: Objects that must outlive the SeldonOperator (data) carry this annotation; see reconcile/prune.py.
RETAIN_ANNOTATION = f"{GROUP}/retain"

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "Namespace",
        "StorageClass",
        "PersistentVolume",
        "PriorityClass",
    }
)


def is_namespaced(manifest: Manifest) -> bool:
    return manifest["kind"] not in CLUSTER_SCOPED_KINDS


def object_key(manifest: Manifest) -> str:
    """``group/Kind/namespace/name``, the inventory key (``group`` is empty for the core API)."""
    api_version: str = manifest["apiVersion"]
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    namespace = manifest["metadata"].get("namespace", "")
    return f"{group}/{manifest['kind']}/{namespace}/{manifest['metadata']['name']}"


def platform_labels(platform: str, component: str) -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY, PLATFORM_LABEL: platform, COMPONENT_LABEL: component}


def stamp(manifest: Manifest, platform: str, component: str, namespace: str, owner_uid: str | None) -> Manifest:
    """A copy of ``manifest`` with our labels and, where allowed, the owner reference."""
    out = copy.deepcopy(manifest)
    metadata: dict[str, Any] = out["metadata"]
    metadata["labels"] = {**metadata.get("labels", {}), **platform_labels(platform, component)}
    if owner_uid and is_namespaced(out) and metadata.get("namespace") == namespace:
        metadata["ownerReferences"] = [
            {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "name": platform,
                "uid": owner_uid,
                "controller": True,
                "blockOwnerDeletion": False,
            }
        ]
    return out
