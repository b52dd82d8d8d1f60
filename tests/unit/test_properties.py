"""Properties of render_platform over random specs (hypothesis), and hostile input.

- For any combination of the settings, rendering is deterministic, emits no None, gives every object its identity
  and never renders two objects with one key.
- Junk under a typed spec field is a SpecError naming it, never another exception.
- Junk under any chart value key either renders or is a SpecError, never a crash (KeyError, TypeError, ...).
  The exhaustive tests at the end try every key the components declare and name the component that crashed.
"""

from __future__ import annotations

import math
import os
import re
import traceback
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.builders import EXTERNAL_ELASTIC_URL, FEATURES, Doc, platform, render, spec, walk

from seldon_meta_operator.api.v1alpha1 import QUANTITY_PATTERN, parse_seldon_operator
from seldon_meta_operator.components import REGISTRY
from seldon_meta_operator.components.base import CORE, ENTERPRISE, ROOTS
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render.output import dump_yaml
from seldon_meta_operator.render.ownership import is_namespaced, object_key
from seldon_meta_operator.render.pipeline import render_platform
from seldon_meta_operator.render.validate import known_paths

# Deterministic in CI (a red build must be reproducible), exploring new examples on developers' machines.
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow],
)
HOSTILE = settings(PROPERTY, max_examples=100)

DNS_LABEL = st.from_regex(r"\A[a-z]([-a-z0-9]{0,20}[a-z0-9])?\Z")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


# --- Random valid specs ------------------------------------------------------------------------------------


@st.composite
def documents(draw: st.DrawFn) -> Doc:
    enable = {f: draw(st.booleans()) for f in FEATURES}
    enable["routing"] = enable["routing"] or enable["detectors"]  # the cross-field rule
    use_internal = draw(st.booleans())
    tree: dict[str, Any] = {
        "enable": enable,
        "routing": {"create_gateway": draw(st.booleans())},
        "payloadstore": {
            "internal_elastic": {"use_internal": use_internal, "replicas": draw(st.integers(1, 9))},
        },
        "retain_data": draw(st.booleans()),
    }
    if not use_internal:
        tree["enterprise"] = {"values": {"elasticsearch": {"url": EXTERNAL_ELASTIC_URL}}}
    return platform(spec(tree), name=draw(DNS_LABEL), namespace=draw(DNS_LABEL))


@PROPERTY
@given(documents())
def test_rendering_twice_gives_identical_output(doc: Doc) -> None:
    first, second = render(doc), render(doc)
    assert first == second
    assert dump_yaml(first.manifests) == dump_yaml(second.manifests)


@PROPERTY
@given(documents())
def test_no_rendered_object_holds_none(doc: Doc) -> None:
    for manifest in render(doc).manifests:
        nones = [path for path, value in walk(manifest) if value is None]
        assert not nones, f"{object_key(manifest)}: None at {nones}"
        floats = [path for path, value in walk(manifest) if isinstance(value, float) and not math.isfinite(value)]
        assert not floats, f"{object_key(manifest)}: non-finite number at {floats}"


@PROPERTY
@given(documents())
def test_every_object_has_its_identity_and_a_valid_name(doc: Doc) -> None:
    for manifest in render(doc).manifests:
        assert isinstance(manifest.get("apiVersion"), str) and manifest["apiVersion"], manifest
        assert isinstance(manifest.get("kind"), str) and manifest["kind"], manifest
        name = manifest.get("metadata", {}).get("name")
        assert isinstance(name, str) and len(name) <= 253 and DNS_SUBDOMAIN.match(name), (manifest["kind"], name)


@PROPERTY
@given(documents())
def test_object_keys_are_unique(doc: Doc) -> None:
    keys = [object_key(m) for m in render(doc).manifests]
    assert len(keys) == len(set(keys))


@PROPERTY
@given(documents())
def test_every_namespaced_object_goes_to_the_seldonoperators_namespace(doc: Doc) -> None:
    namespace = doc["metadata"]["namespace"]
    for manifest in render(doc).manifests:
        if is_namespaced(manifest):
            assert manifest["metadata"].get("namespace") == namespace, object_key(manifest)


@PROPERTY
@given(documents())
def test_label_values_are_valid(doc: Doc) -> None:
    label_value = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
    for manifest in render(doc).manifests:
        for key, value in manifest["metadata"].get("labels", {}).items():
            assert isinstance(value, str) and len(value) <= 63 and label_value.match(value), (key, value)


# --- Junk ----------------------------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "true", "false", "yes", "null", "80", "-1", "0.5", "1Gi", "a/b", "{{ .Values }}", "☃"]),
)
KEYS = st.one_of(st.text(max_size=8), st.integers(-3, 3), st.booleans())
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=6,
)
JUNK_WITH_STRING_KEYS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def is_replicas(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 9


def is_quantity(value: Any) -> bool:
    return isinstance(value, str) and re.match(QUANTITY_PATTERN, value) is not None


def is_mapping(value: Any) -> bool:
    return isinstance(value, dict)


#: Typed fields of the spec and what they accept (as the CRD schema does).
TYPED_FIELDS: list[tuple[str, Any]] = [
    *((f"enable.{f}", is_bool) for f in FEATURES),
    ("routing.create_gateway", is_bool),
    ("payloadstore.internal_elastic.use_internal", is_bool),
    ("payloadstore.internal_elastic.replicas", is_replicas),
    ("payloadstore.internal_elastic.storage_size", is_quantity),
    ("catalogue.internal_postgres.storage_size", is_quantity),
    ("retain_data", is_bool),
    ("enable", is_mapping),
    ("routing", is_mapping),
    ("payloadstore", is_mapping),
    ("payloadstore.internal_elastic", is_mapping),
    ("catalogue", is_mapping),
    ("catalogue.internal_postgres", is_mapping),
    ("core", is_mapping),
    ("enterprise", is_mapping),
    ("core.values", is_mapping),
    ("enterprise.values", is_mapping),
]


def set_at(tree: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node = tree
    *parents, last = path.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value
    return tree


@st.composite
def invalid_field(draw: st.DrawFn) -> tuple[str, Any]:
    path, accepts = draw(st.sampled_from(TYPED_FIELDS))
    junk = draw(JUNK.filter(lambda v: v is not None and not accepts(v)))
    return path, junk


@HOSTILE
@given(invalid_field())
def test_junk_under_a_typed_spec_field_is_a_spec_error_naming_it(field: tuple[str, Any]) -> None:
    path, junk = field
    doc = platform(spec(set_at({}, path, junk)))
    with pytest.raises(SpecError) as caught:
        parse_seldon_operator(doc)
    assert f"spec.{path}" in str(caught.value)


@HOSTILE
@given(JUNK)
def test_junk_as_the_whole_spec_is_parsed_or_a_spec_error(junk: Any) -> None:
    doc = platform()
    doc["spec"] = junk
    try:
        resource = parse_seldon_operator(doc)
    except SpecError:
        return
    render_platform(resource)


@HOSTILE
@given(st.sampled_from([p for p, _ in TYPED_FIELDS] + ["unknown", "enable.unknown"]), JUNK)
def test_junk_anywhere_in_the_spec_is_parsed_or_a_spec_error(path: str, junk: Any) -> None:
    doc = platform(spec(set_at({"enable": {"routing": True}}, path, junk)))
    try:
        resource = parse_seldon_operator(doc)
    except SpecError:
        return
    try:
        render_platform(resource)
    except SpecError:
        return


# --- Junk under chart values ---------------------------------------------------------------------------------


def value_paths(root: str) -> list[str]:
    known, _ = known_paths(REGISTRY, root)
    return sorted(known)


VALUE_PATHS = [(root, path) for root in ROOTS for path in value_paths(root)]
#: Every component renders: all features on, trial stores, the created Gateway.
ALL_ON: dict[str, Any] = {"enable": dict.fromkeys(FEATURES, True)}


def crash_site(exc: BaseException) -> str:
    """Where render crashed: the deepest frame in a component module (not base.py), and the raising frame."""

    def where(frame: traceback.FrameSummary) -> str:
        return f"{frame.filename.rsplit('/src/', 1)[-1]}:{frame.lineno} in {frame.name}"

    frames = traceback.extract_tb(exc.__traceback__)
    components = [f for f in frames if "/components/" in f.filename and not f.filename.endswith("/base.py")]
    if components and components[-1] is not frames[-1]:
        return f"{where(components[-1])} (raised at {where(frames[-1])})"
    return where(frames[-1])


def render_values(root: str, values: Mapping[str, Any], base: Mapping[str, Any] = ALL_ON) -> str | None:
    """None when the values render or are a SpecError; otherwise where and how render crashed."""
    tree = dict(base)
    tree[root] = {"values": values}
    try:
        render_platform(parse_seldon_operator(platform(spec(tree))))
    except SpecError:
        return None
    except Exception as exc:  # the point: any other exception is a bug to report
        return f"{type(exc).__name__}: {exc} at {crash_site(exc)}"
    return None


@st.composite
def junk_values(draw: st.DrawFn) -> tuple[str, str, Any]:
    root, path = draw(st.sampled_from(VALUE_PATHS)) if VALUE_PATHS else (CORE, "anything")
    return root, path, draw(JUNK_WITH_STRING_KEYS)


@HOSTILE
@given(junk_values())
def test_junk_under_a_chart_value_renders_or_is_a_spec_error(case: tuple[str, str, Any]) -> None:
    root, path, junk = case
    crash = render_values(root, set_at({}, path, junk))
    assert crash is None, f"spec.{root}.values.{path}: {junk!r} crashed render: {crash}"


def wrong_types(default: Any) -> Iterator[Any]:
    """Values of another type than a key's default (what a user could write by mistake)."""
    if isinstance(default, bool):
        yield from ("maybe", {"enabled": True})
    elif isinstance(default, (int, float)):
        yield from ("twelve", [1])
    elif isinstance(default, str):
        yield from ({"value": default}, ["a"])
    elif isinstance(default, Mapping):
        yield from ("text", ["a"], 7)
    elif isinstance(default, list):
        yield from ("text", {"a": 1}, [{"unexpected": ["nested"]}])
    else:
        yield from ("text", {"a": 1})


def defaults_at(root: str, path: str) -> Any:
    for comp in REGISTRY:
        for schema in comp.values:
            if schema.root != root:
                continue
            node: Any = schema.defaults
            for part in path.split("."):
                if not isinstance(node, Mapping) or part not in node:
                    break
                node = node[part]
            else:
                return node
    return None


def owners_of(root: str, path: str) -> str:
    found = []
    for comp in REGISTRY:
        for schema in comp.values:
            if schema.root == root:
                known, _ = known_paths((comp,), root)
                if path in known:
                    found.append(comp.name)
    return ", ".join(sorted(set(found))) or "?"


def test_a_wrong_type_under_any_chart_value_renders_or_is_a_spec_error() -> None:
    crashes = []
    for root, path in VALUE_PATHS:
        for junk in wrong_types(defaults_at(root, path)):
            crash = render_values(root, set_at({}, path, junk))
            if crash:
                crashes.append(f"[{owners_of(root, path)}] spec.{root}.values.{path} = {junk!r}: {crash}")
    assert not crashes, f"{len(crashes)} crashes:\n" + "\n".join(crashes)


def test_null_under_any_chart_value_renders_or_is_a_spec_error() -> None:
    # A user null deletes the key (Helm semantics); the component must then fall back or name the key.
    crashes = []
    for root, path in VALUE_PATHS:
        crash = render_values(root, set_at({}, path, None))
        if crash:
            crashes.append(f"[{owners_of(root, path)}] spec.{root}.values.{path} = null: {crash}")
    assert not crashes, f"{len(crashes)} crashes:\n" + "\n".join(crashes)


def test_junk_values_are_tried_with_an_external_payload_store_too() -> None:
    base = {
        "enable": dict.fromkeys(FEATURES, True),
        "payloadstore": {"internal_elastic": {"use_internal": False}},
    }
    crashes = []
    for root, path in VALUE_PATHS:
        if root != ENTERPRISE or not path.startswith(("elasticsearch", "requestLogger")):
            continue
        for junk in wrong_types(defaults_at(root, path)):
            values = set_at({"elasticsearch": {"url": EXTERNAL_ELASTIC_URL}}, path, junk)
            crash = render_values(root, values, base)
            if crash:
                crashes.append(f"[{owners_of(root, path)}] spec.{root}.values.{path} = {junk!r}: {crash}")
    assert not crashes, f"{len(crashes)} crashes:\n" + "\n".join(crashes)
