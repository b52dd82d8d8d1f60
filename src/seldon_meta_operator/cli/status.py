"""`seldonctl status`: the conditions and the components table of SeldonOperators, with an exit code for scripts.

Layer: cli. Gather (list or get the SeldonOperators), evaluate purely (``evaluate_state``), print. The same
pure functions drive the live progress of ``seldonctl apply --wait``.

Exit codes: 0 every SeldonOperator is Ready; 1 one is still progressing (or the command failed); 2 one is
stalled or failed (``Stalled=True``, or ``Ready=False`` with a failure reason).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seldon_meta_operator.api import conditions as c
from seldon_meta_operator.api.v1alpha1 import API_VERSION, KIND
from seldon_meta_operator.cli.cluster import (
    OPERATOR_NAMESPACE,
    ContextOpt,
    KubeconfigOpt,
    OutputOpt,
    age,
    condition,
    dump,
    parse_time,
    run,
    stdout_console,
    utcnow,
)
from seldon_meta_operator.cli.common import fail
from seldon_meta_operator.components import component_names

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

    from seldon_meta_operator.kube import Kube  # imported where a command runs: --help and render stay light


class State(IntEnum):
    """A SeldonOperator's state; the value is the exit code."""

    READY = 0
    PROGRESSING = 1
    FAILED = 2


#: Ready=False reasons that need someone to act (fix the spec, install a prerequisite, look at a workload): the
#: operator keeps retrying, but waiting will not help. Other reasons (Progressing, DependencyNotReady,
#: ReconcileError) are transient.
FAILURE_REASONS = frozenset(
    {
        c.INVALID_SPEC,
        c.RENDER_FAILED,
        c.APPLY_FAILED,
        c.APPLY_CONFLICT,
        c.PRUNE_FAILED,
        c.PREREQUISITE_MISSING,
        c.HEALTH_CHECK_FAILED,
        c.DUPLICATE_PLATFORM,
    }
)
NOT_RECONCILED = "NotReconciled"  # no Ready condition yet: the operator has not looked at it
STALE = "Reconciling"  # the operator has not yet seen the latest generation


@dataclass(frozen=True)
class Verdict:
    state: State
    reason: str
    message: str


def evaluate_state(body: Mapping[str, Any]) -> Verdict:
    """The state of one SeldonOperator from its status. Pure."""
    status = body.get("status") or {}
    generation = (body.get("metadata") or {}).get("generation")
    ready = condition(body, c.READY)
    if ready is None:
        return Verdict(
            State.PROGRESSING,
            NOT_RECONCILED,
            "no status yet: the operator has not reconciled it (is it running? see `seldonctl doctor`)",
        )
    observed = ready.get("observedGeneration", status.get("observedGeneration"))
    if generation is not None and observed is not None and int(observed) < int(generation):
        return Verdict(
            State.PROGRESSING, STALE, f"generation {generation} not reconciled yet (status is of {observed})"
        )
    stalled = condition(body, c.STALLED)
    if stalled is not None and stalled.get("status") == "True":
        return Verdict(State.FAILED, str(stalled.get("reason", c.STALLED)), str(stalled.get("message", "")))
    reason, message = str(ready.get("reason", "")), str(ready.get("message", ""))
    if ready.get("status") == "True":
        return Verdict(State.READY, reason, message)
    if ready.get("status") == "False" and reason in FAILURE_REASONS:
        return Verdict(State.FAILED, reason, message)
    return Verdict(State.PROGRESSING, reason, message)


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """The worst state wins: one failed platform makes the command exit 2."""
    return max((int(v.state) for v in verdicts), default=int(State.READY))


@dataclass(frozen=True)
class ComponentRow:
    name: str
    enabled: bool
    ready: bool
    reason: str
    message: str
    age: str


def component_rows(body: Mapping[str, Any], now: datetime.datetime) -> list[ComponentRow]:
    """One row per component of status.components, in dependency order. The status has no per-component
    timestamps, so a row's age is that of the platform's Ready condition (how long the current state holds), or
    the object's age when there is no condition yet."""
    components: Mapping[str, Any] = (body.get("status") or {}).get("components") or {}
    ready = condition(body, c.READY)
    since = parse_time((ready or {}).get("lastTransitionTime")) or parse_time(
        (body.get("metadata") or {}).get("creationTimestamp")
    )
    order = {name: i for i, name in enumerate(component_names())}
    rows = []
    for name in sorted(components, key=lambda n: (order.get(n, len(order)), n)):
        comp = components[name] or {}
        rows.append(
            ComponentRow(
                name=name,
                enabled=bool(comp.get("enabled")),
                ready=bool(comp.get("ready")),
                reason=str(comp.get("reason", "")),
                message=str(comp.get("message", "")),
                age=age(since, now),
            )
        )
    return rows


def summary(body: Mapping[str, Any], now: datetime.datetime) -> dict[str, Any]:
    """What ``-o json|yaml`` prints for one SeldonOperator."""
    meta = body.get("metadata") or {}
    status = body.get("status") or {}
    verdict = evaluate_state(body)
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "state": verdict.state.name.capitalize(),
        "exitCode": int(verdict.state),
        "reason": verdict.reason,
        "message": verdict.message,
        "generation": meta.get("generation"),
        "observedGeneration": status.get("observedGeneration"),
        "conditions": list(status.get("conditions") or []),
        "components": {
            row.name: {"enabled": row.enabled, "ready": row.ready, "reason": row.reason, "message": row.message}
            for row in component_rows(body, now)
        },
        "optIns": list(status.get("optIns") or []),
        "warnings": list(status.get("warnings") or []),
    }


# --- Rendering -----------------------------------------------------------------------------------------

_STATE_STYLE = {State.READY: "green", State.PROGRESSING: "yellow", State.FAILED: "red"}


def _yes_no(value: bool, good: str = "green") -> Text:
    from rich.text import Text  # noqa: PLC0415  (rich: only where output is drawn, not for --help or render)

    return Text("True" if value else "False", style=good if value else "yellow")


def components_table(body: Mapping[str, Any], now: datetime.datetime) -> Table:
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for column in ("COMPONENT", "ENABLED", "READY", "REASON", "AGE", "MESSAGE"):
        table.add_column(column, overflow="fold", no_wrap=column != "MESSAGE")
    for row in component_rows(body, now):
        reason_style = "green" if row.ready else ("dim" if not row.enabled else "yellow")
        if row.reason in FAILURE_REASONS:
            reason_style = "red"
        table.add_row(
            row.name,
            Text("True" if row.enabled else "False", style="" if row.enabled else "dim"),
            _yes_no(row.ready) if row.enabled else Text("-", style="dim"),
            Text(row.reason, style=reason_style),
            row.age,
            row.message,
        )
    return table


def conditions_table(body: Mapping[str, Any], now: datetime.datetime) -> Table:
    from rich.table import Table  # noqa: PLC0415

    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for column in ("CONDITION", "STATUS", "REASON", "AGE", "MESSAGE"):
        table.add_column(column, overflow="fold", no_wrap=column != "MESSAGE")
    for cond in (body.get("status") or {}).get("conditions") or []:
        table.add_row(
            str(cond.get("type", "")),
            str(cond.get("status", "")),
            str(cond.get("reason", "")),
            age(parse_time(cond.get("lastTransitionTime")), now),
            str(cond.get("message", "")),
        )
    return table


def platform_view(body: Mapping[str, Any], now: datetime.datetime) -> RenderableType:
    """The header line, the components table and the conditions table of one SeldonOperator."""
    from rich.console import Group  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    meta = body.get("metadata") or {}
    verdict = evaluate_state(body)
    header = Text.assemble(
        (f"{KIND} {meta.get('namespace')}/{meta.get('name')}: ", "bold"),
        (verdict.state.name.capitalize(), f"bold {_STATE_STYLE[verdict.state]}"),
        f" ({verdict.reason})" if verdict.reason and verdict.reason.lower() != verdict.state.name.lower() else "",
        f" - {verdict.message}" if verdict.message else "",
    )
    parts: list[RenderableType] = [header]
    opt_ins = (body.get("status") or {}).get("optIns") or []
    if opt_ins:
        parts.append(Text(f"Security opt-ins in force: {', '.join(opt_ins)} (docs/security.md)", style="bold yellow"))
    for warning in (body.get("status") or {}).get("warnings") or []:
        parts.append(Text(f"Warning: {warning}", style="yellow"))
    if (body.get("status") or {}).get("components"):
        parts += [Text(""), components_table(body, now)]
    if (body.get("status") or {}).get("conditions"):
        parts += [Text(""), conditions_table(body, now)]
    return Group(*parts)


# --- The command ---------------------------------------------------------------------------------------


async def gather_platforms(
    kube: Kube, name: str | None, namespace: str, all_namespaces: bool
) -> list[dict[str, Any]] | None:
    """The SeldonOperators asked for; None when the CRD is not installed."""
    from seldon_meta_operator.kube import UnknownKindError  # noqa: PLC0415

    try:
        if name is not None:
            found = await kube.get(API_VERSION, KIND, name, namespace)
            return [found] if found is not None else []
        items = await kube.list(API_VERSION, KIND, None if all_namespaces else namespace)
    except UnknownKindError:
        return None
    return sorted(items, key=lambda x: (x["metadata"].get("namespace", ""), x["metadata"]["name"]))


def status(
    name: Annotated[str | None, typer.Argument(help="A SeldonOperator's name (default: every one in -n).")] = None,
    namespace: Annotated[
        str, typer.Option("-n", "--namespace", help="Namespace of the SeldonOperators.")
    ] = OPERATOR_NAMESPACE,
    all_namespaces: Annotated[
        bool, typer.Option("-A", "--all-namespaces", help="SeldonOperators of every namespace.")
    ] = False,
    output: OutputOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Show the conditions and components of SeldonOperators. Exit code: 0 Ready, 1 progressing, 2 stalled or
    failed."""
    if name is not None and all_namespaces:
        fail("a NAME and -A do not go together", "use -n NAMESPACE with a NAME")
    found = run(kubeconfig, context, lambda kube: gather_platforms(kube, name, namespace, all_namespaces))
    if found is None:
        fail(f"the {KIND} CRD is not installed in this cluster", "install the operator: seldonctl install --wait")
    if not found:
        where = "any namespace" if all_namespaces else f"namespace {namespace}"
        if name is not None:
            fail(f"{KIND} {namespace}/{name} not found", f"list them: seldonctl status -n {namespace}")
        fail(
            f"no {KIND} in {where}",
            "apply one: seldonctl apply -f examples/minimal.yaml"
            + ("" if all_namespaces else ", or look in every namespace with -A"),
        )
    now = utcnow()
    verdicts = [evaluate_state(body) for body in found]
    if output is not None:
        summaries = [summary(body, now) for body in found]
        dump(summaries[0] if name is not None else {"items": summaries}, output)
    else:
        console = stdout_console()
        for i, body in enumerate(found):
            if i:
                console.print()
            console.print(platform_view(body, now))
    raise typer.Exit(exit_code(verdicts))


def register(app: typer.Typer) -> None:
    app.command(
        epilog="Examples:\n\n  seldonctl status\n\n"
        "  seldonctl status seldonoperator-sample -n seldon-system -o yaml\n\n"
        "  seldonctl status -A && echo all ready\n\n"
        "Exit codes: 0 Ready, 1 progressing (or an error), 2 stalled or failed.",
    )(status)
