"""Pure health evaluators: is a live object ready, progressing, or failed?

Layer: reconcile (pure). Each evaluator returns a Verdict from the object's real status, as cert-manager's
policy checks do; the reconciler gathers the objects and calls ``evaluate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    ready: bool
    failed: bool = False
    message: str = ""


READY = Verdict(ready=True)


def _conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {c.get("type", ""): c for c in (obj.get("status") or {}).get("conditions") or []}


def _generation_observed(obj: Mapping[str, Any]) -> bool:
    status = obj.get("status") or {}
    return int(status.get("observedGeneration", 0)) >= int(obj.get("metadata", {}).get("generation", 0))


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def deployment(obj: Mapping[str, Any]) -> Verdict:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = int(spec.get("replicas", 1))
    conditions = _conditions(obj)
    progressing = conditions.get("Progressing", {})
    if progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Verdict(False, True, f"{_name(obj)}: {progressing.get('message', 'progress deadline exceeded')}")
    available = int(status.get("availableReplicas", 0))
    updated = int(status.get("updatedReplicas", 0))
    if not _generation_observed(obj) or updated < want or available < want:
        return Verdict(False, message=f"{_name(obj)}: {available}/{want} available, {updated} updated")
    return READY


def statefulset(obj: Mapping[str, Any]) -> Verdict:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas", 0))
    current = status.get("currentRevision")
    if not _generation_observed(obj) or ready < want or (current and current != status.get("updateRevision")):
        return Verdict(False, message=f"{_name(obj)}: {ready}/{want} ready")
    return READY


def daemonset(obj: Mapping[str, Any]) -> Verdict:
    status = obj.get("status") or {}
    want = int(status.get("desiredNumberScheduled", 0))
    ready = int(status.get("numberReady", 0))
    if not _generation_observed(obj) or want == 0 or ready < want:
        return Verdict(False, message=f"{_name(obj)}: {ready}/{want} ready")
    return READY


def persistent_volume_claim(obj: Mapping[str, Any]) -> Verdict:
    phase = (obj.get("status") or {}).get("phase", "Pending")
    if phase == "Lost":
        return Verdict(False, True, f"{_name(obj)}: volume lost")
    return READY if phase == "Bound" else Verdict(False, message=f"{_name(obj)}: {phase}")


def crd(obj: Mapping[str, Any]) -> Verdict:
    established = _conditions(obj).get("Established", {})
    return READY if established.get("status") == "True" else Verdict(False, message=f"{_name(obj)}: not established")


def ready_condition(obj: Mapping[str, Any]) -> Verdict:
    """Objects whose controller reports a Ready condition (Knative Broker and Trigger, cert-manager)."""
    ready = _conditions(obj).get("Ready")
    if ready is None:
        return Verdict(False, message=f"{_name(obj)}: no Ready condition yet (is its controller running?)")
    if ready.get("status") == "True":
        return READY
    detail = ready.get("message") or ready.get("reason") or "not ready"
    return Verdict(False, message=f"{_name(obj)}: {detail}")


EVALUATORS = {
    "Deployment": deployment,
    "StatefulSet": statefulset,
    "DaemonSet": daemonset,
    "PersistentVolumeClaim": persistent_volume_claim,
    "CustomResourceDefinition": crd,
    "Broker": ready_condition,
    "Trigger": ready_condition,
    "Certificate": ready_condition,
    "Issuer": ready_condition,
}


def evaluate(obj: Mapping[str, Any] | None, kind: str, name: str) -> Verdict:
    """Verdict for one object. Kinds without a status to read (ConfigMap, Service, Istio Gateway) are ready once
    they exist."""
    if obj is None:
        return Verdict(False, message=f"{kind} {name}: missing")
    evaluator = EVALUATORS.get(kind)
    return evaluator(obj) if evaluator else READY
