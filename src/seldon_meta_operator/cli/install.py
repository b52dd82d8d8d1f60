"""`seldonctl install`, `seldonctl apply` and `seldonctl uninstall`: putting the operator and SeldonOperators on a
cluster, and taking them off again without losing data or leaving anything stuck.

Layer: cli. Each command gathers through ``Kube``, decides purely (``install_manifests``, ``plan_uninstall``),
then acts with progress on stderr. Every wait has a timeout and ends with a message naming what is left.

The install manifest is ``generated_files()["seldonoperator_install.yaml"]``, the same text as
``deploy/seldonoperator_install.yaml``, so an installed seldonctl needs no file.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seldon_meta_operator.api.v1alpha1 import API_VERSION, KIND, SeldonOperator
from seldon_meta_operator.cli.cluster import (
    CLI_FIELD_MANAGER,
    OPERATOR_NAMESPACE,
    AllowedNamespacesOpt,
    ContextOpt,
    KubeconfigOpt,
    OperatorNamespaceOpt,
    TimeoutOpt,
    crd_established,
    key_ref,
    manifest_of,
    poll,
    ref,
    run,
    seldon_operator_crd,
    stderr_console,
    utcnow,
)
from seldon_meta_operator.cli.common import fail, load_seldon_operators, warn
from seldon_meta_operator.cli.generated import generated_files
from seldon_meta_operator.cli.status import State, Verdict, evaluate_state, exit_code, platform_view
from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.components.names import SELDON_DEPLOYMENT_CRD
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.reconcile import health
from seldon_meta_operator.render.install import render_everything
from seldon_meta_operator.render.output import load_yaml_documents
from seldon_meta_operator.render.ownership import (
    CRD_NAME,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    RETAIN_ANNOTATION,
    object_key,
    parse_key,
)
from seldon_meta_operator.render.pipeline import render_platform, sort_key

if TYPE_CHECKING:
    from rich.console import RenderableType

    from seldon_meta_operator.kube import Kube  # imported where a command runs: --help and render stay light

INSTALL_FILE = "seldonoperator_install.yaml"
CRD_API = "apiextensions.k8s.io/v1"

# --- The install manifest (pure) ----------------------------------------------------------------------


def relocate(manifest: Mapping[str, Any], namespace: str) -> Manifest:
    """``manifest`` moved from seldon-system to ``namespace``: every ``namespace:`` field that names seldon-system
    (metadata, RBAC subjects, webhook service references) and a Namespace object of that name, as kustomize's
    namespace transformer does."""
    out = copy.deepcopy(dict(manifest))
    if namespace == OPERATOR_NAMESPACE:
        return out

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "namespace" and value == OPERATOR_NAMESPACE:
                    node[key] = namespace
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(out)
    if out.get("kind") == "Namespace" and out["metadata"].get("name") == OPERATOR_NAMESPACE:
        out["metadata"]["name"] = namespace
    return out


def install_manifests(namespace: str = OPERATOR_NAMESPACE, text: str | None = None) -> list[Manifest]:
    """The objects of the install manifest, for ``namespace``, in apply order (CRDs first)."""
    if text is None:
        text = generated_files().get(INSTALL_FILE)
    if text is None:
        fail(
            f"this seldonctl carries no {INSTALL_FILE}",
            "it is generated from code: run `seldonctl generate deploy`, or reinstall seldonctl",
        )
    docs = [d for d in load_yaml_documents(text) if isinstance(d, dict) and d.get("kind")]
    return sorted((relocate(d, namespace) for d in docs), key=sort_key)


def _action(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> str:
    if before is None:
        return "created"
    # The spec's generation when the object has one: the API server writes some objects' status by itself (a
    # ValidatingAdmissionPolicy's type checking), which moves resourceVersion without anything being configured.
    field = "generation" if "generation" in after.get("metadata", {}) else "resourceVersion"
    same = before.get("metadata", {}).get(field) == after.get("metadata", {}).get(field)
    return "unchanged" if same else "configured"


# --- install ------------------------------------------------------------------------------------------


async def _ensure_namespace(kube: Kube, namespace: str) -> bool:
    """Create the namespace if it is missing (the documented `kubectl create namespace seldon-system || true`)."""
    if await kube.get("v1", "Namespace", namespace) is not None:
        return False
    return await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}) is not None


async def apply_install(kube: Kube, manifests: Sequence[Manifest], namespace: str, wait: bool, timeout: float) -> None:
    console = stderr_console()
    if await _ensure_namespace(kube, namespace):
        console.print(f"Namespace {namespace} created")
    for manifest in manifests:
        meta = manifest["metadata"]
        before = await kube.get(manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace"))
        after = await kube.apply(manifest, force=True)
        console.print(f"{ref(manifest)} {_action(before, after)}")
        if manifest["kind"] == "CustomResourceDefinition":
            # Objects of this kind may follow in the manifest: they need the CRD served first.
            await _wait_crd(kube, meta["name"], min(timeout, 60))
    if not wait:
        return
    with console.status(f"Waiting for CustomResourceDefinition {CRD_NAME} to be established"):
        await _wait_crd(kube, CRD_NAME, timeout)
    console.print(f"CustomResourceDefinition {CRD_NAME} established")
    deployments = [m for m in manifests if m["kind"] == "Deployment"]
    for deployment in deployments:
        name, ns = deployment["metadata"]["name"], deployment["metadata"].get("namespace", namespace)
        with console.status(f"Waiting for Deployment {ns}/{name} to be available"):
            verdict = await _wait_deployment(kube, name, ns, timeout)
        if not verdict.ready:
            fail(
                f"Deployment {ns}/{name} is not available after {timeout:.0f}s: {verdict.message}",
                f"see `kubectl -n {ns} describe deployment {name}` and its pods' events",
            )
        console.print(f"Deployment {ns}/{name} available")


async def _wait_crd(kube: Kube, name: str, timeout: float) -> None:
    async def probe() -> dict[str, Any] | None:
        crd = await kube.get(CRD_API, "CustomResourceDefinition", name)
        return crd if crd_established(crd) else None

    if await poll(probe, timeout, 0.5) is None:
        fail(
            f"CustomResourceDefinition {name} is not established after {timeout:.0f}s",
            f"see `kubectl get crd {name} -o yaml` (status.conditions)",
        )


async def _wait_deployment(kube: Kube, name: str, namespace: str, timeout: float) -> health.Verdict:
    last = health.Verdict(False, message=f"Deployment {namespace}/{name}: missing")

    async def probe() -> health.Verdict | None:
        nonlocal last
        found = await kube.get("apps/v1", "Deployment", name, namespace)
        last = health.evaluate(found, "Deployment", name)
        return last if last.ready or last.failed else None

    await poll(probe, timeout)
    return last


def install(
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the CRD and the operator's Deployment.")] = False,
    timeout: TimeoutOpt = 300,
    namespace: OperatorNamespaceOpt = OPERATOR_NAMESPACE,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Install (or upgrade) the operator: its CRD, RBAC and Deployment, by server-side apply."""
    manifests = install_manifests(namespace)
    run(
        kubeconfig,
        context,
        lambda kube: apply_install(kube, manifests, namespace, wait, timeout),
        field_manager=CLI_FIELD_MANAGER,
    )


# --- apply ---------------------------------------------------------------------------------------------


def validate(resources: Iterable[SeldonOperator], file: str, allowed_namespaces: Iterable[str] = ()) -> None:
    """The checks of `seldonctl render`: every value error, and the warnings (unknown values keys).
    ``allowed_namespaces``: the operator's ``--allowed-namespace`` list (render/policy.py)."""
    for resource in resources:
        try:
            result = render_platform(resource, allowed_namespaces=frozenset(allowed_namespaces))
        except SpecError as exc:
            fail(f"{file}: {exc}", "fix the field named above; see docs/api.md")
        for message in result.warnings:
            warn(f"{file}: {message}")


async def apply_platforms(kube: Kube, docs: Sequence[Manifest], wait: bool, timeout: float) -> int:
    console = stderr_console()
    if not crd_established(await seldon_operator_crd(kube)):
        fail(f"the {KIND} CRD is not installed in this cluster", "install the operator first: seldonctl install --wait")
    applied: list[tuple[str, str]] = []
    for doc in docs:
        meta = doc["metadata"]
        before = await kube.get(API_VERSION, KIND, meta["name"], meta["namespace"])
        after = await kube.apply(doc, force=True)
        console.print(f"{KIND} {meta['namespace']}/{meta['name']} {_action(before, after)}")
        applied.append((meta["namespace"], meta["name"]))
    if not wait:
        return 0
    return await wait_ready(kube, applied, timeout)


async def wait_ready(kube: Kube, platforms: Sequence[tuple[str, str]], timeout: float) -> int:
    """Poll the SeldonOperators, showing their components live, until all are Ready, one is Stalled (a spec error
    or a duplicate: waiting cannot help), or ``timeout``. Returns the exit code of `seldonctl status`."""
    from rich.console import Group  # noqa: PLC0415  (rich: only where output is drawn)
    from rich.live import Live  # noqa: PLC0415

    console = stderr_console()
    bodies: dict[tuple[str, str], dict[str, Any]] = {}

    def view() -> RenderableType:
        now = utcnow()
        return Group(*(platform_view(b, now) for b in bodies.values())) if bodies else "Waiting for status"

    verdicts: list[Verdict] = []
    with Live(view(), console=console, refresh_per_second=4, transient=False) as live:

        async def probe() -> bool:
            nonlocal verdicts
            for ns, name in platforms:
                found = await kube.get(API_VERSION, KIND, name, ns)
                if found is None:
                    fail(f"{KIND} {ns}/{name} was deleted while waiting for it")
                bodies[(ns, name)] = found
            verdicts = [evaluate_state(b) for b in bodies.values()]
            live.update(view())
            stalled = any(
                v.state is State.FAILED and _stalled(b) for v, b in zip(verdicts, bodies.values(), strict=True)
            )
            return stalled or all(v.state is State.READY for v in verdicts)

        done = await poll(probe, timeout)
    if not console.is_terminal:
        console.print()  # rich ends a live display with a newline only on a terminal
    code = exit_code(verdicts)
    not_ready = [
        f"{ns}/{name} ({v.reason})"
        for (ns, name), v in zip(bodies, verdicts, strict=True)
        if v.state is not State.READY
    ]
    if code == int(State.FAILED):
        failed = [v.message for v in verdicts if v.state is State.FAILED]
        fail(f"failed: {'; '.join(failed)}", "fix what the message names, then apply again", code=code)
    if not done:
        hint = "is the operator running? `seldonctl doctor`; then `seldonctl status`"
        fail(f"not Ready after {timeout:.0f}s: {', '.join(not_ready)}", hint, code=max(code, 1))
    console.print("Ready")
    return code


def _stalled(body: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Stalled" and c.get("status") == "True"
        for c in (body.get("status") or {}).get("conditions") or []
    )


def apply(
    file: Annotated[str, typer.Option("-f", "--filename", help="SeldonOperator manifest (- for stdin).")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until Ready, showing each component.")] = False,
    timeout: TimeoutOpt = 600,
    namespace: Annotated[
        str | None, typer.Option("-n", "--namespace", help="Namespace for documents that name none.")
    ] = None,
    allowed_namespaces: AllowedNamespacesOpt = [],  # noqa: B006  (typer reads the default; never mutated)
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Apply SeldonOperators, validated as `seldonctl render` validates them (server-side apply)."""
    resources = load_seldon_operators(file)
    validate(resources, file, allowed_namespaces)
    docs = [manifest_of(r, namespace) for r in resources]
    code = run(
        kubeconfig, context, lambda kube: apply_platforms(kube, docs, wait, timeout), field_manager=CLI_FIELD_MANAGER
    )
    raise typer.Exit(code)


# --- uninstall (the plan is pure) --------------------------------------------------------------------


def data_pvc_prefixes() -> tuple[str, ...]:
    """Name prefixes of the PersistentVolumeClaims of the trial stores' StatefulSets (``<template>-<set>-<n>``),
    from a full render: the volume claim templates of StatefulSets whose claims outlive them."""
    prefixes = set()
    for manifest in render_everything():
        if manifest["kind"] != "StatefulSet":
            continue
        policy = manifest["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
        if policy.get("whenDeleted") != "Retain":
            continue
        for template in manifest["spec"].get("volumeClaimTemplates") or []:
            prefixes.add(f"{template['metadata']['name']}-{manifest['metadata']['name']}-")
    return tuple(sorted(prefixes))


@dataclass(frozen=True)
class Platform:
    """A SeldonOperator found in the cluster, and what it owns (its status.inventory)."""

    namespace: str
    name: str
    inventory: tuple[str, ...] = ()
    uid: str = ""

    @property
    def key(self) -> str:
        return f"{API_VERSION}/{KIND}/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class UninstallPlan:
    platforms: tuple[Platform, ...]  # deleted first; then cleaned up and waited for
    owned: tuple[str, ...]  # what the platforms own: must be gone before the operator goes
    purge: tuple[str, ...]  # data deleted only with --purge-data
    operator: tuple[str, ...]  # the install manifest's objects in deletion order, without our CRD
    crd: str | None  # our SeldonOperator CRD: last, once no SeldonOperator is left
    kept: tuple[tuple[str, str], ...]  # (key, why)

    @property
    def empty(self) -> bool:
        return not (self.platforms or self.purge or self.operator or self.crd)


def _deletion_order(keys: Iterable[str]) -> list[str]:
    """Reverse apply order: webhooks, then workloads (the operator stops first), then services, RBAC, accounts."""

    def rank(key: str) -> tuple[int, str, str, str]:
        api_version, kind, ns, name = parse_key(key)
        return sort_key({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}})

    return sorted(keys, key=rank, reverse=True)


def plan_uninstall(
    platforms: Sequence[Platform],
    install: Sequence[str],
    data: Sequence[str],
    seldondeployment_crd: bool,
    purge_data: bool,
) -> UninstallPlan:
    """What uninstall deletes, in which order, and what it keeps. ``install``: keys of the install manifest's
    objects present in the cluster; ``data``: keys of the trial stores' PVCs and the Secrets annotated
    ``operator.seldon.io/retain``. Pure."""
    kept: list[tuple[str, str]] = []
    owned = sorted(
        {
            key
            for p in platforms
            for key in p.inventory
            if parse_key(key)[1] != "CustomResourceDefinition"  # never pruned, never waited for
        }
    )
    our_crd = f"{CRD_API}/CustomResourceDefinition//{CRD_NAME}"
    operator: list[str] = []
    crds: list[str] = []
    for key in install:
        kind, name = parse_key(key)[1], parse_key(key)[3]
        if kind == "CustomResourceDefinition":
            if name == SELDON_DEPLOYMENT_CRD:
                continue  # reported below with the reason
            if key != our_crd:
                crds.append(key)
        elif kind == "Namespace" and not purge_data:
            kept.append((key, "it holds the retained data; --purge-data deletes it"))
        else:
            operator.append(key)
    if seldondeployment_crd:
        kept.append(
            (
                f"{CRD_API}/CustomResourceDefinition//{SELDON_DEPLOYMENT_CRD}",
                f"deleting it deletes every model users deployed; if you mean that: kubectl delete crd "
                f"{SELDON_DEPLOYMENT_CRD}",
            )
        )
    purge: tuple[str, ...] = ()
    if purge_data:
        purge = tuple(sorted(data))
    else:
        kept += [(key, "data; --purge-data deletes it") for key in sorted(data)]
    return UninstallPlan(
        platforms=tuple(sorted(platforms, key=lambda p: (p.namespace, p.name))),
        owned=tuple(owned),
        purge=purge,
        operator=(*_deletion_order(operator), *sorted(crds)),
        crd=our_crd if our_crd in install else None,
        kept=tuple(kept),
    )


async def gather_uninstall(kube: Kube, namespace: str) -> tuple[list[Platform], list[str], list[str], bool]:
    """(platforms, install-manifest objects present, data objects, whether the SeldonDeployment CRD exists)."""
    from seldon_meta_operator.kube import UnknownKindError  # noqa: PLC0415

    platforms: list[Platform] = []
    if crd_established(await seldon_operator_crd(kube)):
        for body in await kube.list(API_VERSION, KIND):
            meta = body["metadata"]
            inventory = (body.get("status") or {}).get("inventory") or {}
            keys = tuple(sorted({k for v in inventory.values() for k in v}))
            platforms.append(Platform(meta.get("namespace", ""), meta["name"], keys, meta.get("uid", "")))
    present: list[str] = []
    for manifest in install_manifests(namespace):
        meta = manifest["metadata"]
        try:
            found = await kube.get(manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace"))
        except UnknownKindError:
            continue
        if found is not None:
            present.append(object_key(manifest))
    our_crd = await seldon_operator_crd(kube)
    if our_crd is not None and object_key(our_crd) not in present:
        present.append(object_key(our_crd))
    prefixes = data_pvc_prefixes()
    data = [
        object_key(pvc)
        for pvc in await kube.list("v1", "PersistentVolumeClaim")
        if pvc["metadata"]["name"].startswith(prefixes)
    ]
    data += [
        object_key(secret)
        for secret in await kube.list("v1", "Secret", None, {MANAGED_BY_LABEL: MANAGED_BY})
        if (secret["metadata"].get("annotations") or {}).get(RETAIN_ANNOTATION) == "true"
    ]
    crd = await kube.get(CRD_API, "CustomResourceDefinition", SELDON_DEPLOYMENT_CRD)
    return platforms, present, data, crd is not None


async def _exists(kube: Kube, key: str) -> bool:
    from seldon_meta_operator.kube import UnknownKindError  # noqa: PLC0415

    api_version, kind, ns, name = parse_key(key)
    try:
        return await kube.get(api_version, kind, name, ns or None) is not None
    except UnknownKindError:
        return False  # its CRD is gone, and the object with it


async def _delete(kube: Kube, key: str) -> bool:
    from seldon_meta_operator.kube import UnknownKindError  # noqa: PLC0415

    api_version, kind, ns, name = parse_key(key)
    try:
        return await kube.delete(api_version, kind, name, ns or None)
    except UnknownKindError:
        return False


async def _wait_gone(kube: Kube, keys: Iterable[str], timeout: float, what: str, hint: str) -> None:
    left = list(keys)

    async def probe() -> bool:
        nonlocal left
        left = [k for k in left if await _exists(kube, k)]
        return not left

    if left and not await poll(probe, timeout):
        shown = ", ".join(key_ref(k) for k in left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
        fail(f"timed out after {timeout:.0f}s waiting for {what} to be removed: {shown} still there", hint)


async def act_uninstall(kube: Kube, plan: UninstallPlan, timeout: float) -> None:
    # reconcile/ brings kube/ (lightkube), cryptography and prometheus_client: only uninstall needs it.
    from seldon_meta_operator.reconcile.reconciler import cleanup_platform  # noqa: PLC0415

    console = stderr_console()
    # 1. SeldonOperators first, while the operator can still clean up after them; we clean up too, so that this
    #    works without a running operator (the garbage collector removes what they own in their namespace).
    for platform in plan.platforms:
        if await _delete(kube, platform.key):
            console.print(f"{KIND} {platform.namespace}/{platform.name} deleted")
    for platform in plan.platforms:
        if platform.uid:
            await cleanup_platform(kube, platform.uid, namespaces=None)
    with console.status(f"Waiting for {len(plan.platforms)} {KIND}(s) and {len(plan.owned)} owned objects to go"):
        await _wait_gone(
            kube,
            [p.key for p in plan.platforms] + list(plan.owned),
            timeout,
            "the SeldonOperators' objects",
            "is kube-controller-manager (its garbage collector) running? `kubectl get <kind> <name> -o yaml` "
            "shows finalizers or owner references that hold an object",
        )
    if plan.platforms:
        console.print(f"{len(plan.owned)} objects of {len(plan.platforms)} {KIND}(s) removed")
    # 2. Data, only when asked.
    for key in plan.purge:
        if await _delete(kube, key):
            console.print(f"{key_ref(key)} deleted")
    with console.status("Waiting for the data to go"):
        await _wait_gone(
            kube,
            plan.purge,
            timeout,
            "the data",
            "a PersistentVolumeClaim stays while a pod mounts it: `kubectl get pods -A` and delete that pod",
        )
    # 3. The operator, in reverse apply order, then our CRD once no SeldonOperator is left (nothing can hang).
    for key in plan.operator:
        if await _delete(kube, key):
            console.print(f"{key_ref(key)} deleted")
    with console.status("Waiting for the operator to go"):
        await _wait_gone(kube, plan.operator, timeout, "the operator", "see `kubectl get <kind> <name> -o yaml`")
    if plan.crd is not None:
        if await _delete(kube, plan.crd):
            console.print(f"{key_ref(plan.crd)} deleted")
        with console.status(f"Waiting for {key_ref(plan.crd)} to go"):
            await _wait_gone(
                kube, [plan.crd], timeout, "the CRD", f"see `kubectl get crd {CRD_NAME} -o yaml` (status.conditions)"
            )


def describe_plan(plan: UninstallPlan) -> list[str]:
    lines = [f"delete {KIND} {p.namespace}/{p.name} (and what it owns)" for p in plan.platforms]
    lines += [f"delete {key_ref(k)}" for k in plan.purge]
    lines += [f"delete {key_ref(k)}" for k in plan.operator]
    if plan.crd:
        lines.append(f"delete {key_ref(plan.crd)}")
    return lines


def uninstall(
    purge_data: Annotated[
        bool,
        typer.Option("--purge-data", help="Also delete the trial stores' volumes and retained Secrets (data is lost)."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be deleted and kept; change nothing.")
    ] = False,
    timeout: TimeoutOpt = 300,
    namespace: OperatorNamespaceOpt = OPERATOR_NAMESPACE,
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Remove every SeldonOperator (and wait for its clean-up), then the operator. Keeps the SeldonDeployment CRD
    and the data unless --purge-data."""
    platforms, present, data, sdep_crd = run(kubeconfig, context, lambda kube: gather_uninstall(kube, namespace))
    plan = plan_uninstall(platforms, present, data, sdep_crd, purge_data)
    console = stderr_console()
    if plan.empty:
        console.print("Nothing to uninstall.")
    else:
        for line in describe_plan(plan):
            console.print(line)
    if dry_run or plan.empty:
        _print_kept(plan)
        return
    if not yes:
        if not sys.stdin.isatty():
            fail("uninstall asks for confirmation, and the input is not a terminal", "pass --yes")
        if not typer.confirm("Uninstall?", default=False, err=True):
            fail("aborted")
    run(kubeconfig, context, lambda kube: act_uninstall(kube, plan, timeout))
    console.print("Uninstalled.")
    _print_kept(plan)


def _print_kept(plan: UninstallPlan) -> None:
    console = stderr_console()
    for key, why in plan.kept:
        console.print(f"kept {key_ref(key)}: {why}")


def register_install(app: typer.Typer) -> None:
    app.command(
        epilog="Examples:\n\n  seldonctl install --wait\n\n  seldonctl install --context prod --kubeconfig ~/.kube/prod"
    )(install)


def register_apply(app: typer.Typer) -> None:
    app.command(
        epilog="Examples:\n\n  seldonctl apply -f examples/minimal.yaml --wait\n\n"
        "  seldonctl apply -f seldon-instance.yaml --wait --timeout 900\n\n"
        "Exit codes with --wait: 0 Ready, 1 not Ready in time, 2 stalled or failed.",
    )(apply)


def register_uninstall(app: typer.Typer) -> None:
    app.command(
        epilog="Examples:\n\n  seldonctl uninstall --dry-run\n\n  seldonctl uninstall --yes\n\n"
        "  seldonctl uninstall --purge-data --yes   # also deletes the trial databases' volumes",
    )(uninstall)
