"""`seldonctl --help` and `seldonctl render` load only what they use (issue 12): never the API client (lightkube and
its HTTP stack), cryptography, kopf, prometheus_client or aiohttp, which only the cluster commands and the operator
need; `--help` not even pydantic, YAML or the render pipeline, and neither of them the cluster commands' modules,
which are loaded when one of them is called. A behaviour test, not a timing: the start-up figures are in `make
bench` (benchmarks/cli_bench.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("lightkube", "httpx2", "httpx", "cryptography", "kopf", "prometheus_client", "aiohttp")


def imported_modules(*args: str) -> set[str]:
    """Every module a fresh ``python -m seldon_meta_operator.cli.main ARGS`` imports (``-X importtime``)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "seldon_meta_operator.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in FORBIDDEN)


#: The modules of the cluster commands (cli/cluster_commands.py loads them when one of them is called).
CLUSTER_COMMAND_MODULES = {f"seldon_meta_operator.cli.{m}" for m in ("install", "status", "diff", "doctor", "cluster")}


@pytest.mark.parametrize(
    "args",
    [("--help",), ("render", "-f", "examples/minimal.yaml"), ("render", "-f", "examples/all-features.yaml")],
    ids=["help", "render-minimal", "render-all-features"],
)
def test_help_and_render_do_not_import_the_cluster_stack(args: tuple[str, ...]) -> None:
    modules = imported_modules(*args)
    assert "seldon_meta_operator.cli.cluster_commands" in modules  # the report was read
    assert heavy(modules) == []
    assert sorted(modules & CLUSTER_COMMAND_MODULES) == []


def test_help_imports_no_model_no_yaml_and_no_pipeline() -> None:
    # `seldonctl --help` lists every command from cli/main.py and cli/cluster_commands.py alone.
    modules = imported_modules("--help")
    ours = sorted(m for m in modules if m.startswith("seldon_meta_operator."))
    assert ours == [  # and cli/main.py, run as __main__
        "seldon_meta_operator.cli",
        "seldon_meta_operator.cli.cluster_commands",
        "seldon_meta_operator.cli.common",
        "seldon_meta_operator.errors",
    ]
    assert sorted(m for m in modules if m.split(".")[0] in {"pydantic", "pydantic_core", "yaml"}) == []


def test_a_cluster_command_loads_only_its_own_family() -> None:
    # `seldonctl status --help` imports status.py (and what it shares with the others: cluster.py), not install,
    # diff or doctor.
    modules = imported_modules("status", "--help")
    assert sorted(modules & CLUSTER_COMMAND_MODULES) == [
        "seldon_meta_operator.cli.cluster",
        "seldon_meta_operator.cli.status",
    ]


def test_the_listed_help_of_each_lazy_command_is_its_own() -> None:
    # `seldonctl --help` lists the cluster commands from cluster_commands.COMMANDS without importing them: that
    # line must be the one the command's docstring gives (click's short help), in the order the group lists them.
    import typer

    from seldon_meta_operator.cli import cluster_commands

    for name, lazy in cluster_commands.COMMANDS.items():
        command = cluster_commands.load(name, rich_markup_mode=None)
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == lazy.short_help, name
    from seldon_meta_operator.cli.main import app

    group = typer.main.get_group(app)
    assert group.list_commands(None) == [  # type: ignore[arg-type]
        "render", "generate", "install", "apply", "status", "diff", "doctor", "uninstall", "operator",
    ]  # fmt: skip


def test_an_unknown_command_is_told_the_nearest_one_even_if_not_loaded() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "seldon_meta_operator.cli.main", "statu"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    assert proc.returncode == 2
    assert "No such command 'statu'. Did you mean 'status'?" in proc.stderr


def test_the_operator_process_imports_no_cli_command_and_no_rich() -> None:
    # `seldonctl operator run` imports cli/main.py and operator/runner.py: none of the cluster commands' modules
    # (their render of the install manifest, diff and tables) and no rich.
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, seldon_meta_operator.cli.main, seldon_meta_operator.operator.runner; print(*sys.modules)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    modules = set(proc.stdout.split())
    assert "kopf" in modules and "seldon_meta_operator.operator.handlers" in modules  # the operator was imported
    assert sorted(modules & CLUSTER_COMMAND_MODULES) == []
    assert sorted(m for m in modules if m.split(".")[0] in {"rich", "markdown_it", "pygments"}) == []


@pytest.mark.parametrize("args", [("--help",), ("render", "-f", "examples/minimal.yaml")], ids=["help", "render"])
def test_help_and_render_do_not_load_rich_or_asyncio(args: tuple[str, ...]) -> None:
    # typer.rich_utils brings rich's markdown and syntax highlighting (markdown-it, pygments): more start-up than
    # the whole of a render. Help is click's plain text; errors and warnings are click-styled lines; rich draws only
    # the cluster commands' tables and progress, asyncio runs only their API calls.
    modules = imported_modules(*args)
    assert sorted(m for m in modules if m.split(".")[0] in {"rich", "markdown_it", "pygments", "asyncio"}) == []
    assert "typer.rich_utils" not in modules


def test_errors_and_warnings_are_plain_lines_without_markup(tmp_path: Path) -> None:
    # Field paths such as containers[manager] are printed as they are (rich took [..] for markup), and NO_COLOR
    # leaves no escape codes.
    bad = tmp_path / "bad[x].yaml"
    bad.write_text("kind: [")
    proc = subprocess.run(
        [sys.executable, "-m", "seldon_meta_operator.cli.main", "render", "-f", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {bad}:")
    assert "\nhint: " in proc.stderr and "\x1b[" not in proc.stderr


def test_a_cluster_command_still_loads_the_client_when_it_runs(tmp_path: Path) -> None:
    # The other side of the lazy imports: status imports kube/ (lightkube) inside the command, and fails cleanly on an
    # unreachable cluster rather than on a missing import.
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: closed\n"
        "clusters: [{name: closed, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: closed, context: {cluster: closed, user: nobody}}]\n"
        "users: [{name: nobody, user: {token: x}}]\n"
    )
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "seldon_meta_operator.cli.main", "status"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "KUBECONFIG": str(kubeconfig), "COLUMNS": "200"},
    )
    assert proc.returncode == 1
    assert "cannot reach the cluster" in proc.stderr
    assert "lightkube" in {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if "|" in line}


def test_the_cli_knows_the_operators_field_manager() -> None:
    # cli/diff.py repeats kube.FIELD_MANAGER so that importing it does not load lightkube.
    from seldon_meta_operator.cli import diff
    from seldon_meta_operator.kube import FIELD_MANAGER

    assert diff.FIELD_MANAGER == FIELD_MANAGER
