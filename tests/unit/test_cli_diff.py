"""`seldonctl diff`'s pure decisions: created / changed / unchanged from the live object and the dry-run result,
what is pruned or kept from the inventories, the exit code; and how a file's SeldonOperator is sent (-n)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import typer
from tests.builders import example, find, render

from seldon_meta_operator.api.v1alpha1 import parse_seldon_operator
from seldon_meta_operator.cli.cluster import manifest_of
from seldon_meta_operator.cli.diff import Action, Change, classify, diff_exit_code, plan_prune, strip
from seldon_meta_operator.render.ownership import object_key

SERVICE_KEY = "v1/Service/seldon-system/seldon-deploy"


def served(manifest: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """``manifest`` as the API server returns it: server-set metadata, defaults and status added."""
    out = copy.deepcopy(manifest)
    out["metadata"].update(
        {
            "uid": "9d6c0e54-0000-4000-8000-000000000001",
            "resourceVersion": "4711",
            "generation": 3,
            "creationTimestamp": "2026-11-24T10:00:00Z",
            "managedFields": [{"manager": "seldon-meta-operator", "operation": "Apply"}],
        }
    )
    out["status"] = {"observedGeneration": 3}
    out.update(extra)
    return out


def deploy_service(name: str) -> dict[str, Any]:
    return find(render(example(name)).manifests, "Service", "seldon-deploy")


def test_strip_drops_status_and_server_set_metadata_only() -> None:
    stripped = strip(served(deploy_service("minimal")))
    assert "status" not in stripped
    assert set(stripped["metadata"]) == {"name", "namespace", "labels"}
    assert stripped == strip(deploy_service("minimal"))


def test_an_absent_object_is_created() -> None:
    assert classify(SERVICE_KEY, None, served(deploy_service("minimal"))).action is Action.CREATED


def test_an_object_that_differs_only_in_server_fields_is_unchanged() -> None:
    live = served(deploy_service("minimal"))
    applied = served(deploy_service("minimal"))
    applied["metadata"]["resourceVersion"] = "4712"
    applied["metadata"]["managedFields"] = []
    applied["status"] = {"loadBalancer": {}}
    change = classify(SERVICE_KEY, live, applied)
    assert change == Change(SERVICE_KEY, Action.UNCHANGED)


def test_minimal_to_load_balancer_changes_the_seldon_deploy_service_type() -> None:
    change = classify(SERVICE_KEY, served(deploy_service("minimal")), served(deploy_service("load-balancer")))
    assert change.action is Action.CHANGED
    lines = change.diff.splitlines()
    assert lines[0] == "--- live Service seldon-system/seldon-deploy"
    assert lines[1] == "+++ applied Service seldon-system/seldon-deploy"
    assert "-  type: ClusterIP" in lines and "+  type: LoadBalancer" in lines
    removed = [line for line in lines[2:] if line.startswith("-")]
    assert removed == ["-  type: ClusterIP"]


def test_only_the_seldon_deploy_service_differs_between_minimal_and_load_balancer() -> None:
    before = {object_key(m): m for m in render(example("minimal")).manifests}
    after = {object_key(m): m for m in render(example("load-balancer")).manifests}
    assert before.keys() == after.keys()
    changed = [k for k in after if classify(k, served(before[k]), served(after[k])).action is Action.CHANGED]
    assert changed == [SERVICE_KEY]


OLD = {
    "seldon_core": ["apiextensions.k8s.io/v1/CustomResourceDefinition//seldondeployments.machinelearning.seldon.io"],
    "analytics": ["apps/v1/Deployment/seldon-system/seldon-core-analytics-prometheus-seldon"],
    "seldon_deploy": ["v1/Service/seldon-system/seldon-deploy", "v1/ConfigMap/seldon-system/seldon-deploy-config"],
}


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (OLD, []),
        (
            {"seldon_core": OLD["seldon_core"], "seldon_deploy": OLD["seldon_deploy"]},
            [("apps/v1/Deployment/seldon-system/seldon-core-analytics-prometheus-seldon", Action.PRUNED)],
        ),
        (
            {"analytics": OLD["analytics"], "seldon_deploy": OLD["seldon_deploy"]},
            [(OLD["seldon_core"][0], Action.KEPT)],
        ),
        (
            {"seldon_core": OLD["seldon_core"], "analytics": [*OLD["analytics"], *OLD["seldon_deploy"]]},
            [],
        ),
        (
            {**OLD, "routing": ["networking.istio.io/v1beta1/Gateway/seldon-system/seldon-gateway"]},
            [],
        ),
    ],
    ids=[
        "the same inventory prunes nothing",
        "a component turned off is pruned",
        "a CRD no longer rendered is kept, never pruned",
        "an object moved to another component is not pruned",
        "new objects are not the prune plan's business",
    ],
)
def test_prune_plan_from_the_inventories(new: dict[str, list[str]], expected: list[tuple[str, Action]]) -> None:
    assert [(c.key, c.action) for c in plan_prune(OLD, new)] == expected


def test_a_kept_crd_says_why() -> None:
    (kept,) = plan_prune(OLD, {})[:1]
    assert kept.action is Action.KEPT and "never pruned" in kept.note


@pytest.mark.parametrize(
    ("actions", "code"),
    [
        ((), 0),
        ((Action.UNCHANGED, Action.SKIPPED, Action.KEPT), 0),
        ((Action.UNCHANGED, Action.CREATED), 1),
        ((Action.CHANGED,), 1),
        ((Action.PRUNED,), 1),
        ((Action.CHANGED, Action.REJECTED), 2),
    ],
    ids=[
        "nothing rendered",
        "unchanged, skipped and kept objects are no change",
        "a created object is a change",
        "a changed object is a change",
        "a pruned object is a change",
        "a rejected object is an error, like kubectl diff",
    ],
)
def test_exit_code_is_like_kubectl_diff(actions: tuple[Action, ...], code: int) -> None:
    assert diff_exit_code(Change(f"v1/ConfigMap/ns/c{i}", a) for i, a in enumerate(actions)) == code


# --- What is sent for a file's SeldonOperator ---------------------------------------------------------------


def doc_without_namespace() -> dict[str, Any]:
    doc = example("load-balancer")
    del doc["metadata"]["namespace"]
    return doc


def test_only_the_fields_the_file_sets_are_sent() -> None:
    doc = manifest_of(parse_seldon_operator(example("load-balancer")), None)
    assert doc == example("load-balancer")


def test_dash_n_fills_in_a_namespace_the_file_leaves_out() -> None:
    assert manifest_of(parse_seldon_operator(doc_without_namespace()), "team-a")["metadata"]["namespace"] == "team-a"
    assert manifest_of(parse_seldon_operator(doc_without_namespace()), None)["metadata"]["namespace"] == "default"


def test_dash_n_agreeing_with_the_file_is_fine() -> None:
    doc = manifest_of(parse_seldon_operator(example("minimal")), "seldon-system")
    assert doc["metadata"]["namespace"] == "seldon-system"


def test_dash_n_contradicting_the_file_is_an_error() -> None:
    with pytest.raises(typer.Exit) as exc:
        manifest_of(parse_seldon_operator(example("minimal")), "elsewhere")
    assert exc.value.exit_code == 1


def test_status_and_server_fields_of_a_file_are_not_sent() -> None:
    doc = example("minimal")
    doc["metadata"].update({"uid": "x", "resourceVersion": "1", "generation": 2})
    doc["status"] = {"conditions": []}
    sent = manifest_of(parse_seldon_operator(doc), None)
    assert "status" not in sent
    assert set(sent["metadata"]) == {"name", "namespace"}
