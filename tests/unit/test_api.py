"""The SeldonOperator API: what parses, and errors that name the field and the fix.

Also checks that each cross-field rule's Python predicate and its CEL text (enforced by the API server) agree, with
a small evaluator for the subset of CEL the rules use.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.builders import (
    EXTERNAL_ELASTIC_URL,
    Modifier,
    custom_gateway,
    enable,
    enterprise_values,
    example,
    example_files,
    external_elastic,
    parse,
    platform,
    spec,
)

from seldon_meta_operator.api.crd import spec_schema
from seldon_meta_operator.api.v1alpha1 import (
    CROSS_FIELD_RULES,
    SeldonOperatorSpec,
    nearest,
    parse_seldon_operator,
    parse_spec,
)
from seldon_meta_operator.errors import SpecError


def spec_error(doc: Any) -> str:
    with pytest.raises(SpecError) as caught:
        parse_seldon_operator(doc)
    return str(caught.value)


# --- Valid documents ---------------------------------------------------------------------------------------


EXAMPLES = example_files()


def test_there_is_an_example_for_each_manifest_of_the_documentation() -> None:
    assert {p.name for p in EXAMPLES} >= {
        "minimal.yaml",
        "load-balancer.yaml",
        "builtin-trial.yaml",
        "routing.yaml",
        "routing-custom-gateway.yaml",
        "detectors.yaml",
        "external-payloadstore.yaml",
        "all-features.yaml",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=[f"examples/{p.name} is a valid SeldonOperator" for p in EXAMPLES])
def test_every_example_parses(path: Path) -> None:
    resource = parse(example(path.name))
    assert resource.metadata.name == "seldonoperator-sample"
    assert resource.metadata.namespace == "seldon-system"


def test_an_empty_spec_installs_seldon_core_and_deploy_only_with_the_documented_defaults() -> None:
    parsed = parse(platform()).spec
    assert parsed.enable.model_dump() == {
        "analytics": False,
        "catalogue": False,
        "payloadstore": False,
        "routing": False,
        "detectors": False,
    }
    assert parsed.routing.create_gateway is True
    assert parsed.payloadstore.internal_elastic.use_internal is True
    assert parsed.payloadstore.internal_elastic.replicas == 3
    assert parsed.retain_data is True
    assert parsed.core.values == {} and parsed.enterprise.values == {}


@pytest.mark.parametrize(
    "spec_value",
    [None, {}],
    ids=["spec: null is the same as spec: {}", "spec: {} is the minimal installation"],
)
def test_a_missing_or_empty_spec_is_the_minimal_installation(spec_value: Any) -> None:
    doc = platform()
    doc["spec"] = spec_value
    assert parse(doc).spec == SeldonOperatorSpec()


def test_anything_goes_inside_the_values_maps() -> None:
    doc = platform(
        spec({"core": {"values": {"no": {"such": ["key"]}, "camelCase": 1}}}),
        enterprise_values(anything={"at": {"all": None}}),
    )
    parsed = parse(doc).spec
    assert parsed.core.values == {"no": {"such": ["key"]}, "camelCase": 1}
    assert parsed.enterprise.values == {"anything": {"at": {"all": None}}}


# --- Unknown fields ----------------------------------------------------------------------------------------


UNKNOWN_FIELDS: list[tuple[str, Modifier, str, str]] = [
    ("a misspelt feature", spec({"enable": {"analytic": True}}), "spec.enable.analytic", "analytics"),
    ("a misspelt section", spec({"rooting": {"create_gateway": False}}), "spec.rooting", "routing"),
    (
        "a misspelt setting two levels down",
        spec({"payloadstore": {"internal_elastic": {"use_internl": False}}}),
        "spec.payloadstore.internal_elastic.use_internl",
        "use_internal",
    ),
    (
        "a misspelt routing setting",
        spec({"routing": {"create_gateways": False}}),
        "spec.routing.create_gateways",
        "create_gateway",
    ),
    ("values written as value", spec({"core": {"value": {}}}), "spec.core.value", "values"),
    (
        "a misspelt catalogue setting",
        spec({"catalogue": {"internal_postgress": {}}}),
        "spec.catalogue.internal_postgress",
        "internal_postgres",
    ),
    ("a shortened retain_data", spec({"retain": False}), "spec.retain", "retain_data"),
]


@pytest.mark.parametrize(
    ("mod", "field", "suggestion"),
    [c[1:] for c in UNKNOWN_FIELDS],
    ids=[f"{c[0]} ({c[2]}) is rejected suggesting {c[3]}" for c in UNKNOWN_FIELDS],
)
def test_unknown_fields_are_rejected_naming_the_field_and_the_nearest_valid_one(
    mod: Modifier, field: str, suggestion: str
) -> None:
    message = spec_error(platform(mod))
    assert f"{field}: unknown field" in message
    assert f"did you mean `{suggestion}`?" in message


def test_an_unknown_field_with_no_near_neighbour_lists_the_valid_ones() -> None:
    message = spec_error(platform(spec({"enable": {"kubeflow": True}})))
    assert "spec.enable.kubeflow: unknown field" in message
    assert "analytics, catalogue, detectors, payloadstore, routing" in message


def test_a_misspelt_top_level_field_is_rejected_instead_of_rendering_an_empty_platform() -> None:
    doc = platform()
    doc["spce"] = doc.pop("spec")
    message = spec_error(doc)
    assert "spce: unknown field; did you mean `spec`?" in message


def test_status_and_extra_metadata_are_accepted_as_the_api_server_returns_them() -> None:
    doc = platform()
    doc["metadata"].update(uid="u-1", generation=3, labels={"a": "b"}, managedFields=[{"manager": "kubectl"}])
    doc["status"] = {"observedGeneration": 2, "conditions": []}
    assert parse(doc).metadata.generation == 3


def test_every_problem_is_reported_at_once() -> None:
    doc = platform(spec({"enable": {"analytic": True, "routing": "sure"}, "rooting": {}}))
    message = spec_error(doc)
    assert "spec.enable.analytic" in message
    assert "spec.enable.routing" in message
    assert "spec.rooting" in message


# --- Wrong types -------------------------------------------------------------------------------------------


WRONG_TYPES: list[tuple[str, dict[str, Any], str]] = [
    ("a sentence for a feature flag", {"enable": {"analytics": "yes please"}}, "spec.enable.analytics"),
    ("the string yes for a feature flag", {"enable": {"routing": "yes"}}, "spec.enable.routing"),
    ("the number 1 for a feature flag", {"enable": {"catalogue": 1}}, "spec.enable.catalogue"),
    ("the string true for create_gateway", {"routing": {"create_gateway": "false"}}, "spec.routing.create_gateway"),
    ("a word for the replica count", {"payloadstore": {"internal_elastic": {"replicas": "three"}}}, "replicas"),
    ("true for the replica count", {"payloadstore": {"internal_elastic": {"replicas": True}}}, "replicas"),
    ("zero replicas", {"payloadstore": {"internal_elastic": {"replicas": 0}}}, "replicas"),
    ("ten replicas", {"payloadstore": {"internal_elastic": {"replicas": 10}}}, "replicas"),
    (
        "a storage size that is not a quantity",
        {"payloadstore": {"internal_elastic": {"storage_size": "8 gigs"}}},
        "spec.payloadstore.internal_elastic.storage_size",
    ),
    (
        "a storage size as a number",
        {"catalogue": {"internal_postgres": {"storage_size": 8}}},
        "spec.catalogue.internal_postgres.storage_size",
    ),
    ("a list for the core values", {"core": {"values": ["istio"]}}, "spec.core.values"),
    (
        "a string for the enterprise values",
        {"enterprise": {"values": "service.type=LoadBalancer"}},
        "spec.enterprise.values",
    ),
    ("a string for a whole section", {"enable": "all"}, "spec.enable"),
    ("a list for retain_data", {"retain_data": ["yes"]}, "spec.retain_data"),
]


@pytest.mark.parametrize(
    ("tree", "field"),
    [c[1:] for c in WRONG_TYPES],
    ids=[f"{c[0]} is rejected naming {c[2]}" for c in WRONG_TYPES],
)
def test_wrong_types_are_rejected_naming_the_field(tree: dict[str, Any], field: str) -> None:
    message = spec_error(platform(spec(tree)))
    assert field in message


def test_a_spec_that_is_not_a_mapping_is_rejected_naming_spec() -> None:
    doc = platform()
    doc["spec"] = ["enable"]
    assert "spec:" in spec_error(doc)


def test_a_bad_metadata_name_is_rejected_naming_it() -> None:
    assert "metadata.name" in spec_error(platform(name="Seldon_Platform"))


# --- Cross-field rules -------------------------------------------------------------------------------------


CROSS_FIELD: list[tuple[str, Modifier, str, list[str]]] = [
    (
        "detectors without routing",
        enable("detectors"),
        "spec.enable.detectors",
        ["spec.enable.routing: true", "turn detectors off"],
    ),
    (
        "an external payload store without its url",
        spec({"enable": {"payloadstore": True}, "payloadstore": {"internal_elastic": {"use_internal": False}}}),
        "spec.payloadstore.internal_elastic.use_internal",
        ["spec.enterprise.values.elasticsearch.url"],
    ),
    (
        "an external payload store with an empty url",
        spec(
            {
                "enable": {"payloadstore": True},
                "payloadstore": {"internal_elastic": {"use_internal": False}},
                "enterprise": {"values": {"elasticsearch": {"url": ""}}},
            }
        ),
        "spec.payloadstore.internal_elastic.use_internal",
        ["spec.enterprise.values.elasticsearch.url"],
    ),
]


@pytest.mark.parametrize(
    ("mod", "field", "fixes"),
    [c[1:] for c in CROSS_FIELD],
    ids=[f"{c[0]} is rejected naming {c[2]} and the fix" for c in CROSS_FIELD],
)
def test_cross_field_rules_name_the_field_and_the_fix(mod: Modifier, field: str, fixes: list[str]) -> None:
    message = spec_error(platform(mod))
    assert message.startswith(f"input: {field}: ") or f"; {field}: " in message, message
    for fix in fixes:
        assert fix in message


ACCEPTED: list[tuple[str, Modifier]] = [
    ("detectors with routing", enable("routing", "detectors")),
    ("an external payload store with its url (the seed's example)", external_elastic()),
    (
        "use_internal false while the payload store is off",
        spec({"payloadstore": {"internal_elastic": {"use_internal": False}}}),
    ),
    ("the seed's custom gateway", custom_gateway()),
]


@pytest.mark.parametrize("mod", [c[1] for c in ACCEPTED], ids=[f"{c[0]} is accepted" for c in ACCEPTED])
def test_combinations_the_rules_allow_are_accepted(mod: Modifier) -> None:
    parse(platform(mod))


def test_parse_spec_names_fields_from_spec_as_the_operator_reports_them() -> None:
    with pytest.raises(SpecError, match=r"^spec\.enable\.analytic: unknown field; did you mean `analytics`\?"):
        parse_spec({"enable": {"analytic": True}})


# --- apiVersion and kind -----------------------------------------------------------------------------------


IDENTITY: list[tuple[str, dict[str, Any]]] = [
    ("the wrong group", {"apiVersion": "machinelearning.seldon.io/v1alpha1"}),
    ("the wrong version", {"apiVersion": "operator.seldon.io/v1"}),
    ("no apiVersion", {"apiVersion": None}),
    ("the wrong kind", {"kind": "SeldonDeployment"}),
    ("a lower-case kind", {"kind": "seldonoperator"}),
]


@pytest.mark.parametrize("change", [c[1] for c in IDENTITY], ids=[f"{c[0]} is rejected" for c in IDENTITY])
def test_api_version_and_kind_must_be_a_seldon_operator(change: dict[str, Any]) -> None:
    doc = {**platform(), **change}
    doc = {k: v for k, v in doc.items() if v is not None}
    message = spec_error(doc)
    assert "expected apiVersion: operator.seldon.io/v1alpha1 and kind: SeldonOperator" in message


@pytest.mark.parametrize(
    "document", [[1, 2], "spec: {}", None], ids=["a list is rejected", "a string is rejected", "null is rejected"]
)
def test_a_document_that_is_not_a_mapping_is_rejected(document: Any) -> None:
    assert "expected a SeldonOperator mapping" in spec_error(document)


def test_nearest_suggests_only_close_words() -> None:
    assert nearest("analytic", ["analytics", "routing"]) == "analytics"
    assert nearest("kubeflow", ["analytics", "routing"]) is None


# --- The Python predicates and the CEL rules agree ---------------------------------------------------------


Node = Callable[[dict[str, Any]], Any]


class MiniCel:
    """Evaluates the subset of CEL our rules use: ``!``, ``&&``, ``||``, ``==``, ``!=``, ``has(a.b)``, field
    selection from ``self`` and single-quoted strings. Selecting a missing field is an error, as in CEL, and
    ``&&``/``||`` absorb an error when the other side decides the result (CEL's commutative logic)."""

    TOKEN = re.compile(r"\s*(\|\||&&|!=|==|!|\(|\)|\.|'[^']*'|[A-Za-z_][A-Za-z0-9_]*)")

    def __init__(self, text: str) -> None:
        self.tokens: list[str] = []
        pos = 0
        while pos < len(text.rstrip()):
            match = self.TOKEN.match(text, pos)
            assert match, f"MiniCel cannot read {text[pos:]!r}"
            self.tokens.append(match.group(1))
            pos = match.end()
        self.pos = 0
        self.root = self._or()
        assert self.pos == len(self.tokens), f"trailing tokens {self.tokens[self.pos :]}"

    def evaluate(self, self_value: Any) -> Any:
        return self.root({"self": self_value})

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self.tokens[self.pos]
        assert expected is None or token == expected, f"expected {expected}, got {token}"
        self.pos += 1
        return token

    @staticmethod
    def _logic(left: Node, right: Node, decisive: bool) -> Node:
        def run(env: dict[str, Any]) -> Any:
            error = None
            for side in (left, right):
                try:
                    value = side(env)
                except LookupError as exc:
                    error = exc
                    continue
                if bool(value) is decisive:
                    return decisive
            if error is not None:
                raise error
            return not decisive

        return run

    def _or(self) -> Node:
        node = self._and()
        while self._peek() == "||":
            self._take()
            node = self._logic(node, self._and(), True)
        return node

    def _and(self) -> Node:
        node = self._unary()
        while self._peek() == "&&":
            self._take()
            node = self._logic(node, self._unary(), False)
        return node

    def _unary(self) -> Node:
        if self._peek() == "!":
            self._take()
            inner = self._unary()
            return lambda env: not inner(env)
        left = self._primary()
        if self._peek() in ("==", "!="):
            negate = self._take() == "!="
            right = self._primary()
            return lambda env: (left(env) == right(env)) != negate
        return left

    def _primary(self) -> Node:
        token = self._take()
        if token == "(":
            node = self._or()
            self._take(")")
            return node
        if token.startswith("'"):
            literal = token[1:-1]
            return lambda env: literal
        if token == "has":
            self._take("(")
            path = self._path()
            self._take(")")
            return lambda env: path[-1] in self._resolve(env, path[:-1])
        self.pos -= 1
        path = self._path()
        return lambda env: self._resolve(env, path)

    def _path(self) -> list[str]:
        parts = [self._take()]
        while self._peek() == ".":
            self._take()
            parts.append(self._take())
        return parts

    @staticmethod
    def _resolve(env: dict[str, Any], path: list[str]) -> Any:
        node: Any = env
        for part in path:
            if not isinstance(node, dict) or part not in node:
                raise LookupError(f"no such key: {part}")
            node = node[part]
        return node


def with_schema_defaults(schema: dict[str, Any], value: Any) -> Any:
    """Apply a structural schema's defaults to ``value``, as the API server does before it runs CEL rules."""
    if not isinstance(value, dict):
        return value
    out = copy.deepcopy(value)
    for name, sub in (schema.get("properties") or {}).items():
        if name not in out and "default" in sub:
            out[name] = copy.deepcopy(sub["default"])
        if name in out:
            out[name] = with_schema_defaults(sub, out[name])
    return out


def test_mini_cel_reads_the_rules_as_cel_would() -> None:
    cel = MiniCel("!self.a || (has(self.b.c) && self.b.c != '')")
    assert cel.evaluate({"a": False, "b": {}}) is True
    assert cel.evaluate({"a": True, "b": {}}) is False
    assert cel.evaluate({"a": True, "b": {"c": ""}}) is False
    assert cel.evaluate({"a": True, "b": {"c": "x"}}) is True
    with pytest.raises(LookupError):
        MiniCel("self.missing").evaluate({})


ELASTIC_VARIANTS: list[dict[str, Any] | None] = [
    None,
    {},
    {"url": ""},
    {"url": EXTERNAL_ELASTIC_URL},
    {"basicAuth": True},
]


def cross_field_documents() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for detectors, routing, payloadstore, use_internal, elastic in itertools.product(
        (False, True), (False, True), (False, True), (None, True, False), ELASTIC_VARIANTS
    ):
        raw: dict[str, Any] = {"enable": {"detectors": detectors, "routing": routing, "payloadstore": payloadstore}}
        if use_internal is not None:
            raw["payloadstore"] = {"internal_elastic": {"use_internal": use_internal}}
        if elastic is not None:
            raw["enterprise"] = {"values": {"elasticsearch": elastic}}
        label = (
            f"detectors={detectors} routing={routing} payloadstore={payloadstore} "
            f"use_internal={use_internal} elasticsearch={elastic}"
        )
        out.append((label, raw))
    return out


CROSS_FIELD_DOCS = cross_field_documents()
SPEC_SCHEMA = spec_schema()


@pytest.mark.parametrize(
    "raw",
    [d[1] for d in CROSS_FIELD_DOCS],
    ids=[f"python and CEL agree for {d[0]}" for d in CROSS_FIELD_DOCS],
)
def test_each_python_rule_and_its_cel_rule_agree(raw: dict[str, Any]) -> None:
    defaulted = with_schema_defaults(SPEC_SCHEMA, raw)
    failing_by_cel = [r.field for r in CROSS_FIELD_RULES if not MiniCel(r.cel).evaluate(defaulted)]
    try:
        parse_spec(raw)
        failing_by_python: list[str] = []
    except SpecError as exc:
        failing_by_python = [r.field for r in CROSS_FIELD_RULES if str(exc).startswith(f"{r.field}:")]
        assert failing_by_python, f"unexpected error: {exc}"
    # Python reports the first failing rule; CEL evaluates them all.
    assert failing_by_python == failing_by_cel[:1]
