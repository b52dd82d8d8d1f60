"""An install through a fault-injecting proxy (tests/faultproxy.py) between the operator and the API server: 10 %
of the operator's requests get a 500, a 429 with Retry-After, a connection reset or a 2 s delay. The install still
converges to Ready with exactly the objects of a clean install, with a bounded number of writes.

The figures (writes of the clean and of the faulty install, faults injected) are printed; the write count is
asserted only loosely (less than three times the clean install's), and nothing is timed. No ERROR is expected in
the operator's log: a failed request is retried (by kopf, or by our worker with backoff) and logged as a warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.conftest import OperatorProcess, start_operator, stop_operator
from tests.e2e.logcheck import LogWatch
from tests.e2e.platform import Platform, kubectl, poll
from tests.e2e.test_lifecycle import delta, write_requests
from tests.faultproxy import FaultProxy, FaultProxyThread, proxy_kubeconfig, upstream_of

pytestmark = pytest.mark.cluster

#: Kinds the builtin-trial platform creates (namespaced and cluster-scoped), listed by our managed-by label.
KINDS = (
    "deployments,statefulsets,daemonsets,services,configmaps,secrets,serviceaccounts,roles,rolebindings,"
    "clusterroles,clusterrolebindings,validatingwebhookconfigurations,poddisruptionbudgets,networkpolicies"
)


#: The faulty operator's resync interval (SELDON_OPERATOR_TIMER_INTERVAL), longer than WAIT_READY.
RESYNC = "900"
WAIT_READY = 420


def managed_objects() -> set[str]:
    found = json.loads(
        kubectl("get", KINDS, "-A", "-l", "app.kubernetes.io/managed-by=seldon-meta-operator", "-o", "json")
    )
    return {f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in found.get("items", [])}


@pytest.fixture
def faulty_operator(
    operator: OperatorProcess, operator_kubeconfig: Path, operator_logs: LogWatch, tmp_path: Path
) -> Iterator[tuple[OperatorProcess, FaultProxy]]:
    """The session operator is replaced, for the test, by one that reaches the API server through the proxy."""
    upstream = upstream_of(operator_kubeconfig)
    runner = FaultProxyThread(upstream.server, upstream.ssl_context, rate=0.1, seed=9)
    proxy = runner.start()
    log = tmp_path / "faulty-operator.log"
    operator_logs.watch(log)
    stop_operator(operator)
    try:
        proxy.enabled = False  # start-up is not what this test is about: kopf's health endpoint must come up
        # A resync interval longer than the wait for Ready: recovering from a fault must come from the operator's
        # retries with backoff, not from the next periodic pass (the session operator's is 3 s).
        faulty = start_operator(
            proxy_kubeconfig(operator_kubeconfig, proxy.url, tmp_path / "kubeconfig"), log, timer_interval=RESYNC
        )
        proxy.enabled = True
        try:
            yield faulty, proxy
        finally:
            stop_operator(faulty)
    finally:
        runner.stop()
        fresh = start_operator(operator_kubeconfig, operator.log)
        operator.proc, operator.metrics_port, operator.health_port = fresh.proc, fresh.metrics_port, fresh.health_port


def test_an_install_through_injected_faults_converges_to_the_clean_object_set(
    platform: Platform, request: pytest.FixtureRequest
) -> None:
    # The clean install, by the session operator, gives the reference object set and write count.
    before = write_requests()
    platform.apply("builtin-trial.yaml")
    platform.wait_ready(timeout=240)
    clean_writes = sum(delta(before, write_requests()).values())
    clean = managed_objects()
    platform.delete()
    poll("the clean install's workloads removed", lambda: not (managed_objects() - clean_retained(clean)), 120)

    _faulty, proxy = request.getfixturevalue("faulty_operator")
    before = write_requests()
    platform.apply("builtin-trial.yaml")
    platform.wait_ready(timeout=WAIT_READY)
    poll("exactly the clean object set", lambda: managed_objects() == clean, 120)
    writes = delta(before, write_requests())
    total = sum(writes.values())
    print(f"\nclean install: {clean_writes:.0f} write requests, {len(clean)} objects")
    print(f"install through the fault proxy: {total:.0f} write requests {writes}")
    print(f"fault proxy: {proxy.summary()}")
    assert proxy.faults() > 0
    assert total < 3 * clean_writes, f"{total:.0f} writes under faults vs {clean_writes:.0f} clean"


def clean_retained(clean: set[str]) -> set[str]:
    """What survives deleting the SeldonOperator on purpose: the generated credentials Secrets (no owner)."""
    return {k for k in clean if k.startswith("Secret/")}
