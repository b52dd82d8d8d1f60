"""The pure rules of leader election (operator/leader.py): who may take the Lease and what an acquisition, a renewal
and a release write. The election itself runs against the real API server in tests/integration/test_leader.py."""

from __future__ import annotations

from typing import Any

import pytest

from seldon_meta_operator.operator.leader import LeaderElector, may_take, next_attempt_in, next_spec, released_spec

HELD_BY_B = {"holderIdentity": "b", "leaseDurationSeconds": 15, "renewTime": "t0", "leaseTransitions": 3}


@pytest.mark.parametrize(
    ("spec", "observed_at", "now", "expected"),
    [
        ({}, 0.0, 0.0, True),
        ({**HELD_BY_B, "holderIdentity": ""}, 100.0, 100.0, True),
        ({**HELD_BY_B, "holderIdentity": "a"}, 100.0, 100.0, True),
        (HELD_BY_B, 100.0, 114.9, False),
        (HELD_BY_B, 100.0, 115.0, True),
        ({**HELD_BY_B, "leaseDurationSeconds": 1}, 100.0, 101.0, True),
        ({**HELD_BY_B, "leaseDurationSeconds": None}, 100.0, 109.0, False),
    ],
    ids=[
        "a new Lease may be taken",
        "a released Lease may be taken at once",
        "our own Lease may be renewed",
        "another holder's Lease is not taken before it expires",
        "another holder's Lease is taken once it expired on our clock",
        "the Lease's own duration counts, not ours",
        "without a duration in the Lease ours counts",
    ],
)
def test_who_may_take_the_lease(spec: dict[str, Any], observed_at: float, now: float, expected: bool) -> None:
    assert may_take(spec, "a", observed_at, now, lease_duration=10.0) is expected


def test_a_takeover_counts_a_transition_and_stamps_the_acquire_time() -> None:
    assert next_spec(HELD_BY_B, "a", 15.0, "t1") == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 15,
        "acquireTime": "t1",
        "renewTime": "t1",
        "leaseTransitions": 4,
    }


def test_a_renewal_keeps_the_acquire_time_and_the_transitions() -> None:
    ours = {**HELD_BY_B, "holderIdentity": "a", "acquireTime": "t0"}
    assert next_spec(ours, "a", 2.5, "t9") == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 3,
        "acquireTime": "t0",
        "renewTime": "t9",
        "leaseTransitions": 3,
    }


def test_a_release_clears_the_holder_and_the_next_holder_counts_a_transition() -> None:
    released = released_spec({**HELD_BY_B, "holderIdentity": "a"}, "t2")
    assert released == {
        "holderIdentity": "",
        "leaseDurationSeconds": 1,
        "acquireTime": "t2",
        "renewTime": "t2",
        "leaseTransitions": 3,
    }
    assert next_spec(released, "b", 15.0, "t3")["leaseTransitions"] == 4


@pytest.mark.parametrize(
    ("spec", "observed_at", "now", "expected"),
    [
        (None, 0.0, 50.0, 2.0),
        ({**HELD_BY_B, "holderIdentity": "a"}, 100.0, 101.0, 2.0),
        ({**HELD_BY_B, "holderIdentity": ""}, 100.0, 101.0, 2.0),
        (HELD_BY_B, 100.0, 101.0, 2.0),
        (HELD_BY_B, 100.0, 113.5, 1.5),
        (HELD_BY_B, 100.0, 114.75, 0.25),
        (HELD_BY_B, 100.0, 120.0, 0.0),
    ],
    ids=[
        "nothing observed yet: a retry period",
        "our own Lease: renewed every retry period",
        "a released Lease: a retry period (the watch wakes us at once)",
        "another holder, far from expiry: a retry period",
        "another holder, expiring within a retry period: exactly at its expiry",
        "another holder, expiring in 0.25 s: in 0.25 s",
        "an expired Lease: at once",
    ],
)
def test_a_standby_tries_again_when_the_lease_expires_not_a_poll_later(
    spec: dict[str, Any] | None, observed_at: float, now: float, expected: float
) -> None:
    assert next_attempt_in(spec, "a", observed_at, now, lease_duration=10.0, retry_period=2.0) == pytest.approx(
        expected
    )


@pytest.mark.parametrize(
    ("lease", "renew", "retry"),
    [(10.0, 10.0, 2.0), (15.0, 2.0, 2.0), (15.0, 10.0, 0.0)],
    ids=["renew deadline as long as the lease", "retry as long as the renew deadline", "no retry period"],
)
def test_timings_that_would_let_two_replicas_lead_are_refused(lease: float, renew: float, retry: float) -> None:
    with pytest.raises(ValueError, match="lease_duration"):
        LeaderElector(None, "ns", identity="a", lease_duration=lease, renew_deadline=renew, retry_period=retry)  # type: ignore[arg-type]
