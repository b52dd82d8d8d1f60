"""Test helpers for the end-to-end suite: kubectl, applying SeldonOperators, polling until a state holds.

Tests assert final states by polling with generous timeouts; nothing sleeps for a fixed time to "let things
settle" except the idle-writes check, which is a measurement over a window.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NS = "seldon-system"
T = TypeVar("T")


def kubectl(*args: str, check: bool = True, stdin: str | None = None) -> str:
    proc = subprocess.run(["kubectl", *args], check=False, capture_output=True, text=True, input=stdin, timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def get_json(*args: str) -> Any:
    out = kubectl("get", *args, "-o", "json", check=False)
    return json.loads(out) if out.strip() else None


def poll(what: str, probe: Callable[[], T | None], timeout: float = 120.0, interval: float = 1.0) -> T:
    """Return ``probe()`` once it is truthy; fail with ``what`` and the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {str(last)[:2000]}")


def example(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((EXAMPLES / name).read_text())
    assert isinstance(doc, dict)
    return doc


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return None


class Platform:
    def __init__(self, operator: Any) -> None:
        self.operator = operator
        self.applied: list[tuple[str, str]] = []

    def apply(self, doc: dict[str, Any] | str) -> dict[str, Any]:
        if isinstance(doc, str):
            doc = example(doc)
        meta = doc["metadata"]
        kubectl("apply", "-f", "-", stdin=yaml.safe_dump(doc))
        if (meta["namespace"], meta["name"]) not in self.applied:
            self.applied.append((meta["namespace"], meta["name"]))
        return doc

    def get(self, name: str = "seldonoperator-sample", namespace: str = NS) -> dict[str, Any] | None:
        found = get_json("seldonoperator", name, "-n", namespace)
        return found if isinstance(found, dict) else None

    def wait_ready(
        self, name: str = "seldonoperator-sample", namespace: str = NS, timeout: float = 180
    ) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            obj = self.get(name, namespace)
            cond = condition(obj, "Ready")
            gen = (obj or {}).get("metadata", {}).get("generation")
            if cond and cond["status"] == "True" and (obj or {}).get("status", {}).get("observedGeneration") == gen:
                return obj
            return None

        try:
            return poll(f"SeldonOperator {namespace}/{name} Ready", ready, timeout)
        except AssertionError:
            obj = self.get(name, namespace)
            raise AssertionError(
                f"{namespace}/{name} not Ready: {json.dumps((obj or {}).get('status'), indent=1)[:3000]}\n"
                f"operator log tail:\n{self.operator.log_text()[-3000:]}"
            ) from None

    def wait_condition(
        self,
        type_: str,
        status: str,
        reason: str | None = None,
        name: str = "seldonoperator-sample",
        namespace: str = NS,
        timeout: float = 120,
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            cond = condition(self.get(name, namespace), type_)
            if cond and cond["status"] == status and (reason is None or cond["reason"] == reason):
                return cond
            return None

        return poll(f"{type_}={status} ({reason}) on {namespace}/{name}", check, timeout)

    def delete(self, name: str = "seldonoperator-sample", namespace: str = NS, timeout: float = 60) -> None:
        kubectl("delete", "seldonoperator", name, "-n", namespace, "--ignore-not-found", "--wait=false")
        poll(f"SeldonOperator {namespace}/{name} gone", lambda: self.get(name, namespace) is None, timeout)
        if (namespace, name) in self.applied:
            self.applied.remove((namespace, name))

    def delete_all(self) -> None:
        for namespace, name in list(reversed(self.applied)):
            self.delete(name, namespace)
        # The platform's own objects go with it (owner references); wait for the workloads to be gone so the
        # next test starts clean.
        poll("platform workloads removed", lambda: not platform_workloads(), 90)


def platform_workloads() -> list[str]:
    out = kubectl(
        "get",
        "deployments,statefulsets,daemonsets",
        "-n",
        NS,
        "-l",
        "app.kubernetes.io/managed-by=seldon-meta-operator",
        "-o",
        "name",
        check=False,
    )
    return out.split()


def pod_names(namespace: str = NS) -> list[str]:
    pods = get_json("pods", "-n", namespace) or {"items": []}
    return sorted(p["metadata"]["name"] for p in pods["items"])


def running_pods(namespace: str = NS) -> dict[str, str]:
    """name -> READY column (e.g. '2/2') for pods that are Running with all containers ready."""
    pods = get_json("pods", "-n", namespace) or {"items": []}
    out: dict[str, str] = {}
    for pod in pods["items"]:
        if pod["metadata"].get("deletionTimestamp"):
            continue  # Terminating (kubectl shows it so), e.g. the previous test's platform going away
        statuses = pod.get("status", {}).get("containerStatuses") or []
        ready = sum(1 for s in statuses if s.get("ready"))
        if pod.get("status", {}).get("phase") == "Running" and statuses and ready == len(statuses):
            out[pod["metadata"]["name"]] = f"{ready}/{len(statuses)}"
    return out
