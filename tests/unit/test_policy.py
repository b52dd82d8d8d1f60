"""render/policy.py: every refusal (issue 8, "values cannot widen power"), each naming the object, the field, the
spec field that usually sets it and the fix; the admin's opt-in and allowed namespaces; all violations at once;
and hostile sizes refused before anything walks them (depth, size, a 1 MB string) with a short message."""

from __future__ import annotations

from typing import Any

import pytest
from tests.builders import (
    NS,
    all_features,
    core_values,
    enable,
    enterprise_values,
    parse,
    platform,
    privileged_pods,
    render,
    spec,
)

from seldon_meta_operator.api.v1alpha1 import (
    VALUES_MAX_BYTES,
    VALUES_MAX_DEPTH,
    VALUES_MAX_PROPERTIES,
    parse_seldon_operator,
    parse_spec,
)
from seldon_meta_operator.components.base import Component, Manifest, meta, obj
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render import policy
from seldon_meta_operator.render.pipeline import render_platform

Mod = Any

# --- Refusals through real values ----------------------------------------------------------------------------

#: (sentence, modifiers, what the message must name: object, field, value path)
REFUSED: list[tuple[str, list[Mod], list[str]]] = [
    (
        "usage metrics would put the volunteer in kube-system",
        [core_values({"usageMetrics": {"enabled": True}})],
        ["Deployment kube-system/seldon-spartakus-volunteer", "metadata.namespace", "usageMetrics.enabled"],
    ),
    (
        "Argo CD's namespace would get a Role",
        [enterprise_values({"gitops": {"argocd": {"enabled": True, "namespace": "team-b"}, "git": {"secret": "g"}}})],
        ["Role team-b/seldon-deploy-argocd", "metadata.namespace", "spec.enterprise.values.gitops.argocd.namespace"],
    ),
    (
        "a request logger namespace in the values would get Deploy's logs Role",
        [enterprise_values({"requestLogger": {"namespace": {"name": "kube-system"}}})],
        ["Role kube-system/seldon-deploy-logs", "spec.enterprise.values.requestLogger.namespace.name"],
    ),
    (
        "Seldon Core's ClusterRoles would be bound to the tenant's default ServiceAccount",
        [core_values({"serviceAccount": {"create": False, "name": "default"}})],
        [
            f"ClusterRoleBinding seldon-manager-rolebinding-{NS}",
            "subjects[0]",
            "spec.core.values.serviceAccount.create",
            "keep serviceAccount.create: true",
        ],
    ),
    (
        "Deploy's ClusterRole would be bound to an existing ServiceAccount",
        [enterprise_values({"serviceAccount": {"create": False, "name": "default"}})],
        ["ClusterRoleBinding seldon-deploy-rolebinding", "subjects[0]", "spec.enterprise.values.serviceAccount"],
    ),
    (
        "the manager would share the host's network",
        [core_values({"hostNetwork": True})],
        ["Deployment seldon-system/seldon-controller-manager", "spec.template.spec.hostNetwork", "hostNetwork"],
    ),
    (
        "the manager would be privileged",
        [core_values({"manager": {"containerSecurityContext": {"privileged": True}}})],
        [
            "spec.template.spec.containers[manager].securityContext.privileged",
            "spec.core.values.manager.containerSecurityContext",
        ],
    ),
    (
        "the manager would add SYS_ADMIN",
        [core_values({"manager": {"containerSecurityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}})],
        ["securityContext.capabilities.add", "SYS_ADMIN"],
    ),
    (
        "the manager would escalate privileges, in the chart's own shape",
        [
            core_values(
                {"manager": {"containerSecurityContext": {"securityContext": {"allowPrivilegeEscalation": True}}}}
            )
        ],
        ["securityContext.allowPrivilegeEscalation: must be false"],
    ),
    (
        "the manager would run as root",
        [core_values({"managerUserID": 0})],
        ["spec.template.spec.securityContext.runAsUser", "spec.core.values.managerUserID"],
    ),
    (
        "the manager would allow root",
        [core_values({"manager": {"containerSecurityContext": {"runAsNonRoot": False}}})],
        ["securityContext.runAsNonRoot: must be true"],
    ),
    (
        "the manager would run unconfined by seccomp",
        [core_values({"manager": {"containerSecurityContext": {"seccompProfile": {"type": "Unconfined"}}}})],
        ["securityContext.seccompProfile.type"],
    ),
    (
        "the manager would keep every capability",
        [core_values({"manager": {"containerSecurityContext": {"capabilities": {"drop": []}}}})],
        ["securityContext.capabilities.drop: must drop ALL"],
    ),
]


@pytest.mark.parametrize(("mods", "named"), [r[1:] for r in REFUSED], ids=[f"refused: {r[0]}" for r in REFUSED])
def test_values_that_widen_power_are_refused_naming_object_field_value_and_fix(
    mods: list[Mod], named: list[str]
) -> None:
    with pytest.raises(SpecError) as caught:
        render(platform(*mods))
    message = str(caught.value)
    assert message.startswith("refused by the operator's security policy")
    for text in named:
        assert text in message, message


ADMITTED: list[tuple[str, list[Mod], frozenset[str]]] = [
    (
        "usage metrics, once the admin allows kube-system",
        [core_values({"usageMetrics": {"enabled": True}})],
        frozenset({"kube-system"}),
    ),
    (
        "Argo CD, once the admin allows its namespace",
        [enterprise_values({"gitops": {"argocd": {"enabled": True}, "git": {"secret": "g"}}})],
        frozenset({"argocd"}),
    ),
    ("host network with the admin's opt-in", [core_values({"hostNetwork": True}), privileged_pods()], frozenset()),
    (
        "a privileged, root manager with the admin's opt-in",
        [
            core_values({"managerUserID": 0, "manager": {"containerSecurityContext": {"privileged": True}}}),
            privileged_pods(),
        ],
        frozenset(),
    ),
    ("every feature on, restricted", [all_features()], frozenset()),
    (
        "a service account under another name, created by the platform",
        [core_values({"serviceAccount": {"name": "core"}}), enterprise_values({"serviceAccount": {"name": "dep"}})],
        frozenset(),
    ),
    (
        "a mirrored registry: images stay free",
        [core_values({"image": {"registry": "mirror.example.com"}})],
        frozenset(),
    ),
]


@pytest.mark.parametrize(("mods", "allowed"), [a[1:] for a in ADMITTED], ids=[f"admitted: {a[0]}" for a in ADMITTED])
def test_what_the_admin_allowed_renders(mods: list[Mod], allowed: frozenset[str]) -> None:
    assert render(platform(*mods), allowed_namespaces=allowed).manifests


def test_the_node_exporter_is_the_one_host_access_exception_and_by_name_only() -> None:
    result = render(platform(enable("analytics")))
    exporter = next(m for m in result.manifests if m["kind"] == "DaemonSet")
    assert exporter["spec"]["template"]["spec"]["hostNetwork"] is True
    renamed = {**exporter, "metadata": {**exporter["metadata"], "name": "something-else"}}
    found = policy.violations([("analytics", renamed)], namespace=NS, spec=parse(platform()).spec)
    assert {v.field.rsplit(".", 1)[-1] for v in found} >= {"hostNetwork", "hostPID", "hostPath", "hostPort"}


def test_every_violation_is_reported_at_once() -> None:
    doc = platform(
        core_values({"hostNetwork": True, "usageMetrics": {"enabled": True}, "serviceAccount": {"create": False}})
    )
    with pytest.raises(SpecError) as caught:
        render(doc)
    message = str(caught.value)
    assert "hostNetwork" in message and "kube-system" in message and "subjects[0]" in message


def test_opt_ins_lists_the_admins_opt_in_for_status() -> None:
    assert policy.opt_ins(parse(platform()).spec) == []
    assert policy.opt_ins(parse(platform(privileged_pods())).spec) == ["spec.security.allow_privileged_pods"]


# --- Refusals of objects no component renders today (the policy is generic) ---------------------------------


def one(manifest: Manifest) -> Component:
    return Component(name="made_up", title="Made up", enabled=lambda s: True, render=lambda ctx: [manifest])


def binding(subject: dict[str, Any], role: str = "mine") -> Manifest:
    return obj(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        meta("b"),
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        subjects=[subject],
    )


def pod(**spec_fields: Any) -> Manifest:
    container = {
        "name": "c",
        "image": "x",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    return obj("v1", "Pod", meta("p", NS), spec={"containers": [container], **spec_fields})


GENERIC: list[tuple[str, Manifest, str]] = [
    ("a User subject", binding({"kind": "User", "name": "alice"}), "binds the 'User' 'alice'"),
    ("a Group subject", binding({"kind": "Group", "name": "system:masters"}), "binds the 'Group'"),
    (
        "a binding to cluster-admin",
        binding({"kind": "ServiceAccount", "name": "sa", "namespace": NS}, role="cluster-admin"),
        "refers to 'ClusterRole' 'cluster-admin'",
    ),
    ("a hostPath volume", pod(volumes=[{"name": "v", "hostPath": {"path": "/"}}]), "hostPath volumes are refused"),
    ("the host's PID namespace", pod(hostPID=True), "host namespaces are refused"),
    ("the host's IPC namespace", pod(hostIPC=True), "host namespaces are refused"),
    (
        "an unsafe sysctl",
        pod(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}),
        "sysctl 'kernel.msgmax'",
    ),
    (
        "a pod-level root user",
        pod(securityContext={"runAsUser": 0}),
        "spec.securityContext.runAsUser: user 0 (root) is refused",
    ),
    (
        "a webhook calling a Service elsewhere",
        obj(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            meta("w"),
            webhooks=[{"name": "w", "clientConfig": {"service": {"name": "s", "namespace": "kube-system"}}}],
        ),
        "webhooks[0].clientConfig.service.namespace",
    ),
    ("an object in a namespace nobody allowed", obj("v1", "ConfigMap", meta("c", "elsewhere")), "'elsewhere'"),
]


@pytest.mark.parametrize(("manifest", "named"), [g[1:] for g in GENERIC], ids=[f"refused: {g[0]}" for g in GENERIC])
def test_the_policy_holds_for_any_object_whatever_renders_it(manifest: Manifest, named: str) -> None:
    sa = obj("v1", "ServiceAccount", meta("sa", NS))
    role = obj("rbac.authorization.k8s.io/v1", "ClusterRole", meta("mine"), rules=[])
    components = (Component(name="made_up", title="Made up", enabled=lambda s: True, render=lambda c: [sa, role]),)
    with pytest.raises(SpecError, match="refused by the operator's security policy") as caught:
        render_platform(parse(platform()), registry=(*components, one(manifest)))
    assert named in str(caught.value), str(caught.value)


def test_junk_where_the_policy_looks_is_a_violation_not_a_crash() -> None:
    junk = pod(securityContext=7, volumes="x", hostNetwork=False)
    junk["spec"]["containers"][0]["securityContext"] = {"capabilities": 1, "seccompProfile": "x"}
    found = policy.violations([("c", junk)], namespace=NS, spec=parse(platform()).spec)
    assert {v.field.rsplit(".", 1)[-1] for v in found} >= {"drop", "allowPrivilegeEscalation", "type"}


# --- Hostile sizes -------------------------------------------------------------------------------------------


def nested(levels: int) -> dict[str, Any]:
    tree: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        tree = {"a": tree}
    return tree


def nested_lists(levels: int) -> list[Any]:
    tree: list[Any] = [1]
    for _ in range(levels - 1):
        tree = [tree]
    return tree


HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    ("1000 levels deep", nested(1000), f"nested more than {VALUES_MAX_DEPTH} levels deep"),
    ("5000 levels deep", nested(5000), f"nested more than {VALUES_MAX_DEPTH} levels deep"),
    ("a 1 MB string", {"image": {"tag": "x" * 1_000_000}}, f"larger than {VALUES_MAX_BYTES // 1024} KiB"),
    ("many keys", {f"k{i}": i for i in range(VALUES_MAX_PROPERTIES + 1)}, f"more than {VALUES_MAX_PROPERTIES}"),
    ("lists 5000 deep", {"a": nested_lists(5000)}, "levels deep"),
]


@pytest.mark.parametrize(("values", "expected"), [h[1:] for h in HOSTILE], ids=[f"refused: {h[0]}" for h in HOSTILE])
@pytest.mark.parametrize("root", ["core", "enterprise"])
def test_hostile_values_are_a_short_spec_error_never_a_recursion_error(
    root: str, values: dict[str, Any], expected: str
) -> None:
    doc = platform()  # the values set directly: the builders deep-copy, which itself recurses
    doc["spec"] = {root: {"values": values}}
    for parse_ in (lambda: parse_seldon_operator(doc), lambda: parse_spec(doc["spec"])):
        with pytest.raises(SpecError) as caught:
            parse_()
        message = str(caught.value)
        assert f"spec.{root}.values" in message and expected in message, message
        assert len(message) < 300 and "xxxxxxxxxx" not in message


def test_a_model_built_without_the_parser_is_still_bounded_by_render() -> None:
    resource = parse(platform())
    deep_spec = resource.spec.model_copy(
        update={"core": resource.spec.core.model_copy(update={"values": nested(5000)})}
    )
    with pytest.raises(SpecError, match="nested more than"):
        render_platform(resource.model_copy(update={"spec": deep_spec}))


def test_a_huge_string_in_a_typed_field_is_not_repeated_in_the_message() -> None:
    doc = platform(spec({"catalogue": {"internal_postgres": {"storage_size": "9Gi" + "x" * 1_000_000}}}))
    with pytest.raises(SpecError) as caught:
        parse_seldon_operator(doc)
    assert len(str(caught.value)) < 600 and "1000003 characters" in str(caught.value)


def test_a_huge_value_a_component_rejects_is_not_repeated_in_the_message() -> None:
    with pytest.raises(SpecError) as caught:
        render(platform(core_values({"image": {"pullPolicy": "A" * 60_000}})))
    assert len(str(caught.value)) < 600 and "60000 characters" in str(caught.value)
