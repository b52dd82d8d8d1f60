"""Strimzi's rule for the end-to-end suite: a test fails if the operator's log gained a Traceback, ERROR or CRITICAL
entry during the test that the test did not declare with ``@pytest.mark.expected_log_errors(r"regex", ...)``.

The operator process is shared by the session, so each log is read from the offset it had when the test started.
Entries are JSON lines (``--json-logs``: kopf's ``severity`` field) or plain lines; a plain multi-line traceback
is one entry, from ``Traceback (most recent call last):`` to the exception line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: A line that starts a bad entry.
BAD = re.compile(
    r"Traceback \(most recent call last\)"
    r'|"severity":\s*"(?:error|fatal|critical)"'
    r'|"levelname":\s*"(?:ERROR|CRITICAL)"'
    r"|\[(?:ERROR|CRITICAL)\s*\]"
    r"|^(?:ERROR|CRITICAL)[: ]"
)
TRACEBACK = "Traceback (most recent call last)"


def bad_entries(lines: Iterable[str]) -> list[str]:
    """The Traceback/ERROR/CRITICAL entries among ``lines``, a plain traceback joined into one entry."""
    entries: list[str] = []
    in_traceback = False
    for line in lines:
        if in_traceback:
            entries[-1] += "\n" + line
            # The exception line ends it: the first line that is not indented (and not a chained-cause banner).
            if line and not line[0].isspace() and not line.startswith(("During handling", "The above exception")):
                in_traceback = False
            continue
        if BAD.search(line):
            entries.append(line)
            in_traceback = line.lstrip().startswith(TRACEBACK) and not line.lstrip().startswith("{")
    return entries


def unexpected(entries: Iterable[str], expected: Iterable[str]) -> list[str]:
    patterns = [re.compile(p) for p in expected]
    return [e for e in entries if not any(p.search(e) for p in patterns)]


@dataclass
class LogWatch:
    """Operator logs watched during one test, each from the size it had when the watch began."""

    offsets: dict[Path, int] = field(default_factory=dict)

    def watch(self, path: Path) -> None:
        """Watch ``path`` from its current end (a log that does not exist yet: from its start)."""
        self.offsets.setdefault(path, path.stat().st_size if path.exists() else 0)

    def new_entries(self) -> dict[Path, list[str]]:
        found: dict[Path, list[str]] = {}
        for path, offset in self.offsets.items():
            if not path.exists():
                continue
            with path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
            entries = bad_entries(text.splitlines())
            if entries:
                found[path] = entries
        return found

    def report(self, expected: Iterable[str]) -> str:
        """The unexpected entries, ready to print; "" when there are none."""
        expected = list(expected)
        parts = []
        for path, entries in self.new_entries().items():
            left = unexpected(entries, expected)
            if left:
                shown = "\n".join(e[:4000] for e in left[:20])
                more = f"\n... and {len(left) - 20} more" if len(left) > 20 else ""
                parts.append(f"{path} gained {len(left)} unexpected Traceback/ERROR/CRITICAL entries:\n{shown}{more}")
        return "\n\n".join(parts)
