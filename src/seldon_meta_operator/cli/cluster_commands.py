"""Registers the day-2 commands that talk to a cluster on the seldonctl app, in the order `--help` lists them.

Layer: cli. One module per command family: install.py (install, apply, uninstall), status.py, doctor.py, diff.py.
"""

from __future__ import annotations

import typer

from seldon_meta_operator.cli import diff, doctor, install, status


def register(app: typer.Typer) -> None:
    install.register_install(app)
    install.register_apply(app)
    status.register(app)
    diff.register(app)
    doctor.register(app)
    install.register_uninstall(app)
