"""Issue 12: once the watch cache is warm, a pass reads what we own from it, not from lists: a repair triggered by
a watch event lists nothing we own, and Ready follows the last workload's own event."""

from __future__ import annotations

import re
import time

import pytest
from tests.e2e.conftest import OperatorProcess
from tests.e2e.platform import NS, Platform, get_json, kubectl, poll

pytestmark = pytest.mark.cluster


def owned_reads(operator: OperatorProcess) -> dict[str, float]:
    """The operator's ``seldon_operator_owned_reads_total`` by source."""
    found = re.findall(r'^seldon_operator_owned_reads_total\{source="(\w+)"\} ([0-9.e+]+)$', operator.metrics(), re.M)
    return {source: float(value) for source, value in found}


def test_a_repair_after_an_event_lists_nothing_we_own(platform: Platform, operator: OperatorProcess) -> None:
    platform.apply("minimal.yaml")
    platform.wait_ready()
    # Passes that follow events during the rollout have read the cache by now; let the last ones end.
    time.sleep(1)
    before = owned_reads(operator)
    started = time.monotonic()
    kubectl("delete", "configmap", "seldon-deploy-config", "-n", NS)
    kubectl("delete", "deployment", "seldon-deploy", "-n", NS)
    poll("Deployment seldon-deploy restored", lambda: get_json("deployment", "seldon-deploy", "-n", NS), 60, 0.1)
    poll("ConfigMap seldon-deploy-config restored", lambda: get_json("configmap", "seldon-deploy-config", "-n", NS))
    print(f"drift repaired (deleted Deployment re-created) in {time.monotonic() - started:.2f} s")
    platform.wait_ready()
    after = owned_reads(operator)
    assert after.get("cache", 0) > before.get("cache", 0), f"no pass read the cache: {before} -> {after}"
    assert after.get("list", 0) == before.get("list", 0), f"a pass listed what the watch covers: {before} -> {after}"
