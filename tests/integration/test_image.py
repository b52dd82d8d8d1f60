"""The operator's image, run with podman against the local control plane as the install manifest's Deployment runs
it: the same command, args, env, ports and probes (parsed from deploy/seldonoperator_install.yaml, one source),
uid 1000, a read-only root filesystem with a tmpfs /tmp, every capability dropped, no new privileges, and the
in-cluster configuration a pod gets: the ServiceAccount's token, the cluster CA and the namespace at
/var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT set. So the code path of a real pod
(kube/client.py ``kube_config``, operator/login.py) is the one that runs. It reconciles examples/minimal.yaml to
Ready, answers its probes and metrics, and exits 0 on SIGTERM.

Host networking (the API server listens on loopback): the manifest's ports may be taken on this machine, so the
test passes the same flags the manifest uses (``--health-port=``, ``--metrics-port=``) with free ports instead;
``container_args`` changes nothing else, and a test below checks that.

The image is built by ``make image`` (a prerequisite of ``make test``); when it is missing, the test builds it with
hack/image/build.sh. When podman cannot run, the test fails with the reason: it is never skipped.

One operator per namespace: while the container serves seldon-system, operators this pytest session started on
the host (the e2e suite's, which serve the same namespace) are paused with SIGSTOP and resumed afterwards, so two
operators never reconcile the same SeldonOperator.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "deploy" / "seldonoperator_install.yaml"
BUILD = ROOT / "hack" / "image" / "build.sh"
CONTAINERS_CONF = ROOT / "hack" / "image" / "containers.conf"
SA_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
MINIMAL = ROOT / "examples" / "minimal.yaml"
PORT_FLAGS = ("--health-port", "--metrics-port")


def manifest_deployment() -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(INSTALL.read_text()) if d]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    return dict(deployment)


def manager() -> dict[str, Any]:
    pod = manifest_deployment()["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "manager")


def container_args(container: dict[str, Any], ports: dict[str, int]) -> list[str]:
    """The container's command and args, with each ``--flag=PORT`` of ``ports`` given another port."""
    out = []
    for arg in [*container.get("command", []), *container.get("args", [])]:
        flag = arg.split("=", 1)[0]
        out.append(f"{flag}={ports[flag]}" if flag in ports and "=" in arg else arg)
    return out


def container_env(container: dict[str, Any], pod_name: str, namespace: str) -> dict[str, str]:
    """The container's env; the downward API fields a pod gets are filled in as the kubelet would."""
    fields = {"metadata.name": pod_name, "metadata.namespace": namespace}
    env = {}
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = str(var["value"])
        else:
            ref = var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath", "")
            assert ref in fields, f"env {var['name']}: the container test cannot fill {var.get('valueFrom')}"
            env[var["name"]] = fields[ref]
    return env


def port_of(container: dict[str, Any], name: str) -> int:
    return int(next(p["containerPort"] for p in container["ports"] if p["name"] == name))


def probe_paths(container: dict[str, Any]) -> dict[str, str]:
    """probe kind -> path, for the HTTP probes on the health port."""
    out = {}
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        get = (container.get(kind) or {}).get("httpGet")
        if get:
            assert get["port"] in ("health", port_of(container, "health")), f"{kind} probes another port"
            out[kind] = get["path"]
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}", pytrace=False)
    return done


def kubectl(*args: str, check: bool = True) -> str:
    done = subprocess.run(["kubectl", *args], capture_output=True, text=True, timeout=180, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), ""
    except OSError:
        return 0, ""


# --- One source: the container test runs what the Deployment runs ---------------------------------------------


def test_the_container_runs_the_deployments_command_args_and_probes_with_only_its_ports_changed() -> None:
    container = manager()
    ports = {"--health-port": 1111, "--metrics-port": 2222}
    args = container_args(container, ports)
    original = [*container.get("command", []), *container["args"]]
    assert len(args) == len(original)
    changed = [(a, b) for a, b in zip(original, args, strict=True) if a != b]
    assert changed == [
        (f"--health-port={port_of(container, 'health')}", "--health-port=1111"),
        (f"--metrics-port={port_of(container, 'metrics')}", "--metrics-port=2222"),
    ]
    # The probes the kubelet would call are on the health port, which the test calls too.
    assert set(probe_paths(container).values()) <= {"/healthz", "/readyz"}
    assert "/healthz" in probe_paths(container).values()
    security = container["securityContext"]
    assert security["runAsUser"] == 1000
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["allowPrivilegeEscalation"] is False


# --- The image, run --------------------------------------------------------------------------------------------


def ensure_image() -> str:
    image = str(manager()["image"])
    if subprocess.run(["bash", str(BUILD), "--print"], capture_output=True, text=True, check=True).stdout.strip() != (
        image
    ):
        pytest.fail(f"hack/image/build.sh tags another image than the install manifest's {image}", pytrace=False)
    try:
        exists = podman("image", "exists", image, check=False).returncode == 0
    except FileNotFoundError:
        exists = False  # no podman yet: the build installs it
    if not exists:
        done = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode != 0:
            pytest.fail(f"make image (hack/image/build.sh) failed:\n{done.stderr[-4000:]}", pytrace=False)
    version = podman("version", "--format", "{{.Client.Version}}", check=False)
    if version.returncode != 0:
        pytest.fail(f"podman cannot run here: {version.stderr.strip()}", pytrace=False)
    return image


def test_the_image_carries_a_cyclonedx_sbom_of_its_python_packages_and_runs_as_uid_1000() -> None:
    image = ensure_image()
    sbom = json.loads(
        podman("run", "--rm", "--entrypoint=cat", image, "/usr/share/doc/seldon-meta-operator/sbom.cdx.json").stdout
    )
    assert sbom["bomFormat"] == "CycloneDX"
    names = {c["name"].lower().replace("_", "-") for c in sbom["components"]}
    assert {"seldon-meta-operator", "kopf", "lightkube", "pydantic", "cryptography"} <= names
    assert not names & {"pip", "setuptools", "cyclonedx-bom", "pytest"}, "build or test tools in the final venv"
    user = podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
    assert user == "1000:1000"
    labels = json.loads(podman("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout)
    assert labels["org.opencontainers.image.version"] == image.rsplit(":", 1)[1]
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"


def host_operators() -> list[int]:
    """Pids of `seldon-meta-operator` processes this pytest process started (the e2e suite's)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
            if ppid == os.getpid() and any(c.endswith(b"seldon-meta-operator") for c in cmdline):
                found.append(int(stat.parent.name))
    return found


@pytest.fixture
def sole_operator() -> Iterator[None]:
    paused = host_operators()
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in paused:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def service_account_dir(directory: Path, kubeconfig: Path, namespace: str, account: str) -> Path:
    """What the kubelet mounts: a token of ``account``, the cluster CA, the namespace; readable by uid 1000."""
    config = yaml.safe_load(kubeconfig.read_text())
    context = next(c for c in config["contexts"] if c["name"] == config["current-context"])["context"]
    cluster = next(c for c in config["clusters"] if c["name"] == context["cluster"])["cluster"]
    if "certificate-authority-data" in cluster:
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    else:
        ca = (kubeconfig.parent / cluster["certificate-authority"]).read_text()
    token = kubectl("-n", namespace, "create", "token", account, "--duration=1h").strip()
    directory.mkdir(mode=0o755)
    for name, text in {"token": token, "ca.crt": ca, "namespace": namespace}.items():
        (directory / name).write_text(text)
        (directory / name).chmod(0o644)
    directory.chmod(0o755)
    return directory


def ready(namespace: str, name: str) -> bool:
    out = kubectl("-n", namespace, "get", "seldonoperator", name, "-o", "json", check=False)
    if not out.strip():
        return False
    conditions = json.loads(out).get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_the_image_reconciles_the_minimal_profile_in_cluster_and_stops_cleanly_on_sigterm(
    cluster: Any, sole_operator: None, tmp_path: Path
) -> None:
    image = ensure_image()
    deployment = manifest_deployment()
    namespace = deployment["metadata"]["namespace"]
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    container = manager()
    kubectl("create", "namespace", namespace, check=False)
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(INSTALL))
    kubectl("wait", "--for=condition=Established", "crd/seldonoperators.operator.seldon.io", "--timeout=60s")

    kubeconfig = Path(os.environ["KUBECONFIG"])
    server = urlparse(next(iter(yaml.safe_load(kubeconfig.read_text())["clusters"]))["cluster"]["server"])
    sa = service_account_dir(tmp_path / "serviceaccount", kubeconfig, namespace, account)
    health, metrics = free_port(), free_port()
    name = f"smo-image-test-{os.getpid()}"
    security = container["securityContext"]
    env = {
        **container_env(container, name, namespace),
        "KUBERNETES_SERVICE_HOST": str(server.hostname),
        "KUBERNETES_SERVICE_PORT": str(server.port),
        "SELDON_OPERATOR_TIMER_INTERVAL": "3",
    }
    run = [
        "run", "--detach", "--name", name, "--network=host",
        f"--user={security['runAsUser']}:{security['runAsGroup']}",
        "--read-only", "--tmpfs=/tmp:rw,size=64m,mode=1777",
        "--cap-drop=ALL", "--security-opt=no-new-privileges",
        f"--volume={sa}:{SA_PATH}:ro",
        *[f"--env={k}={v}" for k, v in env.items()],
        "--entrypoint", container_args(container, {"--health-port": health, "--metrics-port": metrics})[0],
        image,
        *container_args(container, {"--health-port": health, "--metrics-port": metrics})[1:],
    ]  # fmt: skip
    podman("rm", "--force", name, check=False)
    started = time.monotonic()
    podman(*run)
    so_name = yaml.safe_load(MINIMAL.read_text())["metadata"]["name"]
    try:
        kubectl("apply", "-n", namespace, "-f", str(MINIMAL))
        deadline = time.monotonic() + 240
        while not ready(namespace, so_name):
            state = podman("inspect", "--format", "{{.State.Status}}", name, check=False).stdout.strip()
            if state != "running" or time.monotonic() > deadline:
                logs = podman("logs", name, check=False)
                pytest.fail(f"minimal not Ready (container {state}):\n{(logs.stdout + logs.stderr)[-5000:]}")
            time.sleep(1)
        print(f"\ncontainer start -> minimal Ready: {time.monotonic() - started:.1f}s")

        for kind, path in probe_paths(container).items():
            status, _ = get(f"http://127.0.0.1:{health}{path}")
            assert status == 200, f"{kind} {path}: {status}"
        status, text = get(f"http://127.0.0.1:{metrics}/metrics")
        assert status == 200
        assert "seldon_operator" in text

        kubectl("-n", namespace, "delete", "seldonoperator", so_name, "--wait=true", "--timeout=120s")
        stop_started = time.monotonic()
        podman("stop", "--time=10", name, timeout=60)
        print(f"SIGTERM -> exit: {time.monotonic() - stop_started:.1f}s")
        code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        logs = podman("logs", name, check=False)
        text = logs.stdout + logs.stderr
        assert code == "0", f"exit code {code} after SIGTERM (137: it ignored SIGTERM for 10 s):\n{text[-3000:]}"
        problems = [line for line in text.splitlines() if "Traceback" in line or '"levelname": "ERROR"' in line]
        assert not problems, "\n".join(problems)
        # It logged in the in-cluster way: no kubeconfig was given, and it reached the API server.
        assert "kubernetes.default.svc" not in text
    finally:
        kubectl("-n", namespace, "delete", "seldonoperator", so_name, "--ignore-not-found", "--wait=false")
        podman("rm", "--force", name, check=False)
