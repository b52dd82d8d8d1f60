"""Leader election (operator/leader.py) with two electors on the real API server: exactly one leads; a leader that
vanishes without releasing is replaced only after its Lease expired; a graceful release hands over at once; a
leader that sees another holder steps down.

Short timings (lease 3 s, renew deadline 2 s, retry 0.5 s) keep the test quick; the failover times are printed,
and `make bench` measures them with the production defaults. The only time bound asserted is a lower one: a
crashed leader's Lease is never taken before it expired, which is a safety property, not a speed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest

from seldon_meta_operator.kube import Kube
from seldon_meta_operator.operator.leader import LEASE_API, LeaderElector
from tests.conftest import Cluster, with_kube

pytestmark = pytest.mark.cluster

LEASE, RENEW, RETRY = 3.0, 2.0, 0.5


def elector(kube: Kube, namespace: str, identity: str) -> LeaderElector:
    return LeaderElector(
        kube, namespace, identity=identity, lease_duration=LEASE, renew_deadline=RENEW, retry_period=RETRY
    )


async def until(what: str, probe: Callable[[], bool], timeout: float = 60.0) -> float:
    """Wait until ``probe()`` holds; return the monotonic time it was first seen to hold."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic()


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def two_electors(kube: Kube, namespace: str) -> tuple[LeaderElector, LeaderElector, dict[str, Any]]:
    """Start a and b; return (leader, follower, their tasks by identity) once one leads and b saw the Lease."""
    a, b = elector(kube, namespace, "a"), elector(kube, namespace, "b")
    tasks = {"a": asyncio.create_task(a.run()), "b": asyncio.create_task(b.run())}
    await until("a leader", lambda: a.is_leader or b.is_leader)
    leader, follower = (a, b) if a.is_leader else (b, a)
    await until("the follower to see the holder", lambda: follower.holder == leader.identity)
    return leader, follower, tasks


async def lease_spec(kube: Kube, namespace: str) -> dict[str, Any]:
    found = await kube.get(LEASE_API, "Lease", "seldon-meta-operator", namespace)
    assert found is not None
    return dict(found["spec"])


def test_exactly_one_of_two_electors_leads_and_holds_the_lease(cluster: Cluster, namespace: str) -> None:
    async def body(kube: Kube) -> None:
        leader, follower, tasks = await two_electors(kube, namespace)
        both = 0
        for _ in range(int(3 * LEASE / 0.02)):  # several lease periods: renewals keep the leader leading
            both += leader.is_leader and follower.is_leader
            assert leader.is_leader, "the leader lost the Lease while renewing it"
            await asyncio.sleep(0.02)
        assert both == 0 and not follower.is_leader
        spec = await lease_spec(kube, namespace)
        assert spec["holderIdentity"] == leader.identity
        assert spec["leaseDurationSeconds"] == 3
        assert spec["leaseTransitions"] == 0
        for task in tasks.values():
            await stop(task)

    with_kube(cluster, body, timeout=180)


def test_a_vanished_leader_is_replaced_only_after_its_lease_expired(cluster: Cluster, namespace: str) -> None:
    async def body(kube: Kube) -> float:
        leader, follower, tasks = await two_electors(kube, namespace)
        before = await lease_spec(kube, namespace)
        await stop(tasks[leader.identity])  # no release: as if the process was killed
        vanished = time.monotonic()
        took_over = await until("the follower to lead", lambda: follower.is_leader, timeout=10 * LEASE)
        failover = took_over - vanished
        # The leader renewed at most one retry period before it vanished; its Lease ran for LEASE from then.
        assert failover >= LEASE - RETRY, f"the Lease was taken {failover:.2f}s after the leader vanished"
        after = await lease_spec(kube, namespace)
        assert after["holderIdentity"] == follower.identity
        assert after["leaseTransitions"] == before["leaseTransitions"] + 1
        await stop(tasks[follower.identity])
        return failover

    failover = with_kube(cluster, body, timeout=180)
    print(f"\nfailover after the leader vanished: {failover:.2f}s (lease {LEASE}s, retry {RETRY}s)")


def test_a_graceful_release_hands_over_at_once(cluster: Cluster, namespace: str) -> None:
    async def body(kube: Kube) -> float:
        leader, follower, tasks = await two_electors(kube, namespace)
        await stop(tasks[leader.identity])
        released_at = time.monotonic()
        assert await leader.release() is True
        took_over = await until("the follower to lead", lambda: follower.is_leader, timeout=10 * LEASE)
        after = await lease_spec(kube, namespace)
        assert after["holderIdentity"] == follower.identity
        assert after["leaseTransitions"] == 1
        await stop(tasks[follower.identity])
        assert await follower.release() is True
        assert (await lease_spec(kube, namespace))["holderIdentity"] in ("", None)
        return took_over - released_at

    handover = with_kube(cluster, body, timeout=180)
    print(f"\nhand-over after a graceful release: {handover:.2f}s (retry {RETRY}s)")


def test_a_leader_that_sees_another_holder_steps_down(cluster: Cluster, namespace: str) -> None:
    async def body(kube: Kube) -> None:
        a = elector(kube, namespace, "a")
        task = asyncio.create_task(a.run())
        await a.wait_until_leader()
        a.changed.clear()
        lease = await kube.get(LEASE_API, "Lease", "seldon-meta-operator", namespace)
        assert lease is not None
        await kube.replace({**lease, "spec": {**lease["spec"], "holderIdentity": "intruder"}})
        await asyncio.wait_for(a.changed.wait(), 10 * LEASE)
        assert not a.is_leader
        await until("a to see the intruder", lambda: a.holder == "intruder")
        await stop(task)
        assert await a.release() is False  # not ours to release

    with_kube(cluster, body, timeout=180)


def test_a_standby_observes_the_lease_as_it_changes_not_at_its_next_poll(cluster: Cluster, namespace: str) -> None:
    """The Lease is watched: with a 10 s retry period, a change of holder and a release are seen, and a released
    Lease taken, long before the standby's next poll (without the watch, each would take up to 10 s)."""

    async def body(kube: Kube) -> None:
        now = "2026-01-01T00:00:00.123456Z"  # (a zero fraction would be dropped by the model)
        held = {"holderIdentity": "x", "leaseDurationSeconds": 60, "renewTime": now, "leaseTransitions": 0}
        meta = {"name": "seldon-meta-operator", "namespace": namespace}
        await kube.create({"apiVersion": LEASE_API, "kind": "Lease", "metadata": meta, "spec": held})
        standby = LeaderElector(
            kube, namespace, identity="b", lease_duration=60.0, renew_deadline=20.0, retry_period=10.0
        )
        task = asyncio.create_task(standby.run())
        await until("the standby to see x", lambda: standby.holder == "x", timeout=5)
        await asyncio.sleep(0.5)  # its first poll is over; the next one is 10 s away
        lease = await kube.get(LEASE_API, "Lease", "seldon-meta-operator", namespace)
        assert lease is not None
        lease = await kube.replace({**lease, "spec": {**held, "holderIdentity": "y", "leaseTransitions": 1}})
        await until("the standby to see y", lambda: standby.holder == "y", timeout=5)
        assert not standby.is_leader
        await kube.replace({**lease, "spec": {**held, "holderIdentity": "", "leaseTransitions": 1}})
        await until("the standby to take the released Lease", lambda: standby.is_leader, timeout=5)
        assert (await lease_spec(kube, namespace))["holderIdentity"] == "b"
        await stop(task)
        assert await standby.release() is True

    with_kube(cluster, body, timeout=180)
