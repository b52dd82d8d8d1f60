"""Pytest plugin for the local Kubernetes control plane (hack/cluster/localcluster.py, docs/local-cluster.md).

Fixtures:
- ``cluster`` (session): a running cluster. It reuses the cluster $KUBECONFIG points at if that one answers and is
  on loopback (a remote one only with SMO_TEST_ALLOW_REMOTE_CLUSTER=1: tests delete CRDs and namespaces); otherwise
  it starts one in a temporary state dir and stops it (``down``) at the end of the session. It sets
  ``os.environ["KUBECONFIG"]`` and puts the bin dir of hack/cluster/build.sh first on ``os.environ["PATH"]``, so
  ``kubectl`` is the one built with the cluster. If the cluster cannot start, every test that needs it FAILS with
  the reason and the components' log tails; nothing is skipped.
- ``namespace`` (function): a fresh, uniquely named namespace (its ``default`` ServiceAccount exists), deleted after
  the test and waited for until it is gone.
- ``prereqs`` (session): ``prereqs.install("istio", ...)`` / ``prereqs.remove(...)`` the stand-in CRDs of
  hack/prereqs/ (waits until they are served / no longer served); ``prereqs.served(group, version)``.

Tests that use ``cluster`` (directly or through other fixtures) get the ``cluster`` marker automatically.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlparse

import pytest

from seldon_meta_operator.kube import Kube

ROOT = Path(__file__).resolve().parents[1]
LOCALCLUSTER = ROOT / "hack" / "cluster" / "localcluster.py"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def localcluster() -> ModuleType:
    """hack/cluster/localcluster.py as a module (imported lazily: unit tests never pay for it)."""
    if "localcluster" not in sys.modules:
        spec = importlib.util.spec_from_file_location("localcluster", LOCALCLUSTER)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["localcluster"] = module
        spec.loader.exec_module(module)
    return sys.modules["localcluster"]


def run_localcluster(
    *args: str, state_dir: Path, timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``localcluster.py ARGS`` with SMO_CLUSTER_DIR=state_dir, as `make cluster-up` would."""
    env = {**os.environ, "SMO_CLUSTER_DIR": str(state_dir)}
    proc = subprocess.run(
        [sys.executable, str(LOCALCLUSTER), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"localcluster.py {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def kubeconfig_of(up_stdout: str) -> Path:
    """The KUBECONFIG=<path> that `up` prints as its last stdout line."""
    last = up_stdout.strip().splitlines()[-1]
    assert last.startswith("KUBECONFIG="), f"the last line of `up` is not KUBECONFIG=...: {last!r}"
    return Path(last.split("=", 1)[1])


@dataclass
class Cluster:
    kubeconfig: Path
    bin_dir: Path
    #: The local-cluster state dir (pids, logs), or None for a cluster that is not one of ours.
    state_dir: Path | None
    #: True if this session started the cluster (and stops it at the end).
    started: bool

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 180) -> str:
        proc = subprocess.run(
            [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            capture_output=True,
            text=True,
            input=stdin,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def get_json(self, *args: str) -> Any:
        out = self.kubectl("get", *args, "-o", "json", "--ignore-not-found", check=False)
        return json.loads(out) if out.strip() else None

    def log_tails(self, lines: int = 40) -> str:
        if self.state_dir is None:
            return "(not a local cluster: no logs)"
        lc = localcluster()
        return str(lc.log_tails(lc.Paths(self.state_dir), lines=lines))


def with_kube(cluster: Cluster, body: Callable[[Kube], Awaitable[Any]], timeout: float = 120.0) -> Any:
    """Run ``body(kube)`` with a Kube client of the cluster's kubeconfig, closed afterwards; bounded by ``timeout``."""

    async def go() -> Any:
        kube = Kube.from_kubeconfig(str(cluster.kubeconfig))
        try:
            return await body(kube)
        finally:
            await kube.close()

    return asyncio.run(asyncio.wait_for(go(), timeout))


def wait_until(what: str, probe: Any, timeout: float = 60.0, interval: float = 0.5) -> Any:
    """Return ``probe()`` once it is truthy; fail with ``what`` and the last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {str(last)[:2000]}")
        time.sleep(interval)


def _reusable(kubeconfig: str, bin_dir: Path) -> tuple[bool, str]:
    """Whether the cluster $KUBECONFIG points at answers, and may be used by the tests."""
    kubectl = [str(bin_dir / "kubectl"), f"--kubeconfig={kubeconfig}"]
    try:
        ready = subprocess.run(
            [*kubectl, "get", "--raw", "/readyz", "--request-timeout=5s"], capture_output=True, timeout=15, check=False
        )
        server = subprocess.run(
            [*kubectl, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"KUBECONFIG={kubeconfig} is not usable ({exc})"
    if ready.returncode != 0:
        return False, f"KUBECONFIG={kubeconfig} does not answer /readyz"
    if urlparse(server).hostname not in LOOPBACK and os.environ.get("SMO_TEST_ALLOW_REMOTE_CLUSTER") != "1":
        return False, f"KUBECONFIG={kubeconfig} is remote ({server}); set SMO_TEST_ALLOW_REMOTE_CLUSTER=1 to use it"
    return True, f"reusing the cluster of KUBECONFIG={kubeconfig} ({server})"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    lc = localcluster()
    try:
        bins = Path(lc.bin_dir())
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"cannot find the cluster bin dir (bash hack/cluster/build.sh --print): {exc}", pytrace=False)
    os.environ["PATH"] = lc.tool_env(bins)["PATH"]
    missing = lc.missing_binaries(bins)
    if missing:
        pytest.fail(
            f"the local cluster cannot start: {', '.join(missing)} missing in {bins}; "
            "build them with `bash hack/cluster/build.sh` (make cluster-bin)",
            pytrace=False,
        )
    previous = os.environ.get("KUBECONFIG")
    if previous:
        reuse, why = _reusable(previous, bins)
        print(f"\ncluster fixture: {why}", file=sys.stderr)
        if reuse:
            kubeconfig = Path(previous)
            ours = (kubeconfig.parent / lc.MARKER).exists()
            yield Cluster(kubeconfig, bins, kubeconfig.parent if ours else None, started=False)
            return
    state = tmp_path_factory.mktemp("cluster")
    try:
        proc = run_localcluster("up", state_dir=state, check=False)
    except subprocess.TimeoutExpired as exc:
        tails = Cluster(state / "kubeconfig", bins, state, started=True).log_tails()
        run_localcluster("down", state_dir=state, check=False)
        pytest.fail(f"the local cluster did not start within {exc.timeout:.0f}s:\n{tails}", pytrace=False)
    if proc.returncode != 0:  # `up` has stopped what it started; its logs stay in the state dir
        pytest.fail(f"the local cluster did not start (exit {proc.returncode}):\n{proc.stderr[-12000:]}", pytrace=False)
    kubeconfig = kubeconfig_of(proc.stdout)
    os.environ["KUBECONFIG"] = str(kubeconfig)
    try:
        yield Cluster(kubeconfig, bins, state, started=True)
    finally:
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous
        run_localcluster("down", state_dir=state, check=False, timeout=120)


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{base}-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", name)
    wait_until(
        f"ServiceAccount {name}/default",
        lambda: cluster.kubectl("get", "sa", "default", "-n", name, "--ignore-not-found", "-o", "name", check=False),
    )
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")
    wait_until(
        f"namespace {name} to be gone",
        lambda: cluster.get_json("namespace", name) is None,
        timeout=120,
    )


class Prereqs:
    """Installs and removes the stand-in CRDs of hack/prereqs/ (sets: istio knative-eventing knative-serving
    cert-manager argo-workflows argo-cd all)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def install(self, *sets: str) -> None:
        localcluster().install_prereqs(sets or ("all",), self.cluster.kubeconfig)

    def remove(self, *sets: str) -> None:
        localcluster().remove_prereqs(sets or ("all",), self.cluster.kubeconfig)

    def served(self, group: str, version: str) -> set[str]:
        """The resource names the API server serves in group/version (straight from discovery, uncached)."""
        return set(localcluster().served_resources(self.cluster.kubeconfig, group, version))


@pytest.fixture(scope="session")
def prereqs(cluster: Cluster) -> Prereqs:
    return Prereqs(cluster)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)


#: The install manifest's ValidatingAdmissionPolicyBinding: SeldonOperators only in the operator's namespace.
POLICY_BINDING = "seldon-operator-namespace-only"


@contextlib.contextmanager
def admission_policy_lifted(cluster: Cluster) -> Iterator[None]:
    """Integration tests drive ``reconcile_platform`` and the CLI in namespaces of their own, which the install
    manifest's admission policy refuses (by design, tested in tests/e2e/test_security.py): lift its binding for
    the test, and put it back if it was there."""
    kind = "validatingadmissionpolicybinding"
    before = cluster.get_json(kind, POLICY_BINDING)
    cluster.kubectl("delete", kind, POLICY_BINDING, "--ignore-not-found")
    if before is not None and cluster.get_json("crd", "seldonoperators.operator.seldon.io") is not None:
        # The API server drops a deleted binding from its policy cache a moment later: wait until it admits.
        probe = {
            "apiVersion": "operator.seldon.io/v1alpha1",
            "kind": "SeldonOperator",
            "metadata": {"name": "admission-probe", "namespace": "default"},
            "spec": {},
        }

        def admitted() -> bool:
            proc = subprocess.run(
                [
                    str(cluster.bin_dir / "kubectl"),
                    f"--kubeconfig={cluster.kubeconfig}",
                    "create",
                    "--dry-run=server",
                    "-f",
                    "-",
                ],
                input=json.dumps(probe),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            return proc.returncode == 0

        wait_until("the admission policy's binding to be lifted", admitted, timeout=60)
    try:
        yield
    finally:
        after = cluster.get_json(kind, POLICY_BINDING)
        if before is not None and after is None:
            keep = {k: before[k] for k in ("apiVersion", "kind", "spec")}
            keep["metadata"] = {"name": POLICY_BINDING, "labels": before["metadata"].get("labels") or {}}
            cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=json.dumps(keep))
        elif before is None and after is not None:
            cluster.kubectl("delete", kind, POLICY_BINDING, "--ignore-not-found")


@pytest.fixture
def open_admission(cluster: Cluster) -> Iterator[None]:
    """See ``admission_policy_lifted``."""
    with admission_policy_lifted(cluster):
        yield
