"""Every pod the platform renders meets Pod Security "restricted" (issue 8), walked over every example and every
golden platform. The checker here is our own small reading of the profile, written apart from render/policy.py so
that a bug in the policy cannot hide a privileged pod: the two must agree, and either can fail alone.

The one exception is the analytics node exporter, which may use the host's network, processes, paths and ports
(docs/security.md); everything else about it is checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.builders import example_files

from seldon_meta_operator.api.v1alpha1 import parse_seldon_operator
from seldon_meta_operator.render.output import load_yaml_documents
from seldon_meta_operator.render.pipeline import render_platform

GOLDEN = Path(__file__).parent.parent / "golden" / "cases"
NODE_EXPORTER = ("DaemonSet", "seldon-core-analytics-prometheus-node-exporter")
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected"}
ALLOWED_VOLUMES.add("secret")


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any] | None:
    kind = manifest["kind"]
    if kind == "Pod":
        return manifest["spec"]  # type: ignore[no-any-return]
    if kind == "CronJob":
        return manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return manifest["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return None


def restricted_problems(manifest: dict[str, Any]) -> Iterator[str]:
    """What keeps one workload's pod from Pod Security "restricted"."""
    pod = pod_spec(manifest)
    if pod is None:
        return
    host_ok = (manifest["kind"], manifest["metadata"]["name"]) == NODE_EXPORTER
    pod_ctx = pod.get("securityContext", {})
    if not host_ok:
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key):
                yield key
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES and not (host_ok and kinds == {"hostPath"}):
            yield f"volume {volume['name']}: {kinds}"
    if pod_ctx.get("runAsUser") == 0:
        yield "pod runs as root"
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        name = container["name"]
        ctx = container.get("securityContext", {})
        if ctx.get("privileged"):
            yield f"{name}: privileged"
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"{name}: allowPrivilegeEscalation is not false"
        caps = ctx.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            yield f"{name}: does not drop ALL capabilities"
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            yield f"{name}: adds capabilities"
        if ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is not True:
            yield f"{name}: runAsNonRoot is not true"
        if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
            yield f"{name}: runs as root"
        seccomp = ctx.get("seccompProfile", pod_ctx.get("seccompProfile", {}))
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            yield f"{name}: seccomp profile is not RuntimeDefault or Localhost"
        if not host_ok and any(p.get("hostPort") for p in container.get("ports", [])):
            yield f"{name}: hostPort"
        limits = container.get("resources", {}).get("limits", {})
        if "cpu" not in limits or "memory" not in limits:
            yield f"{name}: no CPU and memory limits"


def platforms() -> list[tuple[str, dict[str, Any], frozenset[str]]]:
    out = []
    for path in example_files():
        for i, doc in enumerate(load_yaml_documents(path.read_text())):
            out.append((f"{path.name}[{i}]", doc, frozenset[str]()))
    for case in sorted(p for p in GOLDEN.iterdir() if (p / "platform.yaml").exists()):
        doc = load_yaml_documents((case / "platform.yaml").read_text())[0]
        if (doc.get("spec") or {}).get("security", {}).get("allow_privileged_pods"):
            continue  # the admin opted out of "restricted" on purpose
        allowed = case / "allowed-namespaces"
        out.append((case.name, doc, frozenset(allowed.read_text().split()) if allowed.exists() else frozenset()))
    return out


PLATFORMS = platforms()


@pytest.mark.parametrize(
    ("doc", "allowed"), [p[1:] for p in PLATFORMS], ids=[f"every pod of {p[0]} is restricted" for p in PLATFORMS]
)
def test_every_rendered_pod_meets_pod_security_restricted(doc: dict[str, Any], allowed: frozenset[str]) -> None:
    manifests = render_platform(parse_seldon_operator(doc), allowed_namespaces=allowed).manifests
    assert any(pod_spec(m) for m in manifests)
    problems = [
        f"{m['kind']} {m['metadata']['name']}: {problem}" for m in manifests for problem in restricted_problems(m)
    ]
    assert problems == []


def test_the_checker_finds_what_it_looks_for() -> None:
    """The checker itself: a pod with every problem gets every finding (a checker that finds nothing proves
    nothing)."""
    bad = {
        "kind": "Deployment",
        "metadata": {"name": "bad"},
        "spec": {
            "template": {
                "spec": {
                    "hostNetwork": True,
                    "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
                    "containers": [
                        {
                            "name": "c",
                            "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}},
                            "ports": [{"containerPort": 80, "hostPort": 80}],
                        }
                    ],
                }
            }
        },
    }
    found = list(restricted_problems(bad))
    assert len(found) == 10, found
