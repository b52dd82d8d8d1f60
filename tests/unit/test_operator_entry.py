"""The operator's own entry point, ``seldon-meta-operator`` (issue 12): the long-running process loads none of the
CLI's stack (typer, click, rich), which cost it about 1.6 MiB of resident memory for one parse at start-up; and
``seldonctl operator run`` is the same command, with the same options, parsed by the same parser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI_STACK = ("typer", "click", "rich", "shellingham")


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "COLUMNS": "100"},
    )  # fmt: skip


def test_the_operator_process_loads_no_cli_stack() -> None:
    # What seldon-meta-operator imports before kopf starts: its parser, then the runner (kopf, lightkube, ...).
    probe = (
        "import sys\n"
        "from seldon_meta_operator.operator import main\n"
        "main.parser().parse_args(['--json-logs'])\n"
        "import seldon_meta_operator.operator.runner\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    proc = run("-c", probe)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(proc.stdout.split())
    assert "kopf" in loaded  # the probe did import the operator
    assert not loaded & set(CLI_STACK), sorted(loaded & set(CLI_STACK))


def test_seldonctl_operator_run_is_the_same_command() -> None:
    own = run("-m", "seldon_meta_operator.operator.main", "--help")
    via_cli = run("-m", "seldon_meta_operator.cli.main", "operator", "run", "--help")
    assert own.returncode == via_cli.returncode == 0, (own.stderr, via_cli.stderr)
    assert via_cli.stdout.startswith("usage: seldonctl operator run ")
    # The same options, in the same words: one parser.
    assert own.stdout.split("options:", 1)[1] == via_cli.stdout.split("options:", 1)[1]
    for flag in ("--allowed-namespace", "--health-port", "--metrics-port", "--resync-interval", "--leader-elect"):
        assert flag in own.stdout


def test_a_bad_flag_is_named_before_anything_starts() -> None:
    proc = run("-m", "seldon_meta_operator.cli.main", "operator", "run", "--resync-interval", "0")
    assert proc.returncode == 2
    assert "--resync-interval: 0 is less than 1" in proc.stderr.replace("argument ", "")
    proc = run("-m", "seldon_meta_operator.operator.main", "--helth-port", "1")
    assert proc.returncode == 2 and "unrecognized arguments: --helth-port" in proc.stderr
