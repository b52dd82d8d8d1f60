"""Shared CLI plumbing: reading manifests from files, one-line errors, output formats.

Layer: cli.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from seldon_meta_operator.errors import SpecError

if TYPE_CHECKING:
    from seldon_meta_operator.api.v1alpha1 import SeldonOperator

#: Where ``make generate`` (``seldonctl generate deploy``) writes the Helm chart, relative to the repository root.
CHART_DIR = "charts/seldon-meta-operator"


def _say(label: str, message: str, **style: Any) -> None:
    """One line on stderr, its label coloured on a terminal (click's styling, never markup: messages carry field
    paths such as ``containers[manager]``; and not rich, whose import alone costs `seldonctl render` ~40 ms).
    NO_COLOR is respected, as rich did."""
    color = False if os.environ.get("NO_COLOR") else None
    typer.secho(label, err=True, nl=False, color=color, **style)
    typer.echo(f" {message}", err=True)


def fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    """Print one error line (and an optional hint line) to stderr and exit; never a traceback."""
    _say("error:", message, fg="red", bold=True)
    if hint:
        _say("hint:", hint, dim=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    _say("warning:", message, fg="yellow")


def read_text(path: str) -> tuple[str, str]:
    """(text, display name); ``-`` reads standard input."""
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    file = Path(path)
    if not file.is_file():
        fail(f"{path}: no such file", "pass the path of a SeldonOperator manifest with -f")
    return file.read_text(), path


def load_seldon_operators(path: str) -> list[SeldonOperator]:
    """Every SeldonOperator document of the file, validated; other kinds are errors."""
    # Imported here: pydantic and the YAML parser stay out of `seldonctl --help` (issue 12).
    import yaml  # noqa: PLC0415

    from seldon_meta_operator.api.v1alpha1 import KIND, parse_seldon_operator  # noqa: PLC0415
    from seldon_meta_operator.render.output import load_yaml_documents  # noqa: PLC0415

    text, name = read_text(path)
    try:
        docs: list[Any] = load_yaml_documents(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        fail(f"{name}:{where}: not valid YAML: {problem}", "check the indentation and quoting around that line")
    if not docs:
        fail(f"{name}: no YAML documents found", f"the file should hold a {KIND} manifest")
    out: list[SeldonOperator] = []
    for i, doc in enumerate(docs):
        label = name if len(docs) == 1 else f"{name} (document {i + 1})"
        try:
            out.append(parse_seldon_operator(doc, source=label))
        except SpecError as exc:
            fail(str(exc), "see docs/api.md for the fields of a SeldonOperator")
    return out
