"""`make demo`: from a fresh clone to a running Seldon platform on the local control plane, in one command.

Steps (each a function, so tests/e2e/test_demo.py can run them too):
1. start the local control plane (or reuse a running one);
2. install our stand-in CRDs for Istio and Knative (the real ones cannot be installed here: no images, no
   internet) and say so;
3. install the operator from deploy/seldonoperator_install.yaml, as the product documentation does; its pod is
   simulated, so the operator process itself runs here on the host, under the operator ServiceAccount's token;
4. start the simulated Knative controller (hack/cluster/fake_knative.py) that marks Brokers and Triggers Ready;
5. apply examples/all-features.yaml and wait for Ready with a live display per component;
6. print what the documentation's Verification sections show, and `seldonctl status`.

The cluster and the operator keep running; `make cluster-down` stops everything. Running `make demo` again
restarts the operator and re-applies the example.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STATE = Path(os.environ.get("SMO_CLUSTER_DIR", ROOT / ".cluster"))
NS = "seldon-system"
SA = "seldon-operator-controller-manager"
EXAMPLE = ROOT / "examples" / "all-features.yaml"
PIDS = STATE / "demo.pids"


def say(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def run(*args: str, env: dict[str, str] | None = None, capture: bool = False) -> str:
    proc = subprocess.run(list(args), env=env, check=True, text=True, capture_output=capture)
    return proc.stdout if capture else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def use_cluster_tools() -> None:
    """Put the control plane's bin dir (with our kubectl) first on PATH, for this script and what it runs."""
    bin_dir = run("bash", str(ROOT / "hack" / "cluster" / "build.sh"), "--print", capture=True).strip()
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def cluster_up() -> str:
    """Start (or reuse) the local control plane; returns the kubeconfig path."""
    say(
        "Starting the local Kubernetes control plane (real etcd, kube-apiserver, controller-manager, scheduler; "
        "nodes and kubelets simulated by KWOK: pods reach Running, no container runs, no image is pulled)"
    )
    out = run(str(BIN / "python"), str(ROOT / "hack" / "cluster" / "localcluster.py"), "up", capture=True)
    print(out, end="")
    last = out.strip().splitlines()[-1]
    assert last.startswith("KUBECONFIG="), last
    kubeconfig = last.split("=", 1)[1]
    os.environ["KUBECONFIG"] = kubeconfig
    return kubeconfig


def install_prerequisites() -> None:
    say(
        "Installing stand-in CRDs for Istio and Knative (Eventing, Serving). These are our own minimal CRDs, "
        "not the real projects: routing and detectors get their API types, but no Istio or Knative runs"
    )
    for name in ("istio", "knative-eventing", "knative-serving"):
        run(str(BIN / "python"), str(ROOT / "hack" / "cluster" / "localcluster.py"), "prereqs", "install", name)


def install_operator() -> None:
    say("Installing the operator: kubectl apply -f deploy/seldonoperator_install.yaml")
    subprocess.run(["kubectl", "create", "namespace", NS], check=False, capture_output=True)
    run(
        "kubectl",
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        str(ROOT / "deploy" / "seldonoperator_install.yaml"),
    )
    run("kubectl", "wait", "--for=condition=Established", "crd/seldonoperators.operator.seldon.io", "--timeout=60s")
    run("kubectl", "-n", NS, "rollout", "status", f"deployment/{SA}", "--timeout=120s")


def stop_background() -> None:
    """Stop the operator and the Knative stand-in started by an earlier demo."""
    if not PIDS.exists():
        return
    for line in PIDS.read_text().split():
        try:
            os.killpg(int(line), signal.SIGTERM)
        except (ProcessLookupError, ValueError, PermissionError):
            continue
    PIDS.unlink()


def operator_kubeconfig(kubeconfig: str) -> Path:
    """A kubeconfig holding the operator ServiceAccount's token: the operator runs with exactly its RBAC."""
    token = run("kubectl", "-n", NS, "create", "token", SA, "--duration=24h", capture=True).strip()
    admin = yaml.safe_load(Path(kubeconfig).read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c for c in admin["clusters"] if c["name"] == context["context"]["cluster"])
    path = STATE / "operator.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "operator",
                "clusters": [{"name": "local", "cluster": cluster["cluster"]}],
                "users": [{"name": SA, "user": {"token": token}}],
                "contexts": [{"name": "operator", "context": {"cluster": "local", "user": SA}}],
            }
        )
    )
    path.chmod(0o600)
    return path


def start_background(kubeconfig: str) -> None:
    say(
        "Starting the operator on this host (its pod is simulated), with the operator ServiceAccount's token, "
        f"and the simulated Knative controller; logs in {STATE / 'operator.log'} and {STATE / 'fake-knative.log'}"
    )
    stop_background()
    op_env = {**os.environ, "KUBECONFIG": str(operator_kubeconfig(kubeconfig))}
    pids = []
    with (STATE / "operator.log").open("ab") as log:
        pids.append(
            subprocess.Popen(
                [
                    str(BIN / "seldonctl"),
                    "operator",
                    "run",
                    "--health-port",
                    str(free_port()),
                    "--metrics-port",
                    str(free_port()),
                ],
                env=op_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            ).pid
        )
    with (STATE / "fake-knative.log").open("ab") as log:
        pids.append(
            subprocess.Popen(
                [str(BIN / "python"), str(ROOT / "hack" / "cluster" / "fake_knative.py")],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            ).pid
        )
    PIDS.write_text("\n".join(str(p) for p in pids) + "\n")


def apply_platform() -> None:
    say(
        f"Applying {EXAMPLE.relative_to(ROOT)}: Seldon Core, Seldon Deploy, analytics, catalogue, payload store, "
        "routing and detectors"
    )
    run(str(BIN / "seldonctl"), "apply", "-f", str(EXAMPLE), "--wait", "--timeout", "300")


def verify() -> None:
    say("What the documentation's Verification sections show:")
    for args in (
        ["get", "pods", "-n", NS],
        ["get", "gateway", "-n", NS],
        ["get", "brokers,triggers", "-n", NS],
        ["get", "svc", "seldon-deploy", "-n", NS],
    ):
        print(f"\n$ kubectl {' '.join(args)}", flush=True)
        subprocess.run(["kubectl", *args], check=False)
    print("\n$ seldonctl status", flush=True)
    subprocess.run([str(BIN / "seldonctl"), "status", "-n", NS], check=False)


def goodbye(kubeconfig: str) -> None:
    say("Done. The cluster and the operator keep running.")
    print(f"""
  export KUBECONFIG={kubeconfig}
  kubectl get seldonoperators -A                        # Ready, components
  .venv/bin/seldonctl status                            # per-component status
  .venv/bin/seldonctl render -f examples/minimal.yaml   # render offline
  kubectl edit seldonoperator seldonoperator-sample -n {NS}   # turn features on and off
  make cluster-down                                     # stop the operator, the cluster, and remove its state
""")


def main() -> None:
    parser = argparse.ArgumentParser(description="The make demo script.")
    parser.add_argument("command", nargs="?", default="all", choices=["all", "stop-background"])
    args = parser.parse_args()
    if args.command == "stop-background":
        stop_background()
        return
    started = time.monotonic()
    try:
        use_cluster_tools()
        kubeconfig = cluster_up()
        install_prerequisites()
        install_operator()
        start_background(kubeconfig)
        apply_platform()
    except subprocess.CalledProcessError as exc:
        sys.exit(
            f"\nmake demo failed: `{' '.join(map(str, exc.cmd))}` exited with {exc.returncode}. "
            f"Logs: {STATE / 'operator.log'}, {STATE / 'fake-knative.log'}, {STATE / 'logs'}"
        )
    verify()
    goodbye(kubeconfig)
    print(f"(make demo took {time.monotonic() - started:.0f}s after the build)")


if __name__ == "__main__":
    main()
