"""seldonctl entry point: one typer app, one sub-module per command family.

Layer: cli. Commands gather, decide with the pure layers, then act (house style §8).
"""

from __future__ import annotations

import datetime
import difflib
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer.core import TyperGroup

from seldon_meta_operator.cli import cluster_commands
from seldon_meta_operator.cli.common import CHART_DIR, fail, load_seldon_operators, read_text, warn
from seldon_meta_operator.errors import SpecError

if TYPE_CHECKING:
    from seldon_meta_operator.components.base import ClusterFacts

# What `--help` imports is this module, typer and the standard library (issue 12: seldonctl starts light). The
# render pipeline, pydantic and YAML are imported inside the commands that use them, and the cluster commands'
# modules when one of them is called (cluster_commands.py). tests/unit/test_cli_imports.py checks both.


class _Group(TyperGroup):
    """Lists each command with its whole first sentence, wrapped (click cuts it at the line's end with "..."), and
    loads the cluster commands only when one is called (``cluster_commands.COMMANDS``), after ``generate`` and before
    ``operator``, the order `--help` has always shown."""

    def list_commands(self, ctx: Any) -> list[str]:
        own = [name for name in super().list_commands(ctx) if name not in cluster_commands.COMMANDS]
        at = own.index("operator") if "operator" in own else len(own)
        return [*own[:at], *cluster_commands.COMMANDS, *own[at:]]

    def get_command(self, ctx: Any, name: str) -> Any:
        if name in cluster_commands.COMMANDS and name not in self.commands:
            self.commands[name] = cluster_commands.load(name, rich_markup_mode=None)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        # typer suggests a close name from the commands it holds; the lazy ones count too.
        names = self.list_commands(ctx)
        matches = difflib.get_close_matches(args[0], names) if args and args[0] not in names else []
        if matches and self.suggest_commands:
            ctx.fail(f"No such command {args[0]!r}. Did you mean {', '.join(repr(m) for m in matches)}?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: Any, formatter: Any) -> None:  # typer._click.Context, HelpFormatter
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            if (lazy := cluster_commands.COMMANDS.get(name)) is not None:  # listed without importing it
                rows.append((name, lazy.short_help))
            elif (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    name="seldonctl",
    cls=_Group,
    help="Install, inspect and remove a Seldon platform managed by the Seldon Meta-Operator.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain click help and usage errors: typer's rich formatter (rich, markdown-it, pygments) costs more start-up
    # than the whole of `seldonctl render` (issue 12). Tables and progress of the cluster commands still use rich.
    rich_markup_mode=None,
)


class OutputFormat(StrEnum):
    yaml = "yaml"
    json = "json"


def _facts(path: str | None) -> ClusterFacts | None:
    if path is None:
        return None
    import yaml  # noqa: PLC0415

    from seldon_meta_operator.components.base import ClusterFacts  # noqa: PLC0415

    text, name = read_text(path)
    try:
        data = yaml.safe_load(text) or {}
        version = str(data.get("kubernetesVersion", "1.34")).lstrip("v").split(".")
        kinds = data.get("apiKinds")
        return ClusterFacts(
            kubernetes_version=(int(version[0]), int(version[1])),
            api_kinds=None if kinds is None else frozenset(str(k) for k in kinds),
        )
    except (yaml.YAMLError, ValueError, IndexError, AttributeError) as exc:
        fail(f"{name}: not a facts file ({exc})", "expected keys kubernetesVersion: '1.34' and apiKinds: [group/Kind]")


@app.command(
    epilog="Examples:\n\n  seldonctl render -f examples/minimal.yaml\n\n"
    "  seldonctl render -f examples/all-features.yaml --component analytics -o json\n\n"
    "  seldonctl render -f examples/minimal.yaml --include-generated | kubectl apply -f -"
)
def render(
    file: str = typer.Option(..., "-f", "--filename", help="SeldonOperator manifest (- for stdin)."),
    output: OutputFormat = typer.Option(OutputFormat.yaml, "-o", "--output", help="Output format."),
    component: list[str] = typer.Option([], "--component", help="Only these components (repeatable)."),
    facts: str | None = typer.Option(None, "--facts", help="YAML with kubernetesVersion and apiKinds."),
    allowed_namespaces: list[str] = typer.Option(
        [],
        "--allowed-namespace",
        help="Another namespace objects may go to, as the operator's own --allowed-namespace (repeatable).",
    ),
    include_generated: bool = typer.Option(
        False,
        "--include-generated",
        help="Also print what the operator generates at reconcile time (webhook certificate and caBundle, random "
        "credentials), freshly generated and annotated operator.seldon.io/generated-by: seldonctl-render.",
    ),
) -> None:
    """Print the Kubernetes objects of a SeldonOperator, with no cluster (like helm template).

    Without --include-generated the output lacks what the operator generates at reconcile time; they are listed
    on stderr."""
    from seldon_meta_operator.components import component_names  # noqa: PLC0415
    from seldon_meta_operator.render.generated import generated_at_reconcile  # noqa: PLC0415
    from seldon_meta_operator.render.output import dump_json, dump_yaml  # noqa: PLC0415
    from seldon_meta_operator.render.ownership import COMPONENT_LABEL  # noqa: PLC0415
    from seldon_meta_operator.render.pipeline import render_platform, sort_key  # noqa: PLC0415

    unknown = [c for c in component if c not in component_names()]
    if unknown:
        fail(f"--component {unknown[0]}: no such component", f"components: {', '.join(component_names())}")
    manifests: list[dict[str, Any]] = []
    for resource in load_seldon_operators(file):
        try:
            result = render_platform(resource, _facts(facts), allowed_namespaces=frozenset(allowed_namespaces))
        except SpecError as exc:
            fail(f"{file}: {exc}", "fix the field named above; see docs/api.md")
        for message in result.warnings:
            warn(f"{file}: {message}")
        name, namespace = resource.metadata.name, resource.metadata.namespace
        generated: list[dict[str, Any]] = []
        if include_generated:
            # Imported here: cryptography and the API client stay out of a plain render (issue 12).
            from seldon_meta_operator.reconcile.secrets import generate_offline  # noqa: PLC0415

            ca_bundle, generated = generate_offline(result, name, namespace, datetime.datetime.now(datetime.UTC))
            if ca_bundle is not None:  # the webhook configuration carries the CA of the certificate just made
                result = render_platform(
                    resource,
                    _facts(facts),
                    allowed_namespaces=frozenset(allowed_namespaces),
                    webhook_ca_bundle=ca_bundle,
                )
        else:
            for made in generated_at_reconcile(result, namespace):
                warn(
                    f"{file}: not printed: {made.key} ({made.why}); the operator generates it at reconcile time. "
                    "Add --include-generated to print it freshly generated"
                )
        selected = [m for comp in result.components if not component or comp.name in component for m in comp.manifests]
        selected += [s for s in generated if not component or s["metadata"]["labels"].get(COMPONENT_LABEL) in component]
        manifests.extend(sorted(selected, key=sort_key))  # apply order, as the operator applies them
    text = dump_json(manifests) if output is OutputFormat.json else dump_yaml(manifests)
    sys.stdout.write(text)


@app.command()
def generate(
    what: str = typer.Argument(
        ..., help="What to generate: `deploy` (the CRD, the install manifest and the Helm chart)."
    ),
    out_dir: Path = typer.Option(Path("deploy"), "--out-dir", help="Where to write the CRD and install manifest."),
    chart_dir: Path = typer.Option(Path(CHART_DIR), "--chart-dir", help="Where to write the Helm chart."),
) -> None:
    """Regenerate files that are generated from code (never edit them by hand)."""
    from seldon_meta_operator.cli.generated import chart_files, generated_files  # noqa: PLC0415

    if what != "deploy":
        fail(f"generate {what}: unknown target", "use `seldonctl generate deploy`")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in generated_files().items():
        (out_dir / name).write_text(text)
        typer.echo(f"wrote {out_dir / name}")
    chart = chart_files()
    if chart_dir.is_dir():  # a template whose object is gone goes too
        for stale in sorted(p for p in chart_dir.rglob("*") if p.is_file()):
            if stale.relative_to(chart_dir).as_posix() not in chart:
                stale.unlink()
    for name, text in chart.items():
        (chart_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (chart_dir / name).write_text(text)
    typer.echo(f"wrote {chart_dir}/ ({len(chart)} files)")


operator_app = typer.Typer(help="Run the operator itself.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(operator_app, name="operator")


@operator_app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
    short_help="Run the operator in the foreground.",
)
def operator_run(ctx: typer.Context) -> None:
    """Run the operator in the foreground, as its Deployment does with seldon-meta-operator (--help: its options)."""
    # One parser for both: seldon-meta-operator's (operator/main.py), which the long-running process loads
    # without the CLI's typer stack (issue 12).
    from seldon_meta_operator.operator.main import main as operator_main  # noqa: PLC0415

    operator_main(ctx.args, prog="seldonctl operator run")


def main() -> NoReturn:
    """The ``seldonctl`` console script: the app, then ``end_process`` with its exit status."""
    try:
        try:
            app()
        except SpecError as exc:  # a last line of defence: no tracebacks for bad input
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted", code=130)
    except typer.Exit as exc:  # fail() outside a command
        end_process(exc.exit_code)
    except SystemExit as exc:  # how the app always ends
        end_process(exc.code)
    end_process(0)


def end_process(code: object) -> NoReturn:
    """Exit with ``code`` as ``sys.exit`` would, without the interpreter's teardown.

    Tearing down frees, one by one, every object of the ~300 modules `seldonctl render` imported: about 30 ms of
    its 235 (issue 12), in a process that is about to end anyway. What the teardown would do that matters is done
    here: standard output and error are flushed and logging's handlers shut down. Nothing else is pending when a
    command returns: each closes its own clients, files and event loop, and starts no threads it leaves running
    (``asyncio.run`` joins its executor's)."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code & 0xFF
    else:  # sys.exit("message"): the message on stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`seldonctl render | head`) or stream
            status = status or 120  # what CPython exits with when its own flush at exit fails
    if (logging := sys.modules.get("logging")) is not None:  # never imported: no handler to flush
        logging.shutdown()
    os._exit(status)


if __name__ == "__main__":
    main()
