"""Leader election on a ``coordination.k8s.io/v1`` Lease, so that of several operator replicas only one reconciles.

Layer: operator (kopf-free: it needs only a ``Kube``). Semantics of client-go's ``tools/leaderelection``, whose
defaults controller-runtime uses (lease 15 s, renew deadline 10 s, retry 2 s):

- a replica takes the Lease when nobody holds it, when it holds it itself, or when the holder has not renewed it
  for ``lease_duration`` **as observed by this replica's own clock** (the time it last saw the record change), so
  clocks of different machines are never compared;
- every change goes through an update with the read ``resourceVersion`` (optimistic concurrency): of two replicas
  racing for an expired Lease, exactly one wins;
- the leader renews every ``retry_period``; if it has not renewed for ``renew_deadline`` (or sees another holder),
  it stops leading, before any other replica may take over (``renew_deadline < lease_duration``);
- ``leaseTransitions`` grows by one on every change of holder;
- ``release()`` (graceful stop) clears ``holderIdentity`` and shortens the Lease to 1 s, so a standby takes over
  on its next try instead of waiting for the Lease to expire. A crashed leader's Lease is never taken early.

Beyond client-go, each replica also **watches** the Lease (a watch on its name). A renewal is then observed within
milliseconds instead of at the next 2 s poll, and a standby schedules its next attempt for the moment the Lease
expires on its clock instead of the next poll, so after a crashed leader's last renewal a standby takes over
``lease_duration`` later plus one request (client-go: up to two retry periods more). A released or deleted Lease
wakes a standby at once. The 2 s poll stays, so a broken watch only costs that precision.

RBAC: ``coordination.k8s.io`` ``leases``: ``get``, ``create``, ``update``, ``watch`` in the operator's namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from seldon_meta_operator.kube import Kube, KubeError

logger = logging.getLogger(__name__)

LEASE_API = "coordination.k8s.io/v1"
LEASE_NAME = "seldon-meta-operator"


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def micro_time(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_identity() -> str:
    """``<pod or host name>_<random>``, as client-go's callers usually build it: unique per process, so a
    restarted pod with the same name does not think it still holds the Lease of its previous life."""
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"


def holder_of(spec: Mapping[str, Any]) -> str:
    return str(spec.get("holderIdentity") or "")


def may_take(spec: Mapping[str, Any], identity: str, observed_at: float, now: float, lease_duration: float) -> bool:
    """Whether ``identity`` may write the Lease whose spec is ``spec``: nobody holds it, we do, or its holder
    has not renewed it for its duration since ``observed_at`` (when we last saw the record change)."""
    holder = holder_of(spec)
    if not holder or holder == identity:
        return True
    duration = float(spec.get("leaseDurationSeconds") or lease_duration)
    return now >= observed_at + duration


def next_attempt_in(
    spec: Mapping[str, Any] | None,
    identity: str,
    observed_at: float,
    now: float,
    lease_duration: float,
    retry_period: float,
) -> float:
    """Seconds until this replica's next attempt: a retry period, or less when another holder's Lease (as last
    observed) expires sooner, so a standby tries at the moment it may take the Lease rather than up to a retry
    period later."""
    if not spec:
        return retry_period
    holder = holder_of(spec)
    if not holder or holder == identity:
        return retry_period
    duration = float(spec.get("leaseDurationSeconds") or lease_duration)
    return min(retry_period, max(0.0, observed_at + duration - now))


def next_spec(spec: Mapping[str, Any], identity: str, lease_duration: float, wall: str) -> dict[str, Any]:
    """The spec that acquires or renews the Lease for ``identity`` at wall time ``wall``."""
    ours = holder_of(spec) == identity
    transitions = int(spec.get("leaseTransitions") or 0)
    return {
        "holderIdentity": identity,
        "leaseDurationSeconds": math.ceil(lease_duration),
        "acquireTime": spec.get("acquireTime") if ours and spec.get("acquireTime") else wall,
        "renewTime": wall,
        "leaseTransitions": transitions if ours else transitions + 1,
    }


def released_spec(spec: Mapping[str, Any], wall: str) -> dict[str, Any]:
    """client-go's release: no holder, a 1 s Lease, the transitions kept."""
    return {
        "holderIdentity": "",
        "leaseDurationSeconds": 1,
        "acquireTime": wall,
        "renewTime": wall,
        "leaseTransitions": int(spec.get("leaseTransitions") or 0),
    }


class LeaderElector:
    """Campaigns for the Lease ``namespace/name`` as ``identity`` while ``run()`` runs.

    ``is_leader`` tells the state now; ``wait_until_leader()`` / ``wait_until_follower()`` wait for one; the
    ``changed`` event is set at every change of ``is_leader`` (clear it after reading, to wait for the next one).
    """

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str = LEASE_NAME,
        identity: str | None = None,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime.datetime] = utcnow,
    ) -> None:
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError(
                f"leader election: lease_duration ({lease_duration}) > renew_deadline ({renew_deadline}) > "
                f"retry_period ({retry_period}) > 0 is required, or two replicas could lead at once"
            )
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.identity = identity or default_identity()
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.clock = clock
        self.wall_clock = wall_clock
        self.changed = asyncio.Event()
        self._leading = asyncio.Event()
        self._following = asyncio.Event()
        self._following.set()
        self._lock = asyncio.Lock()
        self._observed: tuple[Any, ...] | None = None
        self._observed_spec: Mapping[str, Any] | None = None
        self._wake = asyncio.Event()
        self._observed_at = 0.0
        self._observed_holder = ""
        self._last_renew = 0.0
        self._released = False
        self._failing = False
        self._bugs: set[str] = set()

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    @property
    def holder(self) -> str:
        """The holder this replica saw last ("" for none)."""
        return self.identity if self.is_leader else self._observed_holder

    async def wait_until_leader(self) -> None:
        await self._leading.wait()

    async def wait_until_follower(self) -> None:
        await self._following.wait()

    async def run(self) -> None:
        """Campaign and renew until cancelled or released. Supervised: a failure is logged once per streak (a
        bug once per kind, with its traceback) and retried after ``retry_period``; it never ends the loop."""
        watcher = asyncio.create_task(self._watch(), name=f"leader-lease-watch-{self.name}")
        try:
            while not self._released:
                self._wake.clear()
                try:
                    await self._tick()
                except Exception as exc:
                    self._report(exc)
                    self._check_deadline()
                delay = self.retry_period
                if not self.is_leader:
                    delay = next_attempt_in(
                        self._observed_spec,
                        self.identity,
                        self._observed_at,
                        self.clock(),
                        self.lease_duration,
                        self.retry_period,
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
        finally:
            # Cancelled (or released): we no longer renew, so we no longer lead. The Lease is left to expire,
            # unless release() cleared it.
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self._set_leader(False)

    async def _watch(self) -> None:
        """Observe every change of the Lease as it happens (see the module's docstring). Supervised like
        ``run()``: an ended or failed watch is opened again after a retry period; the polls go on meanwhile."""
        failing = False
        while True:
            try:
                async for event, lease in self.kube.watch_one(LEASE_API, "Lease", self.name, self.namespace):
                    failing = False
                    spec: Mapping[str, Any] = {} if event == "DELETED" else (lease.get("spec") or {})
                    self._observe(spec)
                    if not holder_of(spec) and not self.is_leader:
                        self._wake.set()  # released or deleted: try to take it now
            except KubeError as exc:
                if not failing:
                    logger.info(
                        "The watch of the leader Lease ended; it is polled until the watch is back",
                        extra={"lease": f"{self.namespace}/{self.name}", "error": str(exc)},
                    )
                failing = True
            except Exception as exc:
                self._report(exc)
            await asyncio.sleep(self.retry_period)

    async def release(self, timeout: float = 5.0) -> bool:
        """Stop campaigning and, if the Lease names us, clear it so a standby takes over at once. Returns whether
        a Lease of ours was released. Never raises and takes at most ``timeout`` seconds (SIGTERM must stop the
        process quickly): on a failure the Lease just expires.

        Cancel the ``run()`` task first (so no renewal is in flight), then release: that is ``campaigning()``."""
        self._released = True
        self._set_leader(False)
        try:
            async with asyncio.timeout(timeout), self._lock:
                lease = await self.kube.get(LEASE_API, "Lease", self.name, self.namespace)
                if lease is None or holder_of(lease.get("spec") or {}) != self.identity:
                    return False
                wall = micro_time(self.wall_clock())
                await self.kube.replace({**lease, "spec": released_spec(lease.get("spec") or {}, wall)})
        except (KubeError, TimeoutError) as exc:
            logger.warning(
                "Could not release the leader Lease; it expires by itself",
                extra={"lease": f"{self.namespace}/{self.name}", "error": str(exc) or type(exc).__name__},
            )
            return False
        logger.info("Released the leader Lease", extra={"lease": f"{self.namespace}/{self.name}"})
        return True

    # --- one attempt -------------------------------------------------------------------------------------

    async def _tick(self) -> None:
        async with self._lock:
            if self._released:
                return
            # A leader must know within its renew deadline whether it still leads: bound the attempt by it.
            budget = self.renew_deadline
            if self.is_leader:
                budget = max(0.05, self._last_renew + self.renew_deadline - self.clock())
            try:
                renewed = await asyncio.wait_for(self._try_acquire_or_renew(), budget)
            except TimeoutError as exc:
                raise KubeError(f"leader Lease {self.namespace}/{self.name}: no answer within {budget:.1f}s") from exc
        if renewed:
            self._last_renew = self.clock()
            if self._failing:
                logger.info("Reached the leader Lease again", extra={"lease": f"{self.namespace}/{self.name}"})
            self._failing = False
            self._set_leader(True)
        elif self.is_leader:
            self._set_leader(False)  # another replica holds it: step down at once

    async def _try_acquire_or_renew(self) -> bool:
        lease = await self.kube.get(LEASE_API, "Lease", self.name, self.namespace)
        wall = micro_time(self.wall_clock())
        if lease is None:
            created = await self.kube.create(
                {
                    "apiVersion": LEASE_API,
                    "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": {**next_spec({}, self.identity, self.lease_duration, wall), "leaseTransitions": 0},
                }
            )
            if created is None:  # another replica created it first
                return False
            self._observe(created.get("spec") or {})
            return True
        spec = lease.get("spec") or {}
        self._observe(spec)
        if not may_take(spec, self.identity, self._observed_at, self.clock(), self.lease_duration):
            return False
        try:
            # The read resourceVersion stays in metadata: a concurrent writer makes this a 409.
            updated = await self.kube.replace(
                {**lease, "spec": next_spec(spec, self.identity, self.lease_duration, wall)}
            )
        except KubeError as exc:
            if exc.code == 409:
                return False
            raise
        self._observe(updated.get("spec") or {})
        return True

    def _observe(self, spec: Mapping[str, Any]) -> None:
        record = tuple(
            spec.get(k)
            for k in ("holderIdentity", "renewTime", "acquireTime", "leaseTransitions", "leaseDurationSeconds")
        )
        if record != self._observed:
            self._observed, self._observed_at = record, self.clock()
        self._observed_spec = spec
        holder = holder_of(spec)
        if holder != self._observed_holder and holder and holder != self.identity:
            logger.info("Another replica leads", extra={"lease": f"{self.namespace}/{self.name}", "holder": holder})
        self._observed_holder = holder

    def _check_deadline(self) -> None:
        if self.is_leader and self.clock() - self._last_renew >= self.renew_deadline:
            self._set_leader(False)

    def _report(self, exc: Exception) -> None:
        if isinstance(exc, KubeError):
            if not self._failing:
                logger.warning(
                    "Could not reach the leader Lease; retrying",
                    extra={"lease": f"{self.namespace}/{self.name}", "error": str(exc)},
                )
            self._failing = True
            return
        kind = type(exc).__name__
        if kind not in self._bugs:
            self._bugs.add(kind)
            logger.exception("Leader election failed unexpectedly; retrying", extra={"error": kind})

    def _set_leader(self, leading: bool) -> None:
        if leading == self.is_leader:
            return
        if leading:
            self._following.clear()
            self._leading.set()
            logger.info(
                "Became the leader", extra={"lease": f"{self.namespace}/{self.name}", "identity": self.identity}
            )
        else:
            self._leading.clear()
            self._following.set()
            logger.info("Stopped leading", extra={"lease": f"{self.namespace}/{self.name}", "identity": self.identity})
        self.changed.set()


@contextlib.asynccontextmanager
async def campaigning(elector: LeaderElector) -> AsyncIterator[LeaderElector]:
    """Run ``elector`` in a task for the block; on the way out stop it and release the Lease (graceful stop)."""
    task = asyncio.create_task(elector.run(), name=f"leader-election-{elector.name}")
    try:
        yield elector
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await elector.release()
