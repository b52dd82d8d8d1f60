"""The day-2 commands that talk to a cluster, in the order `--help` lists them, loaded only when one of them runs.

Layer: cli. One module per command family: install.py (install, apply, uninstall), status.py, doctor.py, diff.py.
Their modules import the render pipeline, the pydantic models and what the cluster commands share; `seldonctl
--help`, `render` and `operator run` need none of them (issue 12). So the top-level group (``cli/main.py``) knows
each command by name and one-line help only, and imports its module when the command is called or its own help
shown: click's "lazy loading of subcommands". The short help is repeated here; a unit test checks that it is the
command's own (tests/unit/test_cli_imports.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import typer


class LazyCommand(NamedTuple):
    module: str  # under seldon_meta_operator.cli
    register: str  # the module's function that adds the command to a typer app
    short_help: str  # what `seldonctl --help` lists, without importing the module


COMMANDS: dict[str, LazyCommand] = {
    "install": LazyCommand(
        "install",
        "register_install",
        "Install (or upgrade) the operator: its CRD, RBAC and Deployment, by server-side apply.",
    ),
    "apply": LazyCommand(
        "install",
        "register_apply",
        "Apply SeldonOperators, validated as `seldonctl render` validates them (server-side apply).",
    ),
    "status": LazyCommand("status", "register", "Show the conditions and components of SeldonOperators."),
    "diff": LazyCommand(
        "diff",
        "register",
        "Show what applying a SeldonOperator would change: created, changed (a diff), pruned objects.",
    ),
    "doctor": LazyCommand(
        "doctor",
        "register",
        "Check the cluster: Kubernetes version, your permissions, the operator, its CRD, the prerequisites of every "
        "enabled feature, another Seldon Core, stale webhooks.",
    ),
    "uninstall": LazyCommand(
        "install",
        "register_uninstall",
        "Remove every SeldonOperator (and wait for its clean-up), then the operator.",
    ),
}


def load(name: str, **typer_settings: Any) -> Any:
    """The click command ``name`` (a key of ``COMMANDS``), its module imported now. ``typer_settings`` are the
    top-level app's (``rich_markup_mode``...), so the command formats its help and errors as the others do."""
    lazy = COMMANDS[name]
    # __import__, as an import statement does (importlib.import_module would hide it from `python -X importtime`,
    # which the import tests and benchmarks/cli_bench.py read).
    module = __import__(f"seldon_meta_operator.cli.{lazy.module}", fromlist=[lazy.register])
    single = typer.Typer(**typer_settings)
    getattr(module, lazy.register)(single)
    group = typer.main.get_group(single)
    return group.commands[name]
