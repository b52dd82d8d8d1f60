"""The objects the platform owns, as the watch last reported them: what a pass reads instead of listing (issue 12).

Layer: kube (data only: no I/O, no kopf). The operator's watch handlers feed it (``observe``, operator/handlers.py);
a pass lists a *scope* (one kind in one namespace, or a cluster-scoped kind) once, with the watch's own label
selector, and records the result (``prime``); from then on it reads that scope from here (``objects``) instead of
listing it, for at most ``max_age`` seconds (the slow resync), after which it lists it again. A pass also records
what its applies return (``observe``), so the next pass sees its own writes before their watch events arrive.

A scope is trusted only with evidence that a watch feeds it: an event of that scope was received. Kinds whose CRD
appeared after the operator started, and namespaces the operator does not watch, get no events: they are listed on
every pass, as before.

Consistency, where the watch and our own reads race:

- resourceVersions are compared as integers (etcd revisions), so an older event (the watch reporting a version
  that our apply already returned) never rolls an entry back;
- a deletion reported while a list was in flight is not undone by that list (a tombstone per scope until the next
  prime);
- a watch that lists again (after an expired resourceVersion or a lost connection) reports its objects as listed
  (event type None) and reports no deletion that happened during the gap: the scope is then no longer trusted, and
  the next pass lists it.

Entries keep no managedFields (most of an object's bytes), except which managers own ``spec.replicas``: the apply
leaves replicas to an HPA or ``kubectl scale`` that owns them (reconcile/changes.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: (apiVersion, kind, namespace): namespace "" for cluster-scoped kinds.
Scope = tuple[str, str, str]


def scope_of(obj: Mapping[str, Any]) -> Scope:
    return (str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(obj["metadata"].get("namespace") or ""))


def _revision(obj: Mapping[str, Any]) -> int | None:
    text = (obj.get("metadata") or {}).get("resourceVersion")
    return int(text) if isinstance(text, str) and text.isdigit() else None


def trim(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` without its managedFields, except an entry per manager that owns ``spec.replicas``. Shares the nested
    values with ``obj`` (nothing here mutates them)."""
    meta = dict(obj.get("metadata") or {})
    fields = meta.pop("managedFields", None) or []
    replicas = [
        {"manager": entry.get("manager"), "fieldsV1": {"f:spec": {"f:replicas": {}}}}
        for entry in fields
        if "f:replicas" in (((entry.get("fieldsV1") or {}).get("f:spec")) or {})
    ]
    if replicas:
        meta["managedFields"] = replicas
    return {**obj, "metadata": meta}


class ObjectCache:
    """Owned objects by scope and name. ``namespace``: the namespace the watch covers (besides cluster-scoped
    kinds); ``labels``: the watch's label selector, which a priming list uses too; ``max_age``: seconds a primed
    scope is trusted."""

    def __init__(
        self,
        namespace: str,
        labels: Mapping[str, str],
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.namespace = namespace
        self.labels = dict(labels)
        self.max_age = max_age
        self.clock = clock
        self._objects: dict[Scope, dict[str, dict[str, Any]]] = {}
        self._watched: set[Scope] = set()
        self._primed: dict[Scope, float] = {}
        self._tombstones: dict[Scope, dict[str, int | None]] = {}

    # --- feeding ------------------------------------------------------------------------------------------------

    def observe(self, event_type: str | None, obj: Mapping[str, Any], *, watched: bool = True) -> None:
        """A watch event (``ADDED``, ``MODIFIED``, ``DELETED``, or None for an object of a listing), or with
        ``watched=False`` the response of our own write (not evidence of a watch)."""
        scope = scope_of(obj)
        if scope[2] not in ("", self.namespace):
            return
        name = str(obj["metadata"].get("name", ""))
        if watched:
            self._watched.add(scope)
            if event_type is None:  # the watch listed again: it will not report deletions it missed
                self._primed.pop(scope, None)
        entries = self._objects.setdefault(scope, {})
        if event_type == "DELETED":
            current = entries.get(name)
            if current is None or _newer_or_same(obj, current):
                entries.pop(name, None)
            self._tombstones.setdefault(scope, {})[name] = _revision(obj)
            return
        current = entries.get(name)
        if current is None or _newer_or_same(obj, current):
            entries[name] = trim(obj)

    def prime(self, scope: Scope, items: Iterable[Mapping[str, Any]], revision: str | None = None) -> None:
        """The result of a list of ``scope`` with ``labels`` (at ``revision``, the list's resourceVersion): it
        replaces what is held, except what the watch reported while the list was in flight: newer versions,
        objects created after ``revision``, deletions."""
        tombstones = self._tombstones.pop(scope, {})
        old = self._objects.get(scope, {})
        listed_at = int(revision) if revision and revision.isdigit() else None
        fresh: dict[str, dict[str, Any]] = {
            name: held for name, held in old.items() if listed_at is not None and (_revision(held) or 0) > listed_at
        }
        for item in items:
            name = str(item["metadata"].get("name", ""))
            if name in tombstones and _not_after(item, tombstones[name]):
                continue
            held = old.get(name)
            fresh[name] = held if held is not None and not _newer_or_same(item, held) else trim(item)
        self._objects[scope] = fresh
        self._primed[scope] = self.clock()

    def forget(self) -> None:
        """Trust nothing until listed again (the next pass lists every scope)."""
        self._primed.clear()

    # --- reading ------------------------------------------------------------------------------------------------

    def covers(self, scope: Scope) -> bool:
        """Whether ``scope`` is where the watch looks (a priming list then uses ``labels``)."""
        return scope[2] in ("", self.namespace)

    def fresh(self, scope: Scope) -> bool:
        """Whether ``scope`` can be read from here: a watch feeds it, and it was listed less than ``max_age`` ago
        and not re-listed by the watch since."""
        primed = self._primed.get(scope)
        return scope in self._watched and primed is not None and self.clock() - primed < self.max_age

    def objects(self, scope: Scope) -> list[dict[str, Any]]:
        """What is held for ``scope`` (trimmed; do not mutate)."""
        return list(self._objects.get(scope, {}).values())

    def get(self, scope: Scope, name: str) -> dict[str, Any] | None:
        return self._objects.get(scope, {}).get(name)

    def __len__(self) -> int:
        return sum(len(v) for v in self._objects.values())


def _newer_or_same(candidate: Mapping[str, Any], held: Mapping[str, Any]) -> bool:
    new, old = _revision(candidate), _revision(held)
    return new is None or old is None or new >= old


def _not_after(item: Mapping[str, Any], deleted_at: int | None) -> bool:
    """Whether a listed ``item`` predates (or is) the deletion recorded at revision ``deleted_at``."""
    revision = _revision(item)
    return revision is None or deleted_at is None or revision <= deleted_at
