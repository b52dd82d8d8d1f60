"""`seldonctl status`: the state of a SeldonOperator from its status (the exit code), the components table, ages,
and the conventions every cluster command shares (help with examples, one-line errors)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.builders import enterprise_values, platform
from typer.testing import CliRunner

from seldon_meta_operator.api import conditions as c
from seldon_meta_operator.cli.cluster import age
from seldon_meta_operator.cli.main import app
from seldon_meta_operator.cli.status import State, component_rows, evaluate_state, exit_code, summary

NOW = datetime.datetime(2026, 11, 24, 12, 0, 0, tzinfo=datetime.UTC)
T0 = "2026-11-24T11:55:00Z"  # five minutes before NOW


def cond(type_: str, status: str, reason: str, message: str = "", generation: int | None = 1) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": T0,
    }
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def body(*conditions: dict[str, Any], generation: int = 1, components: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "operator.seldon.io/v1alpha1",
        "kind": "SeldonOperator",
        "metadata": {
            "name": "seldonoperator-sample",
            "namespace": "seldon-system",
            "generation": generation,
            "creationTimestamp": "2026-11-24T10:00:00Z",
        },
        "spec": {},
    }
    if conditions or components:
        obj["status"] = {"observedGeneration": 1, "conditions": list(conditions), "components": components or {}}
    return obj


READY = cond(c.READY, "True", c.SUCCEEDED, "2 components ready")


@pytest.mark.parametrize(
    ("obj", "state", "reason"),
    [
        (body(READY), State.READY, c.SUCCEEDED),
        (body(), State.PROGRESSING, "NotReconciled"),
        (
            body(cond(c.READY, "False", c.PROGRESSING), cond(c.RECONCILING, "True", c.PROGRESSING)),
            State.PROGRESSING,
            c.PROGRESSING,
        ),
        (body(cond(c.READY, "False", c.DEPENDENCY_NOT_READY)), State.PROGRESSING, c.DEPENDENCY_NOT_READY),
        (body(cond(c.READY, "Unknown", c.RECONCILE_ERROR)), State.PROGRESSING, c.RECONCILE_ERROR),
        (body(cond(c.READY, "False", c.APPLY_FAILED)), State.FAILED, c.APPLY_FAILED),
        (body(cond(c.READY, "False", c.APPLY_CONFLICT)), State.FAILED, c.APPLY_CONFLICT),
        (body(cond(c.READY, "False", c.HEALTH_CHECK_FAILED)), State.FAILED, c.HEALTH_CHECK_FAILED),
        (body(cond(c.READY, "False", c.PREREQUISITE_MISSING)), State.FAILED, c.PREREQUISITE_MISSING),
        (body(cond(c.READY, "False", c.PRUNE_FAILED)), State.FAILED, c.PRUNE_FAILED),
        (
            body(cond(c.READY, "False", c.INVALID_SPEC), cond(c.STALLED, "True", c.INVALID_SPEC, "spec.x: bad")),
            State.FAILED,
            c.INVALID_SPEC,
        ),
        (
            body(cond(c.READY, "False", c.DUPLICATE_PLATFORM), cond(c.STALLED, "True", c.DUPLICATE_PLATFORM)),
            State.FAILED,
            c.DUPLICATE_PLATFORM,
        ),
        (body(READY, generation=2), State.PROGRESSING, "Reconciling"),
        (
            body(cond(c.READY, "False", c.INVALID_SPEC), cond(c.STALLED, "True", c.INVALID_SPEC), generation=2),
            State.PROGRESSING,
            "Reconciling",
        ),
        (body(cond(c.READY, "True", c.SUCCEEDED, generation=None)), State.READY, c.SUCCEEDED),
    ],
    ids=[
        "Ready=True is ready (0)",
        "no status yet is progressing (1)",
        "Ready=False Progressing is progressing (1)",
        "waiting for a dependency is progressing (1)",
        "an unexpected error is retried, so progressing (1)",
        "an apply failure is a failure (2)",
        "an apply conflict is a failure (2)",
        "a failed health check is a failure (2)",
        "a missing prerequisite is a failure (2)",
        "a failed prune is a failure (2)",
        "Stalled with an invalid spec is a failure (2)",
        "a duplicate platform is stalled (2)",
        "a Ready status of an older generation is progressing (1)",
        "a stalled status of an older generation is progressing: the new spec may fix it (1)",
        "a condition without observedGeneration falls back to status.observedGeneration",
    ],
)
def test_the_state_comes_from_the_conditions(obj: dict[str, Any], state: State, reason: str) -> None:
    verdict = evaluate_state(obj)
    assert (verdict.state, verdict.reason) == (state, reason)
    assert int(verdict.state) == {State.READY: 0, State.PROGRESSING: 1, State.FAILED: 2}[state]


@pytest.mark.parametrize(
    ("states", "code"),
    [((), 0), ((State.READY,), 0), ((State.READY, State.PROGRESSING), 1), ((State.PROGRESSING, State.FAILED), 2)],
    ids=["nothing is ready", "all ready", "one still progressing", "one failed wins over progressing"],
)
def test_the_worst_state_is_the_exit_code(states: tuple[State, ...], code: int) -> None:
    from seldon_meta_operator.cli.status import Verdict

    assert exit_code(Verdict(s, "", "") for s in states) == code


def test_components_are_listed_in_dependency_order_with_the_age_of_the_ready_condition() -> None:
    components = {
        "seldon_deploy": {"enabled": True, "ready": False, "reason": c.PROGRESSING, "message": "0/1 available"},
        "routing": {"enabled": False, "ready": False, "reason": c.DISABLED, "message": "turned off"},
        "seldon_core": {"enabled": True, "ready": True, "reason": c.SUCCEEDED, "message": "12 objects ready"},
    }
    rows = component_rows(body(READY, components=components), NOW)
    assert [r.name for r in rows] == ["seldon_core", "seldon_deploy", "routing"]
    assert rows[1].reason == c.PROGRESSING and rows[1].message == "0/1 available"
    assert {r.age for r in rows} == {"5m"}


def test_without_conditions_the_age_is_the_objects_age() -> None:
    obj = body(components={"seldon_core": {"enabled": True, "ready": False, "reason": c.PROGRESSING}})
    assert component_rows(obj, NOW)[0].age == "120m"  # kubectl: minutes up to three hours


def test_the_machine_readable_summary_carries_state_and_exit_code() -> None:
    out = summary(body(cond(c.READY, "False", c.PREREQUISITE_MISSING, "Routing: Install Istio")), NOW)
    assert out["state"] == "Failed" and out["exitCode"] == 2
    assert out["reason"] == c.PREREQUISITE_MISSING and out["message"] == "Routing: Install Istio"


def test_security_opt_ins_in_force_are_shown_in_the_summary_and_the_table() -> None:
    from rich.console import Console

    from seldon_meta_operator.cli.status import platform_view

    obj = body(cond(c.READY, "True", c.SUCCEEDED, "2 components ready"))
    obj["status"]["optIns"] = ["spec.security.allow_privileged_pods"]
    assert summary(obj, NOW)["optIns"] == ["spec.security.allow_privileged_pods"]
    console = Console(width=200, record=True)
    console.print(platform_view(obj, NOW))
    assert "Security opt-ins in force: spec.security.allow_privileged_pods" in console.export_text()
    obj["status"]["warnings"] = ["spec.enable.detectors: no payload store"]
    assert summary(obj, NOW)["warnings"] == ["spec.enable.detectors: no payload store"]
    console = Console(width=200, record=True)
    console.print(platform_view(obj, NOW))
    assert "Warning: spec.enable.detectors: no payload store" in console.export_text()
    del obj["status"]["optIns"]
    console = Console(width=200, record=True)
    console.print(platform_view(obj, NOW))
    assert "opt-ins" not in console.export_text()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (3 * 86400, "3d"),
    ],
    ids=["seconds", "under two minutes", "minutes and seconds", "minutes", "hours and minutes", "hours", "days"],
)
def test_ages_are_short_like_kubectl(seconds: int, text: str) -> None:
    assert age(NOW - datetime.timedelta(seconds=seconds), NOW) == text


# --- Conventions of every cluster command ------------------------------------------------------------------

CLUSTER_COMMANDS = ("install", "apply", "status", "diff", "doctor", "uninstall")


@pytest.mark.parametrize("command", CLUSTER_COMMANDS)
def test_every_cluster_command_has_help_with_examples_and_the_kubeconfig_options(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output and f"seldonctl {command}" in result.output
    for option in ("--kubeconfig", "--context", "--namespace"):
        assert option in result.output


@pytest.mark.parametrize("command", ["status", "diff", "doctor"])
def test_commands_with_output_take_json_and_yaml(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert "--output" in result.output and "-o" in result.output


def unreachable_kubeconfig(tmp_path: Path) -> str:
    """A kubeconfig whose API server is a closed loopback port."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "closed",
                "clusters": [{"name": "closed", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "closed", "context": {"cluster": "closed", "user": "u"}}],
            }
        )
    )
    return str(path)


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["doctor"],
        ["install"],
        ["uninstall", "--dry-run"],
        ["diff", "-f", "examples/minimal.yaml"],
        ["apply", "-f", "examples/minimal.yaml"],
    ],
    ids=lambda a: a[0],
)
def test_an_unreachable_cluster_is_one_line_with_a_hint(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*args, "--kubeconfig", unreachable_kubeconfig(tmp_path)])
    assert result.exit_code == (2 if args[0] == "diff" else 1), result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and "cannot reach the cluster at https://127.0.0.1:1" in errors[0]
    assert any(line.startswith("hint:") for line in result.stderr.splitlines())


def test_a_missing_kubeconfig_is_one_line_with_a_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["status", "--kubeconfig", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "cannot reach the cluster" in result.stderr and "not found" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["apply", "diff"])
def test_a_bad_file_is_refused_before_the_cluster_is_contacted(command: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(platform(enterprise_values({"service": {"type": "Balanced"}}))))
    result = CliRunner().invoke(app, [command, "-f", str(bad), "--kubeconfig", unreachable_kubeconfig(tmp_path)])
    assert result.exit_code == 1
    assert "spec.enterprise.values.service.type" in result.stderr
    assert "cannot reach the cluster" not in result.stderr
