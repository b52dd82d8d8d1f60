"""Every ``extra={...}`` given to a logger uses only keys a LogRecord does not already have.

logging raises KeyError("Attempt to overwrite 'name' in LogRecord") for such a key, at the moment the line is
logged: a pass that applied an object then failed because of its log line (found on the local cluster).
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "seldon_meta_operator"
RESERVED = set(vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", (), None))) | {"message", "asctime"}


def extra_keys() -> list[tuple[str, int, str]]:
    found: list[tuple[str, int, str]] = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
                    for key in keyword.value.keys:
                        if isinstance(key, ast.Constant) and isinstance(key.value, str):
                            found.append((str(path.relative_to(SRC)), node.lineno, key.value))
    return found


def test_the_scan_finds_the_log_calls() -> None:
    assert len(extra_keys()) > 20


def test_no_log_field_overwrites_a_logrecord_attribute() -> None:
    clashes = [f"{path}:{line}: {key!r}" for path, line, key in extra_keys() if key in RESERVED]
    assert clashes == [], "rename these log fields (e.g. object_name): " + ", ".join(clashes)


def test_the_reserved_set_holds_the_attribute_that_broke_a_pass() -> None:
    assert {"name", "msg", "args", "module"} <= RESERVED
