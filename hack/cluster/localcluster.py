"""A real local Kubernetes control plane for development, the demo and CI: no container engine, no internet.

It runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK as plain local processes, built from
Go modules by hack/cluster/build.sh into a cache outside the clone. Nodes and kubelets are simulated by KWOK: pods
are scheduled, reach Running and Ready, and are deleted, but no container runs and no image is pulled.

    python hack/cluster/localcluster.py up        # start (or reuse) it; the last stdout line is KUBECONFIG=<path>
    python hack/cluster/localcluster.py status    # what runs, where, how much memory
    python hack/cluster/localcluster.py down      # stop every process it started and remove its state
    python hack/cluster/localcluster.py env       # `eval "$(... env)"`: our bin dir first on PATH, KUBECONFIG
    python hack/cluster/localcluster.py prereqs install|remove SET...   # stand-in CRDs from hack/prereqs/

State (PKI, kubeconfig, etcd data, logs, pids) lives in $SMO_CLUSTER_DIR, by default <repo>/.cluster. Every port is
a free loopback port. The processes run in their own sessions, so they outlive `up`; `down` stops their process
groups (SIGTERM, then SIGKILL). See docs/local-cluster.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import fcntl
import functools
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PREREQS = ROOT / "hack" / "prereqs"
PREREQ_SETS = ("istio", "knative-eventing", "knative-serving", "cert-manager", "argo-workflows", "argo-cd")

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
BINARIES = (*COMPONENTS, "kubectl")
NODES = ("kwok-node-0", "kwok-node-1", "kwok-node-2")
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # the `kubernetes` Service's ClusterIP: the first address of SERVICE_CIDR
POD_CIDR = "10.244.0.0/16"  # kwok hands out pod IPs from it
NODE_IP = "10.0.0.1"  # what kwok reports as every node's InternalIP; nothing listens on it
STAGE_DIRS = ("node/fast", "node/heartbeat-with-lease", "pod/fast")
MARKER = ".localcluster"  # marks a state dir as ours; `down` removes nothing else
HOSTPATH_PV_ROOT = "/tmp/hostpath_pv/"  # where kube-controller-manager's hostpath provisioner makes PV dirs
FIELD_MANAGER = "smo-localcluster"

T = TypeVar("T")


class ClusterError(RuntimeError):
    """The cluster could not be started or reached; the message says why (with log tails where useful)."""


def say(message: str) -> None:
    """Progress goes to stderr: stdout stays parseable (its last line of `up` is KUBECONFIG=...)."""
    print(f"localcluster: {message}", file=sys.stderr, flush=True)


# --- Locations ---------------------------------------------------------------------------------------------------


def state_dir() -> Path:
    return Path(os.environ.get("SMO_CLUSTER_DIR") or ROOT / ".cluster").expanduser().resolve()


def versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in (HERE / "versions.env").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip().strip("\"'")
    return out


@functools.cache
def bin_dir() -> Path:
    """The version-keyed cache directory hack/cluster/build.sh builds into (it is the one source of that path)."""
    out = subprocess.run(
        ["bash", str(HERE / "build.sh"), "--print"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return Path(out.splitlines()[-1])


def missing_binaries(bins: Path) -> list[str]:
    return [name for name in BINARIES if not os.access(bins / name, os.X_OK)]


def tool_env(bins: Path, kubeconfig: Path | None = None) -> dict[str, str]:
    """The environment with our bin dir first on PATH, so `kubectl` is the one we built, not the machine's."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(bins), *[p for p in env.get("PATH", "").split(os.pathsep) if p != str(bins)]])
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


@dataclass
class Paths:
    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def kwok_config(self) -> Path:
        return self.root / "kwok" / "stages.yaml"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"


# --- State -------------------------------------------------------------------------------------------------------


@dataclass
class State:
    bin_dir: str
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    ready: bool = False
    started: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['kube-apiserver']}"

    def save(self, paths: Paths) -> None:
        tmp = paths.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.__dict__, indent=2, sort_keys=True) + "\n")
        tmp.replace(paths.state)

    @classmethod
    def load(cls, paths: Paths) -> State | None:
        try:
            data = json.loads(paths.state.read_text())
        except (OSError, ValueError):
            return None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """One `up`/`down` at a time per state dir (parallel pytest sessions with their own dirs are independent)."""
    root.mkdir(parents=True, exist_ok=True)
    marker = root / MARKER
    if not marker.exists():
        if any(root.iterdir()):
            raise ClusterError(f"{root} exists, is not empty and is not a local-cluster state dir; refusing to use it")
        marker.write_text("state dir of hack/cluster/localcluster.py; `localcluster.py down` removes it\n")
    with marker.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- Processes ---------------------------------------------------------------------------------------------------


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _ours(pid: int, root: Path) -> bool:
    """The process is alive and one of this cluster's: each of them names a file in the state dir on its command
    line, which guards against pids reused by other processes."""
    return _alive(pid) and f"{root}/" in _cmdline(pid)


def stray_processes(root: Path) -> list[int]:
    """Processes of this state dir that the state file may not know about (e.g. after a crash of `up`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        try:
            exe = os.path.basename(os.readlink(entry / "exe"))
        except OSError:
            continue
        if exe.removesuffix(" (deleted)") in COMPONENTS and _ours(pid, root):
            found.append(pid)
    return sorted(found)


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def stop_processes(pids: Sequence[int], root: Path, timeout: float = 15.0) -> None:
    """SIGTERM each process group (each component is a session leader, so pgid == pid), wait, then SIGKILL."""
    targets = [pid for pid in pids if _ours(pid, root)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5.0)
        while time.monotonic() < deadline:
            for pid in targets:
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)  # reap them if they are our children
            targets = [pid for pid in targets if _alive(pid)]
            if not targets:
                return
            time.sleep(0.1)
    if targets:
        raise ClusterError(f"processes {targets} survived SIGKILL")


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"({path} missing)"
    return "\n".join(text[-lines:])


def log_tails(paths: Paths, components: Sequence[str] = COMPONENTS, lines: int = 25) -> str:
    return "\n".join(f"--- {paths.log(c)} (last {lines} lines)\n{tail(paths.log(c), lines)}" for c in components)


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all bound at once, so the kernel hands out different ones)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


# --- PKI ---------------------------------------------------------------------------------------------------------


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


def make_pki(pki: Path) -> None:
    """One CA; the apiserver's serving cert; the admin client cert (system:masters); the ServiceAccount signing key."""
    pki.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    until = now + datetime.timedelta(days=365)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smo-local-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(pki / "ca.crt", ca.public_bytes(serialization.Encoding.PEM))
    _write(pki / "ca.key", _pem_key(ca_key), private=True)

    def leaf(name: str, subject: x509.Name, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        _write(pki / f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM))
        _write(pki / f"{name}.key", _pem_key(key), private=True)

    dns = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
    leaf(
        "apiserver",
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", SERVICE_IP)],
    )
    leaf(
        "admin",
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
            ]
        ),
        ExtendedKeyUsageOID.CLIENT_AUTH,
        [],
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(pki / "sa.key", _pem_key(sa_key), private=True)
    _write(
        pki / "sa.pub",
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    )


def write_kubeconfig(paths: Paths, server: str) -> None:
    def b64(name: str) -> str:
        return base64.b64encode((paths.pki / name).read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "smo-local", "cluster": {"server": server, "certificate-authority-data": b64("ca.crt")}}],
        "users": [
            {
                "name": "admin",
                "user": {"client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key")},
            }
        ],
        "contexts": [{"name": "smo-local", "context": {"cluster": "smo-local", "user": "admin"}}],
        "current-context": "smo-local",
    }
    paths.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
    paths.kubeconfig.chmod(0o600)


# --- A minimal API client (admin client cert) ----------------------------------------------------------------------


class Api:
    def __init__(self, server: str, pki: Path) -> None:
        self.server = server
        self.context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def request(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=timeout) as resp:
                raw = resp.read()
                status = int(resp.status)
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), int(exc.code)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def ok(self, path: str) -> bool:
        try:
            return self.request("GET", path, timeout=3.0)[0] == 200
        except (OSError, ssl.SSLError):
            return False

    def create(self, path: str, body: dict[str, Any]) -> None:
        status, out = self.request("POST", path, body)
        if status not in (200, 201, 409):  # 409: already exists
            raise ClusterError(f"POST {path}: HTTP {status}: {out}")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, check: Callable[[], None] | None = None) -> T:
    """Poll ``probe`` until it returns something truthy; ``check`` raises if waiting is pointless (a process died)."""
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        try:
            value = probe()
        except (OSError, ssl.SSLError, ValueError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


# --- The components ----------------------------------------------------------------------------------------------


def kwok_stages() -> str:
    """The kwok stage YAMLs, read from the kwok module in GOMODCACHE at runtime (never copied into the clone)."""
    version = versions()["KWOK_VERSION"]
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": ""}
    try:
        modcache = subprocess.run(
            ["go", "env", "GOMODCACHE"], check=True, capture_output=True, text=True, env=env
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        modcache = os.environ.get("GOMODCACHE") or str(Path.home() / "go" / "pkg" / "mod")
    stage_root = Path(modcache) / f"sigs.k8s.io/kwok@{version}" / "kustomize" / "stage"
    if not stage_root.is_dir():
        say(f"kwok {version} is not in the module cache; downloading it (go mod download)")
        subprocess.run(["go", "mod", "download", f"sigs.k8s.io/kwok@{version}"], check=True, cwd=HERE / "kwok", env=env)
    docs = []
    for sub in STAGE_DIRS:
        files = sorted(p for p in (stage_root / sub).glob("*.yaml") if p.name != "kustomization.yaml")
        if not files:
            raise ClusterError(f"no kwok stages in {stage_root / sub}")
        docs += [f"# from sigs.k8s.io/kwok@{version}/kustomize/stage/{sub}/{p.name}\n{p.read_text()}" for p in files]
    return "\n---\n".join(docs)


def commands(paths: Paths, bins: Path, ports: dict[str, int]) -> dict[str, list[str]]:
    pki, kubeconfig = paths.pki, str(paths.kubeconfig)
    etcd_client = f"http://127.0.0.1:{ports['etcd']}"
    etcd_peer = f"http://127.0.0.1:{ports['etcd-peer']}"
    return {
        "etcd": [
            str(bins / "etcd"),
            "--name=smo-local",
            f"--data-dir={paths.etcd_data}",
            f"--listen-client-urls={etcd_client}",
            f"--advertise-client-urls={etcd_client}",
            f"--listen-peer-urls={etcd_peer}",
            f"--initial-advertise-peer-urls={etcd_peer}",
            f"--initial-cluster=smo-local={etcd_peer}",
            "--initial-cluster-state=new",
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=4294967296",
            "--log-level=warn",
        ],
        "kube-apiserver": [
            str(bins / "kube-apiserver"),
            f"--etcd-servers={etcd_client}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports['kube-apiserver']}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--authorization-mode=Node,RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ],
        "kube-controller-manager": [
            str(bins / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            "--cluster-name=smo-local",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--controllers=*",
            "--enable-hostpath-provisioner=true",
            "--pvclaimbinder-sync-period=2s",
            "--kube-api-qps=100",
            "--kube-api-burst=200",
            # KWOK simulates no node failure, and marks a pod Ready only once: a node marked NotReady because its
            # heartbeats could not reach a restarted API server (the outage tests) would leave its pods NotReady
            # for good. Nodes are never lost here, so missed heartbeats are tolerated for long.
            "--node-monitor-grace-period=10m",
        ],
        "kube-scheduler": [
            str(bins / "kube-scheduler"),
            f"--kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            "--kube-api-qps=100",
            "--kube-api-burst=200",
        ],
        "kwok": [
            str(bins / "kwok"),
            f"--kubeconfig={kubeconfig}",
            f"--config={paths.kwok_config}",
            "--manage-all-nodes=true",
            f"--cidr={POD_CIDR}",
            f"--node-ip={NODE_IP}",
            "--node-lease-duration-seconds=40",
        ],
    }


def spawn(paths: Paths, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    """Start a component in its own session (it outlives `up`), logging to <state>/logs/<name>.log."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}  # every component is given its kubeconfig
    with paths.log(name).open("ab") as log:
        log.write(f"\n=== {datetime.datetime.now().isoformat(timespec='seconds')} {' '.join(argv)}\n".encode())
        log.flush()
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=paths.root,
            env=env,
            start_new_session=True,
        )


def node(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
    }


STORAGE_CLASS = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "kubernetes.io/host-path",
    "reclaimPolicy": "Delete",
    "volumeBindingMode": "Immediate",
}


def nodes_ready(api: Api) -> bool:
    status, body = api.request("GET", "/api/v1/nodes")
    if status != 200:
        return False
    ready = set()
    for item in body.get("items", []):
        conditions = {c["type"]: c["status"] for c in item.get("status", {}).get("conditions", [])}
        taints = {t["key"] for t in item.get("spec", {}).get("taints", []) or []}
        if conditions.get("Ready") == "True" and "node.kubernetes.io/not-ready" not in taints:
            ready.add(item["metadata"]["name"])
    return set(NODES) <= ready


def healthy(state: State, paths: Paths) -> list[str]:
    """What is wrong with a recorded cluster ([] if it runs and answers)."""
    problems = [f"{c} is not running" for c in COMPONENTS if not _ours(state.pids.get(c, -1), paths.root)]
    if not problems and not Api(state.server, paths.pki).ok("/readyz"):
        problems.append("kube-apiserver /readyz is not OK")
    if not state.ready and not problems:
        problems.append("the last `up` did not finish")
    return problems


def start(paths: Paths, bins: Path) -> State:
    """Start every component in order and wait until the cluster is usable. On failure, stop what was started."""
    started = time.monotonic()
    for d in (paths.logs, paths.kwok_config.parent):
        d.mkdir(parents=True, exist_ok=True)
    make_pki(paths.pki)
    paths.kwok_config.write_text(kwok_stages())
    ports = dict(zip(("etcd", "etcd-peer", "kube-apiserver"), free_ports(3), strict=True))
    state = State(
        bin_dir=str(bins),
        ports=ports,
        started=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        versions=versions(),
    )
    write_kubeconfig(paths, state.server)
    argv = commands(paths, bins, ports)
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def launch(name: str) -> None:
        procs[name] = spawn(paths, name, argv[name])
        state.pids[name] = procs[name].pid
        state.save(paths)

    def check() -> None:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise ClusterError(f"{name} exited with code {proc.returncode}")

    def mark(what: str) -> None:
        say(f"{what} after {time.monotonic() - started:.1f}s")

    try:
        launch("etcd")
        wait_for("etcd /health", lambda: _http_ok(f"http://127.0.0.1:{ports['etcd']}/health"), 30, check)
        mark("etcd is healthy")
        launch("kube-apiserver")
        api = Api(state.server, paths.pki)
        wait_for("kube-apiserver /readyz", lambda: api.ok("/readyz"), 90, check)
        mark("kube-apiserver is ready")
        for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
            launch(name)
        api.create("/apis/storage.k8s.io/v1/storageclasses", STORAGE_CLASS)
        for name in NODES:
            api.create("/api/v1/nodes", node(name))
        wait_for(f"nodes {', '.join(NODES)} Ready and untainted", lambda: nodes_ready(api), 90, check)
        mark(f"{len(NODES)} nodes are Ready")
        wait_for(
            "ServiceAccount default/default (kube-controller-manager)",
            lambda: api.ok("/api/v1/namespaces/default/serviceaccounts/default"),
            60,
            check,
        )
        mark("the cluster is ready")
    except BaseException:
        with contextlib.suppress(Exception):
            stop_processes(list(state.pids.values()), paths.root)
        raise
    state.ready = True
    state.save(paths)
    return state


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return bool(resp.status == 200)


# --- Commands ----------------------------------------------------------------------------------------------------


def up(root: Path | None = None) -> Path:
    """Start the cluster, or reuse the healthy one already running from this state dir; returns the kubeconfig."""
    paths = Paths(root or state_dir())
    with locked(paths.root):
        state = State.load(paths)
        if state is not None:
            problems = healthy(state, paths)
            if not problems:
                say(f"reusing the running cluster in {paths.root} ({state.server})")
                return paths.kubeconfig
            say(f"the cluster in {paths.root} is not usable ({'; '.join(problems)}); starting a new one")
        _stop_and_clear(paths, state)
        bins = bin_dir()
        missing = missing_binaries(bins)
        if missing:
            raise ClusterError(
                f"missing {', '.join(missing)} in {bins}; "
                "build them with `bash hack/cluster/build.sh` (make cluster-bin)"
            )
        say(f"starting a local control plane in {paths.root} (binaries: {bins})")
        for attempt in (1, 2):
            try:
                start(paths, bins)
                break
            except ClusterError as exc:
                if attempt == 1 and _port_taken(paths):
                    say("a port was taken between choosing it and binding it; starting again with other ports")
                    _stop_and_clear(paths, State.load(paths))
                    continue
                raise ClusterError(f"{exc}\n{log_tails(paths)}\n(logs are in {paths.logs})") from None
    return paths.kubeconfig


def kill_component(name: str, root: Path | None = None) -> int:
    """SIGKILL one component of the running cluster (fault injection: an API server crash). Returns its pid."""
    paths = Paths(root or state_dir())
    state = State.load(paths)
    if state is None or name not in state.pids:
        raise ClusterError(f"no running {name} in {paths.root}")
    pid = state.pids[name]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def restart_component(name: str, root: Path | None = None) -> int:
    """Start one component again with the same flags and ports (after ``kill_component``, or to replace a live
    one: it is killed first), and wait until it serves. Returns the new pid."""
    paths = Paths(root or state_dir())
    with locked(paths.root):
        state = State.load(paths)
        if state is None:
            raise ClusterError(f"no cluster in {paths.root}")
        if name in state.pids and _alive(state.pids[name]):
            os.kill(state.pids[name], signal.SIGKILL)
        proc = spawn(paths, name, commands(paths, Path(state.bin_dir), state.ports)[name])
        state.pids[name] = proc.pid
        state.save(paths)

        def check() -> None:
            if proc.poll() is not None:
                raise ClusterError(f"{name} exited with code {proc.returncode}\n{tail(paths.log(name))}")

        if name == "kube-apiserver":
            api = Api(state.server, paths.pki)
            wait_for("kube-apiserver /readyz", lambda: api.ok("/readyz"), 90, check)
        return proc.pid


def _port_taken(paths: Paths) -> bool:
    """Free ports are chosen by binding port 0 and closing it, so another process may take one in between."""
    return any("address already in use" in tail(paths.log(c), 50) for c in ("etcd", "kube-apiserver"))


def _stop_and_clear(paths: Paths, state: State | None) -> None:
    """Stop whatever this state dir still runs and empty it (keeping only the marker, which holds the lock)."""
    pids = list((state.pids if state else {}).values()) + stray_processes(paths.root)
    stop_processes(pids, paths.root)
    for entry in paths.root.iterdir():
        if entry.name != MARKER:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def _hostpath_volumes(state: State, paths: Paths) -> list[Path]:
    """The hostPath directories kube-controller-manager provisioned for this cluster's PVs (under /tmp)."""
    try:
        status, body = Api(state.server, paths.pki).request("GET", "/api/v1/persistentvolumes", timeout=5.0)
    except (OSError, ssl.SSLError):
        return []
    if status != 200:
        return []
    out = []
    for pv in body.get("items", []):
        path = ((pv.get("spec") or {}).get("hostPath") or {}).get("path", "")
        if path.startswith(HOSTPATH_PV_ROOT) and "/.." not in path:
            out.append(Path(path))
    return out


def down(root: Path | None = None) -> bool:
    """Stop every process of the cluster and remove its state dir; False if there was none."""
    paths = Paths(root or state_dir())
    if not (paths.root / MARKER).exists():
        strays = stray_processes(paths.root)
        stop_processes(strays, paths.root)
        return bool(strays)
    with locked(paths.root):
        state = State.load(paths)
        volumes = _hostpath_volumes(state, paths) if state else []
        pids = list((state.pids if state else {}).values())
        stop_processes(pids + stray_processes(paths.root), paths.root)
        for volume in volumes:
            shutil.rmtree(volume, ignore_errors=True)
        left = stray_processes(paths.root)
        if left:
            raise ClusterError(f"processes {left} of {paths.root} are still running")
        shutil.rmtree(paths.root)
    return True


def status(root: Path | None = None) -> int:
    paths = Paths(root or state_dir())
    state = State.load(paths)
    if state is None:
        print(f"no local cluster in {paths.root}")
        return 1
    total = 0
    print(f"state dir:   {paths.root}")
    print(f"kubeconfig:  {paths.kubeconfig}")
    print(f"api server:  {state.server}")
    print(f"binaries:    {state.bin_dir}")
    print(f"started:     {state.started}")
    print(f"etcd:        http://127.0.0.1:{state.ports.get('etcd')} (peer {state.ports.get('etcd-peer')})")
    for name in COMPONENTS:
        pid = state.pids.get(name, -1)
        running = _ours(pid, paths.root)
        rss = _rss_kib(pid) if running else 0
        total += rss
        line = f"  {name:<24} pid {pid:<8} {'running' if running else 'NOT RUNNING'}"
        print(line + (f"  rss {rss / 1024:.0f} MiB" if running else ""), f" log {paths.log(name)}")
    print(f"total rss:   {total / 1024:.0f} MiB")
    problems = healthy(state, paths)
    if not problems:
        api = Api(state.server, paths.pki)
        _, nodes = api.request("GET", "/api/v1/nodes")
        print(f"nodes:       {len(nodes.get('items', []))} ({'all Ready' if nodes_ready(api) else 'not all Ready'})")
        print("healthy:     yes")
        return 0
    print(f"healthy:     no ({'; '.join(problems)})")
    return 1


# --- Prerequisite CRDs -------------------------------------------------------------------------------------------


def prereq_files(sets: Sequence[str]) -> list[Path]:
    names: list[str] = []
    for s in sets:
        for name in PREREQ_SETS if s == "all" else (s,):
            if name not in PREREQ_SETS:
                raise ClusterError(f"unknown prerequisite set {name!r}; choose from {', '.join(PREREQ_SETS)} or all")
            if name not in names:
                names.append(name)
    return [PREREQS / f"{name}.yaml" for name in names]


def prereq_crds(path: Path) -> list[dict[str, Any]]:
    docs = yaml.safe_load_all(path.read_text())
    return [d for d in docs if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]


def default_kubeconfig() -> Path:
    paths = Paths(state_dir())
    if not paths.kubeconfig.exists():
        raise ClusterError(f"no local cluster in {paths.root}; run `make cluster-up` or pass --kubeconfig")
    return paths.kubeconfig


def kubectl(kubeconfig: Path, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    bins = bin_dir()
    proc = subprocess.run(
        [str(bins / "kubectl"), f"--kubeconfig={kubeconfig}", *args],
        capture_output=True,
        text=True,
        env=tool_env(bins, kubeconfig),
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def served_resources(kubeconfig: Path, group: str, version: str) -> set[str]:
    """Resource names the API server's discovery serves in group/version (uncached: straight from the server)."""
    proc = kubectl(kubeconfig, "get", "--raw", f"/apis/{group}/{version}", check=False, timeout=30)
    if proc.returncode != 0:
        return set()
    return {r["name"] for r in json.loads(proc.stdout).get("resources", [])}


def _crd_served(crd: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(group, version, plural) of each served version of the CRD."""
    spec = crd["spec"]
    return [(spec["group"], v["name"], spec["names"]["plural"]) for v in spec["versions"] if v.get("served", True)]


def _is_served(kubeconfig: Path, group: str, version: str, plural: str, expected: bool) -> bool:
    return (plural in served_resources(kubeconfig, group, version)) == expected


def _crd_gone(kubeconfig: Path, name: str) -> bool:
    proc = kubectl(kubeconfig, "get", "crd", name, "--ignore-not-found", "-o", "name", check=False)
    return proc.returncode == 0 and not proc.stdout.strip()


def install_prereqs(sets: Sequence[str], kubeconfig: Path | None = None, timeout: float = 60) -> None:
    """Apply the stand-in CRDs of each set and wait until they are Established and served by discovery."""
    kc = kubeconfig or default_kubeconfig()
    for path in prereq_files(sets):
        crds = prereq_crds(path)
        kubectl(kc, "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", str(path))
        names = [f"crd/{c['metadata']['name']}" for c in crds]
        kubectl(kc, "wait", "--for=condition=Established", *names, f"--timeout={timeout:.0f}s")
        for crd in crds:
            for group, version, plural in _crd_served(crd):
                wait_for(
                    f"{plural}.{group}/{version} to be served",
                    functools.partial(_is_served, kc, group, version, plural, True),
                    timeout,
                )
        say(f"installed {path.stem}: {', '.join(c['spec']['names']['kind'] for c in crds)}")


def _deletion_state(kubeconfig: Path, names: Sequence[str]) -> str:
    """What keeps CRDs from going: their finalizers, the API server's conditions about deleting their objects
    (Terminating, InstanceDeletion*), and how many objects of their kinds are left."""
    out = []
    for name in names:
        proc = kubectl(kubeconfig, "get", "crd", name, "--ignore-not-found", "-o", "json", check=False)
        if proc.returncode != 0 or not proc.stdout.strip():
            out.append(f"{name}: gone")
            continue
        crd = json.loads(proc.stdout)
        conditions = [
            f"{c.get('type')}={c.get('status')} ({c.get('reason', '')}: {c.get('message', '')})"
            for c in crd.get("status", {}).get("conditions", [])
        ]
        left = kubectl(kubeconfig, "get", crd["spec"]["names"]["plural"] + "." + crd["spec"]["group"], "-A",
                       "-o", "name", check=False)  # fmt: skip
        count = len(left.stdout.split()) if left.returncode == 0 else f"? ({left.stderr.strip()})"
        out.append(
            f"{name}: finalizers {crd['metadata'].get('finalizers', [])}, conditions {conditions}, "
            f"objects of its kind left: {count}"
        )
    return "; ".join(out)


def remove_prereqs(sets: Sequence[str], kubeconfig: Path | None = None, timeout: float = 120) -> None:
    """Delete the stand-in CRDs of each set (with every object of their kinds) and wait until they are gone. A
    deletion that does not finish names what holds it (``_deletion_state``)."""
    kc = kubeconfig or default_kubeconfig()
    for path in prereq_files(sets):
        crds = prereq_crds(path)
        try:
            kubectl(kc, "delete", "--ignore-not-found", "--wait=true", f"--timeout={timeout:.0f}s", "-f", str(path))
        except ClusterError as exc:
            state = _deletion_state(kc, [c["metadata"]["name"] for c in crds])
            raise ClusterError(f"{exc}; {state}") from exc
        for crd in crds:
            name = crd["metadata"]["name"]
            wait_for(f"CRD {name} to be gone", functools.partial(_crd_gone, kc, name), timeout)
            for group, version, plural in _crd_served(crd):
                wait_for(
                    f"{plural}.{group}/{version} to be no longer served",
                    functools.partial(_is_served, kc, group, version, plural, False),
                    timeout,
                )
        say(f"removed {path.stem}")


# --- CLI ---------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the cluster (or reuse the running one); last stdout line: KUBECONFIG=<path>")
    sub.add_parser("down", help="stop every process of the cluster and remove its state dir")
    sub.add_parser("status", help="show what runs (exit 1 if the cluster is not running and healthy)")
    sub.add_parser("env", help="print shell exports: our bin dir first on PATH, and KUBECONFIG")
    kill = sub.add_parser("kill", help="SIGKILL one component (fault injection)")
    kill.add_argument("component", choices=COMPONENTS)
    restart = sub.add_parser("restart", help="start one component again, same flags and ports; waits until it serves")
    restart.add_argument("component", choices=COMPONENTS)
    pre = sub.add_parser("prereqs", help="install or remove stand-in CRDs (hack/prereqs/<set>.yaml)")
    pre.add_argument("action", choices=["install", "remove"])
    pre.add_argument("sets", nargs="+", metavar="SET", help=f"{' | '.join(PREREQ_SETS)} | all")
    pre.add_argument("--kubeconfig", type=Path, help="default: the local cluster's, in the state dir")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            began = time.monotonic()
            kubeconfig = up()
            state = State.load(Paths(state_dir()))
            print(f"cluster: {state.server if state else '?'} (state {state_dir()}, {time.monotonic() - began:.1f}s)")
            print(f"KUBECONFIG={kubeconfig}")
        elif args.command == "down":
            print(f"stopped the cluster and removed {state_dir()}" if down() else f"no cluster in {state_dir()}")
        elif args.command == "status":
            return status()
        elif args.command == "kill":
            print(f"killed {args.component} (pid {kill_component(args.component)})")
        elif args.command == "restart":
            print(f"restarted {args.component} (pid {restart_component(args.component)})")
        elif args.command == "env":
            print(f"export PATH={bin_dir()}:$PATH")
            print(f"export KUBECONFIG={Paths(state_dir()).kubeconfig}")
        elif args.action == "install":
            install_prereqs(args.sets, args.kubeconfig)
        else:
            remove_prereqs(args.sets, args.kubeconfig)
    except (ClusterError, subprocess.CalledProcessError) as exc:
        print(f"localcluster: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
