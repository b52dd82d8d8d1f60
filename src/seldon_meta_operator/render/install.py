"""The operator's install manifest (``deploy/seldonoperator_install.yaml``), with RBAC derived from the render.

Layer: render (pure). Called by ``cli/generated.py`` (``seldonctl generate deploy``) and by the tests, which
re-derive the manifest and compare it with the checked-in file.

The manifest holds, in apply order (no Namespace: the documentation creates it first): the SeldonOperator CRD,
the operator's ServiceAccount, its ClusterRoles and bindings, the metrics Service, a NetworkPolicy and the
Deployment ``seldon-operator-controller-manager`` (two containers, as the product documentation shows READY 2/2).

RBAC is derived, never written by hand. The union of several "everything on" renders (``PLATFORM_VARIANTS``) gives:

1. every (group, resource) the platform renders, with the verbs the operator's code uses on it
   (``MANAGE_VERBS``); CustomResourceDefinitions are read, created, and patched by name only, never deleted;
2. every rule of every rendered Role and ClusterRole: Kubernetes refuses to let anyone create a role granting
   permissions it does not hold itself, unless it has ``escalate``/``bind``, which we do not grant;
3. what the operator itself needs (``OWN_RULES``): its own resource and its status, Events, Secrets.

The rules are then merged per API group into a deterministic, readable list. No wildcard is ever written.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from seldon_meta_operator import __version__
from seldon_meta_operator.api.crd import seldonoperator_crd
from seldon_meta_operator.api.v1alpha1 import API_VERSION, GROUP, KIND, PLURAL, parse_seldon_operator
from seldon_meta_operator.components import REGISTRY
from seldon_meta_operator.components.base import Component, Manifest
from seldon_meta_operator.render.pipeline import render_platform
from seldon_meta_operator.render.values import deep_merge

Rule = dict[str, Any]
#: (apiVersion, kind) -> the resource's plural, or None when the resolver does not know the kind.
PluralOf = Callable[[str, str], str | None]

NAMESPACE = "seldon-system"
NAME = "seldon-operator-controller-manager"  # the Deployment and the ServiceAccount (the seed's pod name)
MANAGER_ROLE = "seldon-operator-manager-role"
MANAGER_BINDING = "seldon-operator-manager-rolebinding"
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
HEALTH_PORT = 8081  # `seldonctl operator run --health-port`: GET /healthz
METRICS_PORT = 8080  # `seldonctl operator run --metrics-port`: Prometheus text, plain HTTP
PROXY_PORT = 8443  # kube-rbac-proxy: HTTPS in front of the metrics port

SELECTOR = {"app.kubernetes.io/name": "seldon-meta-operator", "app.kubernetes.io/component": "controller-manager"}
# No app.kubernetes.io/managed-by: that label (with our operator's name) marks what the operator manages and prunes.
LABELS = {**SELECTOR, "app.kubernetes.io/part-of": "seldon-meta-operator", "app.kubernetes.io/version": __version__}

RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
CRD_GROUP = "apiextensions.k8s.io"

#: The verbs the operator uses on every kind it renders: ``Kube.list`` (the applier reads our objects once per
#: kind and namespace; clean-up lists by label), ``get``, server-side apply (``patch``, and ``create`` when the
#: object is absent), ``delete`` (prune and clean-up). It never calls ``update`` or ``watch`` on them.
MANAGE_VERBS = ("create", "delete", "get", "list", "patch")

#: What the operator needs besides the objects it renders, each with the code that needs it.
OWN_RULES: tuple[Rule, ...] = (
    # kopf watches SeldonOperators cluster-wide and patches its annotations (progress and diff-base storage).
    {"apiGroups": [GROUP], "resources": [PLURAL], "verbs": ["get", "list", "patch", "watch"]},
    # reconcile/reconciler.py write_status: one merge patch of the status subresource.
    {"apiGroups": [GROUP], "resources": [f"{PLURAL}/status"], "verbs": ["get", "patch"]},
    # kopf's resource observer lists and watches CRDs; kube/client.py lists them to learn served kinds, and the
    # reconciler reads our CRD's uid (the owner of cluster-scoped objects) and waits for CRDs to be Established.
    {"apiGroups": [CRD_GROUP], "resources": ["customresourcedefinitions"], "verbs": ["get", "list", "watch"]},
    # kopf.event and kopf's own postings: core v1 Events only (kopf 1.45 never posts events.k8s.io Events).
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    # reconcile/secrets.py: generated credentials (read, created once) and the webhook certificate (applied);
    # prune deletes those listed in the inventory.
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete", "get", "patch"]},
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


def render_everything(registry: tuple[Component, ...] = REGISTRY, namespace: str = NAMESPACE) -> list[Manifest]:
    """Every object of every variant in ``PLATFORM_VARIANTS``, offline (every prerequisite assumed served), for a
    SeldonOperator in ``namespace``: what the platform can ever create (RBAC, clean-up scans, data volumes)."""
    out: list[Manifest] = []
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
        out += render_platform(resource, registry=registry).manifests
    return out


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


def managed_rules(manifests: Sequence[Manifest], plural: Callable[[str, str], str]) -> list[Rule]:
    """Rules for managing every kind among ``manifests`` (item 1 of the module docstring)."""
    rules: list[Rule] = []
    kinds = sorted({(m["apiVersion"], m["kind"]) for m in manifests})
    for api_version, kind in kinds:
        group = _group(api_version)
        if kind == "CustomResourceDefinition":
            # Applied (created, then patched by name); prune never deletes a CRD (it would delete every object
            # of it), so no delete, and no patch of CRDs the platform does not render.
            names = sorted({m["metadata"]["name"] for m in manifests if m["kind"] == kind})
            rules.append({"apiGroups": [group], "resources": ["customresourcedefinitions"], "verbs": ["create"]})
            rules.append(
                {
                    "apiGroups": [group],
                    "resources": ["customresourcedefinitions"],
                    "resourceNames": names,
                    "verbs": ["patch"],
                }
            )
            continue
        rules.append({"apiGroups": [group], "resources": [plural(api_version, kind)], "verbs": list(MANAGE_VERBS)})
    return rules


def rendered_role_rules(manifests: Sequence[Manifest]) -> list[Rule]:
    """Every rule of every rendered Role and ClusterRole (item 2 of the module docstring)."""
    return [
        copy.deepcopy(rule)
        for m in manifests
        if m["kind"] in ("Role", "ClusterRole") and _group(m["apiVersion"]) == RBAC_GROUP
        for rule in m.get("rules") or []
    ]


def operator_rules(manifests: Sequence[Manifest], builtin: PluralOf) -> list[Rule]:
    """The rules of the manager ClusterRole for a platform that renders ``manifests``."""
    plural = plural_resolver(manifests, builtin)
    return merge_rules([*managed_rules(manifests, plural), *rendered_role_rules(manifests), *OWN_RULES])


# --- The manifest ----------------------------------------------------------------------------------------------


def _meta(name: str, namespace: str | None = NAMESPACE) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out["labels"] = dict(LABELS)
    return out


def _binding(name: str, role: str) -> Manifest:
    return {
        "apiVersion": RBAC_API,
        "kind": "ClusterRoleBinding",
        "metadata": _meta(name, None),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
    }


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
    def health() -> dict[str, Any]:  # one dict per probe: a shared one would be dumped as a YAML anchor
        return {"httpGet": {"path": "/healthz", "port": "health"}}

    return {
        "name": "manager",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["seldonctl"],
        "args": [
            "operator",
            "run",
            "--json-logs",
            f"--health-port={HEALTH_PORT}",
            f"--metrics-port={METRICS_PORT}",
            # Only the proxy beside it reads the plain-HTTP metrics.
            "--metrics-host=127.0.0.1",
        ],
        "ports": [
            {"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        # kopf answers /healthz once it runs; a pass that hangs past the timeouts is restarted.
        "livenessProbe": {**health(), "initialDelaySeconds": 15, "periodSeconds": 20, "timeoutSeconds": 5},
        "readinessProbe": {**health(), "initialDelaySeconds": 5, "periodSeconds": 10, "timeoutSeconds": 5},
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


def deployment() -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME),
        "spec": {
            # One replica, replaced with Recreate: kopf runs standalone (no peering), so two operators must never
            # overlap, as a rolling update would make them.
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": dict(SELECTOR)},
            "template": {
                "metadata": {
                    "labels": dict(LABELS),
                    "annotations": {"kubectl.kubernetes.io/default-container": "manager"},
                },
                "spec": {
                    "serviceAccountName": NAME,
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


def install_manifests(builtin: PluralOf, registry: tuple[Component, ...] = REGISTRY) -> list[Manifest]:
    """Every document of ``deploy/seldonoperator_install.yaml``, in apply order."""
    rules = operator_rules(render_everything(registry), builtin)
    return [
        # No Namespace: the documentation creates it first (`kubectl create namespace ... || true`), and
        # `kubectl delete -f` of this file must not delete the namespace, which holds the trial databases' data.
        seldonoperator_crd(),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME)},
        {"apiVersion": RBAC_API, "kind": "ClusterRole", "metadata": _meta(MANAGER_ROLE, None), "rules": rules},
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
        _binding(MANAGER_BINDING, MANAGER_ROLE),
        _binding(PROXY_BINDING, PROXY_ROLE),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(METRICS_SERVICE),
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
            "metadata": _meta(NAME),
            "spec": {
                "podSelector": {"matchLabels": dict(SELECTOR)},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"port": PROXY_PORT, "protocol": "TCP"}]}],
            },
        },
        deployment(),
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
#   `seldonctl operator run --json-logs` (GET /healthz on :{HEALTH_PORT}, metrics on :{METRICS_PORT}), and
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
