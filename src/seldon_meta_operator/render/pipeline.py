"""render_platform: the one pure function from a SeldonOperator to its Kubernetes objects.

Layer: render (pure). Called by ``seldonctl render``, by ``reconcile`` and by the tests, with the same
result for the same input: no clock, randomness, environment or API calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seldon_meta_operator.api.v1alpha1 import SeldonOperator, SeldonOperatorSpec, spec_bounds_errors
from seldon_meta_operator.components import REGISTRY
from seldon_meta_operator.components.base import (
    ROOTS,
    ClusterFacts,
    Component,
    GeneratedSecret,
    Manifest,
    Prerequisite,
    RenderContext,
    Values,
    WiringContext,
    prerequisite_for,
)
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render import policy
from seldon_meta_operator.render.ownership import object_key, stamp
from seldon_meta_operator.render.validate import spec_warnings
from seldon_meta_operator.render.values import merge_layers

# Apply order of kinds (lightkube's sort_objects idea): definitions and identities before what uses them.
KIND_RANK: dict[str, int] = {
    k: i
    for i, k in enumerate(
        (
            "CustomResourceDefinition",
            "Namespace",
            "StorageClass",
            "PriorityClass",
            "ServiceAccount",
            "Secret",
            "ConfigMap",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "PersistentVolumeClaim",
            "Service",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "PodDisruptionBudget",
            "Issuer",
            "Certificate",
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration",
        )
    )
}


def sort_key(manifest: Manifest) -> tuple[int, str, str, str]:
    meta = manifest["metadata"]
    return (KIND_RANK.get(manifest["kind"], len(KIND_RANK)), manifest["kind"], meta.get("namespace", ""), meta["name"])


@dataclass(frozen=True)
class ComponentRender:
    name: str
    title: str
    enabled: bool
    manifests: tuple[Manifest, ...]
    secrets: tuple[GeneratedSecret, ...]
    prerequisites: tuple[Prerequisite, ...]
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class RenderResult:
    components: tuple[ComponentRender, ...]
    warnings: tuple[str, ...] = ()
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def manifests(self) -> list[Manifest]:
        """Every enabled component's objects, in apply order."""
        return sorted((m for c in self.components for m in c.manifests), key=sort_key)

    def component(self, name: str) -> ComponentRender:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(name)

    def inventory(self) -> dict[str, list[str]]:
        return {c.name: sorted(object_key(m) for m in c.manifests) for c in self.components if c.enabled}


def _layers(
    spec: SeldonOperatorSpec, name: str, namespace: str, registry: tuple[Component, ...]
) -> dict[str, list[Mapping[str, Any]]]:
    """Per root, the layers below the user's: component defaults, then feature wiring (see render/values.py)."""
    wctx = WiringContext(spec=spec, name=name, namespace=namespace)
    wiring = [c.wiring(wctx) for c in registry if c.wiring is not None]
    return {
        root: [
            *(s.defaults for c in registry for s in c.values if s.root == root),
            *(w.get(root, {}) for w in wiring),
        ]
        for root in ROOTS
    }


def merged_values(
    spec: SeldonOperatorSpec, name: str, namespace: str, registry: tuple[Component, ...] = REGISTRY
) -> dict[str, dict[str, Any]]:
    """Per root: component defaults < feature wiring < user values (see render/values.py)."""
    user = {root: spec.values_of(root) for root in ROOTS}
    return {
        root: merge_layers([*below, user[root]]) for root, below in _layers(spec, name, namespace, registry).items()
    }


def render_platform(
    resource: SeldonOperator,
    facts: ClusterFacts | None = None,
    *,
    owner_uid: str | None = None,
    crd_uid: str | None = None,
    webhook_ca_bundle: str | None = None,
    registry: tuple[Component, ...] = REGISTRY,
    allowed_namespaces: frozenset[str] = frozenset(),
) -> RenderResult:
    """Render every component of ``resource``. Disabled components render to no objects but stay listed,
    so that prune knows to remove what they had. Raises SpecError naming every bad field.

    ``allowed_namespaces``: namespaces besides the SeldonOperator's where objects may go, as the cluster admin
    listed them in the operator's configuration (``--allowed-namespaces``); see render/policy.py."""
    spec = resource.spec
    name, namespace = resource.metadata.name, resource.metadata.namespace
    sections = {name: getattr(spec, name) for name in type(spec).model_fields}
    raw = {name: {"values": s.values} for name, s in sections.items() if isinstance(getattr(s, "values", None), dict)}
    if bounds := spec_bounds_errors(raw):
        raise SpecError("; ".join(bounds))  # the parsers check first; this guards callers that built a model
    layers = _layers(spec, name, namespace, registry)
    base = {root: merge_layers(below) for root, below in layers.items()}  # what the user's values go over
    user = {root: spec.values_of(root) for root in ROOTS}
    values = {root: merge_layers([base[root], user[root]]) for root in ROOTS}
    ctx = RenderContext(
        name=name,
        namespace=namespace,
        spec=spec,
        core=Values("core", values["core"], base["core"]),
        enterprise=Values("enterprise", values["enterprise"], base["enterprise"]),
        analytics=Values("analytics", values["analytics"], base["analytics"]),
        facts=facts or ClusterFacts(),
        webhook_ca_bundle=webhook_ca_bundle,
    )
    errors: list[str] = []
    rendered: list[ComponentRender] = []
    for comp in registry:
        enabled = comp.enabled(spec)
        manifests: list[Manifest] = []
        secrets: list[GeneratedSecret] = []
        if enabled:
            try:
                manifests = [stamp(m, name, comp.name, namespace, owner_uid, crd_uid) for m in comp.render(ctx)]
                secrets = comp.secrets(ctx) if comp.secrets else []
            except SpecError as exc:  # keep going: report every component's problems at once
                errors.append(str(exc))
        rendered.append(
            ComponentRender(
                name=comp.name,
                title=comp.title,
                enabled=enabled,
                manifests=tuple(sorted(manifests, key=sort_key)),
                secrets=tuple(secrets),
                prerequisites=_prerequisites(comp, manifests),
                depends_on=comp.depends_on,
            )
        )
    if errors:
        raise SpecError("; ".join(errors))
    _check_unique(rendered)
    policy.check(
        ((c.name, m) for c in rendered for m in c.manifests),
        namespace=namespace,
        allowed_namespaces=allowed_namespaces,
        spec=spec,
    )
    return RenderResult(components=tuple(rendered), warnings=tuple(spec_warnings(spec, registry)), values=values)


def _prerequisites(comp: Component, manifests: list[Manifest]) -> tuple[Prerequisite, ...]:
    """Declared prerequisites plus those implied by rendered kinds, except CRDs the platform renders."""
    own_crds = {
        (m["spec"]["group"], m["spec"]["names"]["kind"]) for m in manifests if m["kind"] == "CustomResourceDefinition"
    }
    found = {p.key: p for p in comp.prerequisites}
    for manifest in manifests:
        prereq = prerequisite_for(manifest["apiVersion"], manifest["kind"])
        if prereq and (prereq.group, prereq.kind) not in own_crds:
            found.setdefault(prereq.key, prereq)
    return tuple(found[k] for k in sorted(found))


def _check_unique(rendered: list[ComponentRender]) -> None:
    seen: dict[str, str] = {}
    for comp in rendered:
        for manifest in comp.manifests:
            key = object_key(manifest)
            if key in seen:
                raise SpecError(
                    f"{key} is rendered by both {seen[key]} and {comp.name}; check names set in spec.*.values"
                )
            seen[key] = comp.name
