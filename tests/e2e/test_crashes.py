"""Issue 9 (c): kill -9 of the operator at several points of an install and of a prune.

The sequence that leaked before the write-ahead inventory: turn analytics on, kill the operator while it applies
the analytics objects, turn analytics off before the restart. The restarted operator must remove every object it
created, whatever the moment of the crash; the same for a crash in the middle of a prune.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.e2e.conftest import OperatorProcess, start_operator
from tests.e2e.platform import NS, Platform, example, kubectl, poll

pytestmark = pytest.mark.cluster

ANALYTICS = "operator.seldon.io/component=analytics"
KINDS = "deployments,daemonsets,services,configmaps,serviceaccounts,clusterroles,clusterrolebindings,roles,rolebindings"


def analytics_objects() -> list[str]:
    return kubectl("get", KINDS, "-A", "-l", ANALYTICS, "-o", "name").split()


def kill9(op: OperatorProcess) -> None:
    os.killpg(op.proc.pid, signal.SIGKILL)
    op.proc.wait(10)


def restart(op: OperatorProcess, kubeconfig: Path) -> None:
    """A new operator process in place of the killed one (the session fixture keeps using ``op``)."""
    fresh = start_operator(kubeconfig, op.log)
    op.proc, op.metrics_port, op.health_port = fresh.proc, fresh.metrics_port, fresh.health_port


def with_analytics() -> dict[str, object]:
    doc = example("minimal.yaml")
    doc["spec"] = {"enable": {"analytics": True}}
    return doc


KILL_POINTS: dict[str, Callable[[], bool]] = {
    "before any analytics object exists": lambda: True,
    "after the first analytics object": lambda: len(analytics_objects()) >= 1,
    "after half of them": lambda: len(analytics_objects()) >= 8,
}


@pytest.mark.parametrize("when", list(KILL_POINTS), ids=[f"killed {w}" for w in KILL_POINTS])
def test_a_crash_while_turning_a_feature_on_then_turning_it_off_leaves_nothing_behind(
    platform: Platform, operator: OperatorProcess, operator_kubeconfig: Path, when: str
) -> None:
    platform.apply("minimal.yaml")
    platform.wait_ready()
    assert analytics_objects() == []
    platform.apply(with_analytics())
    poll(f"the kill point: {when}", KILL_POINTS[when], 60, 0.05)
    kill9(operator)
    created = len(analytics_objects())
    platform.apply("minimal.yaml")  # turned off while no operator runs
    restart(operator, operator_kubeconfig)
    platform.wait_ready()
    poll("every analytics object removed", lambda: analytics_objects() == [], 60)
    print(f"killed {when}: {created} analytics objects existed at the crash; 0 left after the restart")


def test_a_crash_in_the_middle_of_a_prune_finishes_it_after_the_restart(
    platform: Platform, operator: OperatorProcess, operator_kubeconfig: Path
) -> None:
    platform.apply(with_analytics())
    platform.wait_ready(timeout=180)
    total = len(analytics_objects())
    platform.apply("minimal.yaml")
    poll("the prune has begun", lambda: len(analytics_objects()) < total, 60, 0.02)
    kill9(operator)
    left_at_crash = len(analytics_objects())
    time.sleep(1)
    restart(operator, operator_kubeconfig)
    platform.wait_ready()
    poll("every analytics object removed", lambda: analytics_objects() == [], 60)
    print(f"prune killed with {left_at_crash} of {total} analytics objects left; 0 after the restart")
    assert kubectl("get", "statefulsets", "-n", NS, "-o", "name").strip() == ""
