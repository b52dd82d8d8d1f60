"""`seldonctl doctor`'s checks: gather facts about a cluster once (I/O through Kube), then evaluate them with pure
check functions, each returning Findings that explain what is wrong and how to fix it.

Layer: reconcile (``gather_facts`` reads through kube/; every ``check_*`` and ``evaluate`` is pure). Like
cert-manager's policy chains, each check looks at facts gathered beforehand and never calls the API, so the
whole chain is table-tested without a cluster (tests/unit/test_cli_doctor.py). A Finding is ``ok``, ``warn`` (worth
knowing, blocks nothing) or ``fail`` (blocks the install or an enabled feature: the command exits non-zero).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from seldon_meta_operator.api.v1alpha1 import API_VERSION, KIND, SeldonOperator, parse_seldon_operator
from seldon_meta_operator.components.base import Prerequisite
from seldon_meta_operator.components.names import CORE_MANAGER, SELDON_DEPLOYMENT_CRD
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.kube import Kube, KubeError, UnknownKindError
from seldon_meta_operator.reconcile import health
from seldon_meta_operator.render.ownership import CRD_NAME, MANAGED_BY, MANAGED_BY_LABEL
from seldon_meta_operator.render.pipeline import merged_values, render_platform

#: The oldest supported Kubernetes minor (the CRD's x-kubernetes-validations CEL rules need at least 1.25).
MIN_VERSION = (1, 27)
OPERATOR_NAMESPACE = "seldon-system"
OPERATOR_DEPLOYMENT = "seldon-operator-controller-manager"
DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    check: str  # what was checked, e.g. "Kubernetes version" or "Routing (Istio) for seldon-system/sample"
    level: Level
    message: str  # what was found
    fix: str = ""  # what to do about it (empty when ok)

    @property
    def failed(self) -> bool:
        return self.level is Level.FAIL


@dataclass(frozen=True)
class Access:
    """One SelfSubjectAccessReview: may the current user ``verb`` ``resource`` (in ``namespace``)?"""

    verb: str
    group: str
    resource: str
    namespace: str | None = None

    def describe(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {self.resource}{where}"


def install_access(namespace: str = OPERATOR_NAMESPACE) -> tuple[Access, ...]:
    """What `seldonctl install` (and `kubectl apply -f seldonoperator_install.yaml`) needs."""
    return (
        Access("create", "apiextensions.k8s.io", "customresourcedefinitions"),
        Access("create", "rbac.authorization.k8s.io", "clusterroles"),
        Access("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
        Access("create", "", "namespaces"),
        Access("create", "apps", "deployments", namespace),
        Access("create", "", "serviceaccounts", namespace),
    )


@dataclass(frozen=True)
class Facts:
    """Everything the checks read, gathered once. ``None`` means "not read" (see ``unreadable``)."""

    server_version: str | None = None  # gitVersion, e.g. v1.34.4
    access: Mapping[Access, bool] = field(default_factory=dict)
    operator_namespace: str = OPERATOR_NAMESPACE
    operator: Mapping[str, Any] | None = None  # the operator's Deployment
    crd: Mapping[str, Any] | None = None  # seldonoperators.operator.seldon.io
    platforms: tuple[Mapping[str, Any], ...] = ()  # every SeldonOperator
    api_kinds: frozenset[str] = frozenset()  # group/Kind of every served kind of a named API group (discovery)
    storage_classes: tuple[Mapping[str, Any], ...] = ()
    core_managers: tuple[Mapping[str, Any], ...] = ()  # Deployments named seldon-controller-manager
    seldondeployment_crd: Mapping[str, Any] | None = None
    webhooks: tuple[Mapping[str, Any], ...] = ()  # Validating- and MutatingWebhookConfigurations
    services: frozenset[str] = frozenset()  # namespace/name of the Services webhooks point at that exist
    namespaces: frozenset[str] = frozenset()
    unreadable: Mapping[str, str] = field(default_factory=dict)  # what could not be read -> why


# --- Pure checks ---------------------------------------------------------------------------------------


def parse_version(text: str | None) -> tuple[int, int] | None:
    """``v1.34.4`` or ``v1.29.3-gke.1`` -> (1, 34); None when unreadable."""
    match = re.match(r"^v?(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_kubernetes_version(facts: Facts) -> list[Finding]:
    check = "Kubernetes version"
    version = parse_version(facts.server_version)
    if version is None:
        why = facts.unreadable.get("version", "the API server did not say")
        return [Finding(check, Level.WARN, f"unknown ({why})", "check with `kubectl version`")]
    wanted = ".".join(map(str, MIN_VERSION))
    if version < MIN_VERSION:
        return [
            Finding(
                check,
                Level.FAIL,
                f"{facts.server_version} is older than the supported {wanted}",
                f"upgrade the cluster to Kubernetes {wanted} or later",
            )
        ]
    return [Finding(check, Level.OK, f"{facts.server_version} (supported: {wanted} or later)")]


def check_permissions(facts: Facts) -> list[Finding]:
    check = "Permissions to install"
    if not facts.access:
        why = facts.unreadable.get("access", "no access review was made")
        return [Finding(check, Level.WARN, f"unknown ({why})", "check with `kubectl auth can-i create crd`")]
    denied = [a.describe() for a, allowed in facts.access.items() if not allowed]
    if not denied:
        return [Finding(check, Level.OK, "may " + ", ".join(a.describe() for a in facts.access))]
    # Once the operator runs, nobody needs these rights until the next upgrade: then it is only worth knowing.
    installed = facts.operator is not None and health.deployment(facts.operator).ready
    return [
        Finding(
            check,
            Level.WARN if installed else Level.FAIL,
            "your user may not " + ", ".join(denied),
            "ask a cluster admin to install the operator, or for these rights (the documented install needs "
            "cluster-admin)",
        )
    ]


def check_crd(facts: Facts) -> list[Finding]:
    check = f"CRD {CRD_NAME}"
    if facts.crd is None:
        return [Finding(check, Level.FAIL, "not installed", "seldonctl install --wait")]
    verdict = health.crd(facts.crd)
    if not verdict.ready:
        return [Finding(check, Level.FAIL, "not established", f"see `kubectl get crd {CRD_NAME} -o yaml`")]
    return [Finding(check, Level.OK, "installed and established")]


def check_operator(facts: Facts) -> list[Finding]:
    ns = facts.operator_namespace
    check = f"Operator {ns}/{OPERATOR_DEPLOYMENT}"
    if facts.operator is None:
        return [Finding(check, Level.FAIL, "its Deployment is missing", "seldonctl install --wait")]
    verdict = health.deployment(facts.operator)
    if not verdict.ready:
        return [
            Finding(
                check,
                Level.FAIL,
                f"not available: {verdict.message}",
                f"kubectl -n {ns} describe deployment {OPERATOR_DEPLOYMENT}; kubectl -n {ns} logs "
                f"deployment/{OPERATOR_DEPLOYMENT}",
            )
        ]
    return [Finding(check, Level.OK, "available")]


def _ref(body: Mapping[str, Any]) -> str:
    meta = body.get("metadata", {})
    return f"{meta.get('namespace', 'default')}/{meta.get('name')}"


def _parse(body: Mapping[str, Any]) -> SeldonOperator:
    doc = {"apiVersion": API_VERSION, "kind": KIND, "metadata": dict(body["metadata"]), "spec": body.get("spec") or {}}
    return parse_seldon_operator(doc, source=f"{KIND} {_ref(body)}")


def _missing(facts: Facts, prerequisites: Sequence[Prerequisite]) -> list[Prerequisite]:
    return [p for p in prerequisites if p.key not in facts.api_kinds]


def _prerequisite_finding(check: str, facts: Facts, prerequisites: Sequence[Prerequisite], fix: str = "") -> Finding:
    missing = _missing(facts, prerequisites)
    if missing:
        hints = sorted({p.install_hint for p in missing})
        return Finding(
            check,
            Level.FAIL,
            "not served: " + ", ".join(p.key for p in missing),
            fix or "; ".join(hints),
        )
    return Finding(check, Level.OK, "served: " + ", ".join(p.key for p in prerequisites))


def _has_default_class(facts: Facts) -> list[str]:
    return sorted(
        sc["metadata"]["name"]
        for sc in facts.storage_classes
        if any((sc["metadata"].get("annotations") or {}).get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS)
    )


def check_platform(facts: Facts, body: Mapping[str, Any]) -> list[Finding]:
    """The prerequisites of every enabled feature of one SeldonOperator, and settings that need each other."""
    where = _ref(body)
    try:
        resource = _parse(body)
    except SpecError as exc:
        return [Finding(f"Spec of {where}", Level.FAIL, str(exc), "fix the field named; see docs/api.md")]
    spec = resource.spec
    findings: list[Finding] = []
    try:
        result = render_platform(resource)
    except SpecError as exc:
        findings.append(Finding(f"Spec of {where}", Level.FAIL, str(exc), "fix the values named; see docs/api.md"))
    else:
        for comp in result.components:
            if comp.enabled and comp.prerequisites:
                findings.append(_prerequisite_finding(f"{comp.title} for {where}", facts, comp.prerequisites))
    values = merged_values(spec, resource.metadata.name, resource.metadata.namespace)
    enterprise = values["enterprise"]
    gitops = enterprise.get("gitops", {}).get("argocd", {})
    if gitops.get("enabled") is True:
        argocd = Prerequisite("argoproj.io", "Application", "Install Argo CD")
        findings.append(
            _prerequisite_finding(
                f"GitOps, Argo CD for {where}",
                facts,
                [argocd],
                "Install Argo CD (namespace gitops.argocd.namespace), or set "
                "spec.enterprise.values.gitops.argocd.enabled: false",
            )
        )
    # Seldon Deploy always offers batch jobs; they run as Argo Workflows. Without it only batch jobs fail.
    workflow = Prerequisite("argoproj.io", "Workflow", "Install Argo Workflows")
    if _missing(facts, [workflow]):
        findings.append(
            Finding(
                f"Batch jobs, Argo Workflows for {where}",
                Level.WARN,
                "argoproj.io/Workflow is not served: Seldon Deploy's batch jobs will fail",
                "Install Argo Workflows if you run batch jobs (each model namespace also needs the ServiceAccount "
                f"{enterprise.get('workflow', {}).get('serviceAccount', 'workflow')})",
            )
        )
    else:
        findings.append(Finding(f"Batch jobs, Argo Workflows for {where}", Level.OK, "served: argoproj.io/Workflow"))
    findings += _check_auth(enterprise, where)
    if spec.enable.catalogue or spec.uses_internal_elastic or spec.enable.analytics:
        stores = [
            name
            for name, on in (
                ("catalogue (trial PostgreSQL)", spec.enable.catalogue),
                ("payloadstore (trial OpenSearch)", spec.uses_internal_elastic),
                ("analytics (Alertmanager)", spec.enable.analytics),
            )
            if on
        ]
        defaults = _has_default_class(facts)
        check = f"Default StorageClass for {where}"
        if "storage_classes" in facts.unreadable:
            findings.append(Finding(check, Level.WARN, f"unknown ({facts.unreadable['storage_classes']})"))
        elif not defaults:
            findings.append(
                Finding(
                    check,
                    Level.FAIL,
                    f"none, and {', '.join(stores)} claim volumes of the default class: they stay Pending",
                    "install a volume provisioner, or mark a StorageClass default: kubectl patch storageclass NAME "
                    '-p \'{"metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":"true"}}}\'',
                )
            )
        elif len(defaults) > 1:
            findings.append(
                Finding(check, Level.WARN, f"several: {', '.join(defaults)}", "keep one default StorageClass")
            )
        else:
            findings.append(Finding(check, Level.OK, f"{defaults[0]} (for {', '.join(stores)})"))
    return findings


def _check_auth(enterprise: Mapping[str, Any], where: str) -> list[Finding]:
    """App auth needs an OIDC provider (Keycloak or another); the keys are those seldon_deploy.py reads."""
    findings: list[Finding] = []
    env = enterprise.get("env") or {}
    if enterprise.get("enableAppAuth") is True:
        check = f"App auth, OIDC for {where}"
        unset = [k for k in ("OIDC_PROVIDER", "REDIRECT_URL") if not str(env.get(k) or "")]
        if unset:
            findings.append(
                Finding(
                    check,
                    Level.FAIL,
                    "enableAppAuth is true, but " + " and ".join(f"env.{k}" for k in unset) + " unset",
                    "set spec.enterprise.values.env.OIDC_PROVIDER (your Keycloak realm's issuer URL) and "
                    "env.REDIRECT_URL (<Seldon Deploy URL>/seldon-deploy/auth/callback), or enableAppAuth: false",
                )
            )
        else:
            findings.append(Finding(check, Level.OK, f"OIDC provider {env.get('OIDC_PROVIDER')}"))
    keycloak = enterprise.get("keycloakUserManagement") or {}
    if keycloak.get("enabled") is True:
        check = f"Keycloak user management for {where}"
        if not str(keycloak.get("keycloakBasePath") or ""):
            findings.append(
                Finding(
                    check,
                    Level.FAIL,
                    "keycloakUserManagement.enabled is true, but keycloakBasePath is unset",
                    "set spec.enterprise.values.keycloakUserManagement.keycloakBasePath "
                    "(e.g. https://keycloak.example.com/auth), or turn it off",
                )
            )
        else:
            findings.append(Finding(check, Level.OK, f"Keycloak at {keycloak['keycloakBasePath']}"))
    return findings


def check_platforms(facts: Facts) -> list[Finding]:
    if not facts.platforms:
        if facts.crd is None:
            return []
        return [
            Finding(
                "SeldonOperators",
                Level.OK,
                "none yet, so no feature prerequisites to check",
                "",
            )
        ]
    findings: list[Finding] = []
    served = [p for p in facts.platforms if p["metadata"].get("namespace") == facts.operator_namespace]
    outside = sorted(_ref(p) for p in facts.platforms if p["metadata"].get("namespace") != facts.operator_namespace)
    if outside:
        findings.append(
            Finding(
                "SeldonOperators outside the operator's namespace",
                Level.FAIL,
                f"{', '.join(outside)}: ignored; the operator serves only {facts.operator_namespace}",
                f"create SeldonOperators in {facts.operator_namespace} only (a cluster-admin act) and delete these: "
                "kubectl delete seldonoperator -n NAMESPACE NAME",
            )
        )
    active = [p for p in served if not p["metadata"].get("deletionTimestamp")]
    if len(active) > 1:
        oldest = min(active, key=lambda p: p["metadata"].get("creationTimestamp", ""))
        others = sorted(_ref(p) for p in active if p is not oldest)
        findings.append(
            Finding(
                "One platform per cluster",
                Level.FAIL,
                f"{_ref(oldest)} manages the platform; {', '.join(others)} are refused (DuplicatePlatform)",
                "delete the extra SeldonOperators: kubectl delete seldonoperator -n NAMESPACE NAME",
            )
        )
    for body in sorted(served, key=_ref):
        findings += check_platform(facts, body)
    return findings


def _managed(obj: Mapping[str, Any]) -> bool:
    return (obj.get("metadata", {}).get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY


def check_existing_seldon_core(facts: Facts) -> list[Finding]:
    check = "Seldon Core installed another way"
    findings: list[Finding] = []
    for deployment in facts.core_managers:
        if _managed(deployment):
            continue
        meta = deployment["metadata"]
        findings.append(
            Finding(
                check,
                Level.FAIL,
                f"Deployment {meta.get('namespace')}/{meta['name']} is not ours: two Seldon Core controllers would "
                "fight over every SeldonDeployment",
                f"remove that installation first (e.g. helm uninstall seldon-core -n {meta.get('namespace')}); "
                "its SeldonDeployments survive if you keep the CRD",
            )
        )
    crd = facts.seldondeployment_crd
    if crd is not None and not _managed(crd):
        findings.append(
            Finding(
                check,
                Level.FAIL,
                f"CRD {SELDON_DEPLOYMENT_CRD} was installed by another tool",
                "remove the other installation; to keep its SeldonDeployments, let the operator adopt the CRD: "
                f"kubectl label crd {SELDON_DEPLOYMENT_CRD} {MANAGED_BY_LABEL}={MANAGED_BY}",
            )
        )
    if not findings:
        findings.append(Finding(check, Level.OK, "no other Seldon Core controller or CRD"))
    return findings


def check_webhooks(facts: Facts) -> list[Finding]:
    """Webhook configurations whose Service (or its namespace) is gone: with failurePolicy Fail they reject every
    matching request, a classic left-over of an uninstall."""
    check = "Stale webhooks"
    if "Namespaces" in facts.unreadable or "webhook configurations" in facts.unreadable:
        return [Finding(check, Level.WARN, "not checked: webhook configurations or namespaces are unreadable")]
    findings: list[Finding] = []
    count = 0
    for config in facts.webhooks:
        name = config["metadata"]["name"]
        for hook in config.get("webhooks") or []:
            service = (hook.get("clientConfig") or {}).get("service")
            if not service:
                continue  # a URL webhook: nothing in the cluster to check
            count += 1
            ns, svc = service.get("namespace", ""), service.get("name", "")
            if ns not in facts.namespaces:
                why = f"namespace {ns} is gone"
            elif f"{ns}/{svc}" not in facts.services:
                why = f"Service {ns}/{svc} is missing"
            else:
                continue
            blocking = hook.get("failurePolicy", "Fail") == "Fail"
            kind = config.get("kind", "ValidatingWebhookConfiguration")
            findings.append(
                Finding(
                    check,
                    Level.FAIL if blocking else Level.WARN,
                    f"{kind} {name}, webhook {hook.get('name')}: {why}"
                    + (" (failurePolicy Fail: matching requests are rejected)" if blocking else ""),
                    f"if it is left over: kubectl delete {kind.lower()} {name}",
                )
            )
    if not findings:
        findings.append(Finding(check, Level.OK, f"{count} webhook(s), each pointing at an existing Service"))
    return findings


def check_unreadable(facts: Facts) -> list[Finding]:
    shown = {"version", "access", "storage_classes"}  # reported by their own checks
    return [
        Finding(f"Reading {what}", Level.WARN, why, "some checks were skipped; run as a user who may read it")
        for what, why in sorted(facts.unreadable.items())
        if what not in shown
    ]


#: The chain, in the order findings are shown (cert-manager's policy chains).
CHECKS: tuple[Callable[[Facts], list[Finding]], ...] = (
    check_kubernetes_version,
    check_permissions,
    check_crd,
    check_operator,
    check_platforms,
    check_existing_seldon_core,
    check_webhooks,
    check_unreadable,
)


def evaluate(facts: Facts, checks: Sequence[Callable[[Facts], list[Finding]]] = CHECKS) -> list[Finding]:
    """Every finding of every check; never stops at the first failure (Istio's validation)."""
    return [finding for check in checks for finding in check(facts)]


def exit_code(findings: Sequence[Finding]) -> int:
    return 1 if any(f.failed for f in findings) else 0


# --- Gather (I/O) --------------------------------------------------------------------------------------


async def _review(kube: Kube, access: Access) -> bool:
    attributes = (
        ("verb", access.verb),
        ("group", access.group),
        ("resource", access.resource),
        ("namespace", access.namespace),
    )
    return await kube.review_access({k: v for k, v in attributes if v is not None})


async def gather_facts(kube: Kube, operator_namespace: str = OPERATOR_NAMESPACE) -> Facts:
    """Read everything the checks need. A read the user may not make is recorded in ``unreadable`` (the checks
    that need it say so); connection errors propagate."""
    unreadable: dict[str, str] = {}

    async def read(what: str, call: Any, default: Any) -> Any:
        try:
            return await call
        except UnknownKindError:
            return default
        except KubeError as exc:
            if exc.code in (401, 403):
                unreadable[what] = f"{exc.code} {exc.reason or 'Forbidden'}"
                return default
            raise

    version: str | None
    try:
        version = await kube.server_version()
    except KubeError as exc:
        version, unreadable["version"] = None, str(exc)
    except Exception as exc:  # an HTTP status error of the client: say so, do not stop the other checks
        if type(exc).__name__ != "HTTPStatusError":
            raise
        version, unreadable["version"] = None, str(exc).splitlines()[0]
    access: dict[Access, bool] = {}
    for item in install_access(operator_namespace):
        allowed = await read("access", _review(kube, item), None)
        if allowed is None:
            access = {}
            break
        access[item] = allowed
    crd_api = "apiextensions.k8s.io/v1"
    crd = await read("CustomResourceDefinitions", kube.get(crd_api, "CustomResourceDefinition", CRD_NAME), None)
    platforms: list[dict[str, Any]] = []
    if crd is not None and health.crd(crd).ready:
        platforms = await read("SeldonOperators", kube.list(API_VERSION, KIND), [])
    operator = await read(
        "Deployments", kube.get("apps/v1", "Deployment", OPERATOR_DEPLOYMENT, operator_namespace), None
    )
    api_kinds = await read("served API kinds", kube.api_kinds(), frozenset())
    classes = await read("storage_classes", kube.list("storage.k8s.io/v1", "StorageClass"), [])
    deployments = await read("Deployments", kube.list("apps/v1", "Deployment"), [])
    sdep = await read(
        "CustomResourceDefinitions", kube.get(crd_api, "CustomResourceDefinition", SELDON_DEPLOYMENT_CRD), None
    )
    webhooks: list[dict[str, Any]] = []
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        webhooks += await read("webhook configurations", kube.list("admissionregistration.k8s.io/v1", kind), [])
    namespaces = {n["metadata"]["name"] for n in await read("Namespaces", kube.list("v1", "Namespace"), [])}
    services: set[str] = set()
    for config in webhooks:
        for hook in config.get("webhooks") or []:
            svc = (hook.get("clientConfig") or {}).get("service")
            if svc and svc.get("namespace") in namespaces:
                found = await read("Services", kube.get("v1", "Service", svc.get("name"), svc.get("namespace")), None)
                if found is not None or "Services" in unreadable:
                    services.add(f"{svc.get('namespace')}/{svc.get('name')}")
    return Facts(
        server_version=version,
        access=access,
        operator_namespace=operator_namespace,
        operator=operator,
        crd=crd,
        platforms=tuple(platforms),
        api_kinds=frozenset(api_kinds),
        storage_classes=tuple(classes),
        core_managers=tuple(d for d in deployments if d["metadata"]["name"] == CORE_MANAGER),
        seldondeployment_crd=sdep,
        webhooks=tuple(webhooks),
        services=frozenset(services),
        namespaces=frozenset(namespaces),
        unreadable=unreadable,
    )
