"""`seldonctl doctor`: check a cluster for what the operator and the enabled features need, and explain each
finding with a fix.

Layer: cli. Gathering (``reconcile.doctor.gather_facts``, through Kube) and the pure checks
(``reconcile.doctor.evaluate``) live in reconcile/; this module runs them and prints a table. The exit code is 1
when a finding blocks the install or an enabled feature, 0 otherwise (warnings block nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from seldon_meta_operator.cli.cluster import (
    OPERATOR_NAMESPACE,
    ContextOpt,
    KubeconfigOpt,
    OutputOpt,
    dump,
    run,
    stdout_console,
)

if TYPE_CHECKING:
    from rich.table import Table

    # reconcile.doctor gathers through kube/ (lightkube): imported where the command runs, so --help stays light.
    from seldon_meta_operator.reconcile.doctor import Finding

#: Label and style of each reconcile.doctor.Level, by its value.
_LEVEL_STYLE = {"ok": ("ok", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "bold red")}


#: The CHECK column is never narrower than its longest name, up to this many characters.
CHECK_WIDTH_CAP = 80


def findings_table(findings: Sequence[Finding]) -> Table:
    from rich.table import Table  # noqa: PLC0415  (rich: only where output is drawn)
    from rich.text import Text  # noqa: PLC0415

    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    # The check names the row (a namespace/name included): it keeps its width, the explanations fold.
    longest = max((len(f.check) for f in findings), default=0)
    table.add_column("CHECK", overflow="fold", min_width=min(longest, CHECK_WIDTH_CAP))
    table.add_column("RESULT", no_wrap=True)
    table.add_column("FINDING", overflow="fold")
    table.add_column("FIX", overflow="fold")
    for finding in findings:
        label, style = _LEVEL_STYLE[finding.level.value]
        table.add_row(finding.check, Text(label, style=style), finding.message, finding.fix)
    return table


def doctor(
    namespace: Annotated[
        str, typer.Option("-n", "--namespace", help="Namespace of the operator.")
    ] = OPERATOR_NAMESPACE,
    output: OutputOpt = None,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Check the cluster: Kubernetes version, your permissions, the operator, its CRD, the prerequisites of every
    enabled feature, another Seldon Core, stale webhooks. Exit code 1 when something blocks."""
    from rich.text import Text  # noqa: PLC0415

    from seldon_meta_operator.reconcile.doctor import Level, evaluate, exit_code, gather_facts  # noqa: PLC0415

    facts = run(kubeconfig, context, lambda kube: gather_facts(kube, namespace))
    findings = evaluate(facts)
    if output is not None:
        dump(
            {
                "findings": [
                    {"check": f.check, "result": f.level.value, "message": f.message}
                    | ({"fix": f.fix} if f.fix else {})
                    for f in findings
                ]
            },
            output,
        )
    else:
        console = stdout_console()
        console.print(findings_table(findings))
        failed = sum(f.level is Level.FAIL for f in findings)
        warned = sum(f.level is Level.WARN for f in findings)
        console.print()
        if failed:
            console.print(Text(f"{failed} problem(s) block the install or an enabled feature", style="bold red"))
        else:
            console.print(Text("No blocking problem found", style="bold green"))
        if warned:
            console.print(f"{warned} warning(s)")
    raise typer.Exit(exit_code(findings))


def register(app: typer.Typer) -> None:
    app.command(
        epilog="Examples:\n\n  seldonctl doctor\n\n  seldonctl doctor --context staging -o yaml\n\n"
        "Exit codes: 0 nothing blocks (warnings are fine), 1 something blocks the install or an enabled feature.",
    )(doctor)
