"""How the `seldonctl` process ends (cli/main.py ``main`` and ``end_process``): with the status `sys.exit` would
give, everything written and logged flushed first, and never a traceback, while skipping the interpreter's
teardown (issue 12: about 30 ms of `seldonctl render`; the figure is in `make bench`, not asserted here). Each case
runs in a process of its own, since the process really ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seldon_meta_operator.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
SELDONCTL = Path(sys.executable).parent / "seldonctl"


def run_main(app_body: str) -> subprocess.CompletedProcess[str]:
    """``cli.main.main()`` in a fresh interpreter, with the app replaced by ``app_body`` (a function body)."""
    script = "\n".join(
        [
            "import logging, logging.handlers, sys",
            "from seldon_meta_operator.cli import main as m",
            "from seldon_meta_operator.errors import SpecError",
            "def app():",
            textwrap.indent(textwrap.dedent(app_body), "    "),
            "m.app = app",
            "m.main()",
            "print('after main', file=sys.stderr)",
        ]
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )


@pytest.mark.parametrize(
    ("body", "status", "stderr"),
    [
        ("sys.exit(0)", 0, ""),
        ("sys.exit(None)", 0, ""),
        ("sys.exit(3)", 3, ""),
        ("sys.exit(256 + 4)", 4, ""),
        ("sys.exit('went wrong')", 1, "went wrong\n"),
        ("return None", 0, ""),
    ],
)
def test_the_status_is_what_sys_exit_gives(body: str, status: int, stderr: str) -> None:
    proc = run_main(body)
    assert (proc.returncode, proc.stderr) == (status, stderr)  # and nothing runs after main()


def test_a_spec_error_that_escapes_a_command_is_one_line_not_a_traceback() -> None:
    # The last line of defence used to raise typer.Exit outside the app: a traceback under the error line.
    proc = run_main("raise SpecError('spec.enable.analytic: unknown field')")
    assert proc.returncode == 1
    assert proc.stderr == "error: spec.enable.analytic: unknown field\n"


def test_what_a_command_wrote_and_logged_is_flushed_before_the_process_ends() -> None:
    # Standard output into a pipe is block-buffered, and a MemoryHandler holds records until it is flushed or closed:
    # both would be lost without the interpreter's teardown, had end_process not flushed them.
    proc = run_main(
        """
        sys.stdout.write("no newline at the end")
        target = logging.StreamHandler(sys.stderr)
        logging.getLogger("t").addHandler(logging.handlers.MemoryHandler(100, target=target))
        logging.getLogger("t").warning("held by the handler")
        sys.exit(5)
        """
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (5, "no newline at the end", "held by the handler\n")


def test_the_script_prints_the_whole_render_and_keeps_the_exit_statuses() -> None:
    env = {**os.environ, "COLUMNS": "120"}

    def seldonctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SELDONCTL), *args], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT, env=env
        )

    rendered = seldonctl("render", "-f", "examples/all-features.yaml")
    in_process = CliRunner().invoke(app, ["render", "-f", "examples/all-features.yaml"])
    assert rendered.returncode == 0 and in_process.exit_code == 0
    assert len(rendered.stdout) > 200_000 and rendered.stdout == in_process.stdout
    missing = seldonctl("render", "-f", "examples/no-such-file.yaml")
    assert missing.returncode == 1 and missing.stderr.startswith("error: examples/no-such-file.yaml: no such file")
    assert seldonctl("rendr").returncode == 2  # a usage error, as click exits with it
