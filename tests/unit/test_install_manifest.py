"""deploy/seldonoperator_install.yaml: what the product documentation applies to install the operator.

It is generated from code (its freshness, with every other generated file, is checked in test_crd.py), valid for
Kubernetes 1.34, and its RBAC is re-derived here from the render of every feature: the operator can apply every
kind the platform renders, writes cluster-scoped objects only by the names the platform gives them, may create and
bind exactly the roles the platform renders (``bind``/``escalate`` by name) without holding what they grant, and
holds nothing cluster-wide on Secrets or node proxies; no wildcard.
"""

from __future__ import annotations

import importlib.metadata
import re
from typing import Any

import kubernetes_validate
import pytest
import yaml
from tests.builders import ROOT, example, example_files, render

from seldon_meta_operator import __version__
from seldon_meta_operator.api.crd import seldonoperator_crd
from seldon_meta_operator.api.v1alpha1 import GROUP, PLURAL
from seldon_meta_operator.cli.generated import HEADER, builtin_plural, generated_files
from seldon_meta_operator.components import REGISTRY
from seldon_meta_operator.components.base import BUILTIN_GROUPS, Component, Manifest, meta, obj, policy_rule
from seldon_meta_operator.operator.main import parser as operator_parser
from seldon_meta_operator.render import install
from seldon_meta_operator.render.install import Grant, covers, grants, merge_rules
from seldon_meta_operator.render.ownership import MANAGED_BY_LABEL, object_key

KUBERNETES_VERSION = "1.34.0"
FILE = "seldonoperator_install.yaml"
TEXT = generated_files()[FILE]
DOCS: list[Manifest] = [d for d in yaml.safe_load_all(TEXT) if d]
EVERYTHING = install.render_everything()


def doc(kind: str, name: str) -> Manifest:
    found = [d for d in DOCS if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} in {FILE}"
    return found[0]


MANAGER_RULES: list[dict[str, Any]] = doc("ClusterRole", install.MANAGER_ROLE)["rules"]
#: Bound only by RoleBindings: in seldon-system by the manifest, and by the admin in allowed namespaces.
NAMESPACE_RULES: list[dict[str, Any]] = doc("ClusterRole", install.NAMESPACE_ROLE)["rules"]
DEPLOYMENT = doc("Deployment", install.NAME)
POD = DEPLOYMENT["spec"]["template"]["spec"]


def group_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def option_default(name: str) -> Any:
    """The default of a `seldon-meta-operator` (`seldonctl operator run`) option."""
    return operator_parser().get_default(name)


# --- The file ----------------------------------------------------------------------------------------------


def test_every_file_in_deploy_is_generated() -> None:
    on_disk = sorted(p.name for p in (ROOT / "deploy").iterdir())
    assert on_disk == sorted(generated_files()), "deploy/ holds a file no code generates: remove it or generate it"


def test_the_file_says_it_is_generated_and_how_to_install_it() -> None:
    assert TEXT.startswith(HEADER)
    assert "kubectl create namespace seldon-system || true" in TEXT
    assert "kubectl apply -f seldonoperator_install.yaml" in TEXT


def test_the_documents_are_the_install_manifests_in_apply_order() -> None:
    assert install.install_manifests(builtin_plural) == DOCS
    assert [d["kind"] for d in DOCS] == [
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRoleBinding",
        "RoleBinding",
        "ClusterRoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "Service",
        "NetworkPolicy",
        "Deployment",
        "PodDisruptionBudget",
    ]


def test_the_manifest_for_another_namespace_is_generated_for_it_not_text_replaced() -> None:
    docs = install.install_manifests(builtin_plural, namespace="platform")
    assert {d["metadata"].get("namespace") for d in docs} == {None, "platform"}
    text = yaml.safe_dump(docs)
    assert "seldon-system" not in text  # role names, the admission policy and the bindings follow the namespace
    assert "seldon-manager-role-platform" in text


def test_the_crd_is_the_seldonoperator_crd() -> None:
    assert doc("CustomResourceDefinition", f"{PLURAL}.{GROUP}") == seldonoperator_crd()


def test_the_manifest_holds_no_namespace_so_removing_it_keeps_seldon_system_and_its_data() -> None:
    assert not [d for d in DOCS if d["kind"] == "Namespace"]


def test_names_are_the_seeds() -> None:
    assert DEPLOYMENT["metadata"] == {**DEPLOYMENT["metadata"], "name": "seldon-operator-controller-manager"}
    assert POD["serviceAccountName"] == "seldon-operator-controller-manager"
    assert doc("ServiceAccount", "seldon-operator-controller-manager")
    assert doc("ClusterRole", "seldon-operator-manager-role")
    binding = doc("ClusterRoleBinding", "seldon-operator-manager-rolebinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "seldon-operator-manager-role",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "seldon-operator-controller-manager", "namespace": "seldon-system"}
    ]


def test_namespaced_objects_are_in_seldon_system_and_none_carries_the_platform_labels() -> None:
    cluster_scoped = (
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    )
    for d in DOCS:
        if d["kind"] not in cluster_scoped:
            assert d["metadata"]["namespace"] == "seldon-system", object_key(d)
        # The operator prunes and sweeps what carries its managed-by label: never its own installation.
        assert MANAGED_BY_LABEL not in (d["metadata"].get("labels") or {}), object_key(d)


def test_an_admission_policy_refuses_seldonoperators_outside_the_operator_namespace() -> None:
    policy = doc("ValidatingAdmissionPolicy", install.ADMISSION_POLICY)["spec"]
    rule = policy["matchConstraints"]["resourceRules"][0]
    assert (rule["apiGroups"], rule["resources"], rule["operations"]) == ([GROUP], [PLURAL], ["CREATE", "UPDATE"])
    assert policy["validations"][0]["expression"] == "request.namespace == 'seldon-system'"
    assert "belong in namespace seldon-system" in policy["validations"][0]["message"]
    binding = doc("ValidatingAdmissionPolicyBinding", install.ADMISSION_POLICY)["spec"]
    assert binding == {"policyName": install.ADMISSION_POLICY, "validationActions": ["Deny"]}


@pytest.mark.parametrize("manifest", DOCS, ids=[f"{d['kind']} {d['metadata']['name']} is valid" for d in DOCS])
def test_every_document_validates_against_kubernetes_1_34(manifest: Manifest) -> None:
    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{object_key(manifest)}: {'.'.join(str(p) for p in exc.path)}: {exc.message}")
    except kubernetes_validate.SchemaNotFoundError as exc:
        pytest.fail(exc.message)


# --- covers() and merge_rules(), on their own --------------------------------------------------------------


R = policy_rule


@pytest.mark.parametrize(
    ("held", "wanted", "expected"),
    [
        ([R(["apps"], ["deployments"], ["get", "list"])], R(["apps"], ["deployments"], ["get"]), True),
        ([R(["apps"], ["deployments"], ["get"])], R(["apps"], ["deployments"], ["get", "list"]), False),
        (
            [R(["apps"], ["deployments"], ["get"]), R(["apps"], ["deployments"], ["list"])],
            R(["apps"], ["deployments"], ["get", "list"]),
            True,
        ),
        ([R([""], ["deployments"], ["get"])], R(["apps"], ["deployments"], ["get"]), False),
        ([R(["apps"], ["deployments"], ["get"])], R(["apps"], ["deployments/status"], ["get"]), False),
        ([R(["apps"], ["*"], ["*"])], R(["apps"], ["deployments/status"], ["get"]), True),
        ([R(["apps"], ["*/scale"], ["get"])], R(["apps"], ["deployments/scale"], ["get"]), True),
        (
            [{**R(["apps"], ["deployments"], ["get"]), "resourceNames": ["a"]}],
            R(["apps"], ["deployments"], ["get"]),
            False,
        ),
        (
            [R(["apps"], ["deployments"], ["get"])],
            {**R(["apps"], ["deployments"], ["get"]), "resourceNames": ["a"]},
            True,
        ),
        (
            [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
            {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
            True,
        ),
        ([{"nonResourceURLs": ["/met*"], "verbs": ["get"]}], {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}, True),
        ([R([""], ["nodes"], ["get"])], {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}, False),
    ],
    ids=[
        "a rule with more verbs covers one with fewer",
        "a rule with fewer verbs does not cover one with more",
        "two rules together cover what each covers in part",
        "the API group must match",
        "a resource does not cover its subresources",
        "wildcards cover everything in their group",
        "a */subresource wildcard covers that subresource of every resource",
        "a rule limited to names does not cover every object",
        "a rule for every object covers one limited to names",
        "a non-resource URL covers itself",
        "a trailing * in a non-resource URL covers what it prefixes",
        "resource rules do not cover non-resource URLs",
    ],
)
def test_covers(held: list[dict[str, Any]], wanted: dict[str, Any], expected: bool) -> None:
    assert covers(held, wanted) is expected


def test_merging_keeps_exactly_the_same_grants_and_shares_rules_between_resources_with_equal_verbs() -> None:
    rules = [
        R(["apps"], ["deployments"], ["get", "list"]),
        R(["apps"], ["statefulsets"], ["list", "get"]),
        R(["apps"], ["deployments"], ["get"]),
        {**R(["apps"], ["deployments"], ["patch"]), "resourceNames": ["x"]},
        {**R(["apps"], ["daemonsets"], ["get"]), "resourceNames": ["y"]},  # covered by nothing: kept
        {**R(["apps"], ["statefulsets"], ["get"]), "resourceNames": ["z"]},  # covered by the unnamed rule: dropped
        {"nonResourceURLs": ["/metrics", "/healthz"], "verbs": ["get"]},
    ]
    merged = merge_rules(rules)
    assert set().union(*map(grants, merged)) == set().union(*map(grants, rules)) - {
        Grant("get", "apps", "statefulsets", "z")
    }
    assert merged == [
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["daemonsets"], "resourceNames": ["y"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["x"], "verbs": ["patch"]},
        {"nonResourceURLs": ["/healthz", "/metrics"], "verbs": ["get"]},
    ]
    assert merge_rules(reversed(rules)) == merged  # the order of the input does not matter


# --- RBAC: narrow ------------------------------------------------------------------------------------------


def rbac_docs() -> list[Manifest]:
    return [d for d in DOCS if d["kind"] in ("ClusterRole", "Role")]


def test_no_rule_anywhere_uses_a_wildcard() -> None:
    found = [
        f"{d['metadata']['name']}: {rule}"
        for d in rbac_docs()
        for rule in d["rules"]
        for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs")
        if any("*" in value for value in rule.get(key, []))
    ]
    assert not found


def test_bind_and_escalate_are_held_only_on_named_roles_and_impersonation_never() -> None:
    for rule in MANAGER_RULES + NAMESPACE_RULES:
        if {"bind", "escalate"} & set(rule.get("verbs", [])):
            assert rule.get("resourceNames"), rule
            assert rule["resources"] in (["clusterroles"], ["roles"]), rule
        assert not {"impersonate", "deletecollection", "*"} & set(rule.get("verbs", [])), rule


def test_no_cluster_wide_secrets_or_node_proxy_and_cluster_writes_only_by_name() -> None:
    assert not covers(MANAGER_RULES, R([""], ["secrets"], ["get"]))
    assert not covers(MANAGER_RULES, R([""], ["secrets"], ["list"]))
    held = {(g, r) for rule in MANAGER_RULES + NAMESPACE_RULES for g in rule["apiGroups"] for r in rule["resources"]}
    assert ("", "nodes/proxy") not in held and ("", "nodes") not in held
    for rule in MANAGER_RULES:
        if {"create", "patch", "delete", "update"} & set(rule["verbs"]):
            assert rule.get("resourceNames"), f"a cluster-wide write not restricted by name: {rule}"


def test_the_operator_rules_are_few() -> None:
    # Before issue 8: one ClusterRole of 45 rules over 21 API groups, with cluster-wide Secrets and nodes/proxy.
    assert len(MANAGER_RULES) <= 8
    assert len(NAMESPACE_RULES) <= 16


@pytest.mark.parametrize("rules", ["MANAGER_RULES", "NAMESPACE_RULES"])
def test_the_rules_are_merged_one_rule_per_api_group_and_verb_set(rules: str) -> None:
    found = MANAGER_RULES if rules == "MANAGER_RULES" else NAMESPACE_RULES
    keys = [
        (tuple(r["apiGroups"]), tuple(r["verbs"]), tuple(r.get("resourceNames", []))) for r in found if "apiGroups" in r
    ]
    assert len(keys) == len(set(keys))
    assert all(len(r.get("apiGroups", [""])) == 1 for r in found)
    assert merge_rules(found) == found


def test_crds_are_read_and_created_and_patched_only_by_name_and_never_deleted() -> None:
    crds = R(["apiextensions.k8s.io"], ["customresourcedefinitions"], ["delete"])
    assert not covers(MANAGER_RULES, crds)
    assert not covers(MANAGER_RULES, {**crds, "verbs": ["patch"]})
    assert covers(MANAGER_RULES, {**crds, "verbs": ["get", "list", "watch"]})
    for m in EVERYTHING:
        if m["kind"] == "CustomResourceDefinition":
            named = {**crds, "resourceNames": [m["metadata"]["name"]]}
            assert covers(MANAGER_RULES, {**named, "verbs": ["create", "patch"]})
            assert not covers(MANAGER_RULES, named)


def test_the_proxy_may_only_review_tokens_and_access() -> None:
    assert doc("ClusterRole", install.PROXY_ROLE)["rules"] == [
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
    ]
    assert doc("ClusterRoleBinding", install.PROXY_BINDING)["roleRef"]["name"] == install.PROXY_ROLE


# --- RBAC: enough, re-derived from the render ---------------------------------------------------------------


def kinds_of(manifests: list[Manifest]) -> list[tuple[str, str]]:
    return sorted({(m["apiVersion"], m["kind"]) for m in manifests if m["kind"] != "CustomResourceDefinition"})


def plural(api_version: str, kind: str) -> str:
    return install.plural_resolver(EVERYTHING, builtin_plural)(api_version, kind)


KINDS = kinds_of(EVERYTHING)


def test_the_everything_render_holds_workloads_rbac_and_custom_kinds() -> None:
    kinds = {k for _, k in KINDS}
    assert {"Deployment", "Service", "ServiceAccount", "ClusterRole", "Role", "RoleBinding"} <= kinds
    assert {"Gateway", "Broker", "Trigger", "Certificate", "Issuer"} <= kinds
    assert "CustomResourceDefinition" in {m["kind"] for m in EVERYTHING}


def may_manage(cluster: list[dict[str, Any]], namespaced: list[dict[str, Any]], m: Manifest) -> list[str]:
    """What the operator could not do to ``m`` (apply, read, prune; bind/escalate its roles) under these rules."""
    group, resource = group_of(m["apiVersion"]), plural(m["apiVersion"], m["kind"])
    name = m["metadata"]["name"]
    wanted: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []
    if "namespace" in m["metadata"]:
        wanted.append((namespaced, R([group], [resource], install.MANAGE_VERBS)))
    elif m["kind"] == "CustomResourceDefinition":
        wanted.append((cluster, {**R([group], [resource], ["create", "patch"]), "resourceNames": [name]}))
    else:
        wanted.append((cluster, R([group], [resource], ["get", "list", "watch"])))
        wanted.append((cluster, {**R([group], [resource], ["create", "patch", "delete"]), "resourceNames": [name]}))
    if m["kind"] in ("Role", "ClusterRole"):
        held = namespaced if m["kind"] == "Role" else cluster
        wanted.append((held, {**R([install.RBAC_GROUP], [resource], ["bind", "escalate"]), "resourceNames": [name]}))
    if m["kind"] in ("RoleBinding", "ClusterRoleBinding"):
        ref = m["roleRef"]
        held = namespaced if ref["kind"] == "Role" else cluster
        roles = "roles" if ref["kind"] == "Role" else "clusterroles"
        wanted.append((held, {**R([install.RBAC_GROUP], [roles], ["bind"]), "resourceNames": [ref["name"]]}))
    return [str(rule) for rules, rule in wanted if not covers(rules, rule)]


EVERY_OBJECT = {object_key(m): m for m in EVERYTHING}


@pytest.mark.parametrize(
    "key", sorted(EVERY_OBJECT), ids=[f"{k} can be applied and pruned" for k in sorted(EVERY_OBJECT)]
)
def test_the_operator_can_apply_and_prune_every_object_the_platform_renders(key: str) -> None:
    assert may_manage(MANAGER_RULES, NAMESPACE_RULES, EVERY_OBJECT[key]) == []


def test_a_role_the_platform_does_not_render_cannot_be_written_or_bound() -> None:
    foreign = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "admin"}}
    assert may_manage(MANAGER_RULES, NAMESPACE_RULES, foreign)
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "seldon-manager-rolebinding-seldon-system"},
        "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
    }
    assert may_manage(MANAGER_RULES, NAMESPACE_RULES, binding)


def roles_of(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m["kind"] in ("Role", "ClusterRole")]


def test_no_rendered_cluster_role_aggregates_others() -> None:
    # An aggregated ClusterRole's rules are filled in by the controller from others: escalate by name is not enough.
    assert not [object_key(m) for m in roles_of(EVERYTHING) if "aggregationRule" in m]


@pytest.mark.parametrize(
    ("rule", "where"),
    [
        (R([GROUP], [PLURAL], ["get", "list", "watch"]), "namespaced"),
        (R([GROUP], [f"{PLURAL}/status"], ["patch"]), "namespaced"),
        (R(["apiextensions.k8s.io"], ["customresourcedefinitions"], ["get", "list", "watch"]), "cluster"),
        (R(["events.k8s.io"], ["events"], ["create", "patch"]), "namespaced"),
        (R([""], ["secrets"], ["create", "get", "patch", "delete"]), "namespaced"),
        (R(["coordination.k8s.io"], ["leases"], ["create", "get", "update"]), "namespaced"),
    ],
    ids=[
        "kopf watches SeldonOperators in the operator's namespace",
        "the reconciler writes the status subresource",
        "kopf and the kube facade discover CRDs",
        "the event recorder posts and updates Events",
        "the reconciler creates generated Secrets and applies the webhook certificate",
        "leader election holds a Lease",
    ],
)
def test_the_operator_holds_what_its_own_code_needs(rule: dict[str, Any], where: str) -> None:
    assert covers(NAMESPACE_RULES if where == "namespaced" else MANAGER_RULES, rule)


def test_the_operator_may_not_patch_seldonoperators_kopf_keeps_no_annotations() -> None:
    assert not covers(NAMESPACE_RULES + MANAGER_RULES, R([GROUP], [PLURAL], ["patch"]))


@pytest.mark.parametrize(
    "path", example_files(), ids=[f"examples/{p.name} needs nothing more" for p in example_files()]
)
def test_every_example_renders_only_what_the_operator_may_apply_and_grant(path: Any) -> None:
    for manifest in render(example(path.name)).manifests:
        assert may_manage(MANAGER_RULES, NAMESPACE_RULES, manifest) == [], object_key(manifest)


def test_the_derivation_follows_whatever_the_registry_renders() -> None:
    """A component added later (a StatefulSet and a Role) is covered without touching the derivation."""

    def toy(ctx: Any) -> list[Manifest]:
        return [
            obj("apps/v1", "StatefulSet", meta("toy", ctx.namespace), spec={}),
            obj("policy/v1", "PodDisruptionBudget", meta("toy", ctx.namespace), spec={}),
            obj(
                "rbac.authorization.k8s.io/v1",
                "Role",
                meta("toy", ctx.namespace),
                rules=[R(["batch"], ["cronjobs"], ["get"])],
            ),
        ]

    registry = (*REGISTRY, Component(name="toy", title="toy", enabled=lambda spec: True, render=toy))
    rules = doc_rules(install.install_manifests(builtin_plural, registry), install.NAMESPACE_ROLE)
    assert covers(rules, R(["apps"], ["statefulsets"], install.MANAGE_VERBS))
    assert covers(rules, R(["policy"], ["poddisruptionbudgets"], install.MANAGE_VERBS))
    toy_role = {**R([install.RBAC_GROUP], ["roles"], ["bind", "escalate"]), "resourceNames": ["toy"]}
    assert covers(rules, toy_role)
    assert not covers(NAMESPACE_RULES, toy_role)


def test_a_custom_kind_without_a_known_plural_is_an_error_naming_the_table() -> None:
    def toy(ctx: Any) -> list[Manifest]:
        return [obj("example.com/v1", "Widget", meta("toy", ctx.namespace))]

    registry = (*REGISTRY, Component(name="toy", title="toy", enabled=lambda spec: True, render=toy))
    with pytest.raises(ValueError, match=r"example\.com/v1 Widget.*CUSTOM_PLURALS"):
        install.install_manifests(builtin_plural, registry)


def doc_rules(docs: list[Manifest], role: str) -> list[dict[str, Any]]:
    return next(d["rules"] for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == role)


def test_built_in_plurals_come_from_the_kubernetes_models_and_the_table_holds_only_custom_kinds() -> None:
    assert builtin_plural("apps/v1", "StatefulSet") == "statefulsets"
    assert builtin_plural("policy/v1", "PodDisruptionBudget") == "poddisruptionbudgets"
    assert builtin_plural("networking.istio.io/v1beta1", "Gateway") is None
    assert not [key for key in install.CUSTOM_PLURALS if key[0] in BUILTIN_GROUPS or key[0].endswith(".k8s.io")]


def prerequisite_plurals() -> dict[tuple[str, str], str]:
    """(group, kind) -> plural of the CRDs in hack/prereqs/, the ones the local cluster installs."""
    out: dict[tuple[str, str], str] = {}
    for path in sorted((ROOT / "hack" / "prereqs").glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if isinstance(crd, dict) and crd.get("kind") == "CustomResourceDefinition":
                names = crd["spec"]["names"]
                out[(crd["spec"]["group"], names["kind"])] = names["plural"]
    return out


def test_every_custom_kind_the_platform_renders_has_the_plural_its_crd_declares() -> None:
    served = prerequisite_plurals()
    assert served, "hack/prereqs/ holds no CustomResourceDefinition"
    own = {
        (m["spec"]["group"], m["spec"]["names"]["kind"]) for m in EVERYTHING if m["kind"] == "CustomResourceDefinition"
    }
    custom = [(a, k) for a, k in KINDS if builtin_plural(a, k) is None and (group_of(a), k) not in own]
    assert custom
    for api_version, kind in custom:
        assert plural(api_version, kind) == served.get((group_of(api_version), kind)), f"{api_version} {kind}"
    wrong = {key: p for key, p in install.CUSTOM_PLURALS.items() if key in served and served[key] != p}
    assert not wrong


# --- The Deployment ----------------------------------------------------------------------------------------


CONTAINERS = {c["name"]: c for c in POD["containers"]}
MANAGER = CONTAINERS["manager"]
PSS_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def pss_restricted_violations(pod: dict[str, Any]) -> list[str]:
    """The checks of the Pod Security Standards' "restricted" profile (Kubernetes 1.34) that a pod spec can fail."""
    out: list[str] = []
    pod_ctx = pod.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            out.append(f"{field} is set")
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= PSS_VOLUME_TYPES:
            out.append(f"volume {volume['name']} is {kinds}")
    for c in [*(pod.get("initContainers") or []), *pod["containers"]]:
        ctx = c.get("securityContext") or {}

        def field(name: str, ctx: dict[str, Any] = ctx) -> Any:
            return ctx.get(name, pod_ctx.get(name))

        name = c["name"]
        if ctx.get("privileged"):
            out.append(f"{name}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: allowPrivilegeEscalation is not false")
        caps = ctx.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"{name}: capabilities do not drop ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            out.append(f"{name}: adds capabilities {caps['add']}")
        if field("runAsNonRoot") is not True:
            out.append(f"{name}: runAsNonRoot is not true")
        if field("runAsUser") == 0:
            out.append(f"{name}: runs as uid 0")
        if (field("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            out.append(f"{name}: no RuntimeDefault or Localhost seccomp profile")
        if any(p.get("hostPort") for p in c.get("ports") or []):
            out.append(f"{name}: uses a hostPort")
        if ctx.get("procMount", "Default") != "Default":
            out.append(f"{name}: procMount is not Default")
    return out


def test_the_pod_has_two_containers_as_the_seed_shows_ready_2_of_2() -> None:
    assert list(CONTAINERS) == ["manager", "kube-rbac-proxy"]


def test_the_pod_passes_pod_security_restricted() -> None:
    assert pss_restricted_violations(POD) == []


def test_the_pss_check_finds_what_restricted_forbids() -> None:
    bad = {
        "hostNetwork": True,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [
            {"name": "c", "securityContext": {"runAsUser": 0}, "ports": [{"containerPort": 1, "hostPort": 1}]}
        ],
    }
    assert len(pss_restricted_violations(bad)) == 8


@pytest.mark.parametrize("name", ["manager", "kube-rbac-proxy"], ids=lambda n: f"{n} has a read-only root filesystem")
def test_every_container_has_a_read_only_root_filesystem_and_requests_and_limits(name: str) -> None:
    c = CONTAINERS[name]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["runAsUser"] > 0
    assert set(c["resources"]) == {"requests", "limits"}
    assert set(c["resources"]["requests"]) == set(c["resources"]["limits"]) == {"cpu", "memory"}


def test_the_manager_runs_the_operator_with_json_logs_and_its_probes_on_healthz_and_readyz() -> None:
    assert [*MANAGER["command"], MANAGER["args"][0]] == ["seldon-meta-operator", "--json-logs"]
    ports = {p["name"]: p["containerPort"] for p in MANAGER["ports"]}
    assert ports == {"health": option_default("health_port"), "metrics": option_default("metrics_port")}
    assert f"--health-port={ports['health']}" in MANAGER["args"]
    assert MANAGER["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert MANAGER["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert "env" not in MANAGER  # SELDON_OPERATOR_TIMER_INTERVAL keeps its default
    assert {"name": "tmp", "mountPath": "/tmp"} in MANAGER["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in POD["volumes"]


def test_the_image_is_tagged_with_the_package_version() -> None:
    assert __version__ == importlib.metadata.version("seldon-meta-operator")
    assert MANAGER["image"] == f"seldonio/seldon-meta-operator:{__version__}"


def test_the_proxy_fronts_the_metrics_port_and_the_service_targets_the_proxy() -> None:
    proxy = CONTAINERS["kube-rbac-proxy"]
    assert proxy["image"].startswith("quay.io/brancz/kube-rbac-proxy:v")
    assert f"--upstream=http://127.0.0.1:{option_default('metrics_port')}/" in proxy["args"]
    service = doc("Service", install.METRICS_SERVICE)["spec"]
    labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= labels.items()
    assert DEPLOYMENT["spec"]["selector"]["matchLabels"] == service["selector"]
    assert service["ports"] == [{"name": "https", "port": 8443, "targetPort": "https", "protocol": "TCP"}]
    policy = doc("NetworkPolicy", install.NAME)["spec"]
    assert policy["podSelector"]["matchLabels"] == service["selector"]
    assert policy["ingress"] == [{"ports": [{"port": 8443, "protocol": "TCP"}]}]


def test_two_replicas_elect_a_leader_roll_one_at_a_time_and_spread_over_nodes() -> None:
    assert DEPLOYMENT["spec"]["replicas"] == 2
    assert "--leader-elect" in MANAGER["args"]
    assert DEPLOYMENT["spec"]["strategy"]["type"] == "RollingUpdate"
    assert DEPLOYMENT["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budget = doc("PodDisruptionBudget", install.NAME)["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"] == DEPLOYMENT["spec"]["selector"]
    term = POD["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


def test_probes_and_metrics_bind_loopback_unless_told_and_the_pod_opens_health_to_the_kubelet() -> None:
    assert option_default("health_host") == "127.0.0.1"
    assert option_default("metrics_host") == "127.0.0.1"
    assert "--health-host=0.0.0.0" in MANAGER["args"]
    assert "--metrics-host=127.0.0.1" in MANAGER["args"]


# --- The image ---------------------------------------------------------------------------------------------


def test_the_dockerfile_builds_the_image_the_deployment_runs() -> None:
    # Text checks only: tests/integration/test_image.py builds the image and runs it as the Deployment does.
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim", text, re.M)  # `docker build .` works as the README says
    assert "FROM ${BASE_IMAGE} AS build" in text
    assert "COPY --from=build /opt/venv /opt/venv" in text  # the final stage gets the venv only
    assert re.search(rf"^USER {MANAGER['securityContext']['runAsUser']}(:\d+)?$", text, re.M)
    assert 'ENTRYPOINT ["seldon-meta-operator"]' in text
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert patterns[0] == "*"  # an allow-list: only what `pip install .` reads enters the build context
    assert {"!pyproject.toml", "!README.md", "!src/"} <= set(patterns)
