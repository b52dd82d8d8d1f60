"""The operator's worker and glue, without a cluster: what makes a platform due, backoff, liveness and readiness,
and the log filter that keeps kopf's retried requests out of ERROR."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from seldon_meta_operator.operator.config import OperatorConfig, default_namespace
from seldon_meta_operator.operator.runner import RetriedRequestsAreWarnings
from seldon_meta_operator.operator.worker import MAX_BACKOFF, Worker, backoff
from seldon_meta_operator.reconcile.reconciler import Event

KEY = ("seldon-system", "seldonoperator-sample")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def worker(clock: Clock, leading: bool = True, **config: Any) -> Worker:
    return Worker(kube=None, config=OperatorConfig(**config), clock=clock, is_leader=lambda: leading)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("known", "generation", "observed", "due_now"),
    [
        (False, 1, 1, True),
        (True, 2, 1, True),
        (True, 2, 2, False),
        (True, 3, None, True),
    ],
    ids=[
        "a platform first seen is due at once (start-up listing)",
        "a spec change not yet reconciled is due at once",
        "our own status write (generation already observed) wakes nothing",
        "a platform never reconciled is due at once",
    ],
)
def test_what_makes_a_platform_due(known: bool, generation: int, observed: int | None, due_now: bool) -> None:
    clock = Clock()
    w = worker(clock)
    if known:
        w.due[KEY] = clock.now + 15
    w.observed(KEY, generation, observed)
    assert (w.due[KEY] <= clock.now) is due_now


def test_a_deleted_platform_is_no_longer_due_and_its_clean_up_is_queued_by_uid() -> None:
    w = worker(Clock())
    w.observed(KEY, 1, None)
    w.deleted(KEY, "uid-1")
    assert KEY not in w.due and w.cleanups == {"uid-1": KEY}


def test_becoming_the_leader_makes_everything_due() -> None:
    clock = Clock()
    w = worker(clock)
    w.due = {KEY: clock.now + 15, ("seldon-system", "other"): clock.now + 3}
    w.resync()
    assert all(at <= clock.now for at in w.due.values())


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(50) == MAX_BACKOFF


def test_liveness_fails_without_a_running_task_or_when_the_loop_is_stale() -> None:
    async def go() -> None:
        clock = Clock()
        w = worker(clock, stale_after=60)
        assert w.liveness()[0] is False  # not started
        w.task = asyncio.create_task(asyncio.sleep(3600))
        w.heartbeat = clock.now
        assert w.liveness() == (True, "ok")
        clock.now += 61
        ok, why = w.liveness()
        assert not ok and "no progress for 61s" in why
        w.task.cancel()

    asyncio.run(go())


def test_readiness_says_whether_this_replica_leads() -> None:
    async def go() -> None:
        clock = Clock()
        for leading, expected in ((True, (True, "leading")), (False, (False, "standby: another replica leads"))):
            w = worker(clock, leading=leading)
            w.task = asyncio.create_task(asyncio.sleep(3600))
            assert w.readiness() == expected
            w.task.cancel()

    asyncio.run(go())


def test_a_failing_pass_is_logged_once_then_quietly_until_the_error_changes(caplog: pytest.LogCaptureFixture) -> None:
    from seldon_meta_operator.kube import KubeError

    clock = Clock()
    w = worker(clock)
    w.due[KEY] = clock.now
    caplog.set_level(logging.DEBUG, logger="seldon_meta_operator")
    for _ in range(3):
        w._failed(KEY, KubeError("API server unreachable"))
    w._failed(KEY, KubeError("forbidden"))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.error for r in warnings] == ["API server unreachable", "forbidden"]  # type: ignore[attr-defined]
    assert w.failures[KEY] == 4 and w.due[KEY] == clock.now + backoff(4)


def test_an_unexpected_error_is_an_error_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    w = worker(Clock())
    caplog.set_level(logging.DEBUG, logger="seldon_meta_operator")
    try:
        raise ValueError("a bug")
    except ValueError as exc:
        w._failed(KEY, exc)
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("Request attempt #1/9 failed; will retry: GET /x -> APITooManyRequestsError()", logging.WARNING),
        ("Request attempt #2/9 failed; TCP closed; will re-authenticate: GET /x", logging.WARNING),
        ("Request attempt #9/9 failed; escalating: GET /x -> APIServerError()", logging.ERROR),
        ("Something else failed", logging.ERROR),
    ],
    ids=[
        "a retried request is a warning",
        "a re-authentication is a warning",
        "the last attempt stays an error",
        "other errors stay errors",
    ],
)
def test_kopfs_retried_requests_are_warnings(message: str, level: int) -> None:
    record = logging.LogRecord("kopf._cogs.clients.api", logging.ERROR, "api.py", 1, message, (), None)
    assert RetriedRequestsAreWarnings().filter(record) is True
    assert record.levelno == level and record.levelname == logging.getLevelName(level)


def test_the_namespace_is_the_pods_own_in_a_cluster_else_seldon_system(tmp_path: Any) -> None:
    assert default_namespace(tmp_path) == "seldon-system"
    (tmp_path / "namespace").write_text("platform\n")
    assert default_namespace(tmp_path) == "platform"


def test_a_pass_that_ends_apply_failed_is_retried_with_backoff_not_at_the_slow_resync() -> None:
    from seldon_meta_operator.operator.worker import RETRIED_REASONS

    assert {"ApplyFailed", "ApplyConflict", "PruneFailed"} <= RETRIED_REASONS
    assert backoff(1) < 300 and backoff(100) == MAX_BACKOFF < 300


def test_a_standby_with_platforms_due_waits_instead_of_spinning() -> None:
    """Found on two replicas: a standby whose step returned at once starved the event loop, and with it the leader
    election, so it never took over."""

    async def go() -> None:
        clock = Clock()
        w = worker(clock, leading=False)
        w.due[KEY] = clock.now - 1  # due, but this replica does not lead
        other_ran = asyncio.Event()

        async def other() -> None:
            other_ran.set()

        task = asyncio.create_task(other())
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(w.step(), timeout=0.3)  # it waits (for a wake-up or the heartbeat)
        assert other_ran.is_set()
        await task

    asyncio.run(go())


def test_events_are_posted_in_order_without_holding_up_the_next_pass() -> None:
    async def go() -> list[str]:
        w = worker(Clock())
        gate = asyncio.Event()
        posted: list[str] = []

        async def emit(_body: Any, event: Any) -> None:
            await gate.wait()
            posted.append(event.reason)

        w.emit = emit
        for reason in ("Applied", "Pruned", "Succeeded"):
            w._post({}, Event("Normal", reason, ""))  # returns at once: the pass goes on
        await asyncio.sleep(0)
        assert posted == []
        gate.set()
        assert w._poster is not None
        await w._poster
        return posted

    assert asyncio.run(go()) == ["Applied", "Pruned", "Succeeded"]
