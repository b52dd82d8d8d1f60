"""render/output.py prints YAML with libyaml's emitter (issue 12: the pure-Python one was most of `seldonctl
render`). Its text is exactly the pure-Python emitter's, which the golden files, the generated manifests and the
chart were made with, for every example and for printable documents (hypothesis: quoting, multi-line blocks, folded
long strings); and any JSON-like document, non-ASCII included, reads back as itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seldon_meta_operator.api.v1alpha1 import parse_seldon_operator
from seldon_meta_operator.render import output
from seldon_meta_operator.render.output import dump_yaml, load_yaml_documents
from seldon_meta_operator.render.pipeline import render_platform

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ALL_FEATURES = EXAMPLES / "all-features.yaml"
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow],
)


class _PurePythonDumper(yaml.SafeDumper):
    """output._Dumper on the pure-Python emitter: the reference (PyYAML's own representer, without aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _literal_blocks(dumper: yaml.representer.SafeRepresenter, data: str) -> yaml.ScalarNode:
    """Multi-line strings as literal blocks, as output._Dumper writes them."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_PurePythonDumper.add_representer(str, _literal_blocks)


def pure_python_dump(manifests: list[dict[str, Any]]) -> str:
    docs = [
        yaml.dump(m, Dumper=_PurePythonDumper, sort_keys=False, default_flow_style=False, width=120) for m in manifests
    ]
    return "---\n" + "---\n".join(docs) if docs else ""


def test_the_libyaml_emitter_is_used_where_pyyaml_has_it() -> None:
    assert yaml.__with_libyaml__  # the PyYAML wheels are built with it; without it the fallback is the reference
    assert issubclass(output._Dumper, yaml.CSafeDumper)


def test_the_all_features_render_is_the_same_text_as_with_the_pure_python_emitter() -> None:
    # The golden cases and the generated files are compared with files the pure-Python emitter wrote, too.
    (doc,) = load_yaml_documents(ALL_FEATURES.read_text())
    result = render_platform(parse_seldon_operator(doc), None)
    manifests = [m for comp in result.components for m in comp.manifests]
    assert len(manifests) > 50
    assert dump_yaml(manifests) == pure_python_dump(manifests)


#: Printable ASCII with line breaks and tabs: Kubernetes names, chart values, configuration files. Where the two
#: emitters differ (empty keys, escaped strings long enough to fold, "..." after a block that keeps its trailing blank
#: lines), both texts read back as the same objects: the property below.
_ascii = st.text(st.characters(codec="ascii", categories=["L", "N", "P", "S", "Zs"], include_characters="\n\t"))
_tricky = st.sampled_from(
    ["", " ", "yes", "no", "on", "null", "~", "1.0", "0o17", "- a", "a: b", "#x", "'q'", '"q"', "a\nb", "a\n",
     "  lead", "trail  ", "x" * 130, ("word " * 40).strip(), "tab\there", "{a}", "[b]", "*c", "&d"]
)  # fmt: skip
_ascii_text = st.one_of(_ascii, _tricky).filter(lambda s: not s.endswith("\n\n") and s != "\n")
_key = _ascii_text.filter(bool)


def json_like(text: st.SearchStrategy[str], key: st.SearchStrategy[str]) -> st.SearchStrategy[list[dict[str, Any]]]:
    scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
    value = st.recursive(
        scalar,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(key, inner, max_size=4)),
        max_leaves=25,
    )
    return st.lists(st.dictionaries(key, value, min_size=1, max_size=5), min_size=1, max_size=3)


@PROPERTY
@given(json_like(_ascii_text, _key))
def test_printable_documents_give_the_same_text_as_the_pure_python_emitter(manifests: list[dict[str, Any]]) -> None:
    assert dump_yaml(manifests) == pure_python_dump(manifests)


def test_an_object_met_twice_is_written_twice_never_as_an_anchor_and_alias() -> None:
    shared: dict[str, Any] = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    doc = {"limits": {"additionalProperties": shared}, "requests": {"additionalProperties": shared}, "l": [shared]}
    text = dump_yaml([doc])
    assert "&" not in text and "*" not in text, text
    assert text.count("anyOf:") == 3
    assert load_yaml_documents(text) == [doc]


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_no_rendered_example_has_an_anchor(name: str) -> None:
    for doc in load_yaml_documents((EXAMPLES / f"{name}.yaml").read_text()):
        if doc.get("kind") != "SeldonOperator":
            continue
        manifests = [m for comp in render_platform(parse_seldon_operator(doc), None).components for m in comp.manifests]
        events = [e for m in manifests for e in yaml.parse(dump_yaml([m]))]
        assert not [e for e in events if isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None)]


@PROPERTY
@given(json_like(st.text(), st.text()))
def test_any_json_like_document_reads_back_as_itself(manifests: list[dict[str, Any]]) -> None:
    assert load_yaml_documents(dump_yaml(manifests)) == manifests
