"""`seldonctl render`: the offline render, its output formats and filters, and one-line errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from tests.builders import EXAMPLES, enable, enterprise_values, example, platform, render, spec
from typer.testing import CliRunner

from seldon_meta_operator.cli.main import app
from seldon_meta_operator.render.output import dump_json, dump_yaml


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["render", *args], input=stdin)


def write(tmp_path: Path, doc: Any, name: str = "platform.yaml") -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def assert_one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


# --- Output ------------------------------------------------------------------------------------------------


def test_the_default_output_is_yaml_documents_of_every_object() -> None:
    result = run("-f", str(EXAMPLES / "routing.yaml"))
    assert result.exit_code == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert docs == render(example("routing")).manifests
    assert result.stdout == dump_yaml(render(example("routing")).manifests)


def test_json_output_is_a_v1_list() -> None:
    result = run("-f", str(EXAMPLES / "routing.yaml"), "-o", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["apiVersion"] == "v1" and out["kind"] == "List"
    assert out["items"] == render(example("routing")).manifests
    assert result.stdout == dump_json(render(example("routing")).manifests)


@pytest.mark.parametrize(
    ("args", "components"),
    [
        (["--component", "routing"], {"routing"}),
        (["--component", "routing", "--component", "seldon_deploy"], {"routing", "seldon_deploy"}),
    ],
    ids=["--component keeps one component's objects", "--component repeats to keep several"],
)
def test_component_filter(args: list[str], components: set[str]) -> None:
    result = run("-f", str(EXAMPLES / "routing.yaml"), "-o", "json", *args)
    assert result.exit_code == 0, result.stderr
    items = json.loads(result.stdout)["items"]
    assert items
    assert {i["metadata"]["labels"]["operator.seldon.io/component"] for i in items} == components
    expected = [m for c in render(example("routing")).components if c.name in components for m in c.manifests]
    assert items == expected


def test_a_filter_on_a_disabled_component_prints_nothing() -> None:
    result = run("-f", str(EXAMPLES / "minimal.yaml"), "--component", "analytics")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""


def test_an_unknown_component_is_an_error_listing_the_components() -> None:
    line = assert_one_line_error(run("-f", str(EXAMPLES / "minimal.yaml"), "--component", "istio"))
    assert "--component istio: no such component" in line
    run_result = run("-f", str(EXAMPLES / "minimal.yaml"), "--component", "istio")
    assert "seldon_core" in run_result.stderr and "detectors" in run_result.stderr


def test_stdin_is_read_with_dash_f_dash() -> None:
    text = (EXAMPLES / "routing.yaml").read_text()
    result = run("-f", "-", stdin=text)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == dump_yaml(render(example("routing")).manifests)


def test_several_seldonoperators_in_one_file_are_all_rendered(tmp_path: Path) -> None:
    first = platform(enable("routing"), namespace="one")
    second = platform(enable("routing"), namespace="two")
    path = write(tmp_path, yaml.safe_dump(first) + "---\n" + yaml.safe_dump(second))
    result = run("-f", path, "-o", "json", "--component", "routing")
    assert result.exit_code == 0, result.stderr
    assert {i["metadata"]["namespace"] for i in json.loads(result.stdout)["items"]} == {"one", "two"}


# --- Warnings ----------------------------------------------------------------------------------------------


def test_warnings_go_to_stderr_and_the_objects_still_render(tmp_path: Path) -> None:
    path = write(tmp_path, platform(enable("routing"), enterprise_values(**{"virtualService.gatways": ["a/b"]})))
    result = run("-f", path)
    assert result.exit_code == 0, result.stderr
    assert "warning:" in result.stderr
    assert "spec.enterprise.values.virtualService.gatways" in result.stderr
    assert "did you mean `gateways`?" in result.stderr
    assert "warning" not in result.stdout
    assert [d for d in yaml.safe_load_all(result.stdout) if d]


# --- Errors ------------------------------------------------------------------------------------------------


BROKEN_YAML = """apiVersion: operator.seldon.io/v1alpha1
kind: SeldonOperator
metadata:
  name: seldonoperator-sample
  namespace: seldon-system
spec:
  enable:
    routing: true
   analytics: true
"""


def test_broken_yaml_is_one_line_with_line_and_column(tmp_path: Path) -> None:
    line = assert_one_line_error(run("-f", write(tmp_path, BROKEN_YAML)))
    assert "line 9, column 4" in line
    assert "not valid YAML" in line


def test_broken_yaml_on_stdin_is_one_line_naming_stdin() -> None:
    line = assert_one_line_error(run("-f", "-", stdin="spec: [unclosed\n"))
    assert "<stdin>" in line and "line 2" in line


ERRORS: list[tuple[str, Any, list[str]]] = [
    (
        "an unknown field exits 1 naming the field and the fix",
        platform(spec({"enable": {"analytic": True}})),
        ["spec.enable.analytic: unknown field", "did you mean `analytics`?"],
    ),
    ("a wrong type exits 1 naming the field", platform(spec({"enable": {"routing": "yes"}})), ["spec.enable.routing"]),
    (
        "a cross-field rule exits 1 naming the field",
        platform(enable("detectors")),
        ["spec.enable.detectors", "spec.enable.routing: true"],
    ),
    (
        "a bad chart value exits 1 naming the value",
        platform(enterprise_values(**{"service.type": "Foo"})),
        ["spec.enterprise.values.service.type", "ClusterIP, NodePort, LoadBalancer", "'Foo'"],
    ),
    (
        "another kind exits 1 naming what was expected",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
        ["expected apiVersion: operator.seldon.io/v1alpha1 and kind: SeldonOperator"],
    ),
    ("an empty file exits 1", "", ["no YAML documents found"]),
    ("a file holding a list exits 1", "- a\n- b\n", ["expected a SeldonOperator mapping"]),
]


@pytest.mark.parametrize(("doc", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_invalid_input_is_one_line_error(tmp_path: Path, doc: Any, expected: list[str]) -> None:
    path = write(tmp_path, doc)
    line = assert_one_line_error(run("-f", path))
    assert path in line
    for text in expected:
        assert text in line


def test_a_missing_file_is_one_line_error(tmp_path: Path) -> None:
    line = assert_one_line_error(run("-f", str(tmp_path / "nope.yaml")))
    assert "nope.yaml: no such file" in line


def test_a_bad_facts_file_is_one_line_error(tmp_path: Path) -> None:
    facts = write(tmp_path, "kubernetesVersion: one.two\n", "facts.yaml")
    line = assert_one_line_error(run("-f", str(EXAMPLES / "minimal.yaml"), "--facts", facts))
    assert "not a facts file" in line


def test_a_facts_file_is_accepted(tmp_path: Path) -> None:
    facts = write(tmp_path, {"kubernetesVersion": "1.34", "apiKinds": ["networking.istio.io/Gateway"]}, "facts.yaml")
    result = run("-f", str(EXAMPLES / "routing.yaml"), "--facts", facts)
    assert result.exit_code == 0, result.stderr


def test_render_help_shows_examples() -> None:
    result = CliRunner().invoke(app, ["render", "--help"])
    assert result.exit_code == 0
    assert "seldonctl render -f examples/minimal.yaml" in result.stdout


# --- The render policy (issue 8) ---------------------------------------------------------------------------


def test_a_namespace_the_admin_did_not_allow_is_one_error_line_naming_the_value_and_the_option(tmp_path: Path) -> None:
    path = write(tmp_path, platform(spec({"core": {"values": {"usageMetrics": {"enabled": True}}}})))
    line = assert_one_line_error(run("-f", path))
    assert "spec.core.values.usageMetrics.enabled" in line and "--allowed-namespace 'kube-system'" in line
    allowed = run("-f", path, "--allowed-namespace", "kube-system")
    assert allowed.exit_code == 0, allowed.stderr
    assert "namespace: kube-system" in allowed.stdout


@pytest.mark.parametrize("command", ["apply", "diff"])
def test_apply_and_diff_check_the_namespaces_the_admin_allowed_as_render_does(tmp_path: Path, command: str) -> None:
    """Both validate before they contact the cluster: refused without the operator's --allowed-namespace, accepted
    with it (and then stopped by the missing kubeconfig, which shows the check passed)."""
    path = write(tmp_path, platform(spec({"core": {"values": {"usageMetrics": {"enabled": True}}}})))
    nowhere = ["--kubeconfig", str(tmp_path / "no-kubeconfig")]
    refused = CliRunner().invoke(app, [command, "-f", path, *nowhere])
    line = assert_one_line_error(refused)
    assert "spec.core.values.usageMetrics.enabled" in line and "--allowed-namespace 'kube-system'" in line
    allowed = CliRunner().invoke(app, [command, "-f", path, "--allowed-namespace", "kube-system", *nowhere])
    assert allowed.exit_code != 0
    assert "allowed-namespace" not in allowed.stderr and "no-kubeconfig" in allowed.stderr, allowed.stderr


def test_field_paths_with_brackets_survive_the_terminal_markup(tmp_path: Path) -> None:
    values = {"manager": {"containerSecurityContext": {"privileged": True}}}
    line = assert_one_line_error(run("-f", write(tmp_path, platform(spec({"core": {"values": values}})))))
    assert "containers[manager].securityContext.privileged" in line
