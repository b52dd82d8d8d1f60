"""Labels and owner references stamped on every rendered object, and object identity.

Layer: render (pure).

Every object gets ``app.kubernetes.io/managed-by``, ``operator.seldon.io/platform`` and
``operator.seldon.io/component``. Namespaced objects in the SeldonOperator's own namespace also get an owner
reference to it (when its uid is known), so the garbage collector removes them with the CR even if the
operator is gone. Cluster-scoped objects and objects in other namespaces get labels only; the operator
removes them on delete and on its start-up sweep.
"""

from __future__ import annotations

from typing import Any

from seldon_meta_operator.api.v1alpha1 import API_VERSION, GROUP, KIND, PLURAL
from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.render.values import tree_copy

CRD_NAME = f"{PLURAL}.{GROUP}"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "seldon-meta-operator"
PLATFORM_LABEL = f"{GROUP}/platform"
COMPONENT_LABEL = f"{GROUP}/component"
#: The uid of the owning SeldonOperator: clean-up and the orphan sweep select by it, never by a name alone (a
#: same-named SeldonOperator elsewhere must not be able to make the operator delete the live platform's objects).
PLATFORM_UID_LABEL = f"{GROUP}/platform-uid"
#: The namespace of the owning SeldonOperator: an operator's orphan sweep touches only its own namespace's.
PLATFORM_NAMESPACE_LABEL = f"{GROUP}/platform-namespace"
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
    """``apiVersion/Kind/namespace/name``, the inventory key (namespace empty for cluster-scoped objects).

    The version is kept so that an object can be deleted after its component stopped rendering it."""
    namespace = manifest["metadata"].get("namespace", "")
    return f"{manifest['apiVersion']}/{manifest['kind']}/{namespace}/{manifest['metadata']['name']}"


def parse_key(key: str) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name) of an inventory key; parsed from the right, as apiVersion may
    contain a slash."""
    api_version, kind, namespace, name = key.rsplit("/", 3)
    return api_version, kind, namespace, name


def watch_labels(namespace: str) -> dict[str, str]:
    """The labels the operator watches by (and its cache keeps): everything of the platform in ``namespace`` the
    operator must see change, Secrets included, carries both."""
    return {MANAGED_BY_LABEL: MANAGED_BY, PLATFORM_NAMESPACE_LABEL: namespace}


def platform_labels(platform: str, component: str, namespace: str | None = None) -> dict[str, str]:
    labels = {MANAGED_BY_LABEL: MANAGED_BY, PLATFORM_LABEL: platform, COMPONENT_LABEL: component}
    if namespace:
        labels[PLATFORM_NAMESPACE_LABEL] = namespace
    return labels


def stamp(
    manifest: Manifest,
    platform: str,
    component: str,
    namespace: str,
    owner_uid: str | None,
    crd_uid: str | None = None,
) -> Manifest:
    """A copy of ``manifest`` with our labels and owner reference.

    - In the SeldonOperator's namespace: owned by the SeldonOperator (``owner_uid``), so deleting it removes them.
    - Elsewhere (cluster-scoped, or other namespaces): owned by our own CRD (``crd_uid``), so that removing the
      operator's install manifest removes them even if no operator is left to clean up (the seed's first known
      issue). The operator also deletes them when the SeldonOperator is deleted.
    - CustomResourceDefinitions are never owned: deleting the SeldonDeployment CRD would delete users' models.
    ``blockOwnerDeletion`` is false everywhere, so no deletion ever waits on these objects.
    """
    out: Manifest = tree_copy(manifest)
    metadata: dict[str, Any] = out["metadata"]
    metadata["labels"] = {**metadata.get("labels", {}), **platform_labels(platform, component, namespace)}
    if owner_uid:
        metadata["labels"][PLATFORM_UID_LABEL] = owner_uid
    if out["kind"] == "CustomResourceDefinition":
        return out
    if is_namespaced(out) and metadata.get("namespace") == namespace:
        if owner_uid:
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
    elif crd_uid:
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "name": CRD_NAME,
                "uid": crd_uid,
                "blockOwnerDeletion": False,
            }
        ]
    return out
