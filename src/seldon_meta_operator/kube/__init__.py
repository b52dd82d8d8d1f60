"""The only package that talks to the Kubernetes API (lightkube)."""

from seldon_meta_operator.kube.client import (
    FIELD_MANAGER,
    Kube,
    KubeError,
    ObjectReplacedError,
    UnknownKindError,
    UnreachableError,
)

__all__ = ["FIELD_MANAGER", "Kube", "KubeError", "ObjectReplacedError", "UnknownKindError", "UnreachableError"]
