"""The operator's install manifest (``deploy/seldonoperator_install.yaml``), with RBAC derived from the render.

Layer: render (pure). Called by ``cli/generated.py`` (``seldonctl generate deploy``) and by the tests, which
re-derive the manifest and compare it with the checked-in file.

The manifest holds, in apply order (no Namespace: the documentation creates it first): the SeldonOperator CRD,
the operator's ServiceAccount, its roles and bindings, a ValidatingAdmissionPolicy that keeps SeldonOperators in
the operator's namespace, the metrics Service, a NetworkPolicy and the Deployment
``seldon-operator-controller-manager`` (two containers, as the product documentation shows READY 2/2).

RBAC is derived, never written by hand, and least-privilege (issue 8). The union of several "everything on"
renders (``PLATFORM_VARIANTS``) gives two roles:

1. ``seldon-operator-manager-role``, a ClusterRole bound cluster-wide, for cluster-scoped objects only: CRDs are
   read, created and patched by name (never deleted); every other cluster-scoped kind the platform renders is read,
   and created, patched and deleted only by the names the platform gives them (``resourceNames``); and ``bind`` and
   ``escalate`` on exactly the ClusterRoles the platform creates or binds, so the operator no longer needs to hold
   every permission it grants (no cluster-wide Secrets, no ``nodes/proxy``).
2. ``seldon-operator-namespace-role``, a ClusterRole bound only by RoleBindings: in the operator's namespace here,
   and by the admin in each namespace listed with ``--allowed-namespace``. It manages the namespaced kinds the
   platform renders (``MANAGE_VERBS``), ``bind``/``escalate`` on the Roles it creates by name, and what the
   operator itself needs (``OWN_NAMESPACED_RULES``): its SeldonOperators and their status, Events, the leader Lease.

The rules are merged per API group into a deterministic, readable list. No wildcard is ever written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from seldon_meta_operator import __version__
from seldon_meta_operator.api.crd import seldonoperator_crd
from seldon_meta_operator.api.v1alpha1 import API_VERSION, GROUP, KIND, PLURAL, parse_seldon_operator
from seldon_meta_operator.components import REGISTRY
from seldon_meta_operator.components.base import Component, Manifest
from seldon_meta_operator.render.adoption import claims_elsewhere
from seldon_meta_operator.render.pipeline import render_platform
from seldon_meta_operator.render.values import deep_merge

Rule = dict[str, Any]
#: (apiVersion, kind) -> the resource's plural, or None when the resolver does not know the kind.
PluralOf = Callable[[str, str], str | None]

NAMESPACE = "seldon-system"
NAME = "seldon-operator-controller-manager"  # the Deployment and the ServiceAccount (the seed's pod name)
MANAGER_ROLE = "seldon-operator-manager-role"
MANAGER_BINDING = "seldon-operator-manager-rolebinding"
#: Bound in the operator's namespace by the manifest, and by the admin in every ``--allowed-namespace``.
NAMESPACE_ROLE = "seldon-operator-namespace-role"
NAMESPACE_BINDING = "seldon-operator-namespace-rolebinding"
#: Refuses SeldonOperators outside the operator's namespace at admission (Kubernetes >= 1.30).
ADMISSION_POLICY = "seldon-operator-namespace-only"
LEASE = "seldon-meta-operator"
PROXY_ROLE = "seldon-operator-proxy-role"
PROXY_BINDING = "seldon-operator-proxy-rolebinding"
METRICS_READER_ROLE = "seldon-operator-metrics-reader"
METRICS_SERVICE = "seldon-operator-controller-manager-metrics-service"

IMAGE = f"seldonio/seldon-meta-operator:{__version__}"  # built by the Dockerfile at the repository root
#: The metrics proxy kubebuilder scaffolds put beside a manager: it authenticates and authorises scrapes of
#: /metrics with TokenReviews and SubjectAccessReviews, and is the second of the seed's two containers.
PROXY_IMAGE = "quay.io/brancz/kube-rbac-proxy:v0.19.1"
OPERATOR_UID = 1000  # the Dockerfile's user
PROXY_UID = 65532  # distroless "nonroot", the user of the kube-rbac-proxy image
HEALTH_PORT = 8081  # `seldon-meta-operator --health-port`: GET /healthz
METRICS_PORT = 8080  # `seldon-meta-operator --metrics-port`: Prometheus text, plain HTTP
PROXY_PORT = 8443  # kube-rbac-proxy: HTTPS in front of the metrics port

SELECTOR = {"app.kubernetes.io/name": "seldon-meta-operator", "app.kubernetes.io/component": "controller-manager"}
# No app.kubernetes.io/managed-by: that label (with our operator's name) marks what the operator manages and prunes.
LABELS = {**SELECTOR, "app.kubernetes.io/part-of": "seldon-meta-operator", "app.kubernetes.io/version": __version__}

RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
CRD_GROUP = "apiextensions.k8s.io"

#: The verbs the operator uses on every kind it renders: ``Kube.list`` (the applier reads our objects once per
#: kind and namespace; clean-up lists by label), ``get``, server-side apply (``patch``, and ``create`` when the
#: object is absent), ``delete`` (prune and clean-up), ``watch`` (kopf watches them by label, so a change to what
#: we own triggers a pass at once). It never calls ``update`` on them.
MANAGE_VERBS = ("create", "delete", "get", "list", "patch", "watch")

#: What the operator needs in its own namespace besides the objects it renders, each with the code that needs it.
OWN_NAMESPACED_RULES: tuple[Rule, ...] = (
    # kopf watches SeldonOperators in the operator's namespace only (operator/handlers.py); the worker reads them.
    {"apiGroups": [GROUP], "resources": [PLURAL], "verbs": ["get", "list", "watch"]},
    # reconcile/reconciler.py write_status: JSON patches of the status subresource, each testing the uid first.
    {"apiGroups": [GROUP], "resources": [f"{PLURAL}/status"], "verbs": ["get", "patch"]},
    # reconcile/events.py: events.k8s.io Events, with their series updated by patch.
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    # reconcile/secrets.py: generated credentials (read, created once) and the webhook certificate (applied);
    # prune deletes those listed in the inventory.
    # The operator watches its own Secrets (label-selected) to restore a deleted one at once.
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
    # operator/leader.py: the leader-election Lease.
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create", "get", "update", "watch"]},
)

#: What the operator needs cluster-wide besides the objects it renders.
OWN_CLUSTER_RULES: tuple[Rule, ...] = (
    # kopf's resource observer lists and watches CRDs; kube/client.py lists them to learn served kinds, and the
    # reconciler reads our CRD's uid (the owner of cluster-scoped objects) and waits for CRDs to be Established.
    {"apiGroups": [CRD_GROUP], "resources": ["customresourcedefinitions"], "verbs": ["get", "list", "watch"]},
    # reconcile/facts.py: the first claims of the helm-era stores of Seldon's documentation, read by name in their
    # namespaces (seldon-logs, postgres), so a trial store never starts empty beside them (render/adoption.py).
    {
        "apiGroups": [""],
        "resources": ["persistentvolumeclaims"],
        "resourceNames": sorted({claim for _namespace, claim in claims_elsewhere("")}),
        "verbs": ["get"],
    },
)

#: Plurals of custom kinds the platform renders but does not define (their CRDs come with Istio, Knative,
#: cert-manager, Argo). Built-in kinds are resolved by the caller; CRDs the platform renders give their own.
CUSTOM_PLURALS: dict[tuple[str, str], str] = {
    ("argoproj.io", "Application"): "applications",
    ("argoproj.io", "Workflow"): "workflows",
    ("cert-manager.io", "Certificate"): "certificates",
    ("cert-manager.io", "ClusterIssuer"): "clusterissuers",
    ("cert-manager.io", "Issuer"): "issuers",
    ("eventing.knative.dev", "Broker"): "brokers",
    ("eventing.knative.dev", "Trigger"): "triggers",
    ("monitoring.coreos.com", "ServiceMonitor"): "servicemonitors",
    ("networking.istio.io", "DestinationRule"): "destinationrules",
    ("networking.istio.io", "Gateway"): "gateways",
    ("networking.istio.io", "VirtualService"): "virtualservices",
    ("serving.knative.dev", "Service"): "services",
}

_EVERYTHING: dict[str, Any] = {
    "enable": dict.fromkeys(("analytics", "catalogue", "payloadstore", "routing", "detectors"), True),
    "core": {"values": {"usageMetrics": {"enabled": True}}},
    "enterprise": {"values": {"gitops": {"argocd": {"enabled": True}, "git": {"secret": "git-creds"}}}},
}

#: Specs whose renders, together, hold every kind and every role rule the platform can produce. Each is
#: "everything on" plus the settings that switch whole sets of objects or rules (not just field values).
PLATFORM_VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("every feature on", {}),
    (
        "cert-manager issues the Seldon Core webhook certificate",
        {"core": {"values": {"certManager": {"enabled": True}}}},
    ),
    ("the Seldon Core manager creates its own webhook and CRD", {"core": {"values": {"managerCreateResources": True}}}),
    ("Seldon Core watches its own namespace only", {"core": {"values": {"singleNamespace": True}}}),
    (
        "the user's Elasticsearch and Istio Gateway",
        {
            "routing": {"create_gateway": False},
            "payloadstore": {"internal_elastic": {"use_internal": False}},
            "core": {"values": {"istio": {"gateway": "istio-system/seldon-gateway"}}},
            "enterprise": {
                "values": {
                    "virtualService": {"gateways": ["istio-system/seldon-gateway"]},
                    "elasticsearch": {"url": "https://elasticsearch.example.svc.cluster.local:9200"},
                }
            },
        },
    ),
)


#: Namespaces besides the platform's that the variants put objects in (usage metrics, Argo CD). The policy
#: (render/policy.py) refuses them unless the operator runs with ``--allowed-namespace`` for them.
VARIANT_NAMESPACES = frozenset({"kube-system", "argocd"})


def render_everything(registry: tuple[Component, ...] = REGISTRY, namespace: str = NAMESPACE) -> list[Manifest]:
    """Every object of every variant in ``PLATFORM_VARIANTS``, offline (every prerequisite assumed served), for a
    SeldonOperator in ``namespace``: what the platform can ever create (RBAC, clean-up scans, data volumes)."""
    return [m for manifests in each_variant(registry, namespace) for m in manifests]


def each_variant(registry: tuple[Component, ...] = REGISTRY, namespace: str = NAMESPACE) -> Iterator[list[Manifest]]:
    """``render_everything``, one variant at a time: a caller that keeps a little of each holds one render at once
    (the operator: issue 12)."""
    for title, patch in PLATFORM_VARIANTS:
        resource = parse_seldon_operator(
            {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "metadata": {"name": "seldon", "namespace": namespace},
                "spec": deep_merge(_EVERYTHING, patch),
            },
            source=f"install RBAC variant {title!r}",
        )
        yield list(render_platform(resource, registry=registry, allowed_namespaces=VARIANT_NAMESPACES).manifests)


# --- Rules as sets of grants ---------------------------------------------------------------------------------


class Grant(NamedTuple):
    """One permission: a verb on a resource (optionally one object by name), or on a non-resource URL."""

    verb: str
    group: str = ""
    resource: str = ""
    name: str = ""  # a resourceName; empty: every object
    url: str = ""  # a nonResourceURL; then group, resource and name are empty


def grants(rule: Mapping[str, Any]) -> set[Grant]:
    """The grants a PolicyRule spells out (wildcards stay literal)."""
    verbs = rule.get("verbs") or []
    if rule.get("nonResourceURLs"):
        return {Grant(v, url=u) for v in verbs for u in rule["nonResourceURLs"]}
    names = rule.get("resourceNames") or [""]
    return {
        Grant(v, g, r, n)
        for v in verbs
        for g in rule.get("apiGroups") or []
        for r in rule.get("resources") or []
        for n in names
    }


def _allows(rule: Mapping[str, Any], grant: Grant) -> bool:
    """Whether one rule grants ``grant``, with the API server's matching (RBAC's ``RuleAllows``)."""
    verbs = rule.get("verbs") or []
    if grant.verb not in verbs and "*" not in verbs:
        return False
    if grant.url:
        return any(
            u in ("*", grant.url) or (u.endswith("*") and grant.url.startswith(u[:-1]))
            for u in rule.get("nonResourceURLs") or []
        )
    groups = rule.get("apiGroups") or []
    resources = rule.get("resources") or []
    names = rule.get("resourceNames") or []
    sub = grant.resource.partition("/")[2]
    return (
        (grant.group in groups or "*" in groups)
        and (grant.resource in resources or "*" in resources or (bool(sub) and f"*/{sub}" in resources))
        and (not names or (bool(grant.name) and grant.name in names))
    )


def covers(rules: Iterable[Mapping[str, Any]], rule: Mapping[str, Any]) -> bool:
    """Whether ``rules`` together grant everything ``rule`` grants (the API server's escalation check)."""
    held = list(rules)
    return all(any(_allows(r, g) for r in held) for g in grants(rule))


def merge_rules(rules: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """The same grants as ``rules``, as few rules per API group as their verb sets allow, in a stable order:
    resources with equal verbs share a rule; by-name grants that an unnamed one covers are dropped."""
    every: set[Grant] = set()
    for rule in rules:
        every |= grants(rule)
    unnamed = {g for g in every if not g.url and not g.name}
    named = {g for g in every if g.name and g._replace(name="") not in unnamed}

    def verbs_by(keyed: Iterable[tuple[Any, str]]) -> dict[Any, frozenset[str]]:
        out: dict[Any, set[str]] = {}
        for key, verb in keyed:
            out.setdefault(key, set()).add(verb)
        return {k: frozenset(v) for k, v in out.items()}

    # Unnamed: (group, verbs) -> resources.
    shared: dict[tuple[str, frozenset[str]], list[str]] = {}
    for (group, resource), verbs in verbs_by(((g.group, g.resource), g.verb) for g in unnamed).items():
        shared.setdefault((group, verbs), []).append(resource)
    keyed: list[tuple[tuple[str, int, list[str]], Rule]] = [
        ((group, 0, sorted(res)), {"apiGroups": [group], "resources": sorted(res), "verbs": sorted(verbs)})
        for (group, verbs), res in shared.items()
    ]
    # By name: (group, resource, verbs) -> names, then (group, verbs, names) -> resources.
    names_of: dict[tuple[str, str, frozenset[str]], set[str]] = {}
    for (group, resource, name), verbs in verbs_by(((g.group, g.resource, g.name), g.verb) for g in named).items():
        names_of.setdefault((group, resource, verbs), set()).add(name)
    shared_names: dict[tuple[str, frozenset[str], frozenset[str]], list[str]] = {}
    for (group, resource, verbs), names in names_of.items():
        shared_names.setdefault((group, verbs, frozenset(names)), []).append(resource)
    keyed += [
        (
            (group, 1, sorted(res)),
            {"apiGroups": [group], "resources": sorted(res), "resourceNames": sorted(names), "verbs": sorted(verbs)},
        )
        for (group, verbs, names), res in shared_names.items()
    ]
    # Non-resource URLs: verbs -> URLs.
    urls: dict[frozenset[str], list[str]] = {}
    for url, verbs in verbs_by((g.url, g.verb) for g in every if g.url).items():
        urls.setdefault(verbs, []).append(url)
    out = [rule for _key, rule in sorted(keyed, key=lambda kv: kv[0])]
    out += sorted(({"nonResourceURLs": sorted(u), "verbs": sorted(v)} for v, u in urls.items()), key=str)
    return out


# --- The operator's rules --------------------------------------------------------------------------------------


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def plural_resolver(manifests: Sequence[Manifest], builtin: PluralOf) -> Callable[[str, str], str]:
    """(apiVersion, kind) -> plural: CRDs among ``manifests``, then ``builtin`` (the caller's lookup of built-in
    kinds), then ``CUSTOM_PLURALS``. An unknown kind is an error naming the table to extend."""
    rendered_crds = {
        (m["spec"]["group"], m["spec"]["names"]["kind"]): m["spec"]["names"]["plural"]
        for m in manifests
        if m["kind"] == "CustomResourceDefinition"
    }

    def plural(api_version: str, kind: str) -> str:
        key = (_group(api_version), kind)
        found = rendered_crds.get(key) or builtin(api_version, kind) or CUSTOM_PLURALS.get(key)
        if not found:
            raise ValueError(
                f"no plural known for {api_version} {kind}: add it to CUSTOM_PLURALS in "
                "seldon_meta_operator/render/install.py"
            )
        return found

    return plural


def _names(manifests: Sequence[Manifest], kind: str) -> list[str]:
    return sorted({m["metadata"]["name"] for m in manifests if m["kind"] == kind})


def _bound_roles(manifests: Sequence[Manifest], kind: str) -> list[str]:
    """Names of the ``kind`` (Role or ClusterRole) that rendered bindings refer to."""
    return sorted(
        {
            m["roleRef"]["name"]
            for m in manifests
            if m["kind"] in ("RoleBinding", "ClusterRoleBinding") and m.get("roleRef", {}).get("kind") == kind
        }
    )


def _bind_escalate(resource: str, names: Sequence[str]) -> list[Rule]:
    """``bind`` and ``escalate`` on exactly ``names``: creating or binding a role needs no longer holding every
    permission in it (RBAC's escalation check), and only these roles can be written or bound."""
    if not names:
        return []
    return [
        {
            "apiGroups": [RBAC_GROUP],
            "resources": [resource],
            "resourceNames": list(names),
            "verbs": ["bind", "escalate"],
        }
    ]


def cluster_rules(manifests: Sequence[Manifest], plural: Callable[[str, str], str]) -> list[Rule]:
    """The cluster-wide ClusterRole (item 1 of the module docstring)."""
    rules: list[Rule] = list(OWN_CLUSTER_RULES)
    cluster_scoped = [m for m in manifests if "namespace" not in m["metadata"]]
    for api_version, kind in sorted({(m["apiVersion"], m["kind"]) for m in cluster_scoped}):
        group, resource = _group(api_version), plural(api_version, kind)
        names = _names(cluster_scoped, kind)
        if kind == "CustomResourceDefinition":
            # Applied (created, then patched by name); prune never deletes a CRD (it would delete every object
            # of it), so no delete, and no patch of CRDs the platform does not render.
            rules.append(
                {"apiGroups": [group], "resources": [resource], "resourceNames": names, "verbs": ["create", "patch"]}
            )
            continue
        # Reads are not restricted by name (a list cannot be); writes are: server-side apply authorises the create
        # of a missing object with its name, so ``resourceNames`` covers create, patch and delete.
        rules.append({"apiGroups": [group], "resources": [resource], "verbs": ["get", "list", "watch"]})
        rules.append(
            {
                "apiGroups": [group],
                "resources": [resource],
                "resourceNames": names,
                "verbs": ["create", "delete", "patch"],
            }
        )
    roles = sorted({*_names(manifests, "ClusterRole"), *_bound_roles(manifests, "ClusterRole")})
    rules += _bind_escalate("clusterroles", roles)
    return merge_rules(rules)


def namespace_rules(manifests: Sequence[Manifest], plural: Callable[[str, str], str]) -> list[Rule]:
    """The ClusterRole bound per namespace (item 2 of the module docstring)."""
    rules: list[Rule] = list(OWN_NAMESPACED_RULES)
    namespaced = [m for m in manifests if "namespace" in m["metadata"]]
    for api_version, kind in sorted({(m["apiVersion"], m["kind"]) for m in namespaced}):
        rules.append(
            {"apiGroups": [_group(api_version)], "resources": [plural(api_version, kind)], "verbs": list(MANAGE_VERBS)}
        )
    rules += _bind_escalate("roles", sorted({*_names(namespaced, "Role"), *_bound_roles(namespaced, "Role")}))
    return merge_rules(rules)


def operator_rules(manifests: Sequence[Manifest], builtin: PluralOf) -> tuple[list[Rule], list[Rule]]:
    """(cluster-wide rules, per-namespace rules) for a platform that renders ``manifests``."""
    plural = plural_resolver(manifests, builtin)
    return cluster_rules(manifests, plural), namespace_rules(manifests, plural)


# --- The manifest ----------------------------------------------------------------------------------------------


def _meta(name: str, namespace: str | None = NAMESPACE) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out["labels"] = dict(LABELS)
    return out


#: Checkov findings on the operator's own roles that are the least-privilege design itself (docs/security.md),
#: suppressed on these two objects only (Checkov's annotation), not for every file as .checkov.yaml would.
ESCALATE_SKIP = (
    "CKV_K8S_158",
    "escalate and bind only by resourceNames, on exactly the roles the platform renders, so the operator need not "
    "hold what they grant",
)
MANAGER_SKIPS = (
    ESCALATE_SKIP,
    (
        "CKV_K8S_155",
        "webhook configurations written only by resourceNames: Seldon Core's own validating webhook",
    ),
)


def _scanned(name: str, *skips: tuple[str, str]) -> dict[str, Any]:
    """Cluster-scoped metadata with Checkov's per-object suppressions (``checkov.io/skipN: ID=reason``)."""
    meta = _meta(name, None)
    meta["annotations"] = {f"checkov.io/skip{i}": f"{check}={why}" for i, (check, why) in enumerate(skips, 1)}
    return meta


def _binding(name: str, role: str, namespace: str = NAMESPACE, kind: str = "ClusterRoleBinding") -> Manifest:
    return {
        "apiVersion": RBAC_API,
        "kind": kind,
        "metadata": _meta(name, namespace if kind == "RoleBinding" else None),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}],
    }


def admission_policy(namespace: str = NAMESPACE) -> list[Manifest]:
    """A ValidatingAdmissionPolicy and its binding that refuse SeldonOperators outside ``namespace``: creating one
    anywhere else fails at once with a message saying where they belong, instead of being silently ignored."""
    message = (
        f"SeldonOperators belong in namespace {namespace}, the Seldon Meta-Operator's own namespace; it serves no "
        "other. Creating one is a cluster-admin act (see docs/security.md)."
    )
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": _meta(ADMISSION_POLICY, None),
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [GROUP],
                            "apiVersions": ["*"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": [PLURAL],
                        }
                    ]
                },
                "validations": [{"expression": f"request.namespace == '{namespace}'", "message": message}],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": _meta(ADMISSION_POLICY, None),
            "spec": {"policyName": ADMISSION_POLICY, "validationActions": ["Deny"]},
        },
    ]


def _security_context(uid: int) -> dict[str, Any]:
    """Pod Security "restricted", plus a read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def manager_container() -> dict[str, Any]:
    def probe(path: str) -> dict[str, Any]:  # one dict per probe: a shared one would be dumped as a YAML anchor
        return {"httpGet": {"path": path, "port": "health"}}

    return {
        "name": "manager",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        # The operator's own entry point: `seldonctl operator run` without the CLI's typer stack (operator/main.py).
        "command": ["seldon-meta-operator"],
        "args": [
            "--json-logs",
            "--leader-elect",
            # The kubelet probes the pod's address; the operator binds loopback unless told otherwise.
            "--health-host=0.0.0.0",
            f"--health-port={HEALTH_PORT}",
            f"--metrics-port={METRICS_PORT}",
            # Only the proxy beside it reads the plain-HTTP metrics.
            "--metrics-host=127.0.0.1",
        ],
        "ports": [
            {"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        # /healthz fails when the worker stops making progress (operator/worker.py), so a stuck pod is restarted;
        # /readyz says whether this replica works (leads).
        "livenessProbe": {**probe("/healthz"), "initialDelaySeconds": 15, "periodSeconds": 20, "timeoutSeconds": 5},
        "readinessProbe": {**probe("/readyz"), "initialDelaySeconds": 5, "periodSeconds": 10, "timeoutSeconds": 5},
        # Idle, the process holds ~70 MiB (Python, kopf, lightkube, the render). Each pass lists every CRD of
        # the cluster (Istio's and Knative's are large) and the live state of ~60 objects, which briefly
        # doubles that: 256Mi requested, a 512Mi limit. CPU is spent in short bursts (render, hashes).
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        "securityContext": _security_context(OPERATOR_UID),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def proxy_container() -> dict[str, Any]:
    return {
        "name": "kube-rbac-proxy",
        "image": PROXY_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            f"--secure-listen-address=0.0.0.0:{PROXY_PORT}",
            f"--upstream=http://127.0.0.1:{METRICS_PORT}/",
            "--v=0",
        ],
        "ports": [{"name": "https", "containerPort": PROXY_PORT, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": "https"}, "initialDelaySeconds": 5, "periodSeconds": 10},
        # kubebuilder's figures for this proxy: it forwards a scrape every few seconds.
        "resources": {"requests": {"cpu": "5m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
        "securityContext": _security_context(PROXY_UID),
    }


def deployment(namespace: str = NAMESPACE) -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME, namespace),
        "spec": {
            # Two replicas elect a leader through a Lease (--leader-elect); only the leader works, the other takes
            # over within the lease duration. A rolling update never leaves the platform without an operator.
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "selector": {"matchLabels": dict(SELECTOR)},
            "template": {
                "metadata": {
                    "labels": dict(LABELS),
                    "annotations": {"kubectl.kubernetes.io/default-container": "manager"},
                },
                "spec": {
                    "serviceAccountName": NAME,
                    # Replicas on different nodes, where there are several: a node drain stops one at a time.
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "labelSelector": {"matchLabels": dict(SELECTOR)},
                                        "topologyKey": "kubernetes.io/hostname",
                                    },
                                }
                            ]
                        }
                    },
                    # The platform's many Services in this namespace need not become environment variables.
                    "enableServiceLinks": False,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": 30,
                    "containers": [manager_container(), proxy_container()],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def disruption_budget(namespace: str = NAMESPACE) -> Manifest:
    """At most one of the two replicas is evicted at a time (drains, cluster upgrades)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(NAME, namespace),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(SELECTOR)}},
    }


def install_manifests(
    builtin: PluralOf, registry: tuple[Component, ...] = REGISTRY, namespace: str = NAMESPACE
) -> list[Manifest]:
    """Every document of ``deploy/seldonoperator_install.yaml`` (for the operator in ``namespace``), in apply
    order. The role names the platform gives objects depend on the namespace, and so do the operator's rules."""
    cluster, namespaced = operator_rules(render_everything(registry, namespace), builtin)
    return [
        # No Namespace: the documentation creates it first (`kubectl create namespace ... || true`), and
        # `kubectl delete -f` of this file must not delete the namespace, which holds the trial databases' data.
        seldonoperator_crd(),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME, namespace)},
        {
            "apiVersion": RBAC_API,
            "kind": "ClusterRole",
            "metadata": _scanned(MANAGER_ROLE, *MANAGER_SKIPS),
            "rules": cluster,
        },
        {
            "apiVersion": RBAC_API,
            "kind": "ClusterRole",
            "metadata": _scanned(NAMESPACE_ROLE, ESCALATE_SKIP),
            "rules": namespaced,
        },
        {
            "apiVersion": RBAC_API,
            "kind": "ClusterRole",
            "metadata": _meta(PROXY_ROLE, None),
            "rules": [  # kube-rbac-proxy: who is scraping (TokenReview), and may they (SubjectAccessReview)
                {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
                {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
            ],
        },
        {
            # Bind this to Prometheus' ServiceAccount to let it scrape the operator through the proxy.
            "apiVersion": RBAC_API,
            "kind": "ClusterRole",
            "metadata": _meta(METRICS_READER_ROLE, None),
            "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
        },
        _binding(MANAGER_BINDING, MANAGER_ROLE, namespace),
        _binding(NAMESPACE_BINDING, NAMESPACE_ROLE, namespace, kind="RoleBinding"),
        _binding(PROXY_BINDING, PROXY_ROLE, namespace),
        *admission_policy(namespace),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(METRICS_SERVICE, namespace),
            "spec": {
                "selector": dict(SELECTOR),
                "ports": [{"name": "https", "port": PROXY_PORT, "targetPort": "https", "protocol": "TCP"}],
            },
        },
        {
            # The operator serves /healthz on every interface in plain HTTP (metrics on loopback only); only the
            # proxy's port is open to other pods. Kubelet probes come from the node, which a NetworkPolicy always
            # lets through.
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(NAME, namespace),
            "spec": {
                "podSelector": {"matchLabels": dict(SELECTOR)},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"port": PROXY_PORT, "protocol": "TCP"}]}],
            },
        },
        deployment(namespace),
        disruption_budget(namespace),
    ]


#: The comment at the top of the generated file, after the "generated" line.
COMMENT = f"""#
# The Seldon Meta-Operator, installed as the product documentation does it:
#   kubectl create namespace {NAMESPACE} || true
#   kubectl apply -f seldonoperator_install.yaml
# after which `kubectl get pods -n {NAMESPACE}` shows {NAME}-<hash>, READY 2/2.
#
# What is here (docs/architecture.md, "Install manifest"):
# - the SeldonOperator CRD (the same as crd-seldonoperators.yaml); no Namespace: create it first, as above;
# - the ServiceAccount {NAME} and the ClusterRole
#   {MANAGER_ROLE}, derived from a render of every feature: each kind the platform
#   applies, each rule of each Role and ClusterRole it creates (Kubernetes lets no one grant a permission it
#   does not hold), and the operator's own needs; no wildcards;
# - the Deployment {NAME} with two containers: "manager" runs
#   `seldon-meta-operator --json-logs` (GET /healthz on :{HEALTH_PORT}, metrics on :{METRICS_PORT}), and
#   "kube-rbac-proxy" serves those metrics over HTTPS on :{PROXY_PORT}, only to callers whose RBAC allows
#   GET /metrics (bind the ClusterRole {METRICS_READER_ROLE}), as kubebuilder scaffolds an operator;
# - the Service {METRICS_SERVICE} and a NetworkPolicy that opens only
#   the proxy's port to other pods.
#
# The image {IMAGE} is built by the Dockerfile at the repository root
# (`docker build -t {IMAGE} .`). This repository does not publish it: push it to a
# registry your cluster pulls from, and change the image here if you rename it.
#
# Uninstall: `seldonctl uninstall`, or delete your SeldonOperators, then `kubectl delete -f
# seldonoperator_install.yaml`. Either order leaves nothing stuck (no finalizers). The {NAMESPACE} namespace,
# the trial databases' volumes and credentials and the SeldonDeployment CRD are kept.
"""
