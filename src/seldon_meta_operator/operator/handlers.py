"""kopf glue: SeldonOperator events in the operator's own namespace feed one supervised worker that reconciles.

Layer: operator (thin glue; the logic lives in reconcile/ and in ``worker.py``).

- **One trusted namespace.** kopf watches SeldonOperators only in the operator's namespace (``OperatorConfig``);
  a SeldonOperator anywhere else is never seen, so nothing is rendered, written or deleted for it (issue 8).
- **Only event handlers.** kopf's change handlers (on.create/update/resume) keep their bookkeeping in annotations
  (the last-handled spec and handler progress), which a large spec overflows, and its timers add a finalizer that
  hangs removal once the operator is gone. An ``on.event`` handler keeps nothing: it only tells the worker which
  platform to look at. The reconcile itself is level-based: it compares ``metadata.generation`` with
  ``status.observedGeneration``, so our own status writes wake nothing.
- **One worker** (``Worker``) runs every reconcile and clean-up, one at a time, coalescing events, with capped
  backoff on failures; it never dies. ``/healthz`` fails when it stops making progress (``probes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import kopf
from kopf._cogs.structs.references import Selector  # settings.watching.label_selectors' key; no public alias

from seldon_meta_operator.api.v1alpha1 import GROUP, PLURAL, VERSION
from seldon_meta_operator.kube import Kube
from seldon_meta_operator.kube.cache import ObjectCache
from seldon_meta_operator.operator.config import OperatorConfig
from seldon_meta_operator.operator.leader import LeaderElector
from seldon_meta_operator.operator.probes import ProbeServer
from seldon_meta_operator.operator.worker import Worker, platform_key
from seldon_meta_operator.reconcile.events import EventRecorder
from seldon_meta_operator.reconcile.reconciler import Event, managed_resources
from seldon_meta_operator.render.ownership import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    PLATFORM_LABEL,
    PLATFORM_NAMESPACE_LABEL,
    watch_labels,
)

log = logging.getLogger("seldon_meta_operator.operator")


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf's diff base for change handlers, which this operator has none of (module docstring): nothing is built,
    read or stored. kopf's own storage deep-copies every watched object twice per event to build a diff that only
    change handlers read (the Seldon Core CRD is over 200 KB): about a tenth of the operator's CPU during an install,
    on the API server's cores (issue 12)."""

    def build(self, *, body: Any, extra_fields: Any = None) -> Any:
        return kopf.BodyEssence()

    def fetch(self, *, body: Any) -> Any:
        return None

    def store(self, *, body: Any, patch: Any, essence: Any) -> None:
        return None


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    config: OperatorConfig = memo.config
    # Events are ours (reconcile/events.py); kopf's per-handler chatter stays in the log.
    settings.posting.enabled = False
    # One exact namespace: no cluster-wide scan of Namespaces (which the operator may not list) nor of CRDs; the
    # SeldonOperator CRD exists before the operator starts (the install manifest holds both).
    settings.scanning.disabled = True
    settings.persistence.diffbase_storage = NoDiffBase()
    # What we own is watched with a server-side label selector: the API server sends only our objects, so
    # nothing grows with what other tools create (issue 12).
    owned = ",".join(f"{k}={v}" for k, v in watch_labels(config.namespace).items())
    for res in managed_resources():
        settings.watching.label_selectors[Selector(group=res.group, version=res.version, plural=res.plural)] = owned
    # A watch is re-opened when the server ends it: every 30 minutes (the API server's own default minimum), not
    # every 5, so ~20 idle watches cost well under one request a minute. A dead stream is still noticed within
    # kopf's inactivity timeout (70 s: the server sends a bookmark every minute).
    settings.watching.server_timeout = 1800
    settings.networking.request_timeout = 60
    # kopf's retries of a failed request (its watches' too): capped at 3 s instead of growing to 21, so a watch is
    # back within 3 s of the API server's return rather than up to 13 s later (drift repaired after a 12 s outage:
    # 5.7 s -> 0.9 s, docs/operations.md). About a minute in all before kopf escalates, as with its default.
    settings.networking.error_backoffs = (1, 1, 2, 2, *(3,) * 18)
    memo.kube = Kube.from_kubeconfig(config.kubeconfig)
    memo.elector = None
    memo.election = None
    is_leader = _always
    if config.leader_election:
        memo.elector = LeaderElector(memo.kube, config.namespace, identity=config.identity or None)
        is_leader = _leading(memo.elector)
    memo.worker = Worker(memo.kube, config, is_leader=is_leader)
    # What the watches below report is kept (trimmed) for the passes to read instead of listing (kube/cache.py).
    memo.worker.cache = ObjectCache(
        config.namespace,
        watch_labels(config.namespace),
        max_age=config.interval,
    )
    recorder = EventRecorder(memo.kube, instance=config.identity or None)

    async def emit(body: Any, event: Event) -> None:
        await recorder.record(body, event.type, event.reason, event.message, action="Reconcile")

    memo.worker.emit = emit
    memo.worker.start()
    if memo.elector is not None:
        memo.election = asyncio.create_task(_campaign(memo.elector, memo.worker), name="seldon-operator-election")
    memo.probes = ProbeServer(config.health_host, config.health_port, memo.worker)
    await memo.probes.start()


def _always() -> bool:
    return True


def _leading(elector: LeaderElector) -> Any:
    return lambda: elector.is_leader


async def _campaign(elector: LeaderElector, worker: Worker) -> None:
    """Run the election; on becoming the leader, everything is due at once (the old leader may have missed events,
    and this replica's own watch was only noting what is due)."""
    task = asyncio.create_task(elector.run(), name="seldon-operator-lease")
    try:
        while True:
            await elector.changed.wait()
            elector.changed.clear()
            if elector.is_leader:
                worker.resync()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    # Bounded: SIGTERM must end the process within 10 s whatever the API server does. The worker stops first, so
    # no pass runs after the Lease is released for a standby.
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(memo.worker.stop(), timeout=4)
    if memo.election is not None:
        memo.election.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await memo.election
        await memo.elector.release(timeout=3)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(memo.probes.stop(), timeout=1)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(memo.kube.close(), timeout=1)


@kopf.on.event(GROUP, VERSION, PLURAL)
async def on_event(event: Any, memo: Any, **_: Any) -> None:
    """Tell the worker what changed; never raises (kopf would only log it)."""
    obj = event.get("object") or {}
    meta = obj.get("metadata") or {}
    worker: Worker = memo.worker
    if meta.get("namespace") != worker.config.namespace:  # kopf watches only it; defence in depth
        return
    key = platform_key(obj)
    if event.get("type") == "DELETED":
        worker.deleted(key, meta.get("uid"))
        return
    if meta.get("deletionTimestamp"):
        return  # the garbage collector removes what it owns; DELETED follows
    worker.observed(key, meta.get("generation"), (obj.get("status") or {}).get("observedGeneration"))


async def on_owned(event: Any, memo: Any, **_: Any) -> None:
    """An object we own changed (its status, its spec by someone else, its deletion): the cache holds its new
    state, and its platform is due in a moment. Many events in that moment make one pass (the worker coalesces)."""
    obj = event.get("object") or {}
    labels = (obj.get("metadata") or {}).get("labels") or {}
    worker: Worker = memo.worker
    if labels.get(PLATFORM_NAMESPACE_LABEL) != worker.config.namespace:
        return
    if worker.cache is not None:
        worker.cache.observe(event.get("type"), obj)
    if labels.get(PLATFORM_LABEL):
        worker.poke((worker.config.namespace, labels[PLATFORM_LABEL]))


for _res in managed_resources():
    kopf.on.event(group=_res.group, version=_res.version, plural=_res.plural, labels={MANAGED_BY_LABEL: MANAGED_BY})(
        on_owned
    )
