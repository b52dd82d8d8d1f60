"""Issue 9 (5): two replicas with leader election, as the install manifest runs them.

Exactly one leads (its /readyz answers 200, the other's 503); idle, the pair makes no write to the platform's
objects (the Lease renewals are not counted); after kill -9 of the leader the standby takes over and repairs drift.
The failover time is printed, not asserted (make bench measures it too).
"""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tests.e2e.conftest import OperatorProcess, start_operator, stop_operator
from tests.e2e.platform import NS, Platform, get_json, kubectl, poll
from tests.e2e.test_lifecycle import delta, write_requests

pytestmark = pytest.mark.cluster


def ready(op: OperatorProcess) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{op.health_port}/readyz", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def errors_in(op: OperatorProcess) -> list[str]:
    return [line for line in op.log_text().splitlines() if '"severity": "error"' in line or "Traceback" in line]


def test_two_replicas_one_leads_idle_writes_nothing_and_the_standby_takes_over(
    platform: Platform, operator: OperatorProcess, operator_kubeconfig: Path, tmp_path: Path
) -> None:
    stop_operator(operator)
    replicas = [
        start_operator(operator_kubeconfig, tmp_path / f"{name}.log", extra_args=("--leader-elect",), identity=name)
        for name in ("replica-a", "replica-b")
    ]
    try:
        leaders = poll("exactly one replica leads", lambda: [r for r in replicas if ready(r)] or None, 60)
        assert len(leaders) == 1
        leader = leaders[0]
        standby = next(r for r in replicas if r is not leader)
        assert standby.healthy() and not ready(standby)

        platform.apply("minimal.yaml")
        platform.wait_ready()
        before = write_requests()
        time.sleep(30)
        assert delta(before, write_requests()) == {}, "writes while idle with two replicas"

        os.killpg(leader.proc.pid, signal.SIGKILL)
        leader.proc.wait(10)
        killed = time.monotonic()
        kubectl("delete", "deployment", "seldon-deploy", "-n", NS)
        poll("the standby leads", lambda: ready(standby), 60, 0.2)
        took_over = time.monotonic() - killed
        poll("seldon-deploy restored by the new leader", lambda: get_json("deployment", "seldon-deploy", "-n", NS), 60)
        print(f"failover after kill -9: {took_over:.1f} s; drift repaired {time.monotonic() - killed:.1f} s after")
        platform.wait_ready()
        for replica in replicas:
            assert errors_in(replica) == [], replica.log
    finally:
        for replica in replicas:
            stop_operator(replica)
        fresh = start_operator(operator_kubeconfig, operator.log)
        operator.proc, operator.metrics_port, operator.health_port = fresh.proc, fresh.metrics_port, fresh.health_port
