"""The e2e suite's log rule (tests/e2e/logcheck.py): which operator log entries fail a test."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.e2e.logcheck import LogWatch, bad_entries, unexpected

PLAIN_TRACEBACK = """Task exception was never retrieved
Traceback (most recent call last):
  File "x.py", line 1, in <module>
    raise ValueError("boom")
ValueError: boom
next line""".splitlines()


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ('{"message": "Applied object", "severity": "info"}', False),
        ('{"message": "Could not post", "severity": "warn"}', False),
        ('{"message": "Handler failed", "severity": "error"}', True),
        ('{"message": "Crashed", "severity": "fatal"}', True),
        ('{"message": "x", "levelname": "ERROR"}', True),
        ('{"message": "x", "severity": "info", "exc_info": "Traceback (most recent call last):\\n..."}', True),
        ("[2026-01-01 00:00:00,000] kopf.objects         [ERROR   ] Handler failed", True),
        ("ERROR:asyncio:Task was destroyed", True),
        ("the ERROR budget is fine", False),
    ],
    ids=[
        "an info line is fine",
        "a warning is fine",
        "a JSON error is bad",
        "a JSON fatal is bad",
        "a JSON ERROR levelname is bad",
        "a JSON line carrying a traceback is bad",
        "a plain kopf ERROR line is bad",
        "a logging.basicConfig ERROR line is bad",
        "the word ERROR in a message is fine",
    ],
)
def test_which_lines_are_bad(line: str, bad: bool) -> None:
    assert bool(bad_entries([line])) is bad


def test_a_plain_traceback_is_one_entry_up_to_its_exception_line() -> None:
    assert bad_entries(PLAIN_TRACEBACK) == ["\n".join(PLAIN_TRACEBACK[1:5])]


def test_declared_patterns_excuse_only_what_they_match() -> None:
    entries = ['{"message": "injected by the fault proxy", "severity": "error"}', "\n".join(PLAIN_TRACEBACK[1:5])]
    assert unexpected(entries, [r"fault proxy"]) == entries[1:]
    assert unexpected(entries, [r"fault proxy", r"ValueError: boom"]) == []


def test_only_what_a_test_added_to_the_log_counts(tmp_path: Path) -> None:
    log = tmp_path / "operator.log"
    log.write_text('{"message": "old failure", "severity": "error"}\n')
    watch = LogWatch()
    watch.watch(log)
    watch.watch(tmp_path / "later.log")  # started during the test
    with log.open("a") as out:
        out.write('{"message": "fine", "severity": "info"}\n{"message": "new failure", "severity": "error"}\n')
    (tmp_path / "later.log").write_text("ERROR: another\n")
    report = watch.report(expected=[])
    assert "new failure" in report and "another" in report and "old failure" not in report
    assert watch.report(expected=["new failure|another"]) == ""
