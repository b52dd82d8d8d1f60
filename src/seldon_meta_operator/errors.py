"""Error taxonomy, shared by every layer. Mapped to kopf outcomes and to conditions in one place
(``reconcile/status.py`` and ``operator/handlers.py``).

Layer: none (imported by all). Messages never contain secret values.
"""

from __future__ import annotations

import reprlib
from typing import Any

#: Longest rendering of a user's value inside an error message (issue 8: a 1 MB value repeated whole in a
#: status message overflowed etcd's limit). Longer values are elided in the middle.
SHOWN_MAX = 200


def brief(value: Any, limit: int = SHOWN_MAX) -> str:
    """``repr(value)`` for an error message, at most about ``limit`` characters: a long string keeps its start and
    end around "...", and containers are shown only a few levels and items deep (``reprlib``: no recursion past
    that, so a 1000-deep value cannot raise RecursionError here)."""
    shown = reprlib.Repr()
    shown.maxlevel = 3
    shown.maxdict = shown.maxlist = shown.maxtuple = shown.maxset = 6
    shown.maxstring = shown.maxother = limit
    text = shown.repr(value)
    if len(text) > limit:  # many short items can still add up
        text = text[: limit - 3] + "..."
    if isinstance(value, (str, bytes)) and len(value) > limit:
        text += f" ({len(value)} characters)"
    return text


class SeldonOperatorError(Exception):
    """Base of every error this project raises on purpose."""


class SpecError(SeldonOperatorError):
    """The SeldonOperator spec or its values are invalid. Terminal until the spec changes."""


class WaitError(SeldonOperatorError):
    """A dependency (a CRD, a webhook, a prerequisite) is not ready yet; retry after ``delay`` seconds."""

    def __init__(self, message: str, delay: float = 10.0) -> None:
        super().__init__(message)
        self.delay = delay


class ApplyError(SeldonOperatorError):
    """The API server rejected an apply. ``conflict`` is set when another field manager owns a field."""

    def __init__(self, component: str, obj_key: str, message: str, conflict: bool = False) -> None:
        super().__init__(f"{component}: apply {obj_key}: {message}")
        self.component = component
        self.obj_key = obj_key
        self.conflict = conflict


class PruneError(SeldonOperatorError):
    """A delete failed; ``survivors`` are the inventory keys that still exist."""

    def __init__(self, message: str, survivors: tuple[str, ...]) -> None:
        super().__init__(message)
        self.survivors = survivors
