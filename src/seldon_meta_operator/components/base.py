"""The component contract and small pure helpers shared by every component.

Layer: components. A component is data plus pure functions: which feature turns it on, the chart values it
reads (with their defaults), the values it wires into other components, and ``render(ctx)`` returning plain
Kubernetes objects. Nothing here does I/O, reads the clock or the environment.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from seldon_meta_operator.api.v1alpha1 import SeldonOperatorSpec
from seldon_meta_operator.errors import SpecError, brief

Manifest = dict[str, Any]

#: Values roots: which part of the spec a tree of chart values comes from.
CORE = "core"  # spec.core.values: Seldon Core v1 chart values
ENTERPRISE = "enterprise"  # spec.enterprise.values: Seldon Deploy chart values
ANALYTICS = "analytics"  # spec.analytics.values: Seldon Core Analytics chart values (prometheus subchart keys)
ROOTS = (CORE, ENTERPRISE, ANALYTICS)


def values_path(root: str, path: str) -> str:
    """The user-facing path of a value, e.g. ``spec.core.values.istio.gateway``."""
    return f"spec.{root}.values.{path}" if path else f"spec.{root}.values"


_MISSING = object()


class Values:
    """Read-only view of one merged values tree, with typed getters whose errors name the spec field.

    Every getter takes a dotted path. ``base`` is the same tree before the user's layer (component defaults and
    feature wiring): it tells a component bug from a user's doing when a key is missing. A key missing from
    both, with no default given, is a bug in a component (its defaults must declare it): KeyError. A key the
    defaults have but the user's ``null`` deleted, or a path through something that is not a mapping (``istio:
    5`` when ``istio.gateway`` is read), is the user's: SpecError naming the field and the fix.
    """

    def __init__(self, root: str, data: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> None:
        self.root = root
        self.data = data
        self.base: Mapping[str, Any] = data if base is None else base

    def _find(self, tree: Mapping[str, Any], path: builtins.str, user: builtins.bool) -> Any:
        node: Any = tree
        parts = path.split(".")
        for i, part in enumerate(parts):
            if not isinstance(node, Mapping):
                if user and i > 0:
                    raise self.error(".".join(parts[:i]), "a mapping", node)
                return _MISSING
            if part not in node:
                return _MISSING
            node = node[part]
        return node

    def raw(self, path: builtins.str, default: Any = _MISSING) -> Any:
        found = self._find(self.data, path, user=True)
        if found is not _MISSING:
            return found
        if default is not _MISSING:
            return default
        if self._find(self.base, path, user=False) is not _MISSING:
            raise SpecError(
                f"{values_path(self.root, path)}: required, but a null removed it; remove the null "
                "to use the default, or set a value"
            )
        raise KeyError(f"{values_path(self.root, path)} has no default")

    def has(self, path: builtins.str) -> builtins.bool:
        return self.raw(path, None) is not None

    def error(self, path: builtins.str, expected: builtins.str, got: Any) -> SpecError:
        """A SpecError naming the value's spec field, what was expected and what was given."""
        return SpecError(f"{values_path(self.root, path)}: expected {expected}, got {brief(got)}")

    _bad = error

    def str(
        self, path: builtins.str, default: Any = _MISSING, choices: Sequence[builtins.str] | None = None
    ) -> builtins.str:
        value = self.raw(path, default)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self._bad(path, "a string", value)
        text = value if isinstance(value, str) else format(value)
        if choices is not None and text not in choices:
            raise SpecError(f"{values_path(self.root, path)}: expected one of {', '.join(choices)}, got {brief(text)}")
        return text

    def opt_str(self, path: builtins.str) -> builtins.str | None:
        value = self.raw(path, None)
        return None if value is None or value == "" else self.str(path)

    def bool(self, path: builtins.str, default: Any = _MISSING) -> builtins.bool:
        value = self.raw(path, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self._bad(path, "true or false", value)

    def int(self, path: builtins.str, default: Any = _MISSING) -> builtins.int:
        value = self.raw(path, default)
        if isinstance(value, bool):
            raise self._bad(path, "an integer", value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        raise self._bad(path, "an integer", value)

    def map(self, path: builtins.str, default: Any = _MISSING) -> dict[builtins.str, Any]:
        value = self.raw(path, default)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self._bad(path, "a mapping", value)
        return dict(value)

    def list(self, path: builtins.str, default: Any = _MISSING) -> builtins.list[Any]:
        value = self.raw(path, default)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(path, "a list", value)
        return list(value)

    def str_map(self, path: builtins.str, default: Any = _MISSING) -> dict[builtins.str, builtins.str]:
        """A mapping of strings, e.g. labels, annotations or env; numbers and booleans are stringified as
        Helm's ``quote`` would."""
        out: dict[builtins.str, builtins.str] = {}
        for key, value in self.map(path, default).items():
            if isinstance(value, bool):
                out[str(key)] = "true" if value else "false"
            elif isinstance(value, (str, int, float)):
                out[str(key)] = str(value)
            else:
                raise SpecError(
                    f"{values_path(self.root, path)}.{str(key)[:64]}: expected a string, got {brief(value)}"
                )
        return out


@dataclass(frozen=True)
class Claim:
    """A PersistentVolumeClaim the caller found in the cluster: where it is, and its labels."""

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterFacts:
    """What the caller learned about the cluster before rendering. Render never asks the cluster itself.

    ``api_kinds`` holds ``group/Kind`` strings of the API resources present; None means unknown (offline
    render), in which case every prerequisite is assumed present.

    ``claims``: the PersistentVolumeClaims found in the platform's namespace, and those found under the names of
    helm-era data volumes elsewhere (render/adoption.py); None when nobody looked (offline render), so a trial
    store is rendered as for a new install.
    """

    kubernetes_version: tuple[int, int] = (1, 34)
    api_kinds: frozenset[str] | None = None
    claims: tuple[Claim, ...] | None = None

    def has_kind(self, group: str, kind: str) -> bool:
        return self.api_kinds is None or f"{group}/{kind}" in self.api_kinds

    def claim(self, namespace: str, name: str) -> Claim | None:
        """The claim ``namespace/name`` if it was found."""
        return next((c for c in self.claims or () if c.namespace == namespace and c.name == name), None)


@dataclass(frozen=True)
class Prerequisite:
    """An API kind a component needs but does not install (Istio, Knative, cert-manager, ...)."""

    group: str
    kind: str
    install_hint: str  # one sentence: what to install

    @property
    def key(self) -> str:
        return f"{self.group}/{self.kind}"


#: API groups that every cluster serves. Objects of any other group need a CRD the platform does not install:
#: the pipeline derives each component's prerequisites from the objects it renders.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "policy",
        "autoscaling",
        "rbac.authorization.k8s.io",
        "apiextensions.k8s.io",
        "admissionregistration.k8s.io",
        "networking.k8s.io",
        "storage.k8s.io",
        "coordination.k8s.io",
        "scheduling.k8s.io",
        "discovery.k8s.io",
    }
)

#: What to install for each prerequisite API group (one sentence each, shown in status and doctor).
INSTALL_HINTS: dict[str, str] = {
    "networking.istio.io": "Install Istio (for example `istioctl install -y`)",
    "eventing.knative.dev": "Install Knative Eventing (eventing-crds, eventing-core, in-memory-channel, "
    "mt-channel-broker)",
    "serving.knative.dev": "Install Knative Serving (serving-crds, serving-core, net-istio)",
    "cert-manager.io": "Install cert-manager, or set core.values.certManager.enabled: false",
    "argoproj.io": "Install Argo CD (gitops) or Argo Workflows (batch jobs)",
}


def prerequisite_for(api_version: str, kind: str) -> Prerequisite | None:
    """The prerequisite an object of this type implies, or None for built-in kinds."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    if group in BUILTIN_GROUPS:
        return None
    hint = INSTALL_HINTS.get(group, f"Install the CustomResourceDefinition that serves {group}/{kind}")
    return Prerequisite(group=group, kind=kind, install_hint=hint)


@dataclass(frozen=True)
class GeneratedSecret:
    """A Secret whose values the operator generates once and never overwrites.

    Render describes it (pure); ``reconcile`` creates it with random values of at least 256 bits for
    ``random_keys`` and the given ``literals``. A key in ``random_keys`` may appear in several secrets under
    ``shared_with`` so that two Secrets hold the same generated value (e.g. a password in the server's
    Secret and in its client's Secret).
    """

    name: str
    namespace: str
    literals: Mapping[str, str] = field(default_factory=dict)
    random_keys: tuple[str, ...] = ()
    #: True when the Secret belongs with retained data (trial database credentials): it then follows
    #: spec.retain_data, like the PersistentVolumeClaims, instead of being owned by the SeldonOperator.
    data: bool = False


@dataclass(frozen=True)
class WiringContext:
    """Input of a component's wiring: the typed spec and where the platform lives."""

    spec: SeldonOperatorSpec
    name: str
    namespace: str


@dataclass(frozen=True)
class RenderContext:
    """Everything a component's render may read. Frozen, built by ``render.pipeline``."""

    name: str  # the SeldonOperator's name
    namespace: str  # the SeldonOperator's namespace: where platform objects go
    spec: SeldonOperatorSpec
    core: Values  # merged Seldon Core chart values
    enterprise: Values  # merged Seldon Deploy chart values
    facts: ClusterFacts = field(default_factory=ClusterFacts)
    #: PEM CA bundle of Seldon Core's webhook serving certificate, read by reconcile from the Secret
    #: ``seldon-webhook-server-cert``; None offline (the webhook is then rendered without a caBundle).
    webhook_ca_bundle: str | None = None
    analytics: Values = field(default_factory=lambda: Values(ANALYTICS, {}))  # merged Analytics chart values

    def values(self, root: str) -> Values:
        return {CORE: self.core, ENTERPRISE: self.enterprise, ANALYTICS: self.analytics}[root]


@dataclass(frozen=True)
class ValuesSchema:
    """The chart values a component reads under one root: defaults (from the upstream chart facts), keys it
    reads that have no default, and free-form maps whose children are the user's (env, annotations...).
    Used for the defaults layer and for the "no component reads this key" warning."""

    root: str
    defaults: Mapping[str, Any]
    optional: tuple[str, ...] = ()  # dotted paths read when set, with no default
    open_maps: tuple[str, ...] = ()  # dotted paths whose children are free-form


Layers = dict[str, dict[str, Any]]  # root -> values tree


@dataclass(frozen=True)
class Component:
    """One installable part of the platform. See docs/architecture.md, "Adding a component"."""

    name: str  # snake_case; equals the module name
    title: str  # user-facing name
    enabled: Callable[[SeldonOperatorSpec], bool]
    render: Callable[[RenderContext], list[Manifest]]
    depends_on: tuple[str, ...] = ()
    values: tuple[ValuesSchema, ...] = ()
    #: Values this component sets in other components' trees (feature wiring). Called for every
    #: component, enabled or not, so that turning a feature off also un-wires it.
    wiring: Callable[[WiringContext], Layers] | None = None
    secrets: Callable[[RenderContext], list[GeneratedSecret]] | None = None
    prerequisites: tuple[Prerequisite, ...] = ()


# --- Small builders used by many components ------------------------------------------------------------


def meta(
    name: str,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Object metadata without empty fields."""
    out: dict[str, Any] = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    if labels:
        out["labels"] = dict(labels)
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def obj(api_version: str, kind: str, metadata: dict[str, Any], **fields: Any) -> Manifest:
    """A Kubernetes object with ``apiVersion``, ``kind``, ``metadata`` first and no None fields."""
    out: Manifest = {"apiVersion": api_version, "kind": kind, "metadata": metadata}
    out.update({k: v for k, v in fields.items() if v is not None})
    return out


def env_list(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """``[{name, value}]`` in the given order."""
    return [{"name": k, "value": v} for k, v in env.items()]


def secret_env(name: str, secret: str, key: str, optional: bool | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional is not None:
        ref["optional"] = optional
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def service_url(name: str, namespace: str, port: int | None = None, scheme: str = "http") -> str:
    """In-cluster URL of a Service, with the cluster domain spelled out."""
    host = f"{name}.{namespace}.svc.cluster.local"
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


class EnvList:
    """A container's env entries in order, each name once: server-side apply rejects a name given twice, so the
    first entry for a name wins (later ones, e.g. the same flag from two settings, are dropped)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def add(self, name: str, value: str) -> None:
        self.entries.setdefault(name, {"name": name, "value": value})

    def secret(self, name: str, secret: str, key: str, optional: bool | None = None) -> None:
        self.entries.setdefault(name, secret_env(name, secret, key, optional))


_VOLUME_SIZE_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?")


def volume_size(size: str, field: str) -> str:
    """A claim's size from a typed field (its pattern is checked by the API already); zero is refused here."""
    match = _VOLUME_SIZE_NUMBER.match(size)
    if match is None or float(match.group(0)) == 0:
        raise SpecError(f"{field}: expected a volume size above zero such as 8Gi, got {size!r}")
    return size


def data_claim_template(labels: Mapping[str, str], size: str, name: str = "data") -> dict[str, Any]:
    """The volume claim template of a trial store's StatefulSet (claims ``<name>-<statefulset>-<n>``; ``data``
    unless an adopted install's claims are named otherwise). No storageClassName: the cluster's default
    StorageClass provides the volumes."""
    return {
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }


def claim_retention(retain_data: bool) -> dict[str, str]:
    """A StatefulSet's ``persistentVolumeClaimRetentionPolicy`` for data: claims outlive the StatefulSet (feature
    off, SeldonOperator deleted) unless ``spec.retain_data`` is false. Scaling down always keeps them: fewer
    nodes is not turning the store off, and a node scaled back up finds its data again."""
    return {"whenDeleted": "Retain" if retain_data else "Delete", "whenScaled": "Retain"}


def image_ref(registry: str | None, repository: str, tag: str) -> str:
    return f"{registry}/{repository}:{tag}" if registry else f"{repository}:{tag}"


def restricted_security_context(run_as_user: int | None = None) -> dict[str, Any]:
    """Container security context that passes the Pod Security "restricted" profile."""
    ctx: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if run_as_user is not None:
        ctx["runAsUser"] = run_as_user
    return ctx


#: The uid Seldon's charts run their images as (Seldon Core's ``managerUserID``, Deploy's ``defaultUserID``).
SELDON_UID = 8888


def restricted_pod_security_context(run_as_user: int | None = None) -> dict[str, Any]:
    """Pod security context of the Pod Security "restricted" profile: non-root, seccomp RuntimeDefault. A uid is
    given where the image's own user is not known to be numeric and non-root (the kubelet refuses to start a
    ``runAsNonRoot`` container whose image runs as root or as a user name)."""
    ctx: dict[str, Any] = {"runAsNonRoot": True}
    if run_as_user is not None:
        ctx["runAsUser"] = run_as_user
    ctx["seccompProfile"] = {"type": "RuntimeDefault"}
    return ctx


def policy_rule(api_groups: Sequence[str], resources: Sequence[str], verbs: Sequence[str]) -> dict[str, Any]:
    return {"apiGroups": list(api_groups), "resources": list(resources), "verbs": list(verbs)}


CRUD_WATCH = ("create", "delete", "get", "list", "patch", "update", "watch")
READ = ("get", "list", "watch")
STATUS_RW = ("get", "patch", "update")
