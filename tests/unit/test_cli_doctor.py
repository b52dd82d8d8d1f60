"""`seldonctl doctor`'s pure checks over gathered facts: each finding says what is wrong and how to fix it, and only
what blocks the install or an enabled feature fails (exit code 1)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from tests.builders import core_values, enable, enterprise_values, platform

from seldon_meta_operator.reconcile.doctor import (
    Facts,
    Finding,
    Level,
    evaluate,
    exit_code,
    install_access,
    parse_version,
)

ISTIO = frozenset({"networking.istio.io/Gateway", "networking.istio.io/VirtualService"})
KNATIVE = frozenset({"eventing.knative.dev/Broker", "eventing.knative.dev/Trigger", "serving.knative.dev/Service"})
CERT_MANAGER = frozenset({"cert-manager.io/Issuer", "cert-manager.io/Certificate"})
ARGO_WORKFLOWS = frozenset({"argoproj.io/Workflow"})
ARGO_CD = frozenset({"argoproj.io/Application"})
OURS = {"app.kubernetes.io/managed-by": "seldon-meta-operator"}


def available_deployment(name: str, namespace: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": 1, "labels": labels or {}},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
    }


def established_crd(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name, "labels": labels or {}},
        "status": {"conditions": [{"type": "Established", "status": "True"}]},
    }


def seldon_operator(*mods: Any, name: str = "seldonoperator-sample", created: str = "2026-11-24T10:00:00Z") -> Any:
    doc = platform(*mods, name=name)
    doc["metadata"]["creationTimestamp"] = created
    return doc


DEFAULT_CLASS = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
}


def healthy(*platforms: Any, kinds: frozenset[str] = ARGO_WORKFLOWS) -> Facts:
    """A cluster where the operator is installed and running, with a default StorageClass."""
    return Facts(
        server_version="v1.34.4",
        access=dict.fromkeys(install_access(), True),
        operator=available_deployment("seldon-operator-controller-manager", "seldon-system"),
        crd=established_crd("seldonoperators.operator.seldon.io"),
        platforms=tuple(platforms) or (seldon_operator(),),
        api_kinds=kinds,
        storage_classes=(DEFAULT_CLASS,),
        namespaces=frozenset({"default", "kube-system", "seldon-system"}),
    )


def with_(facts: Facts, **changes: Any) -> Facts:
    return dataclasses.replace(facts, **changes)


def named(findings: list[Finding], prefix: str) -> list[Finding]:
    return [f for f in findings if f.check.startswith(prefix)]


def one(findings: list[Finding], prefix: str) -> Finding:
    found = named(findings, prefix)
    assert len(found) == 1, [f.check for f in findings]
    return found[0]


# --- A healthy cluster ----------------------------------------------------------------------------------


def test_a_healthy_cluster_with_the_minimal_platform_has_nothing_to_fix() -> None:
    findings = evaluate(healthy())
    assert [f for f in findings if f.level is not Level.OK] == []
    assert exit_code(findings) == 0
    checks = [f.check for f in findings]
    for expected in (
        "Kubernetes version",
        "Permissions to install",
        "CRD seldonoperators.operator.seldon.io",
        "Operator seldon-system/seldon-operator-controller-manager",
        "Seldon Core installed another way",
        "Stale webhooks",
    ):
        assert expected in checks


def test_checks_do_not_stop_at_the_first_failure() -> None:
    facts = with_(healthy(seldon_operator(enable("routing"))), server_version="v1.25.0", operator=None, crd=None)
    failed = [f.check for f in evaluate(facts) if f.failed]
    assert "Kubernetes version" in failed and "CRD seldonoperators.operator.seldon.io" in failed
    assert any(c.startswith("Operator ") for c in failed)


# --- Kubernetes version -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "level"),
    [
        ("v1.34.4", Level.OK),
        ("v1.27.0", Level.OK),
        ("v1.26.15", Level.FAIL),
        ("v1.29.3-gke.1200", Level.OK),
        (None, Level.WARN),
    ],
    ids=["1.34 is supported", "1.27 is the oldest supported", "1.26 is too old", "a vendor suffix is read", "unknown"],
)
def test_the_kubernetes_version_must_be_at_least_1_27(version: str | None, level: Level) -> None:
    finding = one(evaluate(with_(healthy(), server_version=version)), "Kubernetes version")
    assert finding.level is level
    if level is Level.FAIL:
        assert "upgrade" in finding.fix


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("v1.34.4", (1, 34)), ("1.30", (1, 30)), ("v1.28+k3s1", (1, 28)), ("", None), ("garbage", None)],
)
def test_versions_are_parsed_to_major_and_minor(text: str, parsed: tuple[int, int] | None) -> None:
    assert parse_version(text) == parsed


# --- Permissions, CRD, operator ---------------------------------------------------------------------------


def test_missing_install_rights_fail_when_the_operator_is_not_installed() -> None:
    access = dict.fromkeys(install_access(), True)
    access[install_access()[0]] = False  # create customresourcedefinitions
    finding = one(evaluate(with_(healthy(), access=access, operator=None)), "Permissions")
    assert finding.level is Level.FAIL
    assert "create customresourcedefinitions" in finding.message and "cluster admin" in finding.fix


def test_missing_install_rights_only_warn_once_the_operator_runs() -> None:
    access = dict.fromkeys(install_access(), False)
    assert one(evaluate(with_(healthy(), access=access)), "Permissions").level is Level.WARN


def test_install_rights_include_the_operators_namespace() -> None:
    described = [a.describe() for a in install_access("ops")]
    assert "create deployments in ops" in described and "create customresourcedefinitions" in described


@pytest.mark.parametrize(
    ("change", "check", "fix"),
    [
        ({"crd": None}, "CRD ", "seldonctl install --wait"),
        ({"operator": None}, "Operator ", "seldonctl install --wait"),
    ],
    ids=["no CRD: install", "no operator Deployment: install"],
)
def test_a_missing_operator_fails_with_the_install_command(change: dict[str, Any], check: str, fix: str) -> None:
    finding = one(evaluate(with_(healthy(), **change)), check)
    assert finding.level is Level.FAIL and finding.fix == fix


def test_an_operator_that_is_not_available_fails_with_where_to_look() -> None:
    deployment = available_deployment("seldon-operator-controller-manager", "seldon-system")
    deployment["status"]["availableReplicas"] = 0
    finding = one(evaluate(with_(healthy(), operator=deployment)), "Operator ")
    assert finding.level is Level.FAIL and "0/1 available" in finding.message
    assert "kubectl -n seldon-system describe deployment" in finding.fix


# --- Prerequisites of the enabled features ----------------------------------------------------------------

Mod = Callable[[dict[str, Any]], None]


@pytest.mark.parametrize(
    ("mods", "check", "kinds", "missing"),
    [
        ((enable("routing"),), "Routing (Istio)", ISTIO, "networking.istio.io/Gateway"),
        ((enable("routing", "detectors"),), "Detectors (Knative)", KNATIVE, "eventing.knative.dev/Broker"),
        ((enable("routing", "detectors"),), "Detectors (Knative)", KNATIVE, "serving.knative.dev/Service"),
        ((core_values({"certManager": {"enabled": True}}),), "Seldon Core", CERT_MANAGER, "cert-manager.io/Issuer"),
        (
            (enterprise_values({"gitops": {"argocd": {"enabled": True}, "git": {"secret": "git-creds"}}}),),
            "GitOps, Argo CD",
            ARGO_CD,
            "argoproj.io/Application",
        ),
    ],
    ids=[
        "routing needs Istio",
        "detectors need Knative Eventing",
        "detectors need Knative Serving",
        "cert-manager mode needs cert-manager",
        "GitOps needs Argo CD",
    ],
)
def test_an_enabled_feature_fails_without_its_prerequisite_and_passes_with_it(
    mods: tuple[Mod, ...], check: str, kinds: frozenset[str], missing: str
) -> None:
    without = one(evaluate(healthy(seldon_operator(*mods))), check + " for ")
    assert without.level is Level.FAIL
    assert missing in without.message and without.fix.startswith("Install")
    assert exit_code(evaluate(healthy(seldon_operator(*mods)))) == 1
    everything = ISTIO | KNATIVE | CERT_MANAGER | ARGO_CD | ARGO_WORKFLOWS
    with_it = one(evaluate(healthy(seldon_operator(*mods), kinds=everything)), check + " for ")
    assert with_it.level is Level.OK and missing in with_it.message
    assert kinds <= everything


def test_routing_without_istio_names_the_istio_install() -> None:
    finding = one(evaluate(healthy(seldon_operator(enable("routing")))), "Routing")
    assert "istioctl install" in finding.fix
    assert finding.check == "Routing (Istio) for seldon-system/seldonoperator-sample"


def test_a_feature_that_is_off_has_no_prerequisite_to_check() -> None:
    findings = evaluate(healthy())
    assert named(findings, "Routing") == [] and named(findings, "Detectors") == []
    assert named(findings, "GitOps") == []


def test_batch_jobs_without_argo_workflows_only_warn() -> None:
    findings = evaluate(healthy(kinds=frozenset()))
    finding = one(findings, "Batch jobs")
    assert finding.level is Level.WARN and "Argo Workflows" in finding.fix
    assert exit_code(findings) == 0


def test_app_auth_without_an_oidc_provider_fails_naming_the_values_to_set() -> None:
    findings = evaluate(healthy(seldon_operator(enterprise_values({"enableAppAuth": True}))))
    finding = one(findings, "App auth, OIDC")
    assert finding.level is Level.FAIL
    assert "env.OIDC_PROVIDER" in finding.message and "env.REDIRECT_URL" in finding.message
    assert "enableAppAuth: false" in finding.fix


def test_app_auth_with_an_oidc_provider_passes() -> None:
    values = {
        "enableAppAuth": True,
        "env": {"OIDC_PROVIDER": "https://keycloak.example.com/auth/realms/deploy", "REDIRECT_URL": "https://x/cb"},
    }
    findings = evaluate(healthy(seldon_operator(enterprise_values(values))))
    assert one(findings, "App auth, OIDC").level is Level.OK
    assert exit_code(findings) == 0


def test_keycloak_user_management_needs_its_base_path() -> None:
    mod = enterprise_values({"keycloakUserManagement": {"enabled": True}})
    assert one(evaluate(healthy(seldon_operator(mod))), "Keycloak").level is Level.FAIL


@pytest.mark.parametrize(
    ("feature", "classes", "level"),
    [
        ("catalogue", (), Level.FAIL),
        ("payloadstore", (), Level.FAIL),
        ("analytics", (), Level.FAIL),
        ("catalogue", (DEFAULT_CLASS,), Level.OK),
        (
            "catalogue",
            (DEFAULT_CLASS, {**DEFAULT_CLASS, "metadata": {**DEFAULT_CLASS["metadata"], "name": "b"}}),
            Level.WARN,
        ),
    ],
    ids=[
        "the trial PostgreSQL needs a default StorageClass",
        "the trial OpenSearch needs one",
        "Alertmanager's volume needs one",
        "one default is right",
        "two defaults warn",
    ],
)
def test_trial_stores_need_a_default_storage_class(feature: str, classes: tuple[Any, ...], level: Level) -> None:
    facts = with_(healthy(seldon_operator(enable(feature))), storage_classes=classes)
    finding = one(evaluate(facts), "Default StorageClass")
    assert finding.level is level
    if level is Level.FAIL:
        assert "is-default-class" in finding.fix


def test_no_trial_store_needs_no_storage_class() -> None:
    assert named(evaluate(with_(healthy(), storage_classes=())), "Default StorageClass") == []


def test_an_invalid_spec_fails_with_the_field() -> None:
    bad = seldon_operator()
    bad["spec"] = {"enable": {"analytic": True}}
    finding = one(evaluate(healthy(bad)), "Spec of")
    assert finding.level is Level.FAIL and "analytic" in finding.message


def test_a_seldonoperator_outside_the_operator_namespace_is_reported_and_not_checked() -> None:
    tenant = seldon_operator(name="tenant")
    tenant["metadata"]["namespace"] = "team-a"
    tenant["spec"] = {"enable": {"analytic": True}}  # would fail "Spec of" if it were checked
    findings = evaluate(healthy(seldon_operator(), tenant))
    finding = one(findings, "SeldonOperators outside")
    assert finding.level is Level.FAIL and "team-a/tenant" in finding.message
    assert "seldon-system" in finding.fix
    assert named(findings, "One platform per cluster") == []
    assert not [f for f in findings if "team-a/tenant" in f.check]


def test_a_second_platform_is_refused() -> None:
    first = seldon_operator(created="2026-11-24T10:00:00Z")
    second = seldon_operator(name="another", created="2026-11-24T11:00:00Z")
    finding = one(evaluate(healthy(first, second)), "One platform per cluster")
    assert finding.level is Level.FAIL and "seldon-system/another" in finding.message


# --- Another Seldon Core, stale webhooks, unreadable facts ------------------------------------------------


def test_a_seldon_core_installed_another_way_is_a_conflict() -> None:
    theirs = available_deployment("seldon-controller-manager", "seldon-core")
    finding = one(evaluate(with_(healthy(), core_managers=(theirs,))), "Seldon Core installed another way")
    assert finding.level is Level.FAIL and "seldon-core/seldon-controller-manager" in finding.message
    assert "helm uninstall" in finding.fix


def test_our_own_seldon_core_is_no_conflict() -> None:
    ours = available_deployment("seldon-controller-manager", "seldon-system", OURS)
    crd = established_crd("seldondeployments.machinelearning.seldon.io", OURS)
    facts = with_(healthy(), core_managers=(ours,), seldondeployment_crd=crd)
    assert one(evaluate(facts), "Seldon Core installed another way").level is Level.OK


def test_a_seldondeployment_crd_of_another_tool_is_a_conflict_with_the_adoption_command() -> None:
    facts = with_(healthy(), seldondeployment_crd=established_crd("seldondeployments.machinelearning.seldon.io"))
    finding = one(evaluate(facts), "Seldon Core installed another way")
    assert finding.level is Level.FAIL and "kubectl label crd" in finding.fix


def webhook_config(namespace: str, service: str, policy: str | None = None) -> dict[str, Any]:
    hook: dict[str, Any] = {
        "name": "v1.vseldondeployment.kb.io",
        "clientConfig": {"service": {"namespace": namespace, "name": service}},
    }
    if policy:
        hook["failurePolicy"] = policy
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": f"seldon-validating-webhook-configuration-{namespace}"},
        "webhooks": [hook],
    }


@pytest.mark.parametrize(
    ("config", "services", "level", "why"),
    [
        (webhook_config("old-ns", "seldon-webhook-service"), frozenset(), Level.FAIL, "namespace old-ns is gone"),
        (webhook_config("seldon-system", "seldon-webhook-service"), frozenset(), Level.FAIL, "is missing"),
        (webhook_config("seldon-system", "seldon-webhook-service", "Ignore"), frozenset(), Level.WARN, "is missing"),
        (
            webhook_config("seldon-system", "seldon-webhook-service"),
            frozenset({"seldon-system/seldon-webhook-service"}),
            Level.OK,
            "",
        ),
    ],
    ids=[
        "a webhook into a deleted namespace blocks requests",
        "a webhook to a missing Service blocks requests",
        "with failurePolicy Ignore it only warns",
        "a webhook to an existing Service is fine",
    ],
)
def test_stale_webhooks_are_found(config: dict[str, Any], services: frozenset[str], level: Level, why: str) -> None:
    finding = one(evaluate(with_(healthy(), webhooks=(config,), services=services)), "Stale webhooks")
    assert finding.level is level and why in finding.message
    if level is not Level.OK:
        assert (
            finding.fix
            == f"if it is left over: kubectl delete validatingwebhookconfiguration {config['metadata']['name']}"
        )


def test_what_could_not_be_read_is_a_warning() -> None:
    facts = with_(healthy(), unreadable={"Deployments": "403 Forbidden"})
    finding = one(evaluate(facts), "Reading Deployments")
    assert finding.level is Level.WARN and "403" in finding.message


def test_no_seldon_operators_means_no_feature_checks() -> None:
    facts = with_(healthy(), platforms=())
    findings = evaluate(facts)
    assert one(findings, "SeldonOperators").level is Level.OK
    assert named(findings, "Batch jobs") == []
