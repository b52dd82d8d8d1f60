"""Values merging (render/values.py) and the precedence of its layers: component defaults < feature wiring < user
values."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.builders import (
    NS,
    core_values,
    custom_gateway,
    enable,
    enterprise_values,
    example,
    parse,
    platform,
    render,
)

from seldon_meta_operator.api.v1alpha1 import SeldonOperatorSpec
from seldon_meta_operator.components.base import (
    ANALYTICS,
    CORE,
    ENTERPRISE,
    Component,
    Layers,
    Values,
    ValuesSchema,
    WiringContext,
)
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render.pipeline import merged_values
from seldon_meta_operator.render.values import deep_merge, merge_layers, set_path, tree, tree_copy

# --- deep_merge --------------------------------------------------------------------------------------------


MERGES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("maps merge key by key", {"a": 1, "b": 2}, {"b": 3, "c": 4}, {"a": 1, "b": 3, "c": 4}),
    (
        "nested maps merge at every level",
        {"x": {"y": {"a": 1, "b": 2}, "k": "v"}},
        {"x": {"y": {"b": 20}}},
        {"x": {"y": {"a": 1, "b": 20}, "k": "v"}},
    ),
    ("lists replace, never append", {"l": [1, 2, 3]}, {"l": [4]}, {"l": [4]}),
    ("an empty list replaces a list", {"l": [1]}, {"l": []}, {"l": []}),
    ("scalars replace", {"s": "a", "n": 1, "b": True}, {"s": "b", "n": 2, "b": False}, {"s": "b", "n": 2, "b": False}),
    ("None deletes a key", {"a": 1, "b": 2}, {"a": None}, {"b": 2}),
    ("None deletes a nested key", {"x": {"a": 1, "b": 2}}, {"x": {"b": None}}, {"x": {"a": 1}}),
    ("None deletes a whole subtree", {"x": {"a": {"deep": 1}}, "y": 1}, {"x": None}, {"y": 1}),
    ("None for an absent key changes nothing", {"a": 1}, {"zzz": None}, {"a": 1}),
    ("a mapping replaces a scalar", {"a": "text"}, {"a": {"k": 1}}, {"a": {"k": 1}}),
    ("a scalar replaces a mapping", {"a": {"k": 1}}, {"a": "text"}, {"a": "text"}),
    ("a list replaces a mapping", {"a": {"k": 1}}, {"a": [1]}, {"a": [1]}),
    ("an empty override changes nothing", {"a": {"b": 1}}, {}, {"a": {"b": 1}}),
    ("an empty map merges into a map without removing keys", {"a": {"b": 1}}, {"a": {}}, {"a": {"b": 1}}),
    ("false and zero are values, not deletions", {"a": True, "n": 5}, {"a": False, "n": 0}, {"a": False, "n": 0}),
]


@pytest.mark.parametrize(("base", "override", "expected"), [m[1:] for m in MERGES], ids=[m[0] for m in MERGES])
def test_deep_merge(base: dict[str, Any], override: dict[str, Any], expected: dict[str, Any]) -> None:
    assert deep_merge(base, override) == expected


@pytest.mark.parametrize(
    ("base", "override"), [m[1:3] for m in MERGES], ids=[f"inputs are not mutated when {m[0]}" for m in MERGES]
)
def test_deep_merge_does_not_mutate_its_inputs(base: dict[str, Any], override: dict[str, Any]) -> None:
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)
    deep_merge(base, override)
    assert (base, override) == (base_before, override_before)


def test_the_merged_mapping_shares_nothing_with_its_inputs() -> None:
    base = {"x": {"l": [1], "m": {"k": "v"}}}
    override = {"y": {"l": [2]}}
    merged = deep_merge(base, override)
    merged["x"]["l"].append(99)
    merged["x"]["m"]["k"] = "changed"
    merged["y"]["l"].append(99)
    assert base == {"x": {"l": [1], "m": {"k": "v"}}}
    assert override == {"y": {"l": [2]}}


def test_tree_copy_is_an_equal_tree_that_shares_no_dict_or_list() -> None:
    shared = {"k": ["v"]}
    original: dict[str, Any] = {"a": shared, "b": [shared, 1, 2.5, True, None, "s"], "t": ("x", {"y": 1}), "s": {3}}
    copied = tree_copy(original)
    assert copied == original
    copied["a"]["k"].append("changed")
    copied["t"][1]["y"] = 2  # neither JSON type: copied by copy.deepcopy
    copied["s"].add(4)
    assert original == {"a": {"k": ["v"]}, "b": [{"k": ["v"]}, 1, 2.5, True, None, "s"], "t": ("x", {"y": 1}), "s": {3}}
    assert copied["a"] is not copied["b"][0]  # a subtree met twice is copied twice


_leaf = st.none() | st.integers() | st.text(max_size=3) | st.lists(st.integers(), max_size=2)
_values = st.dictionaries(
    st.sampled_from("abcde"),
    st.recursive(_leaf, lambda inner: st.dictionaries(st.sampled_from("abcde"), inner, max_size=4), max_leaves=12),
    max_size=5,
)


@settings(max_examples=200, deadline=None, derandomize=os.environ.get("CI") == "true")  # reproducible in CI
@given(_values, _values)
def test_deep_merge_is_helms_merge(base: dict[str, Any], override: dict[str, Any]) -> None:
    """The reference: copy the base, then per override key delete (None), merge two mappings, or replace."""

    def reference(b: dict[str, Any], o: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(b)
        for key, value in o.items():
            if value is None:
                out.pop(key, None)
            elif isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = reference(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out

    merged = deep_merge(base, override)
    assert merged == reference(base, override)
    assert list(merged) == list(reference(base, override))  # and the keys in the same order


def test_merge_layers_applies_layers_lowest_first() -> None:
    layers = [{"a": 1, "b": {"c": 1}}, {"b": {"c": 2, "d": 2}}, {"a": 3, "b": {"d": None}}]
    assert merge_layers(layers) == {"a": 3, "b": {"c": 2}}
    assert merge_layers([]) == {}


def test_tree_and_set_path_build_nested_layers_from_dotted_paths() -> None:
    assert tree(**{"istio.enabled": True, "istio.gateway": "ns/gw", "top": 1}) == {
        "istio": {"enabled": True, "gateway": "ns/gw"},
        "top": 1,
    }
    existing: dict[str, Any] = {"a": {"keep": 1}}
    assert set_path(existing, "a.b.c", 2) is existing
    assert existing == {"a": {"keep": 1, "b": {"c": 2}}}


# --- Precedence, with components made for the test ---------------------------------------------------------


def _defaults_component() -> Component:
    return Component(
        name="defaults",
        title="Defaults",
        enabled=lambda s: True,
        render=lambda ctx: [],
        values=(
            ValuesSchema(root=CORE, defaults={"gateway": "istio-system/seldon-gateway", "port": 80, "tags": ["a"]}),
            ValuesSchema(root=ENTERPRISE, defaults={"service": {"type": "ClusterIP", "port": 80}}),
        ),
    )


def _wiring(w: WiringContext) -> Layers:
    if not w.spec.enable.routing:
        return {}
    return {
        CORE: {"gateway": f"{w.namespace}/seldon-gateway", "tags": ["wired"]},
        ENTERPRISE: {"service": {"port": 8080}},
    }


def _wiring_component() -> Component:
    return Component(name="wiring", title="Wiring", enabled=lambda s: True, render=lambda ctx: [], wiring=_wiring)


REGISTRY = (_defaults_component(), _wiring_component())


def merged(*mods: Any, namespace: str = "ml") -> dict[str, dict[str, Any]]:
    return merged_values(parse(platform(*mods, namespace=namespace)).spec, "p", namespace, REGISTRY)


PRECEDENCE: list[tuple[str, tuple[Any, ...], str, str, Any]] = [
    ("component defaults apply when nothing else is set", (), CORE, "gateway", "istio-system/seldon-gateway"),
    ("wiring overrides a component default", (enable("routing"),), CORE, "gateway", "ml/seldon-gateway"),
    (
        "a user value overrides the wiring",
        (enable("routing"), core_values(gateway="istio-system/mine")),
        CORE,
        "gateway",
        "istio-system/mine",
    ),
    ("a user value overrides a default", (core_values(port=9000),), CORE, "port", 9000),
    ("a wired list replaces the default list", (enable("routing"),), CORE, "tags", ["wired"]),
    ("a user list replaces the wired list", (enable("routing"), core_values(tags=["mine"])), CORE, "tags", ["mine"]),
    (
        "wiring merges into a default map",
        (enable("routing"),),
        ENTERPRISE,
        "service",
        {"type": "ClusterIP", "port": 8080},
    ),
    (
        "user values merge into the wired map",
        (enable("routing"), enterprise_values(**{"service.type": "LoadBalancer"})),
        ENTERPRISE,
        "service",
        {"type": "LoadBalancer", "port": 8080},
    ),
    (
        "a user null deletes a default",
        (enterprise_values(**{"service.port": None}),),
        ENTERPRISE,
        "service",
        {"type": "ClusterIP"},
    ),
    ("a user null deletes a wired value", (enable("routing"), core_values(gateway=None)), CORE, "gateway", None),
]


@pytest.mark.parametrize(
    ("mods", "root", "key", "expected"), [p[1:] for p in PRECEDENCE], ids=[p[0] for p in PRECEDENCE]
)
def test_precedence_is_defaults_then_wiring_then_user_values(
    mods: tuple[Any, ...], root: str, key: str, expected: Any
) -> None:
    assert merged(*mods)[root].get(key) == expected


def test_only_the_three_roots_come_out_of_the_merge() -> None:
    assert set(merged()) == {CORE, ENTERPRISE, ANALYTICS}


def test_merging_does_not_change_the_users_spec() -> None:
    spec = parse(platform(enable("routing"), core_values(tags=["mine"], gateway=None))).spec
    before = spec.model_dump()
    merged_values(spec, "p", "ml", REGISTRY)
    assert spec.model_dump() == before


# --- Precedence with the real components ---------------------------------------------------------------------


def test_routing_wires_seldon_core_to_the_gateway_it_creates_in_the_platform_namespace() -> None:
    values = render(platform(enable("routing"), namespace="ml-platform")).values
    assert values[CORE]["istio"]["gateway"] == "ml-platform/seldon-gateway"
    assert values[CORE]["istio"]["enabled"] is True
    assert values[ENTERPRISE]["virtualService"]["gateways"] == ["ml-platform/seldon-gateway"]


def test_a_user_gateway_overrides_the_wired_one() -> None:
    values = render(platform(enable("routing"), core_values(**{"istio.gateway": "istio-system/other"}))).values
    assert values[CORE]["istio"]["gateway"] == "istio-system/other"
    assert values[CORE]["istio"]["enabled"] is True  # the rest of the wiring stays


def test_the_seeds_custom_gateway_example_points_both_charts_at_the_users_gateway() -> None:
    values = render(example("routing-custom-gateway")).values
    assert values[CORE]["istio"]["gateway"] == "istio-system/seldon-gateway"
    assert values[ENTERPRISE]["virtualService"]["gateways"] == ["istio-system/seldon-gateway"]
    assert render(platform(custom_gateway())).values == values


def test_without_routing_deploy_gets_no_virtual_service() -> None:
    assert render(platform()).values[ENTERPRISE]["virtualService"]["create"] is False


def test_turning_a_feature_off_also_unwires_it() -> None:
    on = render(platform(enable("routing", "detectors"))).values
    off = render(platform(enable("routing"))).values
    assert on[ENTERPRISE]["seldon"]["knativeEnabled"] is True
    assert off[ENTERPRISE]["seldon"]["knativeEnabled"] is False


def test_chart_defaults_are_the_lowest_layer_of_the_real_values() -> None:
    assert render(platform()).values[ENTERPRISE]["service"]["type"] == "ClusterIP"
    lb = render(example("load-balancer")).values
    assert lb[ENTERPRISE]["service"]["type"] == "LoadBalancer"


def test_the_render_result_carries_the_merged_values() -> None:
    resource = parse(platform(enable("routing", "analytics")))
    assert render(platform(enable("routing", "analytics"))).values == merged_values(
        resource.spec, resource.metadata.name, NS
    )


def test_an_empty_spec_merges_only_defaults_and_wiring() -> None:
    spec = SeldonOperatorSpec()
    assert merged_values(spec, "p", NS, REGISTRY) == {
        CORE: {"gateway": "istio-system/seldon-gateway", "port": 80, "tags": ["a"]},
        ENTERPRISE: {"service": {"type": "ClusterIP", "port": 80}},
        ANALYTICS: {},
    }


# --- Reading merged values: the user's null or junk is a SpecError, a missing default is a bug ---------------


def test_a_null_that_removed_a_required_value_is_a_spec_error_naming_it() -> None:
    values = Values("enterprise", {"image": {}}, base={"image": {"image": "seldonio/x:1"}})
    with pytest.raises(SpecError, match=r"spec\.enterprise\.values\.image\.image: required, but a null removed it"):
        values.str("image.image")


def test_a_path_through_something_that_is_not_a_mapping_is_a_spec_error_naming_the_parent() -> None:
    values = Values("core", {"istio": 5}, base={"istio": {"gateway": "g"}})
    with pytest.raises(SpecError, match=r"spec\.core\.values\.istio: expected a mapping, got 5"):
        values.str("istio.gateway")


def test_a_key_without_any_default_is_a_component_bug_not_a_spec_error() -> None:
    with pytest.raises(KeyError, match="has no default"):
        Values("core", {}, base={}).str("never.declared")


def test_an_explicit_default_still_wins_over_a_missing_key() -> None:
    assert Values("core", {}, base={"a": 1}).int("a", 7) == 7
