"""The worker: the one task that runs reconciles and clean-ups, supervised.

Layer: operator (no kopf import: it is driven by the kopf glue in ``handlers.py`` and tested without kopf).

Events only mark a platform *due*; the worker runs what is due, one pass at a time, so many events make one pass
(coalescing) and a pass never overlaps another. After every pass the platform is due again after
``recheck_after`` (soon while rolling out, every ``interval`` when settled): the resync that restores drift.

Supervision (issue 9): a failing pass is logged once with its context (again only when the error changes), then
retried with capped exponential backoff; nothing ends the loop but cancellation. API and transport errors are
warnings (the cluster's weather); anything else is a bug and is logged with its traceback. ``liveness`` fails when
the loop has made no progress for ``stale_after`` seconds or its task ended, so Kubernetes restarts the pod.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from seldon_meta_operator.api import conditions as c
from seldon_meta_operator.api.v1alpha1 import API_VERSION, KIND
from seldon_meta_operator.kube import Kube, KubeError, ObjectReplacedError
from seldon_meta_operator.kube.cache import ObjectCache
from seldon_meta_operator.metrics import RECONCILE_DURATION, RECONCILE_ERRORS, RECONCILES
from seldon_meta_operator.operator.config import OperatorConfig
from seldon_meta_operator.reconcile.reconciler import Event, cleanup_platform, reconcile_platform, sweep_orphans
from seldon_meta_operator.reconcile.status import recheck_after

log = logging.getLogger("seldon_meta_operator.operator")

Key = tuple[str, str]  # (namespace, name)
#: Backoff after consecutive failures: 1, 2, 4, ... seconds, capped.
MAX_BACKOFF = 60.0
#: The loop wakes at least this often, so its heartbeat shows it is alive even with nothing to do.
HEARTBEAT = 5.0
#: An event about an object we own makes its platform due after this long (seconds): a rollout sends many
#: events within milliseconds, and they make one pass. Short, because it also delays Ready after the last
#: workload's event (0.2 s made all-features apply -> Ready 1.60x a bare apply; 0.05 s, 1.35x: issue 12).
COALESCE = 0.05
#: Events waiting to be posted at most (the oldest are dropped beyond it).
OUTBOX = 256
#: Ready reasons of a pass that ran but could not write everything: retried with backoff.
RETRIED_REASONS = frozenset({c.APPLY_FAILED, c.APPLY_CONFLICT, c.PRUNE_FAILED})
#: Posts an Event about an object; set by the glue once an event recorder exists.
EventSink = Callable[[Mapping[str, Any], Event], Awaitable[None]]


def platform_key(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def ready_reason(status: Mapping[str, Any]) -> str:
    for cond in status.get("conditions") or []:
        if cond.get("type") == c.READY:
            return str(cond.get("reason") or "")
    return ""


def backoff(failures: int) -> float:
    return float(min(2.0 ** max(failures - 1, 0), MAX_BACKOFF))


class Worker:
    def __init__(
        self,
        kube: Kube,
        config: OperatorConfig,
        clock: Callable[[], float] = time.monotonic,
        is_leader: Callable[[], bool] = lambda: True,
    ) -> None:
        self.kube = kube
        self.config = config
        self.clock = clock
        self.is_leader = is_leader
        self.emit: EventSink | None = None
        #: The watch's cache of owned objects, read by the passes instead of lists (set by the glue).
        self.cache: ObjectCache | None = None
        self.due: dict[Key, float] = {}
        self.cleanups: dict[str, Key] = {}  # uid -> key of a deleted SeldonOperator still to clean up after
        self.failures: dict[Key, int] = {}
        self._last_error: dict[Key, str] = {}
        self._poked: set[Key] = set()  # changed while its pass ran: due again at once after it
        self._wake = asyncio.Event()
        self._swept = False
        self.heartbeat = clock()
        self.passes = 0
        self.task: asyncio.Task[None] | None = None
        #: Events of finished passes, posted in order by their own task, so the next pass never waits for them.
        self._outbox: collections.deque[tuple[Mapping[str, Any], Event]] = collections.deque(maxlen=OUTBOX)
        self._poster: asyncio.Task[None] | None = None

    # --- what the glue tells it ------------------------------------------------------------------------------

    def observed(self, key: Key, generation: int | None, observed_generation: int | None) -> None:
        """A SeldonOperator was listed or changed: due now if new to us or its spec is not reconciled yet."""
        if key not in self.due or generation != observed_generation:
            self.schedule(key, 0.0)

    def deleted(self, key: Key, uid: str | None) -> None:
        self.due.pop(key, None)
        self.failures.pop(key, None)
        if uid:
            self.cleanups[uid] = key
            self._wake.set()

    def poke(self, key: Key) -> None:
        """Something the platform ``key`` owns changed: look at it soon. Unknown platforms are ignored (their
        SeldonOperator's own event makes them known)."""
        if key in self.due:
            self._poked.add(key)
            self.schedule(key, COALESCE)

    def schedule(self, key: Key, delay: float) -> None:
        at = self.clock() + delay
        if delay <= 0 or key not in self.due or self.due[key] > at:
            self.due[key] = at
        self._wake.set()

    def resync(self) -> None:
        """Everything known is due now (e.g. this replica just became the leader)."""
        self._swept = False
        for key in list(self.due):
            self.due[key] = self.clock()
        self._wake.set()

    # --- probes ----------------------------------------------------------------------------------------------

    def liveness(self) -> tuple[bool, str]:
        if self.task is None or self.task.done():
            return False, "the worker task is not running"
        age = self.clock() - self.heartbeat
        if age > self.config.stale_after:
            return False, f"the worker made no progress for {age:.0f}s"
        return True, "ok"

    def readiness(self) -> tuple[bool, str]:
        alive, text = self.liveness()
        if not alive:
            return False, text
        return (True, "leading") if self.is_leader() else (False, "standby: another replica leads")

    # --- the loop --------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name="seldon-operator-worker")

    async def stop(self) -> None:
        for task in (self.task, self._poster):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in the loop itself: say so, and go on
                log.exception("Worker step failed")
                await asyncio.sleep(1.0)
            self.heartbeat = self.clock()

    async def step(self) -> None:
        """Wait until something is due (or HEARTBEAT), then run what is due, if this replica leads."""
        if not self.is_leader():
            # A standby only waits (becoming the leader wakes it: ``resync``). Returning at once while something is
            # due would spin the loop without ever yielding, starving the election itself.
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=HEARTBEAT)
            return
        if not self._swept:  # at start-up and on becoming the leader, before anything is due (not in a pass's way)
            await self._sweep()
        now = self.clock()
        soonest = min(self.due.values(), default=now + HEARTBEAT)
        if not self.cleanups and soonest > now:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(soonest - now, HEARTBEAT))
        if not self.is_leader():
            return
        for uid, key in list(self.cleanups.items()):
            await self._cleanup(uid, key)
        now = self.clock()
        for key in sorted(k for k, at in self.due.items() if at <= now):
            if key in self.due:  # a DELETED event may have removed it meanwhile
                await self.reconcile(key)
            self.heartbeat = self.clock()

    async def _sweep(self) -> None:
        try:
            swept = await sweep_orphans(self.kube, self.config.namespace, self.config.allowed_namespaces)
        except KubeError as exc:
            log.warning("Could not sweep orphaned objects", extra={"error": str(exc)})
            return
        self._swept = True
        if swept:
            log.info("Swept orphaned objects", extra={"deleted": swept})

    async def _cleanup(self, uid: str, key: Key) -> None:
        try:
            deleted = await cleanup_platform(self.kube, uid, self.config.allowed_namespaces)
        except KubeError as exc:
            log.warning(
                "Could not clean up after a removed SeldonOperator", extra={"object": _ref(key), "error": str(exc)}
            )
            return  # kept in self.cleanups: retried on the next step
        self.cleanups.pop(uid, None)
        log.info("Removed platform objects outside its namespace", extra={"object": _ref(key), "deleted": deleted})

    async def reconcile(self, key: Key) -> None:
        namespace, name = key
        started = self.clock()
        self._poked.discard(key)
        try:
            fresh = await self.kube.get(API_VERSION, KIND, name, namespace)
            if fresh is None or fresh["metadata"].get("deletionTimestamp"):
                self.due.pop(key, None)
                return
            outcome = await reconcile_platform(
                fresh, self.kube, allowed_namespaces=self.config.allowed_namespaces, cache=self.cache
            )
        except asyncio.CancelledError:
            raise
        except ObjectReplacedError as exc:
            # Deleted (and perhaps created again under the same name) while the pass ran: its result belongs to
            # nobody and was not written. A successor is reconciled afresh, at once.
            log.info(
                "SeldonOperator replaced during the pass; its result was dropped",
                extra={"object": _ref(key), "error": str(exc)},
            )
            if key in self.due:
                self.due[key] = self.clock()
            return
        except Exception as exc:
            self._failed(key, exc)
            return
        finally:
            RECONCILE_DURATION.observe(max(self.clock() - started, 0.0))
        self.passes += 1
        after = recheck_after(outcome.status, self.config.interval, self.config.progress_interval)
        if ready_reason(outcome.status) in RETRIED_REASONS:
            # The pass ran, but a write failed (a 5xx, a 429, a reset): retried with the same capped backoff as a
            # failed pass, not left to the slow resync.
            # A pass that wrote something made progress: the backoff starts again from its first step.
            count = self.failures[key] = 1 if outcome.writes else self.failures.get(key, 0) + 1
            after = min(backoff(count), after)
        elif self.failures.pop(key, 0):
            log.info("Reconcile recovered", extra={"object": _ref(key)})
        if not self.failures.get(key):
            self._last_error.pop(key, None)
        if key in self.due:  # not deleted while the pass ran
            self.due[key] = self.clock() + (COALESCE if key in self._poked else after)
        RECONCILES.labels("ready" if outcome.ready else "not_ready").inc()
        for event in outcome.events:
            self._post(fresh, event)
        fields = {"object": _ref(key), "writes": outcome.writes, "ready": outcome.ready}
        if outcome.writes or outcome.written:
            log.info("Reconciled", extra=fields)
        else:
            log.debug("Reconciled with no changes", extra=fields)

    def _failed(self, key: Key, exc: Exception) -> None:
        count = self.failures[key] = self.failures.get(key, 0) + 1
        delay = backoff(count)
        if key in self.due:
            self.due[key] = self.clock() + delay
        kind = "KubeError" if isinstance(exc, KubeError) else type(exc).__name__
        RECONCILE_ERRORS.labels(kind).inc()
        RECONCILES.labels("error").inc()
        text = str(exc)
        fields = {"object": _ref(key), "error": text, "failures": count, "retry_in": delay}
        repeated = self._last_error.get(key) == text
        self._last_error[key] = text
        if isinstance(exc, KubeError):
            (log.debug if repeated else log.warning)("Reconcile failed; will retry", extra=fields)
        elif repeated:
            log.debug("Reconcile failed; will retry", extra=fields)
        else:  # not the cluster's weather: a bug, with its traceback
            log.error("Reconcile failed with an unexpected error; will retry", extra=fields, exc_info=exc)

    def _post(self, body: Mapping[str, Any], event: Event) -> None:
        """Queue an Event about ``body``: a pass with many changes makes a dozen, one request each, and the pass that
        reports Ready must not wait behind them (issue 12). One task posts them, in order (the recorder's series
        need it); the oldest are dropped beyond ``OUTBOX`` (an API server that refuses them for long)."""
        if self.emit is None:
            log.debug("Event", extra={"type": event.type, "reason": event.reason, "note": event.message})
            return
        self._outbox.append((body, event))
        if self._poster is None or self._poster.done():
            self._poster = asyncio.create_task(self._post_all(), name="seldon-operator-events")

    async def _post_all(self) -> None:
        while self._outbox:
            body, event = self._outbox.popleft()
            await self._emit(body, event)

    async def _emit(self, body: Mapping[str, Any], event: Event) -> None:
        if self.emit is None:
            log.debug("Event", extra={"type": event.type, "reason": event.reason, "note": event.message})
            return
        try:
            await self.emit(body, event)
        except Exception as exc:  # an Event is never worth a failed pass
            log.warning("Could not post an Event", extra={"reason": event.reason, "error": str(exc)})


def _ref(key: Key) -> str:
    return f"{key[0]}/{key[1]}"
