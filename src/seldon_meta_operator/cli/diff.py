"""`seldonctl diff -f FILE`: what applying a SeldonOperator would change in the cluster, like `kubectl diff`.

Layer: cli. Gather: the live SeldonOperator, the served CRDs and the webhook CA, as the reconciler gathers them;
render with the same owner and CRD uid stamping; for each object a server-side *dry-run* apply with the operator's
field manager, next to the live object. Decide purely: ``classify`` (created / changed / unchanged) and
``plan_prune`` (objects of the live status.inventory the new render lacks; CRDs are never pruned, they are kept).

Exit codes: 0 no changes, 1 changes, 2 an object would be rejected or the cluster could not be read.
"""

from __future__ import annotations

import base64
import copy
import difflib
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from seldon_meta_operator.api.v1alpha1 import API_VERSION, KIND, SeldonOperator
from seldon_meta_operator.cli.cluster import (
    CLI_FIELD_MANAGER,
    AllowedNamespacesOpt,
    ContextOpt,
    KubeconfigOpt,
    OutputOpt,
    crd_established,
    dump,
    key_ref,
    manifest_of,
    run,
    seldon_operator_crd,
    stdout_console,
    utcnow,
)
from seldon_meta_operator.cli.common import load_seldon_operators
from seldon_meta_operator.cli.install import validate
from seldon_meta_operator.components.names import CORE_WEBHOOK_SECRET
from seldon_meta_operator.reconcile import changes as drift
from seldon_meta_operator.reconcile.facts import gather_facts
from seldon_meta_operator.render.ownership import object_key, parse_key
from seldon_meta_operator.render.pipeline import RenderResult, render_platform, sort_key

if TYPE_CHECKING:
    from rich.text import Text

    from seldon_meta_operator.kube import Kube  # imported where a command runs: --help and render stay light

#: The operator's field manager (kube.FIELD_MANAGER; a test keeps them equal): what it would apply is compared as it.
FIELD_MANAGER = "seldon-meta-operator"

#: Fields the server sets or that say nothing about the desired state; left out of the comparison.
SERVER_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")


class Action(StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    PRUNED = "pruned"  # in the live inventory, no longer rendered: the operator deletes it
    KEPT = "kept"  # no longer rendered, but never deleted (CRDs)
    SKIPPED = "skipped"  # its component waits for a prerequisite: the operator applies nothing of it
    REJECTED = "rejected"  # the dry-run apply failed


CHANGES = frozenset({Action.CREATED, Action.CHANGED, Action.PRUNED})


@dataclass(frozen=True)
class Change:
    key: str  # apiVersion/Kind/namespace/name
    action: Action
    diff: str = ""  # unified diff of the YAML (changed)
    note: str = ""


# --- Pure decisions ------------------------------------------------------------------------------------


def strip(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without status and server-set metadata, for comparison."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for name in SERVER_METADATA:
            meta.pop(name, None)
    return out


def to_yaml(obj: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(obj), sort_keys=True, default_flow_style=False, width=120)


def classify(key: str, live: Mapping[str, Any] | None, applied: Mapping[str, Any]) -> Change:
    """Created, changed (with a unified diff) or unchanged: the live object against the dry-run result."""
    after = to_yaml(strip(applied))
    if live is None:
        return Change(key, Action.CREATED)
    before = to_yaml(strip(live))
    if before == after:
        return Change(key, Action.UNCHANGED)
    name = key_ref(key)
    text = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), f"live {name}", f"applied {name}"
        )
    )
    return Change(key, Action.CHANGED, diff=text)


def plan_prune(old: Mapping[str, Sequence[str]], new: Mapping[str, Sequence[str]]) -> list[Change]:
    """Objects of the old inventory the new one lacks: pruned, except CRDs, which are kept (deleting the
    SeldonDeployment CRD would delete every model users deployed)."""
    keep = {k for keys in new.values() for k in keys}
    out: list[Change] = []
    for key in sorted({k for keys in old.values() for k in keys} - keep):
        if parse_key(key)[1] == "CustomResourceDefinition":
            out.append(Change(key, Action.KEPT, note="no longer rendered; CRDs are never pruned"))
        else:
            out.append(Change(key, Action.PRUNED))
    return out


def diff_exit_code(found: Iterable[Change]) -> int:
    actions = {c.action for c in found}
    if Action.REJECTED in actions:
        return 2
    return 1 if actions & CHANGES else 0


def counts(found: Iterable[Change]) -> dict[str, int]:
    out = {a.value: 0 for a in Action}
    for change in found:
        out[change.action.value] += 1
    return {k: v for k, v in out.items() if v}


# --- Gather and dry-run --------------------------------------------------------------------------------


async def _dry_run(kube: Kube, manifest: Mapping[str, Any], manager: str) -> dict[str, Any]:
    kube.field_manager = manager
    try:
        return await kube.apply(manifest, force=True, dry_run=True)
    finally:
        kube.field_manager = FIELD_MANAGER


async def _compare(kube: Kube, manifest: Mapping[str, Any], manager: str = FIELD_MANAGER) -> Change:
    from seldon_meta_operator.kube import KubeError, UnknownKindError  # noqa: PLC0415

    key = object_key(dict(manifest))
    meta = manifest["metadata"]
    try:
        live = await kube.get(manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace"))
    except UnknownKindError as exc:
        return Change(key, Action.SKIPPED, note=str(exc))
    desired: Mapping[str, Any] = manifest
    if manager == FIELD_MANAGER:
        desired = drift.with_hash(manifest)  # the operator applies with its content hash
        if drift.foreign_replicas_owner(live, FIELD_MANAGER):
            desired = drift.without_replicas(desired)  # as the operator does: replicas are someone else's
    try:
        applied = await _dry_run(kube, desired, manager)
    except KubeError as exc:
        if live is None and exc.code == 404:  # its namespace is created by the same apply
            return Change(key, Action.CREATED, note="its namespace does not exist yet")
        causes = f" ({'; '.join(exc.causes)})" if exc.causes else ""
        return Change(key, Action.REJECTED, note=f"{exc}{causes}")
    return classify(key, live, applied)


async def _webhook_ca(kube: Kube, result: RenderResult, namespace: str) -> str | None:
    """The CA bundle the operator renders into Seldon Core's webhook (see reconcile_platform, step 4)."""
    # reconcile.secrets loads cryptography (~16 MiB, ~120 ms): only diff needs it, and only here.
    from seldon_meta_operator.reconcile.secrets import cert_needs_renewal  # noqa: PLC0415

    core = result.values.get("core", {})
    if core.get("certManager", {}).get("enabled") or core.get("managerCreateResources"):
        return None
    secret = await kube.get("v1", "Secret", CORE_WEBHOOK_SECRET, namespace)
    if secret is None or cert_needs_renewal(secret, namespace, utcnow()) is not None:
        return None  # the operator would issue a new certificate: the caBundle changes either way
    return base64.b64decode(secret["data"]["ca.crt"]).decode()


async def compute_changes(
    kube: Kube, resource: SeldonOperator, doc: Mapping[str, Any], allowed_namespaces: frozenset[str] = frozenset()
) -> list[Change]:
    from seldon_meta_operator.kube import UnknownKindError  # noqa: PLC0415
    from seldon_meta_operator.reconcile.reconciler import missing_hint  # noqa: PLC0415

    name, namespace = doc["metadata"]["name"], doc["metadata"]["namespace"]
    found: list[Change] = []
    crd = await seldon_operator_crd(kube)
    live: dict[str, Any] | None = None
    if crd_established(crd):
        live = await kube.get(API_VERSION, KIND, name, namespace)
        found.append(await _compare(kube, doc, CLI_FIELD_MANAGER))
    else:
        key = f"{API_VERSION}/{KIND}/{namespace}/{name}"
        found.append(Change(key, Action.REJECTED, note=f"the {KIND} CRD is not installed: seldonctl install --wait"))
    resource = resource.model_copy(update={"metadata": resource.metadata.model_copy(update={"namespace": namespace})})
    facts = await gather_facts(kube, namespace, resource.spec)  # what the operator's render would see
    owner_uid = live["metadata"]["uid"] if live else None
    crd_uid = crd["metadata"]["uid"] if crd else None
    result = render_platform(
        resource, facts, owner_uid=owner_uid, crd_uid=crd_uid, allowed_namespaces=allowed_namespaces
    )
    ca_bundle = await _webhook_ca(kube, result, namespace)
    if ca_bundle is not None:
        result = render_platform(
            resource,
            facts,
            owner_uid=owner_uid,
            crd_uid=crd_uid,
            allowed_namespaces=allowed_namespaces,
            webhook_ca_bundle=ca_bundle,
        )
    old_inventory: dict[str, list[str]] = dict(((live or {}).get("status") or {}).get("inventory") or {})
    new_inventory: dict[str, list[str]] = {}
    for comp in result.components:
        if not comp.enabled:
            continue
        missing = [p for p in comp.prerequisites if not facts.has_kind(p.group, p.kind)]
        if missing:
            hint = missing_hint(missing)
            found += [Change(object_key(m), Action.SKIPPED, note=hint) for m in comp.manifests]
            new_inventory[comp.name] = old_inventory.get(comp.name, [])  # the operator keeps them, as they are
            continue
        keys = [object_key(m) for m in comp.manifests]
        for manifest in comp.manifests:
            found.append(await _compare(kube, manifest))
        for secret in comp.secrets:
            secret_key = f"v1/Secret/{secret.namespace}/{secret.name}"
            if not (secret.data and resource.spec.retain_data):
                keys.append(secret_key)
            if await kube.get("v1", "Secret", secret.name, secret.namespace) is None:
                found.append(Change(secret_key, Action.CREATED, note="generated values"))
        new_inventory[comp.name] = keys
    for change in sorted(plan_prune(old_inventory, new_inventory), key=lambda c: _key_rank(c.key)):
        api_version, kind, ns, obj_name = parse_key(change.key)
        try:
            still_there = await kube.get(api_version, kind, obj_name, ns or None) is not None
        except UnknownKindError:
            still_there = False
        if still_there:
            found.append(change)
    return found


def _key_rank(key: str) -> tuple[int, str, str, str]:
    api_version, kind, ns, name = parse_key(key)
    return sort_key({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}})


# --- Output --------------------------------------------------------------------------------------------

_MARK = {
    Action.CREATED: ("+", "green"),
    Action.CHANGED: ("~", "yellow"),
    Action.UNCHANGED: ("=", "dim"),
    Action.PRUNED: ("-", "red"),
    Action.KEPT: ("!", "cyan"),
    Action.SKIPPED: ("?", "yellow"),
    Action.REJECTED: ("x", "bold red"),
}


def _diff_text(diff: str) -> Text:
    from rich.text import Text  # noqa: PLC0415  (rich: only where output is drawn)

    text = Text()
    for line in diff.splitlines(keepends=True):
        style = ""
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        text.append(line, style=style)
    return text


def print_changes(title: str, found: Sequence[Change], show_unchanged: bool) -> None:
    from rich.text import Text  # noqa: PLC0415

    console = stdout_console()
    summary = ", ".join(f"{n} {action}" for action, n in counts(found).items()) or "nothing rendered"
    console.print(Text.assemble((title, "bold"), f": {summary}"))
    for change in found:
        if change.action is Action.UNCHANGED and not show_unchanged:
            continue
        mark, style = _MARK[change.action]
        line = Text.assemble((f"{mark} {change.action.value:<9} ", style), key_ref(change.key))
        if change.note:
            line.append(f" ({change.note})", style="dim")
        console.print(line)
        if change.diff:
            console.print(_diff_text(change.diff), end="")


def diff(
    file: Annotated[str, typer.Option("-f", "--filename", help="SeldonOperator manifest (- for stdin).")],
    show_unchanged: Annotated[bool, typer.Option("--show-unchanged", help="List unchanged objects too.")] = False,
    namespace: Annotated[
        str | None, typer.Option("-n", "--namespace", help="Namespace for documents that name none.")
    ] = None,
    output: OutputOpt = None,
    allowed_namespaces: AllowedNamespacesOpt = [],  # noqa: B006  (typer reads the default; never mutated)
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Show what applying a SeldonOperator would change: created, changed (a diff), pruned objects. Exit code: 0
    no changes, 1 changes, 2 an error."""
    resources = load_seldon_operators(file)
    validate(resources, file, allowed_namespaces)
    docs = [manifest_of(r, namespace) for r in resources]
    allowed = frozenset(allowed_namespaces)

    async def gather(kube: Kube) -> list[list[Change]]:
        return [await compute_changes(kube, r, d, allowed) for r, d in zip(resources, docs, strict=True)]

    results = run(kubeconfig, context, gather, error_code=2)
    everything = [c for found in results for c in found]
    if output is not None:
        items = []
        for doc, found in zip(docs, results, strict=True):
            items.append(
                {
                    "name": doc["metadata"]["name"],
                    "namespace": doc["metadata"]["namespace"],
                    "summary": counts(found),
                    "changes": [
                        {"object": key_ref(c.key), "key": c.key, "action": c.action.value}
                        | ({"diff": c.diff} if c.diff else {})
                        | ({"note": c.note} if c.note else {})
                        for c in found
                        if show_unchanged or c.action is not Action.UNCHANGED
                    ],
                }
            )
        dump({"items": items}, output)
    else:
        for i, (doc, found) in enumerate(zip(docs, results, strict=True)):
            if i:
                sys.stdout.write("\n")
            meta = doc["metadata"]
            print_changes(f"{KIND} {meta['namespace']}/{meta['name']}", found, show_unchanged)
    raise typer.Exit(diff_exit_code(everything))


def register(app: typer.Typer) -> None:
    app.command(
        epilog="Examples:\n\n  seldonctl diff -f seldon-instance.yaml\n\n"
        "  seldonctl diff -f examples/load-balancer.yaml -o yaml\n\n"
        "  seldonctl diff -f seldon-instance.yaml && echo up to date\n\n"
        "Exit codes: 0 no changes, 1 changes, 2 an error (as kubectl diff).",
    )(diff)
