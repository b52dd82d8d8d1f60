"""Pure status computation: conditions, per-component status, the Ready summary.

Layer: reconcile (pure). The reconciler computes the whole new status here and writes it once, only when it
differs from the current one. ``lastTransitionTime`` moves only when a condition's status flips, so steady
passes produce identical status and no write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seldon_meta_operator.api import conditions as c

#: Longest message written to status (conditions and components). A SpecError may quote user input; a status
#: write must never exceed the API server's limits, nor echo a huge value back (issue 8).
MAX_MESSAGE = 1024
ELIDED = " … (message truncated)"
#: Render warnings kept in status (each capped shorter than a message).
MAX_WARNINGS = 10
MAX_WARNING = 300


def cap_message(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, saying that it was cut."""
    return text if len(text) <= limit else text[: limit - len(ELIDED)] + ELIDED


@dataclass(frozen=True)
class ComponentOutcome:
    name: str
    title: str
    enabled: bool
    ready: bool
    reason: str
    message: str = ""
    objects: int = 0


@dataclass(frozen=True)
class Problem:
    """A failure of the whole pass (not of one component's health)."""

    reason: str
    message: str
    stalled: bool = False  # needs a spec change (or another platform's removal) to clear


def set_condition(
    current: Sequence[Mapping[str, Any]],
    type_: str,
    status: str,
    reason: str,
    message: str,
    now: str,
    generation: int | None,
) -> list[dict[str, Any]]:
    """Conditions with ``type_`` set; its lastTransitionTime is kept unless the status flips."""
    out: list[dict[str, Any]] = []
    previous = next((dict(x) for x in current if x.get("type") == type_), None)
    transition = previous["lastTransitionTime"] if previous and previous.get("status") == status else now
    new = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": cap_message(message),
        "lastTransitionTime": transition,
    }
    if generation is not None:
        new["observedGeneration"] = generation
    placed = False
    for cond in current:
        if cond.get("type") == type_:
            out.append(new)
            placed = True
        else:
            out.append(dict(cond))
    if not placed:
        out.append(new)
    return out


def remove_condition(current: Sequence[Mapping[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [dict(x) for x in current if x.get("type") != type_]


def summarize_ready(components: Sequence[ComponentOutcome], problem: Problem | None) -> tuple[str, str, str]:
    """(status, reason, message) of the Ready condition: the one place that decides it."""
    if problem is not None:
        return "False", problem.reason, problem.message
    waiting = [x for x in components if x.enabled and not x.ready]
    if not waiting:
        enabled = [x for x in components if x.enabled]
        return "True", c.SUCCEEDED, f"{len(enabled)} components ready"
    order = (
        c.HEALTH_CHECK_FAILED,
        c.APPLY_CONFLICT,
        c.APPLY_FAILED,
        c.PREREQUISITE_MISSING,
        c.DEPENDENCY_NOT_READY,
        c.PROGRESSING,
    )
    first = min(waiting, key=lambda x: order.index(x.reason) if x.reason in order else len(order))
    others = f" (and {len(waiting) - 1} more)" if len(waiting) > 1 else ""
    return "False", first.reason, f"{first.title}: {first.message}{others}"


def build_status(
    old: Mapping[str, Any],
    generation: int | None,
    components: Sequence[ComponentOutcome],
    inventory: Mapping[str, Sequence[str]],
    problem: Problem | None,
    now: str,
    opt_ins: Sequence[str] = (),
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The complete new status. Pure: ``now`` is passed in and used only for condition transitions. ``opt_ins``:
    the security opt-ins in force (render/policy.py), shown so that nobody overlooks them."""
    conditions: list[dict[str, Any]] = list(old.get("conditions") or [])
    ready, reason, message = summarize_ready(components, problem)
    conditions = set_condition(conditions, c.READY, ready, reason, message, now, generation)
    stalled = problem is not None and problem.stalled
    if stalled:
        conditions = set_condition(conditions, c.STALLED, "True", reason, message, now, generation)
    else:
        conditions = remove_condition(conditions, c.STALLED)
    reconciling = not stalled and ready != "True" and reason not in (c.PREREQUISITE_MISSING, c.HEALTH_CHECK_FAILED)
    if reconciling:
        conditions = set_condition(conditions, c.RECONCILING, "True", reason, message, now, generation)
    else:
        conditions = remove_condition(conditions, c.RECONCILING)
    order = {c.READY: 0, c.RECONCILING: 1, c.STALLED: 2}
    conditions.sort(key=lambda x: order.get(x["type"], 3))
    status: dict[str, Any] = {
        "conditions": conditions,
        "components": {
            x.name: {
                "enabled": x.enabled,
                "ready": x.ready,
                "reason": x.reason,
                "message": cap_message(x.message),
                "objects": x.objects,
            }
            for x in components
        },
        "enabledComponents": ",".join(x.name for x in components if x.enabled),
        "inventory": {k: list(v) for k, v in sorted(inventory.items()) if v},
        "optIns": list(opt_ins),
        "warnings": [cap_message(w, MAX_WARNING) for w in warnings[:MAX_WARNINGS]],
    }
    if generation is not None:
        status["observedGeneration"] = generation
    return status


def status_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Compare only the fields we own (kopf or others may keep their own keys in status)."""
    old = old or {}
    return any(old.get(k) != v for k, v in new.items())


def recheck_after(status: Mapping[str, Any], settled: float, progressing: float) -> float:
    """Seconds until the next pass, from the status just computed (controller-runtime's RequeueAfter): soon while
    workloads roll out (``Progressing``, ``DependencyNotReady``), so Ready is reported when it happens rather than a
    whole interval later; every ``settled`` seconds otherwise (Ready, Stalled, a missing prerequisite, a failure
    kopf already retries), to watch health and correct drift."""
    for cond in status.get("conditions") or []:
        if cond.get("type") == c.READY:
            waiting = cond.get("status") != "True" and cond.get("reason") in (c.PROGRESSING, c.DEPENDENCY_NOT_READY)
            return progressing if waiting else settled
    return progressing
