"""Kubernetes Events posted through our own client (``events.k8s.io/v1``), from any task of the operator.

Layer: reconcile (no kopf). ``kopf.event`` works only inside a kopf handler's context; called from our periodic
pass it raised ``LookupError: event_queue_loop_var`` and the Event was lost (issue 9). This recorder needs only a
``Kube``, and behaves like client-go's events library (``k8s.io/client-go/tools/events``):

- the Event is created in the namespace of the object it is about (``regarding``; ``cluster_namespace``, "default"
  as in client-go, for a cluster-scoped one), named ``<object name>.<nanoseconds in hex>``;
- a repeat (same object uid, type, reason, action and note) within ``series_window`` (client-go's 6 minutes) adds to
  the existing Event's ``series`` (``count``, ``lastObservedTime``) with a merge patch instead of a new object;
- a token bucket per object (``burst`` 25, one more token every ``refill_every`` 5 s) caps the rate; Events over
  the cap are dropped and counted (``seldon_operator_events_dropped_total{cause="rate-limited"}``);
- the note is cut to 1 KiB, the API server's limit;
- ``record`` never raises and never waits longer than ``post_timeout``: a failed post is counted
  (``cause="failed"``) and logged at WARNING once per reason, then at DEBUG.

RBAC: ``events.k8s.io`` ``events``: ``create`` and ``patch`` in the namespaces of the objects Events are about.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from seldon_meta_operator.kube import Kube, KubeError
from seldon_meta_operator.metrics import EVENTS_DROPPED, EVENTS_POSTED

logger = logging.getLogger(__name__)

EVENTS_API = "events.k8s.io/v1"
CONTROLLER = "seldon-meta-operator"
#: The API server rejects a longer note (events.k8s.io/v1 ``note``: at most 1 KiB).
NOTE_LIMIT = 1024
#: action, reason, reportingController and reportingInstance: at most 128 characters each.
FIELD_LIMIT = 128
TYPES = frozenset({"Normal", "Warning"})
#: Series and buckets kept in memory at most; the oldest are forgotten first.
MAX_TRACKED = 4096

Clock = Callable[[], datetime.datetime]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def micro_time(when: datetime.datetime) -> str:
    """A ``metav1.MicroTime``: RFC 3339 with microseconds, in UTC."""
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_instance() -> str:
    """The pod's name (``POD_NAME`` from the downward API), else the host name: ``reportingInstance``."""
    return (os.environ.get("POD_NAME") or socket.gethostname())[:FIELD_LIMIT]


def object_reference(obj: Mapping[str, Any]) -> dict[str, str]:
    """``regarding`` for ``obj``: apiVersion, kind, name, namespace and uid (no resourceVersion: an Event is about
    the object, not one version of it, and a repeat must match the first occurrence)."""
    meta = obj.get("metadata") or {}
    ref = {
        "apiVersion": str(obj.get("apiVersion", "")),
        "kind": str(obj.get("kind", "")),
        "name": str(meta.get("name", "")),
        "namespace": str(meta.get("namespace") or ""),
        "uid": str(meta.get("uid") or ""),
    }
    return {k: v for k, v in ref.items() if v}


def truncate_note(note: str, limit: int = NOTE_LIMIT) -> str:
    """``note`` in at most ``limit`` UTF-8 bytes, cut on a character boundary, marked with an ellipsis if cut."""
    data = note.encode()
    if len(data) <= limit:
        return note
    return data[: limit - len("…".encode())].decode(errors="ignore") + "…"


@dataclass
class TokenBucket:
    """``burst`` tokens at most; one more every ``refill_every`` seconds (client-go's spam filter is the same
    shape: a token bucket per object)."""

    burst: int
    refill_every: float
    tokens: float
    stamp: float

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + max(0.0, now - self.stamp) / self.refill_every)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class _Series:
    namespace: str
    name: str
    count: int
    last: float  # when the last occurrence was recorded (clock seconds)


class EventRecorder:
    """Posts Events about objects; see the module docstring. One per process is enough; safe to share between
    tasks (the series of a key is updated under a lock)."""

    def __init__(
        self,
        kube: Kube,
        controller: str = CONTROLLER,
        instance: str | None = None,
        *,
        burst: int = 25,
        refill_every: float = 5.0,
        series_window: float = 360.0,
        post_timeout: float = 10.0,
        cluster_namespace: str = "default",
        clock: Clock = utcnow,
    ) -> None:
        self.kube = kube
        self.controller = controller[:FIELD_LIMIT]
        self.instance = (instance or default_instance())[:FIELD_LIMIT]
        self.burst = burst
        self.refill_every = refill_every
        self.series_window = series_window
        self.post_timeout = post_timeout
        self.cluster_namespace = cluster_namespace
        self.clock = clock
        self._series: dict[tuple[str, ...], _Series] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._warned: set[str] = set()
        self._lock = asyncio.Lock()
        self._sequence = itertools.count()

    async def record(self, regarding: Mapping[str, Any], type_: str, reason: str, note: str, action: str) -> None:
        """Post an Event of ``type_`` (Normal or Warning) about ``regarding`` (an object as the API returns it).
        Never raises; returns once posted, dropped, or after ``post_timeout``."""
        try:
            await asyncio.wait_for(self._record(regarding, type_, reason, note, action), self.post_timeout)
        except Exception as exc:  # any failure to post must not disturb the caller (issue 9)
            EVENTS_DROPPED.labels("failed").inc()
            self._warn(reason, exc)

    async def _record(self, regarding: Mapping[str, Any], type_: str, reason: str, note: str, action: str) -> None:
        if type_ not in TYPES:
            raise ValueError(f"Event type {type_!r}: must be Normal or Warning")
        ref = object_reference(regarding)
        if not ref.get("name") or not ref.get("kind"):
            raise ValueError("Event regarding: the object needs apiVersion, kind and metadata.name")
        reason, action, note = reason[:FIELD_LIMIT], action[:FIELD_LIMIT], truncate_note(note)
        now = self.clock()
        seconds = now.timestamp()
        object_id = ref.get("uid") or "/".join((ref["apiVersion"], ref["kind"], ref.get("namespace", ""), ref["name"]))
        if not self._bucket(object_id, seconds).take(seconds):
            EVENTS_DROPPED.labels("rate-limited").inc()
            logger.debug(
                "Dropped an Event over the rate cap",
                extra={"regarding": f"{ref['kind']} {ref.get('namespace', '')}/{ref['name']}", "reason": reason},
            )
            return
        key = (object_id, type_, reason, action, note)
        async with self._lock:
            series = self._series.get(key)
            if series is not None and seconds - series.last <= self.series_window:
                series.count += 1
                series.last = seconds
                patch = {"series": {"count": series.count, "lastObservedTime": micro_time(now)}}
                try:
                    await self.kube.patch(EVENTS_API, "Event", series.name, patch, namespace=series.namespace)
                except KubeError as exc:
                    if exc.code != 404:  # 404: the Event expired (the API server's event TTL): start a new one
                        raise
                else:
                    EVENTS_POSTED.labels(type_).inc()
                    return
            namespace = ref.get("namespace") or self.cluster_namespace
            name = await self._create(ref, namespace, now, type_, reason, note, action)
            self._series[key] = _Series(namespace, name, 1, seconds)
            self._forget_old(seconds)
        EVENTS_POSTED.labels(type_).inc()

    async def _create(
        self,
        ref: Mapping[str, str],
        namespace: str,
        now: datetime.datetime,
        type_: str,
        reason: str,
        note: str,
        action: str,
    ) -> str:
        for _attempt in range(3):
            # client-go names an Event <object>.<UnixNano hex>; the sequence keeps two Events of one instant apart.
            stamp = int(now.timestamp() * 1e9) + next(self._sequence)
            name = f"{ref['name'][:200]}.{stamp:x}"
            event = {
                "apiVersion": EVENTS_API,
                "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "eventTime": micro_time(now),
                "reportingController": self.controller,
                "reportingInstance": self.instance,
                "action": action,
                "reason": reason,
                "regarding": dict(ref),
                "note": note,
                "type": type_,
            }
            if await self.kube.create(event) is not None:
                return name
        raise KubeError(f"create Event {namespace}/{ref['name']}.*: the names are taken", code=409)

    def _bucket(self, object_id: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(object_id)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._buckets.pop(next(iter(self._buckets)))
            bucket = self._buckets[object_id] = TokenBucket(self.burst, self.refill_every, float(self.burst), now)
        return bucket

    def _forget_old(self, now: float) -> None:
        stale = [k for k, s in self._series.items() if now - s.last > self.series_window]
        for k in stale:
            del self._series[k]
        while len(self._series) > MAX_TRACKED:
            self._series.pop(next(iter(self._series)))

    def _warn(self, reason: str, exc: BaseException) -> None:
        detail = str(exc) or type(exc).__name__
        if reason in self._warned:
            logger.debug("Could not post an Event", extra={"reason": reason, "error": detail})
            return
        self._warned.add(reason)
        logger.warning(
            "Could not post an Event; further failures for this reason are logged at DEBUG",
            extra={"reason": reason, "error": detail},
        )
