"""kopf handlers: one level-based reconcile on resume, create, update and a periodic pass; clean-up on deletion.

Layer: operator (thin glue; the logic lives in reconcile/). Handlers return None, so kopf copies nothing into
status. There is no finalizer: namespaced children are owned by the SeldonOperator and removed by the garbage
collector, cluster-scoped ones are removed on the DELETED event here, swept at start-up if the operator was
down, and owned by our CRD so uninstalling the operator removes them too. Nothing can hang on a finalizer
(the original's first known issue).

The periodic pass (health and drift) is our own task, not a ``@kopf.timer``: kopf puts its finalizer on every
object that has a timer or daemon, so that it can stop them before the object goes, and that finalizer is
exactly what hangs a deletion once the operator is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

import kopf

from seldon_meta_operator.api.v1alpha1 import API_VERSION, GROUP, KIND, PLURAL, VERSION
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.kube import Kube, KubeError
from seldon_meta_operator.metrics import RECONCILE_DURATION, RECONCILE_ERRORS, RECONCILES
from seldon_meta_operator.reconcile.reconciler import cleanup_platform, reconcile_platform, sweep_orphans
from seldon_meta_operator.reconcile.status import recheck_after

#: How often the periodic pass re-checks health and corrects drift (seconds). Drift is restored within this
#: interval.
TIMER_INTERVAL = float(os.environ.get("SELDON_OPERATOR_TIMER_INTERVAL", "15"))
#: How soon a platform whose workloads are still rolling out is checked again (seconds).
PROGRESS_INTERVAL = min(2.0, TIMER_INTERVAL)
#: How often the periodic task looks for platforms that are due (seconds); it makes no API call when none is.
TICK = 0.5
ANNOTATION_PREFIX = f"{GROUP}"
log = logging.getLogger("seldon_meta_operator.operator")


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: Any, logger: Any, **_: Any) -> None:
    # kopf's own bookkeeping goes to our annotations (the CRD's status schema is ours alone).
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{GROUP}/finalizer"  # never added: we register no blocking handlers
    # Events: ours only (transitions and failures); kopf's per-handler chatter stays in the log.
    settings.posting.level = logging.ERROR
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    memo.kube = Kube.from_kubeconfig(os.environ.get("SELDON_OPERATOR_KUBECONFIG") or None)
    memo.locks = {}
    memo.due = {}  # (namespace, name) -> monotonic time of its next periodic pass; set after every pass
    swept = await sweep_orphans(memo.kube)
    if swept:
        log.info("Swept orphaned objects", extra={"deleted": swept})
    memo.periodic = asyncio.create_task(_periodic(memo), name="seldon-operator-periodic-pass")


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    memo.periodic.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await memo.periodic
    await memo.kube.close()


async def _periodic(memo: Any) -> None:
    """The same reconcile for every SeldonOperator when it is due: health and drift. Each pass sets when its
    platform is due next (``recheck_after``); the resume handler seeds the platforms that exist at start-up."""
    while True:
        await asyncio.sleep(TICK)
        now = time.monotonic()
        for key in [k for k, due in memo.due.items() if due <= now]:
            namespace, name = key
            try:
                fresh = await memo.kube.get(API_VERSION, KIND, name, namespace)
            except KubeError as exc:
                log.warning("Could not read SeldonOperator", extra={"object": f"{namespace}/{name}", "error": str(exc)})
                memo.due[key] = now + TIMER_INTERVAL
                continue
            if fresh is None or fresh["metadata"].get("deletionTimestamp"):
                memo.due.pop(key, None)
                continue
            try:
                await _reconcile(fresh, memo, fresh=fresh)
            except (kopf.PermanentError, kopf.TemporaryError) as exc:
                log.warning("Periodic pass failed", extra={"object": _ref(fresh), "error": str(exc)})
            except Exception:  # a bug must not stop the periodic pass for every platform
                log.exception("Periodic pass failed", extra={"object": _ref(fresh)})


def _ref(body: Any) -> str:
    return f"{body['metadata'].get('namespace')}/{body['metadata']['name']}"


async def _reconcile(body: Any, memo: Any, fresh: Any = None) -> None:
    uid = body["metadata"]["uid"]
    key = (body["metadata"].get("namespace"), body["metadata"]["name"])
    lock: asyncio.Lock = memo.locks.setdefault(uid, asyncio.Lock())
    async with lock:  # the periodic pass and the change handlers never overlap on one object
        started = time.monotonic()
        memo.due[key] = started + TIMER_INTERVAL  # whatever happens below, look again
        try:
            if fresh is None:
                # Re-read: the body kopf hands a handler may be older than the latest status we wrote.
                fresh = await memo.kube.get(API_VERSION, KIND, body["metadata"]["name"], body["metadata"]["namespace"])
            if fresh is None:
                return
            outcome = await reconcile_platform(fresh, memo.kube)
        except SpecError as exc:  # should not escape reconcile_platform, which maps it to Stalled
            RECONCILE_ERRORS.labels("InvalidSpec").inc()
            raise kopf.PermanentError(str(exc)) from exc
        except KubeError as exc:
            RECONCILE_ERRORS.labels("KubeError").inc()
            RECONCILES.labels("error").inc()
            raise kopf.TemporaryError(str(exc), delay=10) from exc
        finally:
            RECONCILE_DURATION.observe(time.monotonic() - started)
        memo.due[key] = time.monotonic() + recheck_after(outcome.status, TIMER_INTERVAL, PROGRESS_INTERVAL)
        RECONCILES.labels("ready" if outcome.ready else "not_ready").inc()
        for event in outcome.events:
            kopf.event(dict(fresh), type=event.type, reason=event.reason, message=event.message)
        fields = {
            "object": _ref(body),
            "writes": outcome.writes,
            "ready": outcome.ready,
        }
        if outcome.writes or outcome.written:
            log.info("Reconciled", extra=fields)
        else:
            log.debug("Reconciled with no changes", extra=fields)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
async def reconcile(body: kopf.Body, memo: Any, **_: Any) -> None:
    await _reconcile(body, memo)


@kopf.on.event(GROUP, VERSION, PLURAL)
async def on_deleted(event: Any, memo: Any, logger: Any, **_: Any) -> None:
    if event["type"] != "DELETED":
        return
    obj = event["object"]
    memo.locks.pop(obj["metadata"].get("uid"), None)
    memo.due.pop((obj["metadata"].get("namespace"), obj["metadata"]["name"]), None)
    deleted = await cleanup_platform(memo.kube, obj["metadata"]["name"], obj.get("status"))
    log.info("Removed platform objects outside its namespace", extra={"deleted": deleted})
