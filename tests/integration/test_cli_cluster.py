"""seldonctl's day-2 commands against the real local control plane: install, apply --wait, status exit codes, doctor
with and without the Istio prerequisite, diff of a changed spec, and uninstall keeping the data.

No operator process runs here: where a command needs a reconciled SeldonOperator, the test runs the operator's own
``reconcile_platform`` in-process with a Kube client, so statuses and objects are real. States are chosen so that a
concurrently running operator (the e2e suite's, in the same session) would produce the same ones.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from seldon_meta_operator.api.v1alpha1 import API_VERSION, KIND
from seldon_meta_operator.cli.install import install_manifests
from seldon_meta_operator.cli.main import app
from seldon_meta_operator.components.names import CORE_WEBHOOK_SECRET
from seldon_meta_operator.kube import Kube, ObjectReplacedError
from seldon_meta_operator.kube.cache import ObjectCache
from seldon_meta_operator.reconcile import reconciler
from seldon_meta_operator.reconcile.reconciler import Outcome, cleanup_platform, reconcile_platform
from seldon_meta_operator.reconcile.secrets import ca_bundle_of
from tests.builders import EXAMPLES, enable, enterprise_values, example, platform, watched_cache
from tests.conftest import Cluster, Prereqs, admission_policy_lifted, wait_until

pytestmark = pytest.mark.cluster

CRD = "seldonoperators.operator.seldon.io"
SDEP_CRD = "seldondeployments.machinelearning.seldon.io"
OPERATOR = "seldon-operator-controller-manager"
SYSTEM = "seldon-system"
SAMPLE = "seldonoperator-sample"
POSTGRES_PVC = "data-seldon-internal-postgres-postgresql-0"


def seldonctl(cluster: Cluster, *args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(
        app, [*args, "--kubeconfig", str(cluster.kubeconfig)], input=stdin, env={"COLUMNS": "250"}
    )
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def write(tmp_path: Path, doc: dict[str, Any], name: str = "platform.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def reconcile(
    cluster: Cluster,
    namespace: str,
    name: str,
    until: Callable[[Outcome], bool] = lambda _: True,
    timeout: float = 180,
) -> Outcome:
    """Run the operator's reconcile pass in-process until ``until(outcome)`` holds."""

    async def go() -> Outcome:
        kube = Kube.from_kubeconfig(str(cluster.kubeconfig))
        try:
            deadline = time.monotonic() + timeout
            while True:
                body = await kube.get(API_VERSION, KIND, name, namespace)
                assert body is not None, f"{KIND} {namespace}/{name} is gone"
                outcome = await reconcile_platform(body, kube)
                if until(outcome):
                    return outcome
                if time.monotonic() > deadline:
                    raise AssertionError(f"reconcile of {namespace}/{name} did not settle: {outcome.status}")
                await asyncio.sleep(1)
        finally:
            await kube.close()

    return asyncio.run(go())


def ready_reason(outcome: Outcome) -> str:
    return next(str(x["reason"]) for x in outcome.status["conditions"] if x["type"] == "Ready")


def remove_platform(cluster: Cluster, namespace: str, name: str) -> None:
    """Delete a SeldonOperator and what it left outside its namespace, as the operator does on deletion."""
    found = cluster.get_json("seldonoperator", name, "-n", namespace) if cluster.get_json("crd", CRD) else None
    cluster.kubectl("delete", "seldonoperator", name, "-n", namespace, "--ignore-not-found", "--wait=true", check=False)

    async def go(uid: str) -> None:
        kube = Kube.from_kubeconfig(str(cluster.kubeconfig))
        try:
            await cleanup_platform(kube, uid, namespaces=None)
        finally:
            await kube.close()

    if found is not None:
        asyncio.run(go(found["metadata"]["uid"]))


@pytest.fixture
def installed(cluster: Cluster) -> Iterator[None]:
    """The operator's install manifest applied by `seldonctl install --wait` (idempotent), with its admission policy
    lifted: these tests reconcile in namespaces of their own (tests/conftest.py ``admission_policy_lifted``)."""
    result = seldonctl(cluster, "install", "--wait", "--timeout", "120")
    assert result.exit_code == 0, result.stderr
    with admission_policy_lifted(cluster):
        yield


@pytest.fixture
def platforms(cluster: Cluster) -> Iterator[list[tuple[str, str]]]:
    """(namespace, name) of the SeldonOperators a test creates; removed afterwards (one platform per cluster)."""
    if cluster.get_json("crd", CRD) is not None:
        others = cluster.get_json("seldonoperators", "-A") or {"items": []}
        left = [f"{x['metadata']['namespace']}/{x['metadata']['name']}" for x in others["items"]]
        assert not left, f"another SeldonOperator would own the platform (one per cluster): {left}"
    created: list[tuple[str, str]] = []
    yield created
    for namespace, name in created:
        remove_platform(cluster, namespace, name)


@pytest.fixture(scope="module", autouse=True)
def restore_install(cluster: Cluster) -> Iterator[None]:
    """uninstall removes the operator: put it back afterwards if it was there before this module."""
    before = cluster.get_json("crd", CRD) is not None
    yield
    if before and cluster.get_json("crd", CRD) is None:
        result = seldonctl(cluster, "install", "--wait", "--timeout", "120")
        assert result.exit_code == 0, result.stderr


# --- install and apply ---------------------------------------------------------------------------------


def test_install_applies_the_manifest_and_the_crd_becomes_established(cluster: Cluster) -> None:
    result = seldonctl(cluster, "install", "--wait", "--timeout", "120")
    assert result.exit_code == 0, result.stderr
    assert f"CustomResourceDefinition {CRD} established" in result.stderr
    assert f"Deployment {SYSTEM}/{OPERATOR} available" in result.stderr
    crd = cluster.get_json("crd", CRD)
    assert any(c["type"] == "Established" and c["status"] == "True" for c in crd["status"]["conditions"])
    for manifest in install_manifests():
        meta = manifest["metadata"]
        ns = ["-n", meta["namespace"]] if meta.get("namespace") else []
        assert cluster.get_json(manifest["kind"].lower(), meta["name"], *ns) is not None, manifest["kind"]
    # Server-side apply again: nothing changes.
    again = seldonctl(cluster, "install")
    assert again.exit_code == 0, again.stderr
    assert " created" not in again.stderr and " configured" not in again.stderr
    assert f"CustomResourceDefinition {CRD} unchanged" in again.stderr


def test_apply_validates_like_render_and_creates_nothing_on_error(
    cluster: Cluster, installed: None, namespace: str, tmp_path: Path
) -> None:
    bad = platform(enterprise_values({"service": {"type": "Balanced"}}), name="bad", namespace=namespace)
    result = seldonctl(cluster, "apply", "-f", write(tmp_path, bad))
    assert result.exit_code == 1
    assert "spec.enterprise.values.service.type" in result.stderr
    assert cluster.get_json("seldonoperator", "bad", "-n", namespace) is None


def test_apply_waits_for_ready_showing_each_component(
    cluster: Cluster, installed: None, namespace: str, platforms: list[tuple[str, str]], tmp_path: Path
) -> None:
    platforms.append((namespace, "sample"))
    stop = threading.Event()

    def operator() -> None:  # plays the operator: reconciles whenever the SeldonOperator exists
        async def loop() -> None:
            kube = Kube.from_kubeconfig(str(cluster.kubeconfig))
            try:
                while not stop.is_set():
                    body = await kube.get(API_VERSION, KIND, "sample", namespace)
                    if body is not None:
                        await reconcile_platform(body, kube)
                    await asyncio.sleep(1)
            finally:
                await kube.close()

        asyncio.run(loop())

    errors: list[BaseException] = []

    def run_operator() -> None:
        try:
            operator()
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    thread = threading.Thread(target=run_operator, daemon=True)
    thread.start()
    try:
        result = seldonctl(
            cluster,
            "apply",
            "-f",
            write(tmp_path, platform(name="sample", namespace=namespace)),
            "--wait",
            "--timeout",
            "120",
        )
    finally:
        stop.set()
        thread.join(30)
    assert errors == []
    assert result.exit_code == 0, result.stderr
    assert f"SeldonOperator {namespace}/sample created" in result.stderr
    assert "seldon_core" in result.stderr and "seldon_deploy" in result.stderr
    assert result.stderr.rstrip().endswith("Ready")


# --- status ------------------------------------------------------------------------------------------------


def test_status_exits_0_when_ready(
    cluster: Cluster, installed: None, namespace: str, platforms: list[tuple[str, str]], tmp_path: Path
) -> None:
    platforms.append((namespace, "sample"))
    applied = seldonctl(cluster, "apply", "-f", write(tmp_path, platform(name="sample", namespace=namespace)))
    assert applied.exit_code == 0, applied.stderr
    reconcile(cluster, namespace, "sample", lambda o: o.ready)
    result = seldonctl(cluster, "status", "-n", namespace)
    assert result.exit_code == 0, result.output
    assert f"SeldonOperator {namespace}/sample: Ready" in result.stdout
    for column in ("COMPONENT", "ENABLED", "READY", "REASON", "AGE", "MESSAGE", "CONDITION"):
        assert column in result.stdout
    assert "seldon_core" in result.stdout and "Disabled" in result.stdout
    as_json = seldonctl(cluster, "status", "sample", "-n", namespace, "-o", "json")
    assert as_json.exit_code == 0
    summary = json.loads(as_json.stdout)
    assert summary["state"] == "Ready" and summary["components"]["seldon_deploy"]["ready"] is True


def test_status_exits_1_while_progressing(
    cluster: Cluster, installed: None, namespace: str, platforms: list[tuple[str, str]]
) -> None:
    # Seldon Deploy's pod cannot be scheduled: applied, not failed, still rolling out.
    doc = platform(enterprise_values({"nodeSelector": {"no-such-node": "x"}}), name="sample", namespace=namespace)
    platforms.append((namespace, "sample"))
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))
    reconcile(cluster, namespace, "sample", lambda o: ready_reason(o) == "Progressing" and o.writes == 0)
    result = seldonctl(cluster, "status", "sample", "-n", namespace)
    assert result.exit_code == 1, result.output
    assert "Progressing" in result.stdout and "seldon-deploy" in result.stdout
    as_yaml = yaml.safe_load(seldonctl(cluster, "status", "sample", "-n", namespace, "-o", "yaml").stdout)
    assert as_yaml["exitCode"] == 1 and as_yaml["components"]["seldon_deploy"]["ready"] is False


def test_status_exits_2_when_stalled(
    cluster: Cluster, installed: None, namespace: str, platforms: list[tuple[str, str]]
) -> None:
    # The API server accepts it (values are free-form), the operator refuses it: app auth without an OIDC provider.
    doc = platform(enterprise_values({"enableAppAuth": True}), name="sample", namespace=namespace)
    platforms.append((namespace, "sample"))
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))
    reconcile(cluster, namespace, "sample", lambda o: ready_reason(o) == "InvalidSpec")
    result = seldonctl(cluster, "status", "-A")
    assert result.exit_code == 2, result.output
    assert "Failed (InvalidSpec)" in result.stdout and "Stalled" in result.stdout
    assert "env.OIDC_PROVIDER" in result.stdout


def test_a_pass_that_outlives_its_seldon_operator_writes_nothing_on_its_successor(
    cluster: Cluster, installed: None, namespace: str, platforms: list[tuple[str, str]]
) -> None:
    # A pass began for a SeldonOperator that was deleted and created again under the same name before the pass wrote
    # its status (CI saw it between two e2e tests: the stale pass called the successor a duplicate and replaced its
    # status). Its status write is refused by uid, and the successor's own pass writes a status of its own.
    doc = platform(enterprise_values({"enableAppAuth": True}), name="sample", namespace=namespace)
    platforms.append((namespace, "sample"))
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))
    first = cluster.get_json("seldonoperator", "sample", "-n", namespace)
    cluster.kubectl("delete", "seldonoperator", "sample", "-n", namespace, "--wait=true")
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))
    second = cluster.get_json("seldonoperator", "sample", "-n", namespace)
    assert first["metadata"]["uid"] != second["metadata"]["uid"]

    async def stale_pass() -> None:
        kube = Kube.from_kubeconfig(str(cluster.kubeconfig))
        try:
            with pytest.raises(ObjectReplacedError, match=first["metadata"]["uid"]):
                await reconcile_platform(first, kube)
        finally:
            await kube.close()

    asyncio.run(stale_pass())
    assert "status" not in cluster.get_json("seldonoperator", "sample", "-n", namespace)
    outcome = reconcile(cluster, namespace, "sample", lambda o: o.written)
    assert ready_reason(outcome) == "InvalidSpec"
    now = cluster.get_json("seldonoperator", "sample", "-n", namespace)
    assert [x["reason"] for x in now["status"]["conditions"] if x["type"] == "Stalled"] == ["InvalidSpec"]


def test_secrets_an_earlier_version_wrote_get_the_labels_the_watch_selects_on(
    cluster: Cluster, installed: None, namespace: str, platforms: list[tuple[str, str]]
) -> None:
    # Generated Secrets lacked the platform-namespace label, so the operator's watch never saw them deleted. An
    # upgraded operator adds what is missing, once, and then writes nothing.
    platforms.append((namespace, "sample"))
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(platform(name="sample", namespace=namespace)))
    reconcile(cluster, namespace, "sample", lambda o: o.ready)
    label = "operator.seldon.io/platform-namespace"

    def secrets() -> dict[str, dict[str, str]]:
        found = cluster.get_json("secrets", "-n", namespace, "-l", "app.kubernetes.io/managed-by") or {"items": []}
        return {x["metadata"]["name"]: x["metadata"]["labels"] for x in found["items"]}

    ours = secrets()
    assert ours and all(labels.get(label) == namespace for labels in ours.values()), ours
    cluster.kubectl("label", "secret", "-n", namespace, *ours, f"{label}-")
    assert not any(label in labels for labels in secrets().values())
    assert reconcile(cluster, namespace, "sample").writes == len(ours)
    assert secrets() == ours
    assert reconcile(cluster, namespace, "sample").writes == 0


def test_a_pass_renders_once_with_the_webhook_ca_the_watch_cache_holds(
    cluster: Cluster, installed: None, namespace: str, platforms: list[tuple[str, str]], monkeypatch: Any
) -> None:
    # The render needs the webhook certificate's CA, which the pass ensures beside the Secrets. It renders with the CA
    # of the certificate Secret the watch cache holds, and again only when the certificate is another or was not
    # held: a restarted operator, whose watch holds the Secret, renders once (issue 12).
    platforms.append((namespace, "sample"))
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(platform(name="sample", namespace=namespace)))
    reconcile(cluster, namespace, "sample", lambda o: o.written)  # the certificate exists from here on
    cert = cluster.get_json("secret", CORE_WEBHOOK_SECRET, "-n", namespace)
    ca = ca_bundle_of(cert)
    assert ca
    renders: list[str | None] = []
    real = reconciler.render_platform

    def counted(*args: Any, **kwargs: Any) -> Any:
        renders.append(kwargs.get("webhook_ca_bundle"))
        return real(*args, **kwargs)

    monkeypatch.setattr(reconciler, "render_platform", counted)

    async def restarted_pass(cache: ObjectCache | None) -> None:
        reconciler._RENDERS.forget()  # a new process remembers no render
        kube = Kube.from_kubeconfig(str(cluster.kubeconfig))
        try:
            body = await kube.get(API_VERSION, KIND, "sample", namespace)
            assert body is not None
            await reconcile_platform(body, kube, cache=cache)
        finally:
            await kube.close()

    asyncio.run(restarted_pass(watched_cache(namespace, ("v1", "Secret", namespace), cert)))
    assert renders == [ca]
    renders.clear()
    asyncio.run(restarted_pass(None))  # nothing held: rendered without the CA, then with the one ensured
    assert renders == [None, ca]


def test_status_of_a_missing_seldon_operator_is_one_line(cluster: Cluster, installed: None, namespace: str) -> None:
    result = seldonctl(cluster, "status", "nothing-here", "-n", namespace)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: SeldonOperator {namespace}/nothing-here not found")


# --- doctor ------------------------------------------------------------------------------------------------


def findings(result: Result) -> dict[str, dict[str, str]]:
    return {f["check"]: f for f in json.loads(result.stdout)["findings"]}


def test_doctor_with_and_without_the_istio_prerequisite(
    cluster: Cluster,
    installed: None,
    namespace: str,
    platforms: list[tuple[str, str]],
    prereqs: Prereqs,
    tmp_path: Path,
) -> None:
    had_istio = cluster.get_json("crd", "gateways.networking.istio.io") is not None
    prereqs.remove("istio")
    # doctor checks SeldonOperators in the operator's namespace only (others are reported as ignored).
    platforms.append((SYSTEM, "sample"))
    try:
        doc = platform(enable("routing"), name="sample", namespace=SYSTEM)
        assert seldonctl(cluster, "apply", "-f", write(tmp_path, doc)).exit_code == 0
        check = f"Routing (Istio) for {SYSTEM}/sample"

        without = seldonctl(cluster, "doctor", "-o", "json")
        assert without.exit_code == 1, without.stdout
        found = findings(without)
        assert found[check]["result"] == "fail"
        assert "networking.istio.io/Gateway" in found[check]["message"] and "istioctl" in found[check]["fix"]
        for healthy in ("Kubernetes version", "Permissions to install", f"CRD {CRD}", f"Operator {SYSTEM}/{OPERATOR}"):
            assert found[healthy]["result"] == "ok", found[healthy]
        table = seldonctl(cluster, "doctor")
        assert table.exit_code == 1 and check in table.stdout and "FAIL" in table.stdout

        prereqs.install("istio")
        with_istio = seldonctl(cluster, "doctor", "-o", "yaml")
        found = {f["check"]: f for f in yaml.safe_load(with_istio.stdout)["findings"]}
        assert found[check]["result"] == "ok", found[check]
        assert with_istio.exit_code == (1 if any(f["result"] == "fail" for f in found.values()) else 0)
    finally:
        if not had_istio:
            prereqs.remove("istio")
        else:
            prereqs.install("istio")


# --- diff --------------------------------------------------------------------------------------------------


def diff_items(result: Result) -> dict[str, dict[str, Any]]:
    (item,) = json.loads(result.stdout)["items"]
    return {c["object"]: c for c in item["changes"]}


@pytest.fixture
def sample_platform(cluster: Cluster, installed: None) -> Iterator[None]:
    """The examples' seldonoperator-sample in seldon-system, removed with its retained data afterwards."""
    yield
    remove_platform(cluster, SYSTEM, SAMPLE)
    wait_until(
        "the sample platform's objects to be gone",
        lambda: (
            not cluster.kubectl(
                "get", "deploy,sts,svc", "-n", SYSTEM, "-l", f"operator.seldon.io/platform={SAMPLE}", "-o", "name"
            ).strip()
        ),
        timeout=120,
    )
    cluster.kubectl("delete", "pvc", POSTGRES_PVC, "-n", SYSTEM, "--ignore-not-found", "--wait=false")
    cluster.kubectl("delete", "secret", "metadata-postgres", "-n", SYSTEM, "--ignore-not-found")


def test_diff_of_a_changed_spec(cluster: Cluster, sample_platform: None, tmp_path: Path) -> None:
    catalogue = example("minimal")
    catalogue["spec"] = {"enable": {"catalogue": True}}
    assert seldonctl(cluster, "apply", "-f", write(tmp_path, catalogue)).exit_code == 0
    reconcile(cluster, SYSTEM, SAMPLE)

    # Turning the catalogue off prunes the trial PostgreSQL.
    off = seldonctl(cluster, "diff", "-f", str(EXAMPLES / "minimal.yaml"), "-o", "json")
    assert off.exit_code == 1, off.output
    changes = diff_items(off)
    assert changes[f"StatefulSet {SYSTEM}/seldon-internal-postgres-postgresql"]["action"] == "pruned"
    assert changes[f"SeldonOperator {SYSTEM}/{SAMPLE}"]["action"] == "changed"

    # The applied spec has nothing left to change.
    assert seldonctl(cluster, "apply", "-f", str(EXAMPLES / "minimal.yaml")).exit_code == 0
    reconcile(cluster, SYSTEM, SAMPLE)
    same = seldonctl(cluster, "diff", "-f", str(EXAMPLES / "minimal.yaml"))
    assert same.exit_code == 0, same.stdout
    assert same.stdout.splitlines()[0].endswith("unchanged") and "changed " not in same.stdout

    # minimal -> load-balancer: the seldon-deploy Service's type changes, as a readable diff.
    result = seldonctl(cluster, "diff", "-f", str(EXAMPLES / "load-balancer.yaml"))
    assert result.exit_code == 1, result.stdout
    lines = result.stdout.splitlines()
    assert f"~ changed   Service {SYSTEM}/seldon-deploy" in lines
    assert "-  type: ClusterIP" in lines and "+  type: LoadBalancer" in lines
    changes = diff_items(seldonctl(cluster, "diff", "-f", str(EXAMPLES / "load-balancer.yaml"), "-o", "json"))
    workloads = {k: v["action"] for k, v in changes.items() if k.startswith(("Service ", "Deployment "))}
    assert workloads == {f"Service {SYSTEM}/seldon-deploy": "changed"}
    # Nothing was applied by diff.
    service = cluster.get_json("service", "seldon-deploy", "-n", SYSTEM)
    assert service["spec"]["type"] == "ClusterIP"


# --- uninstall ---------------------------------------------------------------------------------------------


def objects_of(cluster: Cluster, platform_name: str) -> list[str]:
    """Kind/namespace/name of every object our labels tie to the platform ``platform_name``."""
    out = cluster.kubectl(
        "get",
        "deployments,statefulsets,daemonsets,services,configmaps,serviceaccounts,roles,rolebindings,clusterroles,"
        "clusterrolebindings,validatingwebhookconfigurations,secrets,persistentvolumeclaims",
        "-A",
        "-l",
        f"app.kubernetes.io/managed-by=seldon-meta-operator,operator.seldon.io/platform={platform_name}",
        "-o",
        "jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}{'\\n'}{end}",
    )
    return sorted(line for line in out.splitlines() if line)


def test_uninstall_keeps_the_data_and_the_seldondeployment_crd_and_leaves_nothing_stuck(
    cluster: Cluster, installed: None, namespace: str, platforms: list[tuple[str, str]]
) -> None:
    doc = platform(enable("catalogue"), name="sample", namespace=namespace)
    platforms.append((namespace, "sample"))
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))
    reconcile(cluster, namespace, "sample")
    wait_until("the trial PostgreSQL's volume", lambda: cluster.get_json("pvc", POSTGRES_PVC, "-n", namespace), 120)

    dry = seldonctl(cluster, "uninstall", "--dry-run")
    assert dry.exit_code == 0 and cluster.get_json("crd", CRD) is not None
    assert f"delete SeldonOperator {namespace}/sample" in dry.stderr

    refused = seldonctl(cluster, "uninstall", stdin="")
    assert refused.exit_code == 1 and "pass --yes" in refused.stderr

    result = seldonctl(cluster, "uninstall", "--yes", "--timeout", "120")
    assert result.exit_code == 0, result.stderr
    assert f"kept PersistentVolumeClaim {namespace}/{POSTGRES_PVC}" in result.stderr
    assert f"kept CustomResourceDefinition {SDEP_CRD}" in result.stderr
    # Gone: the SeldonOperator, what it owned, the operator and our CRD.
    assert cluster.get_json("crd", CRD) is None
    assert cluster.get_json("deployment", OPERATOR, "-n", SYSTEM) is None
    assert cluster.get_json("clusterrole", "seldon-operator-manager-role") is None
    # The retained credentials and their retained copy (docs/operations.md, "Credentials follow their data").
    assert objects_of(cluster, "sample") == [
        f"Secret/{namespace}/metadata-postgres",
        f"Secret/{namespace}/metadata-postgres-retained",
    ]
    # Kept: the data and the SeldonDeployment CRD. Nothing is stuck Terminating.
    assert cluster.get_json("pvc", POSTGRES_PVC, "-n", namespace) is not None
    assert cluster.get_json("crd", SDEP_CRD) is not None
    terminating = cluster.kubectl(
        "get", "namespaces", "-o", "jsonpath={.items[?(@.status.phase=='Terminating')].metadata.name}"
    )
    assert not terminating.strip()
    platforms.clear()

    purged = seldonctl(cluster, "uninstall", "--purge-data", "--yes", "--timeout", "120")
    assert purged.exit_code == 0, purged.stderr
    assert cluster.get_json("pvc", POSTGRES_PVC, "-n", namespace) is None
    assert cluster.get_json("secret", "metadata-postgres", "-n", namespace) is None
    assert cluster.get_json("crd", SDEP_CRD) is not None  # never deleted, even with --purge-data

    # With the operator gone, diff says the SeldonOperator cannot be applied (exit 2, as kubectl diff errors).
    orphan = seldonctl(cluster, "diff", "-f", str(EXAMPLES / "minimal.yaml"))
    assert orphan.exit_code == 2, orphan.stdout
    assert f"rejected  SeldonOperator {SYSTEM}/{SAMPLE} (the SeldonOperator CRD is not installed" in orphan.stdout
