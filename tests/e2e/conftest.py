"""End-to-end fixtures: the operator installed from deploy/seldonoperator_install.yaml and run as a real process
under its own ServiceAccount's token (so its RBAC is proven sufficient), against the local control plane.

The operator runs outside the cluster because pods are simulated (KWOK runs no container); the simulated
Deployment `seldon-operator-controller-manager` shows what the install manifest creates.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.e2e.logcheck import LogWatch
from tests.e2e.platform import Platform, kubectl

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "deploy" / "seldonoperator_install.yaml"
OPERATOR_NS = "seldon-system"
OPERATOR_SA = "seldon-operator-controller-manager"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token_kubeconfig(admin_kubeconfig: str, token: str, path: Path) -> Path:
    admin = yaml.safe_load(Path(admin_kubeconfig).read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c for c in admin["clusters"] if c["name"] == context["context"]["cluster"])
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "operator",
                "clusters": [{"name": "local", "cluster": cluster["cluster"]}],
                "users": [{"name": OPERATOR_SA, "user": {"token": token}}],
                "contexts": [{"name": "operator", "context": {"cluster": "local", "user": OPERATOR_SA}}],
            }
        )
    )
    return path


class OperatorProcess:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path, metrics_port: int, health_port: int) -> None:
        self.proc = proc
        self.log = log
        self.metrics_port = metrics_port
        self.health_port = health_port

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as resp:
            return str(resp.read().decode())

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_operator(
    kubeconfig: Path,
    log: Path,
    timer_interval: str = "30",
    extra_args: tuple[str, ...] = (),
    identity: str | None = None,
) -> OperatorProcess:
    """``seldon-meta-operator`` (what the Deployment runs) under ``kubeconfig``; ``identity`` names the replica in a
    leader Lease."""
    metrics_port, health_port = _free_port(), _free_port()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "SELDON_OPERATOR_TIMER_INTERVAL": timer_interval}
    if identity:
        env["POD_NAME"] = identity
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "seldon-meta-operator"),
                "--json-logs",
                "--health-port",
                str(health_port),
                "--metrics-port",
                str(metrics_port),
                *extra_args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    op = OperatorProcess(proc, log, metrics_port, health_port)
    deadline = time.monotonic() + 60
    while not op.healthy():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the operator did not become healthy:\n{op.log_text()[-4000:]}")
        time.sleep(0.5)
    return op


def stop_operator(op: OperatorProcess) -> None:
    if op.proc.poll() is None:
        op.proc.terminate()
        try:
            op.proc.wait(20)
        except subprocess.TimeoutExpired:
            op.proc.kill()
            op.proc.wait(10)


@pytest.fixture(scope="session")
def installed(cluster: Any) -> str:
    """The install manifest applied as the product documentation says; the operator Deployment's pod runs."""
    kubectl("create", "namespace", OPERATOR_NS, check=False)
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(INSTALL))
    kubectl("wait", "--for=condition=Established", "crd/seldonoperators.operator.seldon.io", "--timeout=60s")
    kubectl("-n", OPERATOR_NS, "rollout", "status", f"deployment/{OPERATOR_SA}", "--timeout=120s")
    return os.environ["KUBECONFIG"]


@pytest.fixture(scope="session")
def operator_kubeconfig(installed: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    token = kubectl("-n", OPERATOR_NS, "create", "token", OPERATOR_SA, "--duration=6h").strip()
    return _token_kubeconfig(installed, token, tmp_path_factory.mktemp("operator") / "kubeconfig")


@pytest.fixture(scope="session")
def fake_knative(cluster: Any) -> Iterator[None]:
    """Plays Knative Eventing's controller for Brokers and Triggers (hack/cluster/fake_knative.py)."""
    sys.path.insert(0, str(ROOT / "hack" / "cluster"))
    import fake_knative as fk

    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # CRDs come and go between tests
                fk.run(interval=1.0, stop=stop)
            stop.wait(1.0)

    thread = threading.Thread(target=loop, name="fake-knative", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


@pytest.fixture(scope="session")
def operator(
    operator_kubeconfig: Path, fake_knative: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log = tmp_path_factory.mktemp("operator-log") / "operator.log"
    op = start_operator(operator_kubeconfig, log)
    yield op
    stop_operator(op)
    errors = [line for line in op.log_text().splitlines() if '"levelname": "ERROR"' in line or "Traceback" in line]
    print(f"operator log: {op.log} ({len(errors)} error lines)")


_LOGS_SEEN: set[Path] = set()


@pytest.fixture(autouse=True)
def operator_logs(request: pytest.FixtureRequest) -> Iterator[LogWatch]:
    """Strimzi's rule: the test fails if an operator log gained a Traceback, ERROR or CRITICAL entry during it that
    it did not declare with ``@pytest.mark.expected_log_errors(r"regex", ...)``; the entries are printed.

    Watches the session operator's log when the test uses the operator (the first such test from the log's start,
    so errors at the operator's start-up count too); a test that starts an operator of its own calls
    ``operator_logs.watch(log_path)``.
    """
    watch = LogWatch()
    if "operator" in request.fixturenames:
        log = request.getfixturevalue("operator").log
        if log not in _LOGS_SEEN:
            _LOGS_SEEN.add(log)
            watch.offsets[log] = 0
        watch.watch(log)
    yield watch
    expected = [p for m in request.node.iter_markers("expected_log_errors") for p in m.args]
    report = watch.report(expected)
    if report:
        print(report)
        pytest.fail(report, pytrace=False)


@pytest.fixture
def platform(operator: OperatorProcess) -> Iterator[Platform]:
    """A helper to apply SeldonOperators; every SeldonOperator left at the end is deleted and waited for."""
    p = Platform(operator)
    yield p
    p.delete_all()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
