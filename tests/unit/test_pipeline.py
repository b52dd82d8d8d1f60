"""The render pipeline (render/pipeline.py, render/ownership.py, render/validate.py): which components render, the
labels and owner references stamped on every object, derived prerequisites, unknown-value warnings and apply
order. Components made for the test pin the pipeline's own behaviour; the real registry shows it end to end."""

from __future__ import annotations

from typing import Any

import pytest
from tests.builders import (
    FEATURES,
    NAME,
    NS,
    core_values,
    enable,
    enterprise_values,
    example,
    external_elastic,
    parse,
    platform,
    render,
    spec,
    uid,
)

from seldon_meta_operator.api.v1alpha1 import API_VERSION, KIND
from seldon_meta_operator.components import REGISTRY, component_names
from seldon_meta_operator.components.base import (
    BUILTIN_GROUPS,
    CORE,
    ENTERPRISE,
    Component,
    Manifest,
    Prerequisite,
    RenderContext,
    ValuesSchema,
    meta,
    obj,
)
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render.ownership import (
    COMPONENT_LABEL,
    CRD_NAME,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    PLATFORM_LABEL,
    PLATFORM_NAMESPACE_LABEL,
    PLATFORM_UID_LABEL,
    is_namespaced,
    object_key,
    parse_key,
)
from seldon_meta_operator.render.pipeline import RenderResult, render_platform, sort_key

OWNER_UID = "0b4e4e9c-1111-4222-8333-444455556666"
CRD_UID = "c0ffee00-1111-4222-8333-444455556666"
ALL_ON = (enable(*FEATURES),)


# --- Components made for the test --------------------------------------------------------------------------


def fake(
    name: str,
    objects: list[Manifest] | None = None,
    *,
    enabled: bool = True,
    error: str | None = None,
    values: tuple[ValuesSchema, ...] = (),
    prerequisites: tuple[Prerequisite, ...] = (),
) -> Component:
    def render_(ctx: RenderContext) -> list[Manifest]:
        if error:
            raise SpecError(error)
        return [dict(o) for o in objects or []]

    return Component(
        name=name,
        title=name.title(),
        enabled=lambda s: enabled,
        render=render_,
        values=values,
        prerequisites=prerequisites,
    )


def cm(name: str, namespace: str | None = NS) -> Manifest:
    return obj("v1", "ConfigMap", meta(name, namespace, labels={"app": name}), data={"k": "v"})


def cluster_role(name: str) -> Manifest:
    return obj("rbac.authorization.k8s.io/v1", "ClusterRole", meta(name), rules=[])


def crd(group: str, kind: str) -> Manifest:
    plural = kind.lower() + "s"
    return obj(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        meta(f"{plural}.{group}"),
        spec={"group": group, "names": {"kind": kind, "plural": plural}, "scope": "Namespaced", "versions": []},
    )


#: Namespaces the made-up components below use besides the platform's; the policy refuses others (test_policy.py).
OTHER_NAMESPACES = frozenset({"other", "other-namespace", "a-namespace", "zz"})


def render_with(*components: Component, **kwargs: Any) -> RenderResult:
    kwargs.setdefault("allowed_namespaces", OTHER_NAMESPACES)
    return render_platform(parse(platform()), registry=components, **kwargs)


# --- Which components render -------------------------------------------------------------------------------


def test_every_component_is_listed_in_registry_order_even_when_disabled() -> None:
    result = render(platform())
    assert [c.name for c in result.components] == list(component_names())


def test_the_minimal_installation_enables_only_seldon_core_and_seldon_deploy() -> None:
    result = render(platform())
    assert [c.name for c in result.components if c.enabled] == ["seldon_core", "seldon_deploy"]


DISABLED: list[tuple[str, tuple[Any, ...], list[str]]] = [
    ("analytics off", (enable("catalogue", "payloadstore", "routing", "detectors"),), ["analytics"]),
    ("catalogue off", (enable("analytics", "payloadstore", "routing", "detectors"),), ["postgres"]),
    ("payloadstore off", (enable("analytics", "catalogue", "routing"),), ["opensearch", "request_logger"]),
    ("an external payload store", (external_elastic(),), ["opensearch"]),
    ("routing off", (enable("analytics", "catalogue", "payloadstore"),), ["routing", "detectors"]),
    ("detectors off", (enable("analytics", "catalogue", "payloadstore", "routing"),), ["detectors"]),
]


@pytest.mark.parametrize(
    ("mods", "components"),
    [d[1:] for d in DISABLED],
    ids=[f"with {d[0]}, {' and '.join(d[2])} render nothing but stay listed" for d in DISABLED],
)
def test_a_disabled_component_renders_nothing_but_stays_listed(mods: tuple[Any, ...], components: list[str]) -> None:
    result = render(platform(*mods))
    for name in components:
        comp = result.component(name)
        assert comp.enabled is False, name
        assert comp.manifests == (), name
        assert name not in result.inventory()
    assert [c.name for c in result.components] == list(component_names())


def test_a_disabled_component_is_never_rendered_at_all() -> None:
    def explode(ctx: RenderContext) -> list[Manifest]:
        raise AssertionError("rendered while disabled")

    off = Component(name="off", title="Off", enabled=lambda s: False, render=explode)
    result = render_with(fake("on", [cm("a")]), off)
    assert [(c.name, c.enabled, len(c.manifests)) for c in result.components] == [("on", True, 1), ("off", False, 0)]


def test_the_inventory_lists_the_object_keys_of_enabled_components() -> None:
    result = render_with(fake("on", [cm("b"), cm("a")]), fake("off", [cm("c")], enabled=False))
    assert result.inventory() == {"on": ["v1/ConfigMap/seldon-system/a", "v1/ConfigMap/seldon-system/b"]}


def test_object_keys_round_trip_and_keep_the_group_version() -> None:
    role = cluster_role("r")
    assert object_key(role) == "rbac.authorization.k8s.io/v1/ClusterRole//r"
    assert parse_key(object_key(role)) == ("rbac.authorization.k8s.io/v1", "ClusterRole", "", "r")
    assert parse_key(object_key(cm("x"))) == ("v1", "ConfigMap", NS, "x")


# --- Labels ------------------------------------------------------------------------------------------------


def test_every_object_carries_the_three_platform_labels() -> None:
    result = render(platform(*ALL_ON, name="prod"))
    assert result.manifests
    for comp in result.components:
        for manifest in comp.manifests:
            labels = manifest["metadata"]["labels"]
            assert labels[MANAGED_BY_LABEL] == MANAGED_BY, object_key(manifest)
            assert labels[PLATFORM_LABEL] == "prod", object_key(manifest)
            assert labels[COMPONENT_LABEL] == comp.name, object_key(manifest)


def test_a_components_own_labels_are_kept_next_to_ours() -> None:
    result = render_with(fake("mine", [cm("a")]))
    assert result.manifests[0]["metadata"]["labels"] == {
        "app": "a",
        MANAGED_BY_LABEL: MANAGED_BY,
        PLATFORM_LABEL: NAME,
        PLATFORM_NAMESPACE_LABEL: NS,
        COMPONENT_LABEL: "mine",
    }


def test_with_an_owner_uid_every_object_carries_it_so_clean_up_never_selects_by_name_alone() -> None:
    result = render(platform(*ALL_ON), owner_uid=OWNER_UID)
    assert result.manifests
    for manifest in result.manifests:
        labels = manifest["metadata"]["labels"]
        assert labels[PLATFORM_UID_LABEL] == OWNER_UID, object_key(manifest)
        assert labels[PLATFORM_NAMESPACE_LABEL] == NS, object_key(manifest)
    assert all(PLATFORM_UID_LABEL not in m["metadata"]["labels"] for m in render(platform(*ALL_ON)).manifests)


def test_stamping_does_not_change_what_the_component_returned() -> None:
    original = cm("a")
    component = Component(name="c", title="C", enabled=lambda s: True, render=lambda ctx: [original])
    render_with(component, owner_uid=OWNER_UID)
    assert original == cm("a")


# --- Owner references --------------------------------------------------------------------------------------


OWNERSHIP_OBJECTS = [
    cm("here"),
    cm("elsewhere", "other-namespace"),
    cluster_role("role"),
    crd("example.com", "Widget"),
]


def owners(result: RenderResult) -> dict[str, list[dict[str, Any]] | None]:
    return {m["metadata"]["name"]: m["metadata"].get("ownerReferences") for m in result.manifests}


def test_no_owner_references_without_an_owner_uid() -> None:
    result = render_with(fake("c", OWNERSHIP_OBJECTS))
    assert set(owners(result).values()) == {None}


def test_with_an_owner_uid_only_objects_in_the_platform_namespace_are_owned_by_the_seldonoperator() -> None:
    found = owners(render_with(fake("c", OWNERSHIP_OBJECTS), owner_uid=OWNER_UID))
    assert found["here"] == [
        {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": NAME,
            "uid": OWNER_UID,
            "controller": True,
            "blockOwnerDeletion": False,
        }
    ]
    assert found["elsewhere"] is None
    assert found["role"] is None
    assert found["widgets.example.com"] is None


def test_with_a_crd_uid_objects_outside_the_platform_namespace_are_owned_by_our_crd() -> None:
    found = owners(render_with(fake("c", OWNERSHIP_OBJECTS), owner_uid=OWNER_UID, crd_uid=CRD_UID))
    crd_owner = [
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "name": CRD_NAME,
            "uid": CRD_UID,
            "blockOwnerDeletion": False,
        }
    ]
    assert found["role"] == crd_owner
    assert found["elsewhere"] == crd_owner
    assert found["here"] is not None and found["here"][0]["uid"] == OWNER_UID


@pytest.mark.parametrize(
    ("owner_uid", "crd_uid"),
    [(None, None), (OWNER_UID, None), (OWNER_UID, CRD_UID), (None, CRD_UID)],
    ids=[
        "CRDs get no owner without uids",
        "CRDs get no owner with the owner uid",
        "CRDs get no owner with both uids",
        "CRDs get no owner with the crd uid",
    ],
)
def test_crds_are_never_owned(owner_uid: str | None, crd_uid: str | None) -> None:
    found = owners(render_with(fake("c", OWNERSHIP_OBJECTS), owner_uid=owner_uid, crd_uid=crd_uid))
    assert found["widgets.example.com"] is None


def test_the_real_platform_is_owned_as_documented() -> None:
    result = render(platform(*ALL_ON, uid()), owner_uid=OWNER_UID, crd_uid=CRD_UID)
    for manifest in result.manifests:
        refs = manifest["metadata"].get("ownerReferences")
        key = object_key(manifest)
        if manifest["kind"] == "CustomResourceDefinition":
            assert refs is None, key
        elif is_namespaced(manifest) and manifest["metadata"].get("namespace") == NS:
            assert refs and refs[0]["uid"] == OWNER_UID and refs[0]["kind"] == KIND, key
        else:
            assert refs and refs[0]["uid"] == CRD_UID, key
        for ref in refs or []:
            assert ref["blockOwnerDeletion"] is False, key


def test_every_namespaced_object_of_the_real_platform_names_its_namespace() -> None:
    for manifest in render(platform(*ALL_ON)).manifests:
        namespace = manifest["metadata"].get("namespace")
        if is_namespaced(manifest):
            assert namespace, object_key(manifest)
        else:
            assert namespace is None, object_key(manifest)


# --- Prerequisites -----------------------------------------------------------------------------------------


def prerequisite_keys(result: RenderResult, component: str) -> list[str]:
    return [p.key for p in result.component(component).prerequisites]


PREREQUISITES: list[tuple[str, tuple[Any, ...], str, list[str]]] = [
    (
        "routing needs the Istio Gateway and VirtualService",
        (enable("routing"),),
        "routing",
        ["networking.istio.io/Gateway", "networking.istio.io/VirtualService"],
    ),
    (
        "routing with the user's gateway needs only the VirtualService",
        (enable("routing"), spec({"routing": {"create_gateway": False}})),
        "routing",
        ["networking.istio.io/VirtualService"],
    ),
    (
        "detectors need Knative Eventing's Broker and Trigger and Knative Serving",
        (enable("routing", "detectors"),),
        "detectors",
        ["eventing.knative.dev/Broker", "eventing.knative.dev/Trigger", "serving.knative.dev/Service"],
    ),
    ("a disabled component needs nothing", (), "routing", []),
]


@pytest.mark.parametrize(
    ("mods", "component", "expected"), [p[1:] for p in PREREQUISITES], ids=[p[0] for p in PREREQUISITES]
)
def test_prerequisites_are_derived_from_the_rendered_kinds(
    mods: tuple[Any, ...], component: str, expected: list[str]
) -> None:
    assert prerequisite_keys(render(platform(*mods)), component) == expected


def test_prerequisites_carry_an_install_hint() -> None:
    result = render(platform(enable("routing", "detectors")))
    hints = {p.key: p.install_hint for c in result.components for p in c.prerequisites}
    assert "istioctl install" in hints["networking.istio.io/Gateway"]
    assert "mt-channel-broker" in hints["eventing.knative.dev/Broker"]
    assert "net-istio" in hints["serving.knative.dev/Service"]


def test_the_minimal_installation_needs_no_prerequisite() -> None:
    result = render(platform())
    needed = {c.name: [p.key for p in c.prerequisites] for c in result.components if c.enabled and c.prerequisites}
    assert needed == {}


def test_a_kind_whose_crd_the_component_renders_itself_is_no_prerequisite() -> None:
    widget = obj("example.com/v1", "Widget", meta("w", NS))
    gadget = obj("gadgets.io/v1", "Gadget", meta("g", NS))
    result = render_with(fake("c", [crd("example.com", "Widget"), widget, gadget]))
    (prerequisite,) = result.component("c").prerequisites
    assert prerequisite.key == "gadgets.io/Gadget"
    assert "gadgets.io/Gadget" in prerequisite.install_hint


def test_built_in_kinds_are_no_prerequisites() -> None:
    objects = [cm("a"), cluster_role("r"), obj("apps/v1", "Deployment", meta("d", NS), spec={})]
    assert render_with(fake("c", objects)).component("c").prerequisites == ()


# --- Unknown values ----------------------------------------------------------------------------------------


WARNINGS: list[tuple[str, Any, str]] = [
    (
        "a misspelt key under a known map",
        enterprise_values(**{"virtualService.gatways": ["x/y"]}),
        "spec.enterprise.values.virtualService.gatways: no component reads this key; did you mean `gateways`?",
    ),
    (
        "a misspelt Seldon Core key",
        core_values(**{"istio.gatway": "x/y"}),
        "spec.core.values.istio.gatway: no component reads this key; did you mean `gateway`?",
    ),
    (
        "a key unlike any other",
        enterprise_values(zzzNothingLikeIt=1),
        "spec.enterprise.values.zzzNothingLikeIt: no component reads this key; "
        "check the key against the chart's values",
    ),
]


@pytest.mark.parametrize(
    ("mod", "warning"), [w[1:] for w in WARNINGS], ids=[f"{w[0]} is warned about" for w in WARNINGS]
)
def test_unknown_value_keys_produce_warnings_with_suggestions(mod: Any, warning: str) -> None:
    assert warning in render(platform(enable("routing"), mod)).warnings


SCHEMA = ValuesSchema(
    root=CORE,
    defaults={"istio": {"enabled": False, "gateway": "istio-system/seldon-gateway"}, "image": {"tag": "1"}},
    optional=("image.registry", "priorityClassName"),
    open_maps=("manager.annotations",),
)


def warnings_for(values: dict[str, Any], root: str = CORE) -> list[str]:
    schema_component = fake("c", values=(SCHEMA,))
    doc = platform(core_values(values) if root == CORE else enterprise_values(values))
    return list(render_platform(parse(doc), registry=(schema_component,)).warnings)


WARNING_RULES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("a key with a default is known", {"istio": {"gateway": "a/b"}}, []),
    ("an optional key without a default is known", {"image": {"registry": "r"}, "priorityClassName": "p"}, []),
    ("keys inside an open map are the user's", {"manager": {"annotations": {"any.thing/x": "1"}}}, []),
    (
        "an unknown subtree is warned about once, at its top",
        {"nosuch": {"deeper": {"key": 1}}},
        ["spec.core.values.nosuch: no component reads this key; check the key against the chart's values"],
    ),
    (
        "a sibling of an open map is still checked",
        {"manager": {"annotation": {}}},
        ["spec.core.values.manager.annotation: no component reads this key; did you mean `annotations`?"],
    ),
    (
        "every unknown key is reported",
        {"istio": {"gatway": "a/b", "enable": True}},
        [
            "spec.core.values.istio.gatway: no component reads this key; did you mean `gateway`?",
            "spec.core.values.istio.enable: no component reads this key; did you mean `enabled`?",
        ],
    ),
]


@pytest.mark.parametrize(("values", "expected"), [w[1:] for w in WARNING_RULES], ids=[w[0] for w in WARNING_RULES])
def test_unknown_value_warning_rules(values: dict[str, Any], expected: list[str]) -> None:
    assert sorted(warnings_for(values)) == sorted(expected)


def test_values_of_the_other_root_are_checked_against_that_roots_schemas() -> None:
    assert warnings_for({"istio": {"gateway": "a/b"}}, root=ENTERPRISE) == [
        "spec.enterprise.values.istio: no component reads this key; check the key against the chart's values"
    ]


def test_a_disabled_components_keys_are_still_known() -> None:
    # Values for a feature that is off are kept for when it is turned on, not reported as typos.
    result = render(platform(enterprise_values(**{"virtualService.prefix": "/deploy/"})))
    assert result.component("routing").enabled is False
    assert result.warnings == ()


# --- Errors ------------------------------------------------------------------------------------------------


def test_spec_errors_of_every_component_are_reported_together() -> None:
    with pytest.raises(SpecError) as caught:
        render_with(fake("a", error="spec.core.values.x: bad"), fake("b", [cm("ok")]), fake("c", error="spec.y: bad"))
    assert str(caught.value) == "spec.core.values.x: bad; spec.y: bad"


def test_two_components_rendering_the_same_object_is_an_error_naming_both() -> None:
    with pytest.raises(SpecError, match=r"v1/ConfigMap/seldon-system/same is rendered by both first and second"):
        render_with(fake("first", [cm("same")]), fake("second", [cm("same")]))


def test_the_same_name_in_two_namespaces_is_two_objects() -> None:
    result = render_with(fake("first", [cm("same")]), fake("second", [cm("same", "other")]))
    assert len(result.manifests) == 2


# --- Apply order -------------------------------------------------------------------------------------------


ORDER: list[tuple[str, str]] = [
    ("CustomResourceDefinition", "Namespace"),
    ("Namespace", "ServiceAccount"),
    ("ServiceAccount", "Secret"),
    ("Secret", "ConfigMap"),
    ("ConfigMap", "ClusterRole"),
    ("ClusterRole", "ClusterRoleBinding"),
    ("ClusterRoleBinding", "Role"),
    ("Role", "RoleBinding"),
    ("RoleBinding", "PersistentVolumeClaim"),
    ("PersistentVolumeClaim", "Service"),
    ("Service", "Deployment"),
    ("Deployment", "StatefulSet"),
    ("StatefulSet", "DaemonSet"),
    ("DaemonSet", "ValidatingWebhookConfiguration"),
    ("ValidatingWebhookConfiguration", "Gateway"),
]


@pytest.mark.parametrize(("first", "then"), ORDER, ids=[f"a {a} is applied before a {b}" for a, b in ORDER])
def test_apply_order_of_kinds(first: str, then: str) -> None:
    # Names in reverse order, so that only the kinds' ranks can put them in this order.
    earlier = crd("zzz.io", "Zzz") if first == "CustomResourceDefinition" else obj("v1", first, meta("zzz", NS))
    later = obj("v1", then, meta("aaa", "a-namespace"))
    assert sort_key(earlier) < sort_key(later)
    assert [m["kind"] for m in render_with(fake("c", [later, earlier])).manifests] == [first, then]


def is_custom(manifest: Manifest) -> bool:
    api_version: str = manifest["apiVersion"]
    return (api_version.rsplit("/", 1)[0] if "/" in api_version else "") not in BUILTIN_GROUPS


def test_custom_resources_come_after_every_built_in_kind() -> None:
    manifests = render(platform(*ALL_ON)).manifests
    builtin = [i for i, m in enumerate(manifests) if not is_custom(m)]
    custom = [i for i, m in enumerate(manifests) if is_custom(m)]
    assert custom, "the all-features platform renders Istio and Knative objects"
    assert max(builtin) < min(custom)


def test_webhook_configurations_come_after_every_other_built_in_kind() -> None:
    manifests = [m for m in render(platform(*ALL_ON)).manifests if not is_custom(m)]
    kinds = [m["kind"] for m in manifests]
    webhooks = [i for i, k in enumerate(kinds) if k.endswith("WebhookConfiguration")]
    assert webhooks, "Seldon Core renders its validating webhook"
    assert webhooks == list(range(len(kinds) - len(webhooks), len(kinds)))


def test_objects_of_one_kind_are_ordered_by_namespace_and_name() -> None:
    result = render_with(fake("c", [cm("b"), cm("a", "zz"), cm("a"), cluster_role("z"), crd("x.io", "Thing")]))
    assert [object_key(m) for m in result.manifests] == [
        "apiextensions.k8s.io/v1/CustomResourceDefinition//things.x.io",
        "v1/ConfigMap/seldon-system/a",
        "v1/ConfigMap/seldon-system/b",
        "v1/ConfigMap/zz/a",
        "rbac.authorization.k8s.io/v1/ClusterRole//z",
    ]
    assert result.manifests == sorted(result.manifests, key=sort_key)


def test_each_components_objects_are_in_apply_order_too() -> None:
    for comp in render(platform(*ALL_ON)).components:
        assert list(comp.manifests) == sorted(comp.manifests, key=sort_key), comp.name


def test_the_examples_render_in_apply_order() -> None:
    result = render(example("all-features"))
    assert result.manifests == sorted(result.manifests, key=sort_key)


def test_registry_components_have_unique_names_and_depend_only_on_earlier_ones() -> None:
    seen: list[str] = []
    for comp in REGISTRY:
        assert comp.name not in seen
        assert all(dep in seen for dep in comp.depends_on), (comp.name, comp.depends_on)
        seen.append(comp.name)
