"""The pure parts of reconcile/: change detection, status computation, health verdicts, generated secrets and the
webhook certificate. No cluster: live objects are written as the API server returns them."""

from __future__ import annotations

import base64
import copy
import datetime
import json
import re
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from tests.builders import example, render

from seldon_meta_operator.api import conditions as c
from seldon_meta_operator.components.base import GeneratedSecret
from seldon_meta_operator.reconcile import health
from seldon_meta_operator.reconcile.changes import (
    HASH_ANNOTATION,
    content_hash,
    first_difference,
    foreign_replicas_owner,
    needs_apply,
    with_hash,
    without_replicas,
)
from seldon_meta_operator.reconcile.secrets import (
    CERT_NOT_AFTER_ANNOTATION,
    CERT_VALIDITY,
    cert_needs_renewal,
    described,
    make_webhook_cert,
    parsed,
    random_value,
    secret_manifest,
    webhook_cert_manifest,
    webhook_hosts,
)
from seldon_meta_operator.reconcile.status import (
    ComponentOutcome,
    Problem,
    build_status,
    remove_condition,
    set_condition,
    status_changed,
    summarize_ready,
)
from seldon_meta_operator.render.ownership import RETAIN_ANNOTATION, watch_labels

NS = "seldon-system"
FIELD_MANAGER = "seldon-meta-operator"
T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:05:00Z"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


# --- changes.py: hashes ------------------------------------------------------------------------------------


def deployment(**overrides: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "seldon-deploy", "namespace": NS, "labels": {"app": "seldon-deploy"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "seldon-deploy"}},
            "template": {
                "metadata": {"labels": {"app": "seldon-deploy"}},
                "spec": {
                    "containers": [
                        {
                            "name": "server",
                            "image": "seldonio/seldon-deploy-server:2.0.2",
                            "resources": {"requests": {"cpu": "0.5", "memory": "1Gi"}, "limits": {"memory": "800Mi"}},
                            "env": [{"name": "A", "value": "1"}],
                        }
                    ],
                    "volumes": [],
                    "nodeSelector": {},
                },
            },
        },
    }
    out.update(overrides)
    return out


def test_content_hash_is_stable_and_independent_of_key_order() -> None:
    first = deployment()
    reordered = dict(reversed(list(copy.deepcopy(first).items())))
    assert content_hash(first) == content_hash(reordered) == content_hash(deployment())
    assert re.fullmatch(r"[0-9a-f]{20}", content_hash(first))


def test_content_hash_changes_with_any_value() -> None:
    changed = deployment()
    changed["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "2"
    assert content_hash(changed) != content_hash(deployment())


def test_content_hash_ignores_its_own_annotation_and_with_hash_does_not_mutate() -> None:
    original = deployment()
    hashed = with_hash(original)
    assert original == deployment()
    assert hashed["metadata"]["annotations"] == {HASH_ANNOTATION: content_hash(original)}
    assert content_hash(hashed) == content_hash(original)


# --- changes.py: needs_apply -------------------------------------------------------------------------------


def live_from(desired: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What the API server returns for ``desired``: server fields and defaults added."""
    live = copy.deepcopy(desired)
    live["metadata"].update(uid="u1", resourceVersion="42", generation=1, creationTimestamp=T0)
    live["metadata"]["managedFields"] = [{"manager": FIELD_MANAGER, "operation": "Apply"}]
    pod = live["spec"]["template"]["spec"]
    pod.update(dnsPolicy="ClusterFirst", restartPolicy="Always", schedulerName="default-scheduler")
    pod["containers"][0].update(terminationMessagePath="/dev/termination-log", imagePullPolicy="IfNotPresent")
    live["spec"].update(revisionHistoryLimit=10, progressDeadlineSeconds=600)
    live["status"] = {"replicas": 1, "availableReplicas": 1}
    for path, value in changes.items():
        node = live
        # Dotted paths; a key that itself holds dots (our annotation) is written in brackets.
        *parents, last = re.findall(r"\[([^\]]+)\]|([^.\[]+)", path)
        for bracketed, plain in parents:
            part = bracketed or plain
            node = node[int(part)] if isinstance(node, list) else node[part]
        key = last[0] or last[1]
        if value is DELETE:
            del node[key]
        elif isinstance(node, list):
            node[int(key)] = value
        else:
            node[key] = value
    return live


DELETE = object()
CONTAINER = "spec.template.spec.containers.0"

NEEDS_APPLY: list[tuple[str, dict[str, Any] | None, str | None]] = [
    ("an absent object is applied", None, "absent"),
    ("the live object as applied, with server defaults, is up to date", {}, None),
    (
        "0.5 cpu read back as 500m is the same quantity",
        {f"{CONTAINER}.resources.requests.cpu": "500m"},
        None,
    ),
    (
        "1Gi read back as 1073741824 is the same quantity",
        {f"{CONTAINER}.resources.requests.memory": "1073741824"},
        None,
    ),
    ("800Mi read back as 838860800 is the same quantity", {f"{CONTAINER}.resources.limits.memory": "838860800"}, None),
    ("an empty map we set that the server dropped is no drift", {"spec.template.spec.nodeSelector": DELETE}, None),
    ("an empty list we set that the server dropped is no drift", {"spec.template.spec.volumes": DELETE}, None),
    (
        "a different hash means our desired state changed",
        {f"metadata.annotations[{HASH_ANNOTATION}]": "0" * 20},
        "changed",
    ),
    ("a missing hash means the object was not applied by us", {"metadata.annotations": DELETE}, "changed"),
    ("replicas edited by hand are drift", {"spec.replicas": 3}, "drifted at .spec.replicas"),
    (
        "a different quantity is drift",
        {f"{CONTAINER}.resources.requests.cpu": "600m"},
        f"drifted at .{CONTAINER.replace('.0', '[0]')}.resources.requests.cpu",
    ),
    ("a label removed by hand is drift", {"metadata.labels": {}}, "drifted at .metadata.labels.app"),
    (
        "an env var added by hand is drift",
        {f"{CONTAINER}.env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
        f"drifted at .{CONTAINER.replace('.0', '[0]')}.env",
    ),
    (
        "an image changed by hand is drift",
        {f"{CONTAINER}.image": "evil/image:latest"},
        f"drifted at .{CONTAINER.replace('.0', '[0]')}.image",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), [n[1:] for n in NEEDS_APPLY], ids=[n[0] for n in NEEDS_APPLY])
def test_needs_apply(changes: dict[str, Any] | None, expected: str | None) -> None:
    desired = with_hash(deployment())
    live = None if changes is None else live_from(desired, **changes)
    assert needs_apply(desired, live) == expected


def test_a_status_in_the_desired_object_is_never_compared() -> None:
    desired = with_hash({**deployment(), "status": {"replicas": 5}})
    assert needs_apply(desired, live_from(desired)) is None


COMPARISONS: list[tuple[str, Any, Any, bool]] = [
    ("an empty map we set equals a missing field", {"a": {}}, {}, True),
    ("an empty map we set equals null", {"a": {}}, {"a": None}, True),
    ("an empty list we set equals a missing field", {"a": []}, {}, True),
    ("fields the server added are ignored", {"a": 1}, {"a": 1, "b": 2}, True),
    ("1000m equals 1", {"cpu": "1000m"}, {"cpu": "1"}, True),
    ("2 equals 2.0", {"cpu": 2}, {"cpu": "2.0"}, True),
    ("1Ki equals 1024", {"m": "1Ki"}, {"m": 1024}, True),
    ("1k does not equal 1Ki", {"m": "1k"}, {"m": "1Ki"}, False),
    ("different strings differ", {"s": "a"}, {"s": "b"}, False),
    ("a list of a different length differs", {"l": [1]}, {"l": [1, 1]}, False),
    ("a map replaced by a scalar differs", {"a": {"b": 1}}, {"a": "x"}, False),
    ("a missing non-empty field differs", {"a": {"b": 1}}, {}, False),
    (
        "an empty string the server omitted equals a missing field",
        {"env": [{"name": "X", "value": ""}]},
        {"env": [{"name": "X"}]},
        True,
    ),
    ("false the server omitted equals a missing field", {"readOnly": False}, {}, True),
    ("zero the server omitted equals a missing field", {"n": 0}, {}, True),
    ("a missing true differs", {"readOnly": True}, {}, False),
    ("an empty string differs from a set one", {"value": ""}, {"value": "x"}, False),
]


@pytest.mark.parametrize(("desired", "live", "same"), [x[1:] for x in COMPARISONS], ids=[x[0] for x in COMPARISONS])
def test_first_difference(desired: Any, live: Any, same: bool) -> None:
    assert (first_difference(desired, live) is None) is same


REPLICAS_OWNERS: list[tuple[str, dict[str, Any] | None, str | None]] = [
    ("no live object", None, None),
    ("no managed fields", {"metadata": {}}, None),
    (
        "only we own replicas",
        {"metadata": {"managedFields": [{"manager": FIELD_MANAGER, "fieldsV1": {"f:spec": {"f:replicas": {}}}}]}},
        None,
    ),
    (
        "kubectl scale owns replicas",
        {
            "metadata": {
                "managedFields": [
                    {"manager": FIELD_MANAGER, "fieldsV1": {"f:spec": {"f:template": {}}}},
                    {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                ]
            }
        },
        "kubectl",
    ),
    (
        "an HPA owns replicas",
        {
            "metadata": {
                "managedFields": [
                    {
                        "manager": "kube-controller-manager",
                        "fieldsV1": {"f:spec": {"f:replicas": {}}},
                        "subresource": "scale",
                    }
                ]
            }
        },
        "kube-controller-manager",
    ),
    (
        "another manager owning other fields only",
        {"metadata": {"managedFields": [{"manager": "kubectl", "fieldsV1": {"f:metadata": {"f:labels": {}}}}]}},
        None,
    ),
]


@pytest.mark.parametrize(("live", "owner"), [r[1:] for r in REPLICAS_OWNERS], ids=[r[0] for r in REPLICAS_OWNERS])
def test_foreign_replicas_owner_is_read_from_managed_fields(live: dict[str, Any] | None, owner: str | None) -> None:
    assert foreign_replicas_owner(live, FIELD_MANAGER) == owner


def test_without_replicas_drops_only_replicas_and_does_not_mutate() -> None:
    original = deployment()
    out = without_replicas(original)
    assert "replicas" not in out["spec"]
    assert original == deployment()
    assert {k: v for k, v in deployment()["spec"].items() if k != "replicas"} == out["spec"]


# --- status.py ---------------------------------------------------------------------------------------------


def outcome(
    name: str, ready: bool, reason: str = c.SUCCEEDED, enabled: bool = True, message: str = ""
) -> ComponentOutcome:
    return ComponentOutcome(name, name.title(), enabled, ready, reason, message or reason, objects=2)


def test_set_condition_adds_a_new_condition_at_now() -> None:
    conds = set_condition([], c.READY, "True", c.SUCCEEDED, "ok", T0, 3)
    assert conds == [
        {
            "type": c.READY,
            "status": "True",
            "reason": c.SUCCEEDED,
            "message": "ok",
            "lastTransitionTime": T0,
            "observedGeneration": 3,
        }
    ]


def test_set_condition_keeps_the_transition_time_while_the_status_holds() -> None:
    first = set_condition([], c.READY, "False", c.PROGRESSING, "starting", T0, 1)
    second = set_condition(first, c.READY, "False", c.DEPENDENCY_NOT_READY, "waiting", T1, 2)
    assert second[0]["lastTransitionTime"] == T0
    assert (second[0]["reason"], second[0]["message"], second[0]["observedGeneration"]) == (
        c.DEPENDENCY_NOT_READY,
        "waiting",
        2,
    )


def test_set_condition_moves_the_transition_time_when_the_status_flips() -> None:
    first = set_condition([], c.READY, "False", c.PROGRESSING, "starting", T0, 1)
    assert set_condition(first, c.READY, "True", c.SUCCEEDED, "ok", T1, 1)[0]["lastTransitionTime"] == T1


def test_set_condition_leaves_other_conditions_in_place_and_does_not_mutate() -> None:
    current = [{"type": "Other", "status": "True"}, {"type": c.READY, "status": "True", "lastTransitionTime": T0}]
    before = copy.deepcopy(current)
    out = set_condition(current, c.READY, "False", c.PROGRESSING, "m", T1, None)
    assert current == before
    assert [x["type"] for x in out] == ["Other", c.READY]
    assert "observedGeneration" not in out[1]
    assert remove_condition(out, "Other") == [out[1]]


READY_SUMMARIES: list[tuple[str, list[ComponentOutcome], Problem | None, tuple[str, str]]] = [
    (
        "every enabled component ready is Succeeded",
        [outcome("a", True), outcome("b", False, c.DISABLED, False)],
        None,
        ("True", c.SUCCEEDED),
    ),
    ("a problem of the pass wins", [outcome("a", True)], Problem(c.INVALID_SPEC, "bad"), ("False", c.INVALID_SPEC)),
    (
        "a failed health check outranks progress",
        [outcome("a", False, c.PROGRESSING), outcome("b", False, c.HEALTH_CHECK_FAILED)],
        None,
        ("False", c.HEALTH_CHECK_FAILED),
    ),
    (
        "an apply conflict outranks an apply failure",
        [outcome("a", False, c.APPLY_FAILED), outcome("b", False, c.APPLY_CONFLICT)],
        None,
        ("False", c.APPLY_CONFLICT),
    ),
    (
        "an apply failure outranks a missing prerequisite",
        [outcome("a", False, c.PREREQUISITE_MISSING), outcome("b", False, c.APPLY_FAILED)],
        None,
        ("False", c.APPLY_FAILED),
    ),
    (
        "a missing prerequisite outranks a dependency",
        [outcome("a", False, c.DEPENDENCY_NOT_READY), outcome("b", False, c.PREREQUISITE_MISSING)],
        None,
        ("False", c.PREREQUISITE_MISSING),
    ),
    (
        "a dependency outranks progress",
        [outcome("a", False, c.PROGRESSING), outcome("b", False, c.DEPENDENCY_NOT_READY)],
        None,
        ("False", c.DEPENDENCY_NOT_READY),
    ),
    (
        "an unknown reason ranks last",
        [outcome("a", False, "SomethingElse"), outcome("b", False, c.PROGRESSING)],
        None,
        ("False", c.PROGRESSING),
    ),
    (
        "disabled components never hold Ready back",
        [outcome("a", True), outcome("b", False, c.HEALTH_CHECK_FAILED, enabled=False)],
        None,
        ("True", c.SUCCEEDED),
    ),
]


@pytest.mark.parametrize(
    ("components", "problem", "expected"), [r[1:] for r in READY_SUMMARIES], ids=[r[0] for r in READY_SUMMARIES]
)
def test_summarize_ready(
    components: list[ComponentOutcome], problem: Problem | None, expected: tuple[str, str]
) -> None:
    status, reason, _ = summarize_ready(components, problem)
    assert (status, reason) == expected


def test_the_ready_message_names_the_first_component_and_counts_the_others() -> None:
    components = [
        outcome("analytics", False, c.PROGRESSING, message="1/2 available"),
        outcome("routing", False, c.PREREQUISITE_MISSING, message="Install Istio"),
        outcome("postgres", False, c.PROGRESSING, message="0/1 ready"),
    ]
    assert summarize_ready(components, None) == ("False", c.PREREQUISITE_MISSING, "Routing: Install Istio (and 2 more)")
    assert summarize_ready([outcome("a", True), outcome("b", True)], None)[2] == "2 components ready"


def conditions_of(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {x["type"]: x for x in status["conditions"]}


BUILDS: list[tuple[str, list[ComponentOutcome], Problem | None, dict[str, str]]] = [
    ("a ready platform has only Ready", [outcome("a", True)], None, {c.READY: "True"}),
    (
        "a platform rolling out is Reconciling",
        [outcome("a", False, c.PROGRESSING)],
        None,
        {c.READY: "False", c.RECONCILING: "True"},
    ),
    (
        "an invalid spec is Stalled, not Reconciling",
        [],
        Problem(c.INVALID_SPEC, "spec.enable.analytic: unknown field", stalled=True),
        {c.READY: "False", c.STALLED: "True"},
    ),
    (
        "a failed apply is retried, so Reconciling",
        [outcome("a", True)],
        Problem(c.APPLY_FAILED, "forbidden"),
        {c.READY: "False", c.RECONCILING: "True"},
    ),
    (
        "a missing prerequisite waits for the user, so neither Reconciling nor Stalled",
        [outcome("a", False, c.PREREQUISITE_MISSING)],
        None,
        {c.READY: "False"},
    ),
    (
        "a failed health check is neither Reconciling nor Stalled",
        [outcome("a", False, c.HEALTH_CHECK_FAILED)],
        None,
        {c.READY: "False"},
    ),
]


@pytest.mark.parametrize(("components", "problem", "expected"), [b[1:] for b in BUILDS], ids=[b[0] for b in BUILDS])
def test_reconciling_and_stalled_are_present_only_when_true(
    components: list[ComponentOutcome], problem: Problem | None, expected: dict[str, str]
) -> None:
    status = build_status({}, 4, components, {}, problem, T0)
    assert {k: v["status"] for k, v in conditions_of(status).items()} == expected
    assert [x["type"] for x in status["conditions"]] == [
        t for t in (c.READY, c.RECONCILING, c.STALLED) if t in expected
    ]


def test_stalled_and_reconciling_are_removed_once_the_platform_is_ready() -> None:
    stalled = build_status({}, 1, [], {}, Problem(c.INVALID_SPEC, "bad", stalled=True), T0)
    ready = build_status(stalled, 2, [outcome("a", True)], {}, None, T1)
    assert list(conditions_of(ready)) == [c.READY]
    assert conditions_of(ready)[c.READY]["lastTransitionTime"] == T1


def test_build_status_stamps_the_generation_and_lists_components_and_inventory() -> None:
    components = [outcome("seldon_core", True), outcome("analytics", False, c.DISABLED, enabled=False)]
    inventory = {"seldon_core": ["apps/v1/Deployment/ns/b", "v1/Service/ns/a"], "analytics": []}
    status = build_status({}, 7, components, inventory, None, T0)
    assert status["observedGeneration"] == 7
    assert all(x["observedGeneration"] == 7 for x in status["conditions"])
    assert status["enabledComponents"] == "seldon_core"
    assert status["components"]["analytics"] == {
        "enabled": False,
        "ready": False,
        "reason": c.DISABLED,
        "message": c.DISABLED,
        "objects": 2,
    }
    assert status["inventory"] == {"seldon_core": ["apps/v1/Deployment/ns/b", "v1/Service/ns/a"]}


def test_security_opt_ins_are_listed_in_status() -> None:
    assert build_status({}, 1, [outcome("a", True)], {}, None, T0)["optIns"] == []
    status = build_status({}, 1, [outcome("a", True)], {}, None, T0, ["spec.security.allow_privileged_pods"])
    assert status["optIns"] == ["spec.security.allow_privileged_pods"]


def test_render_warnings_are_listed_in_status_at_most_ten_each_capped() -> None:
    many = [f"warning {i}: " + "w" * 1000 for i in range(20)]
    status = build_status({}, 1, [outcome("a", True)], {}, None, T0, [], many)
    assert len(status["warnings"]) == 10 and all(len(w) <= 300 for w in status["warnings"])
    assert status["warnings"][0].startswith("warning 0: ")


def test_long_messages_are_capped_at_1_kib_saying_so() -> None:
    from seldon_meta_operator.reconcile.status import MAX_MESSAGE

    long = "x" * 100_000
    status = build_status(
        {}, 1, [outcome("a", False, c.APPLY_FAILED, message=long)], {}, Problem(c.INVALID_SPEC, long), T0
    )
    assert all(
        len(x["message"]) <= MAX_MESSAGE and x["message"].endswith("(message truncated)") for x in status["conditions"]
    )
    assert len(status["components"]["a"]["message"]) <= MAX_MESSAGE


def test_without_a_generation_none_is_stamped() -> None:
    status = build_status({}, None, [outcome("a", True)], {}, None, T0)
    assert "observedGeneration" not in status
    assert "observedGeneration" not in status["conditions"][0]


def test_a_steady_pass_computes_an_identical_status_so_nothing_is_written() -> None:
    components = [outcome("a", True), outcome("b", True)]
    first = build_status({}, 3, components, {"a": ["k"]}, None, T0)
    second = build_status(first, 3, components, {"a": ["k"]}, None, T1)
    assert second == first
    assert status_changed(first, second) is False


STATUS_CHANGES: list[tuple[str, dict[str, Any] | None, bool]] = [
    ("no previous status", None, True),
    ("an identical status", {}, False),
    ("a new generation", {"observedGeneration": 4}, True),
    ("keys owned by others (kopf) are ignored", {"kopf": {"progress": {}}}, False),
]


@pytest.mark.parametrize(("change", "changed"), [s[1:] for s in STATUS_CHANGES], ids=[s[0] for s in STATUS_CHANGES])
def test_status_changed(change: dict[str, Any] | None, changed: bool) -> None:
    new = build_status({}, 3, [outcome("a", True)], {}, None, T0)
    old = None if change is None else {**copy.deepcopy(new), **change}
    assert status_changed(old, new) is changed


# --- health.py ---------------------------------------------------------------------------------------------


def deploy_status(
    replicas: int, available: int, updated: int, generation: int = 2, observed: int = 2, **cond: Any
) -> dict[str, Any]:
    conditions = [{"type": "Available", "status": "True" if available >= replicas else "False"}]
    if cond:
        conditions.append({"type": "Progressing", **cond})
    return {
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": NS, "generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": available,
            "availableReplicas": available,
            "conditions": conditions,
        },
    }


def statefulset_status(
    replicas: int, ready: int, current: str = "r1", update: str = "r1", observed: int = 1
) -> dict[str, Any]:
    return {
        "kind": "StatefulSet",
        "metadata": {"name": "s", "namespace": NS, "generation": 1},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "readyReplicas": ready,
            "currentReplicas": ready,
            "currentRevision": current,
            "updateRevision": update,
        },
    }


def daemonset_status(desired: int, ready: int) -> dict[str, Any]:
    return {
        "kind": "DaemonSet",
        "metadata": {"name": "ds", "namespace": NS, "generation": 1},
        "status": {"observedGeneration": 1, "desiredNumberScheduled": desired, "numberReady": ready},
    }


def with_conditions(kind: str, *conditions: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": "x", "namespace": NS}, "status": {"conditions": list(conditions)}}


VERDICTS: list[tuple[str, str, dict[str, Any] | None, bool, bool]] = [
    ("an available Deployment is ready", "Deployment", deploy_status(2, 2, 2), True, False),
    ("a Deployment rolling out is progressing", "Deployment", deploy_status(2, 1, 1), False, False),
    (
        "a Deployment whose new generation is not observed yet is progressing",
        "Deployment",
        deploy_status(1, 1, 1, generation=3, observed=2),
        False,
        False,
    ),
    (
        "a Deployment past its progress deadline has failed",
        "Deployment",
        deploy_status(
            1, 0, 1, status="False", reason="ProgressDeadlineExceeded", message="ReplicaSet has timed out progressing."
        ),
        False,
        True,
    ),
    ("a Deployment scaled to zero is ready", "Deployment", deploy_status(0, 0, 0), True, False),
    (
        "a Deployment without status is progressing",
        "Deployment",
        {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {}},
        False,
        False,
    ),
    ("a StatefulSet with every replica ready is ready", "StatefulSet", statefulset_status(3, 3), True, False),
    ("a StatefulSet with 2 of 3 ready is progressing", "StatefulSet", statefulset_status(3, 2), False, False),
    ("a StatefulSet mid-update is progressing", "StatefulSet", statefulset_status(3, 3, "r1", "r2"), False, False),
    ("a DaemonSet ready on every node is ready", "DaemonSet", daemonset_status(3, 3), True, False),
    ("a DaemonSet not ready everywhere is progressing", "DaemonSet", daemonset_status(3, 2), False, False),
    ("a DaemonSet scheduled nowhere yet is progressing", "DaemonSet", daemonset_status(0, 0), False, False),
    (
        "a bound claim is ready",
        "PersistentVolumeClaim",
        {"kind": "PersistentVolumeClaim", "metadata": {"name": "p"}, "status": {"phase": "Bound"}},
        True,
        False,
    ),
    (
        "a pending claim is progressing",
        "PersistentVolumeClaim",
        {"kind": "PersistentVolumeClaim", "metadata": {"name": "p"}, "status": {"phase": "Pending"}},
        False,
        False,
    ),
    (
        "a lost claim has failed",
        "PersistentVolumeClaim",
        {"kind": "PersistentVolumeClaim", "metadata": {"name": "p"}, "status": {"phase": "Lost"}},
        False,
        True,
    ),
    (
        "a Broker with Ready=True is ready",
        "Broker",
        with_conditions("Broker", {"type": "Ready", "status": "True"}),
        True,
        False,
    ),
    (
        "a Broker with Ready=False is progressing",
        "Broker",
        with_conditions("Broker", {"type": "Ready", "status": "False", "reason": "NoFilterService"}),
        False,
        False,
    ),
    ("a Broker no controller looked at is progressing", "Broker", with_conditions("Broker"), False, False),
    (
        "a Trigger with Ready=True is ready",
        "Trigger",
        with_conditions("Trigger", {"type": "Ready", "status": "True"}),
        True,
        False,
    ),
    (
        "an established CRD is ready",
        "CustomResourceDefinition",
        with_conditions("CustomResourceDefinition", {"type": "Established", "status": "True"}),
        True,
        False,
    ),
    (
        "a CRD not established yet is progressing",
        "CustomResourceDefinition",
        with_conditions("CustomResourceDefinition"),
        False,
        False,
    ),
    ("a ConfigMap is ready once it exists", "ConfigMap", {"kind": "ConfigMap", "metadata": {"name": "c"}}, True, False),
    (
        "an Istio Gateway is ready once it exists",
        "Gateway",
        {"kind": "Gateway", "metadata": {"name": "g"}},
        True,
        False,
    ),
    ("a missing object is not ready", "Deployment", None, False, False),
]


@pytest.mark.parametrize(("kind", "live", "ready", "failed"), [v[1:] for v in VERDICTS], ids=[v[0] for v in VERDICTS])
def test_health_verdicts(kind: str, live: dict[str, Any] | None, ready: bool, failed: bool) -> None:
    verdict = health.evaluate(live, kind, "x")
    assert (verdict.ready, verdict.failed) == (ready, failed)
    if not ready:
        assert verdict.message, "a verdict that is not ready says why"


def test_verdict_messages_name_the_object_and_what_is_missing() -> None:
    assert (
        health.evaluate(deploy_status(2, 1, 1), "Deployment", "d").message
        == f"Deployment {NS}/d: 1/2 available, 1 updated"
    )
    assert health.evaluate(statefulset_status(3, 2), "StatefulSet", "s").message == f"StatefulSet {NS}/s: 2/3 ready"
    deadline = deploy_status(1, 0, 1, status="False", reason="ProgressDeadlineExceeded", message="timed out")
    assert health.evaluate(deadline, "Deployment", "d").message == f"Deployment {NS}/d: timed out"
    broker = with_conditions("Broker", {"type": "Ready", "status": "False", "message": "no channel"})
    assert health.evaluate(broker, "Broker", "x").message == f"Broker {NS}/x: no channel"
    assert "is its controller running?" in health.evaluate(with_conditions("Trigger"), "Trigger", "x").message
    assert health.evaluate(None, "StatefulSet", "ns/s").message == "StatefulSet ns/s: missing"


# --- secrets.py --------------------------------------------------------------------------------------------


def load(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def webhook_secret(namespace: str = NS, now: datetime.datetime = NOW, drop: str | None = None) -> dict[str, Any]:
    made = make_webhook_cert(namespace, now)
    data = {
        "ca.crt": base64.b64encode(made.ca_pem.encode()).decode(),
        "tls.crt": base64.b64encode(made.cert_pem.encode()).decode(),
        "tls.key": base64.b64encode(made.key_pem.encode()).decode(),
    }
    data.pop(drop or "", None)
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "data": data}


def test_the_webhook_certificate_names_the_webhook_service_in_its_namespace() -> None:
    made = make_webhook_cert("ml", NOW)
    cert = load(made.cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert (
        sans
        == webhook_hosts("ml")
        == [
            "seldon-webhook-service",
            "seldon-webhook-service.ml",
            "seldon-webhook-service.ml.svc",
            "seldon-webhook-service.ml.svc.cluster.local",
        ]
    )
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku


def test_the_webhook_certificate_is_valid_for_a_year_from_now_and_signed_by_its_ca() -> None:
    made = make_webhook_cert(NS, NOW)
    cert, ca = load(made.cert_pem), load(made.ca_pem)
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    assert cert.not_valid_after_utc == NOW + CERT_VALIDITY
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    key = serialization.load_pem_private_key(made.key_pem.encode(), password=None)
    assert key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == cert.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_two_certificates_never_share_a_key() -> None:
    assert make_webhook_cert(NS, NOW).key_pem != make_webhook_cert(NS, NOW).key_pem


RENEWALS: list[tuple[str, dict[str, Any] | None, datetime.datetime, str | None]] = [
    ("a missing secret is generated", None, NOW, "missing"),
    ("a secret without its key is regenerated", webhook_secret(drop="tls.key"), NOW, "incomplete"),
    (
        "a secret holding no certificate is regenerated",
        {"data": {"ca.crt": "eA==", "tls.crt": base64.b64encode(b"not a cert").decode(), "tls.key": "eA=="}},
        NOW,
        "unreadable",
    ),
    (
        "a certificate with under 30 days left is renewed",
        webhook_secret(),
        NOW + datetime.timedelta(days=340),
        "expiring",
    ),
    ("a certificate for another namespace is replaced", webhook_secret("elsewhere"), NOW, "wrong namespace"),
    ("a fresh certificate is kept", webhook_secret(), NOW + datetime.timedelta(days=1), None),
    ("a certificate with 31 days left is kept", webhook_secret(), NOW + datetime.timedelta(days=334), None),
]


@pytest.mark.parametrize(("secret", "now", "reason"), [r[1:] for r in RENEWALS], ids=[r[0] for r in RENEWALS])
def test_cert_needs_renewal(secret: dict[str, Any] | None, now: datetime.datetime, reason: str | None) -> None:
    assert cert_needs_renewal(secret, NS, now) == reason


def our_secret(namespace: str = NS, now: datetime.datetime = NOW) -> dict[str, Any]:
    """The webhook Secret as the operator writes it: its certificate described by annotations."""
    return webhook_cert_manifest(make_webhook_cert(namespace, now), namespace, "sample", None)


@pytest.mark.parametrize(
    ("now", "namespace", "reason"),
    [
        (NOW + datetime.timedelta(days=1), NS, None),
        (NOW + datetime.timedelta(days=334), NS, None),
        (NOW + datetime.timedelta(days=340), NS, "expiring"),
        (NOW, "elsewhere", "wrong namespace"),
    ],
)
def test_the_annotations_of_our_secret_say_what_the_certificate_says(
    now: datetime.datetime, namespace: str, reason: str | None
) -> None:
    secret = our_secret(namespace)
    tls_crt = base64.b64decode(secret["data"]["tls.crt"])
    assert described(secret, tls_crt) == parsed(tls_crt) is not None
    assert cert_needs_renewal(secret, NS, now) == reason


def test_annotations_that_do_not_describe_the_certificate_are_ignored() -> None:
    # Someone put another certificate (for another namespace) into our Secret and kept our annotations: parsed.
    secret, other = our_secret(NS), our_secret("elsewhere")
    secret["data"]["tls.crt"] = other["data"]["tls.crt"]
    assert described(secret, base64.b64decode(other["data"]["tls.crt"])) is None
    assert cert_needs_renewal(secret, NS, NOW) == "wrong namespace"
    # A digest that matches but a date that does not parse: parsed too.
    good = our_secret(NS)
    good["metadata"]["annotations"][CERT_NOT_AFTER_ANNOTATION] = "soon"
    assert described(good, base64.b64decode(good["data"]["tls.crt"])) is None
    assert cert_needs_renewal(good, NS, NOW) is None


def test_checking_our_webhook_secret_never_loads_cryptography(tmp_path: Path) -> None:
    """The steady-state check reads annotations: OpenSSL stays out of the operator's memory (issue 12)."""
    (tmp_path / "secret.json").write_text(json.dumps(our_secret(NS)))
    script = (
        "import datetime, json, sys\n"
        "import seldon_meta_operator.operator.handlers, seldon_meta_operator.operator.runner\n"
        "from seldon_meta_operator.reconcile.secrets import cert_needs_renewal\n"
        f"secret = json.load(open({str(tmp_path / 'secret.json')!r}))\n"
        f"now = datetime.datetime.fromisoformat({(NOW + datetime.timedelta(days=1)).isoformat()!r})\n"
        f"print(cert_needs_renewal(secret, {NS!r}, now), 'cryptography' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["None", "False"]


def test_every_secret_the_reconcile_writes_is_seen_by_the_operators_watch() -> None:
    # The watch selects on watch_labels: a generated Secret without the platform-namespace label was restored only
    # at the next resync after its deletion (30 s in the e2e suite, 5 minutes by default).
    result = render(example("all-features"))
    written = [
        secret_manifest(spec, "sample", comp.name, owner)
        for comp in result.components
        for spec in comp.secrets
        for owner in (None, {"kind": "SeldonOperator", "name": "sample", "uid": "u"})
    ]
    written.append(our_secret(NS))
    assert len(written) >= 7
    for secret in written:
        labels = secret["metadata"]["labels"]
        assert watch_labels(secret["metadata"]["namespace"]).items() <= labels.items(), secret["metadata"]


URLSAFE = set(string.ascii_letters + string.digits + "-_")


def test_random_values_hold_at_least_256_bits_from_the_system_random_source() -> None:
    values = [random_value() for _ in range(200)]
    assert len(set(values)) == len(values)
    for value in values:
        random_part = value.removesuffix("-Aa1")
        assert value.endswith("-Aa1")
        # token_urlsafe(32): 32 random bytes as 43 base64url characters (6 bits each: 258 >= 256 bits).
        assert len(random_part) >= 43
        assert set(random_part) <= URLSAFE
    # The random parts use the whole alphabet, as uniform bytes would.
    assert len(set("".join(v.removesuffix("-Aa1") for v in values))) == 64


def test_random_values_meet_password_rules_asking_for_every_character_class() -> None:
    value = random_value()
    assert any(ch.isupper() for ch in value) and any(ch.islower() for ch in value)
    assert any(ch.isdigit() for ch in value) and any(not ch.isalnum() for ch in value)


GENERATED = GeneratedSecret(
    name="metadata-postgres",
    namespace=NS,
    literals={"user": "seldon", "host": "seldon-internal-postgres-postgresql.seldon-system.svc.cluster.local"},
    random_keys=("password",),
    data=True,
)
OWNER = {"apiVersion": "operator.seldon.io/v1alpha1", "kind": "SeldonOperator", "name": "p", "uid": "u"}


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_secret_manifest_holds_the_literals_and_a_random_value_per_random_key() -> None:
    first, second = (
        secret_manifest(GENERATED, "p", "postgres", OWNER),
        secret_manifest(GENERATED, "p", "postgres", OWNER),
    )
    values = decoded(first)
    assert sorted(values) == ["host", "password", "user"]
    assert values["user"] == "seldon"
    assert values["password"] != decoded(second)["password"]
    assert first["type"] == "Opaque"
    assert first["metadata"]["ownerReferences"] == [OWNER]
    assert "annotations" not in first["metadata"]


def test_secret_manifest_puts_no_value_in_metadata() -> None:
    for owner in (OWNER, None):
        secret = secret_manifest(GENERATED, "p", "postgres", owner)
        metadata_text = repr(secret["metadata"])
        for key in GENERATED.random_keys:
            value = decoded(secret)[key]
            assert value not in metadata_text
            assert base64.b64encode(value.encode()).decode() not in metadata_text


def test_a_secret_without_owner_is_marked_retained_and_carries_our_labels() -> None:
    secret = secret_manifest(GENERATED, "p", "postgres", None)
    assert secret["metadata"]["annotations"] == {RETAIN_ANNOTATION: "true"}
    assert "ownerReferences" not in secret["metadata"]
    assert secret["metadata"]["labels"]["operator.seldon.io/component"] == "postgres"
    assert secret["metadata"]["namespace"] == NS


def test_the_webhook_certificate_serves_a_namespace_of_the_longest_allowed_name() -> None:
    namespace = "n" * 63  # a DNS label's limit; the common name alone would exceed X.509's 64 characters
    made = make_webhook_cert(namespace, NOW)
    cert = x509.load_pem_x509_certificate(made.cert_pem.encode())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"seldon-webhook-service.{namespace}.svc" in names.get_values_for_type(x509.DNSName)


# --- status.py: recheck_after -------------------------------------------------------------------------------

RECHECKS = [
    ("a Ready platform is checked every interval", {"type": "Ready", "status": "True", "reason": "Succeeded"}, 15.0),
    ("rolling-out workloads are checked soon", {"type": "Ready", "status": "False", "reason": "Progressing"}, 2.0),
    (
        "a component waiting on another is checked soon",
        {"type": "Ready", "status": "False", "reason": "DependencyNotReady"},
        2.0,
    ),
    (
        "a missing prerequisite waits a whole interval",
        {"type": "Ready", "status": "False", "reason": "PrerequisiteMissing"},
        15.0,
    ),
    ("a stalled spec waits a whole interval", {"type": "Ready", "status": "False", "reason": "InvalidSpec"}, 15.0),
]


@pytest.mark.parametrize(("ready", "expected"), [x[1:] for x in RECHECKS], ids=[x[0] for x in RECHECKS])
def test_recheck_after(ready: dict[str, str], expected: float) -> None:
    from seldon_meta_operator.reconcile.status import recheck_after

    assert recheck_after({"conditions": [ready]}, settled=15.0, progressing=2.0) == expected


def test_a_status_without_ready_is_checked_soon() -> None:
    from seldon_meta_operator.reconcile.status import recheck_after

    assert recheck_after({}, settled=15.0, progressing=2.0) == 2.0
