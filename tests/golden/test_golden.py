"""Golden manifests, reviewed like code (Istio's approach).

Each folder under tests/golden/cases/ is one case named ``<component>--<variant>``: ``platform.yaml`` is a
SeldonOperator and ``expected.yaml`` the objects that component renders for it (``platform--<variant>``
compares every object). Regenerate with ``REFRESH_GOLDEN=1 pytest tests/golden`` and review the diff. An optional
``allowed-namespaces`` file lists, one a line, the namespaces the case's admin allows besides the platform's
(the operator's ``--allowed-namespace``; render/policy.py).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from seldon_meta_operator.api.v1alpha1 import parse_seldon_operator
from seldon_meta_operator.render.output import dump_yaml, load_yaml_documents
from seldon_meta_operator.render.pipeline import render_platform

CASES = Path(__file__).parent / "cases"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir()) if CASES.exists() else []


def render_case(case: Path) -> str:
    component, _, _variant = case.name.partition("--")
    docs = load_yaml_documents((case / "platform.yaml").read_text())
    allowed_file = case / "allowed-namespaces"
    allowed = frozenset(allowed_file.read_text().split()) if allowed_file.exists() else frozenset()
    result = render_platform(
        parse_seldon_operator(docs[0], source=str(case / "platform.yaml")), allowed_namespaces=allowed
    )
    manifests = result.manifests if component == "platform" else list(result.component(component).manifests)
    return dump_yaml(manifests)


def test_there_are_golden_cases_for_every_component() -> None:
    from seldon_meta_operator.components import component_names

    covered = {p.name.partition("--")[0] for p in CASE_DIRS}
    missing = [n for n in component_names() if n not in covered]
    assert not missing, f"components without golden cases: {missing}"


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_rendered_objects_match_the_golden_file(case: Path) -> None:
    actual = render_case(case)
    expected_file = case / "expected.yaml"
    if os.environ.get("REFRESH_GOLDEN") == "1":
        expected_file.write_text(actual)
    expected = expected_file.read_text()
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "expected.yaml", "rendered")
        )
        pytest.fail(f"{case.name} differs from its golden file (REFRESH_GOLDEN=1 to accept):\n{diff}")
