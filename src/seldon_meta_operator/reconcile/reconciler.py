"""reconcile_platform: one level-based pass from a SeldonOperator to the cluster, and its removal.

Layer: reconcile (the only place that sequences I/O). Called by the operator's worker (operator/worker.py) and
by ``seldonctl``. The body is a straight script (house style §4):

1. refuse a second platform in the namespace; 2. validate; 3. gather facts (served CRDs); 4. render (pure), with
the webhook certificate; 5. record the inventory ahead of the apply when it grows (crash-safe prune); 6. ensure
generated Secrets; 7. apply each component in dependency order, only what changed or drifted (so a steady pass
writes nothing); 8. prune what is no longer rendered; 9. evaluate health; 10. build the status and write it
once, only if it changed.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import itertools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seldon_meta_operator.api import conditions as c
from seldon_meta_operator.api.v1alpha1 import API_VERSION, KIND, SeldonOperator, parse_seldon_operator
from seldon_meta_operator.components.base import ClusterFacts, GeneratedSecret, Manifest, Prerequisite
from seldon_meta_operator.components.names import CORE_WEBHOOK_SECRET
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.kube import Kube, KubeError, UnknownKindError
from seldon_meta_operator.kube.cache import ObjectCache, Scope, scope_of
from seldon_meta_operator.kube.client import builtin_plural
from seldon_meta_operator.metrics import OBJECTS_APPLIED, OBJECTS_PRUNED, OWNED_READS
from seldon_meta_operator.reconcile import adopt, changes, health
from seldon_meta_operator.reconcile.facts import gather_facts
from seldon_meta_operator.reconcile.secrets import (
    ca_bundle_of,
    ensure_generated_secret,
    ensure_retained_secret,
    ensure_webhook_cert,
)
from seldon_meta_operator.reconcile.status import ComponentOutcome, Problem, build_status, status_changed
from seldon_meta_operator.render import adoption, policy
from seldon_meta_operator.render.install import each_variant, plural_resolver
from seldon_meta_operator.render.ownership import (
    CRD_NAME,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    PLATFORM_LABEL,
    PLATFORM_NAMESPACE_LABEL,
    PLATFORM_UID_LABEL,
    object_key,
    parse_key,
)
from seldon_meta_operator.render.pipeline import ComponentRender, RenderResult, render_platform

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime.datetime]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def timestamp(now: datetime.datetime) -> str:
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Event:
    type: str  # Normal or Warning
    reason: str
    message: str


@dataclass
class Outcome:
    status: dict[str, Any]
    written: bool = False
    ready: bool = False
    events: list[Event] = field(default_factory=list)
    writes: int = 0  # write requests to managed objects (applies, creates, deletes)


def owner_reference(body: Mapping[str, Any]) -> dict[str, Any]:
    meta = body["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": False,
    }


def _sort_key(body: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = body.get("metadata", {})
    return (meta.get("creationTimestamp", ""), meta.get("namespace", ""), meta.get("name", ""))


class RenderMemo:
    """``render_platform`` remembered for its last inputs: render is pure, and while a platform rolls out, each of
    the passes its workloads' events start renders what the pass before it rendered: tens of milliseconds each on
    a busy cluster, on the way to Ready (issue 12). Inputs are compared by value; the result is shared, never
    changed in place (``changes.with_hash`` copies what it annotates). A result holds about 600 KiB (all-features),
    so the memo is emptied once the platform is Ready (``forget``): an idle operator keeps none."""

    def __init__(self) -> None:
        self._last: tuple[tuple[Any, ...], RenderResult] | None = None

    def render(self, resource: SeldonOperator, facts: ClusterFacts, **options: Any) -> RenderResult:
        """``render_platform(resource, facts, **options)``, or what it returned last time for the same inputs."""
        meta = resource.metadata  # render reads only its name and namespace (not its resourceVersion, say)
        key = (resource.spec, meta.name, meta.namespace, facts, sorted(options.items()))
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        result = render_platform(resource, facts, **options)
        self._last = (key, result)
        return result

    def forget(self) -> None:
        self._last = None


_RENDERS = RenderMemo()


async def active_platform(kube: Kube, namespace: str) -> Mapping[str, Any] | None:
    """The SeldonOperator that owns the platform: the oldest one in the operator's namespace (the only one the
    operator serves; a SeldonOperator elsewhere can never take over, issue 8)."""
    items = [x for x in await kube.list(API_VERSION, KIND, namespace) if not x["metadata"].get("deletionTimestamp")]
    return min(items, key=_sort_key) if items else None


async def reconcile_platform(
    body: Mapping[str, Any],
    kube: Kube,
    clock: Clock = utcnow,
    *,
    allowed_namespaces: frozenset[str] = frozenset(),
    cache: ObjectCache | None = None,
) -> Outcome:
    """One pass for ``body``, a SeldonOperator in the operator's namespace. ``allowed_namespaces``: the other
    namespaces the cluster admin lets the platform write to (the operator's ``--allowed-namespace``). ``cache``:
    the operator's watch cache of owned objects, read instead of lists where it is fresh (kube/cache.py)."""
    meta = body["metadata"]
    name, namespace, uid = meta["name"], meta.get("namespace", "default"), meta.get("uid", "")
    generation = meta.get("generation")
    old_status: Mapping[str, Any] = body.get("status") or {}
    old_inventory: dict[str, list[str]] = {k: list(v) for k, v in (old_status.get("inventory") or {}).items()}
    now = timestamp(clock())
    opt_ins: list[str] = list(old_status.get("optIns") or [])  # kept until the spec is parsed
    warnings: list[str] = []

    async def finish(
        components: list[ComponentOutcome],
        inventory: Mapping[str, list[str]],
        problem: Problem | None,
        events: list[Event],
        writes: int,
    ) -> Outcome:
        status = build_status(old_status, generation, components, inventory, problem, now, opt_ins, warnings)
        outcome = Outcome(
            status=status,
            events=events,
            writes=writes,
            ready=any(x["type"] == c.READY and x["status"] == "True" for x in status["conditions"]),
        )
        if outcome.ready:
            _RENDERS.forget()
        if status_changed(old_status, status):
            await write_status(kube, name, namespace, uid, old_status, status)
            outcome.written = True
            seen = {(e.type, e.reason) for e in outcome.events}
            outcome.events.extend(e for e in _transition_events(old_status, status) if (e.type, e.reason) not in seen)
        return outcome

    # The spec is parsed first (pure) so that every read of steps 1 and 3 goes at once (issue 12); a problem is
    # still reported in the order of the steps.
    resource: SeldonOperator | None = None
    invalid: SpecError | None = None
    try:
        resource = parse_seldon_operator(
            {"apiVersion": API_VERSION, "kind": KIND, "metadata": dict(meta), "spec": body.get("spec") or {}},
            source=f"SeldonOperator {namespace}/{name}",
        )
    except SpecError as exc:
        invalid = exc
    if resource is None:
        active = await active_platform(kube, namespace)
    else:
        active, facts, crd = await asyncio.gather(
            active_platform(kube, namespace),
            gather_facts(kube, namespace, resource.spec),  # served kinds; claims a trial store may adopt
            kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD_NAME),
        )

    # 1. One platform per cluster: a second SeldonOperator is refused and touches nothing.
    if active is not None and active["metadata"].get("uid") != meta.get("uid"):
        other = f"{active['metadata'].get('namespace')}/{active['metadata']['name']}"
        problem = Problem(
            c.DUPLICATE_PLATFORM,
            f"SeldonOperator {other} already manages the Seldon platform in this cluster; delete one of them",
            stalled=True,
        )
        return await finish([], old_inventory, problem, [], 0)

    # 2. Validate.
    if resource is None:
        return await finish([], old_inventory, Problem(c.INVALID_SPEC, str(invalid), stalled=True), [], 0)

    opt_ins = policy.opt_ins(resource.spec)

    # 3. Facts (read above).
    crd_uid = crd["metadata"]["uid"] if crd else None
    owner = owner_reference(body)

    # 4 and 5. Render; the webhook certificate and the Secrets (below).
    render = functools.partial(
        _RENDERS.render,
        resource,
        facts,
        owner_uid=meta.get("uid"),
        crd_uid=crd_uid,
        allowed_namespaces=allowed_namespaces,
    )
    # The webhook CA is ensured below, beside the Secrets, and rarely changes: render with the one the watch cache
    # holds, and again only if the certificate turns out to be another (or was not held).
    scope = ("v1", "Secret", namespace)
    guessed_ca = ca_bundle_of(cache.get(scope, CORE_WEBHOOK_SECRET)) if cache is not None else None
    try:
        result = render(webhook_ca_bundle=guessed_ca)
    except SpecError as exc:
        return await finish([], old_inventory, Problem(c.INVALID_SPEC, str(exc), stalled=True), [], 0)
    warnings = list(result.warnings)
    writes = 0
    events: list[Event] = []
    core = result.values["core"]
    secret_keys: dict[str, list[str]] = {
        comp.name: [f"v1/Secret/{spec.namespace}/{spec.name}" for spec in comp.secrets if not _retained(spec, resource)]
        for comp in result.components
    }
    # A trial store that would start empty beside helm-era data it cannot mount makes nothing (Stalled, issue 11).
    unadopted = {
        comp.name: f"{comp.title}: {why}"
        for comp in result.components
        if comp.enabled and (why := adoption.volume_problem(comp.name, comp.manifests, namespace, facts))
    }
    lost: dict[str, str] = {}  # component -> why its credentials cannot be made (Stalled)

    async def webhook_cert() -> tuple[str | None, int, Event | None]:
        """(the webhook CA bundle, writes, Event). No bundle where cert-manager or the manager itself makes the
        certificate. Only the render needs it: it is ensured while the inventory and the Secrets below are
        written (issue 12)."""
        if core.get("certManager", {}).get("enabled") or core.get("managerCreateResources"):
            return None, 0, None
        ca_bundle, done = await ensure_webhook_cert(kube, namespace, name, owner, clock(), cache)
        ref = f"{namespace}/{CORE_WEBHOOK_SECRET}"
        if done == "labelled":
            _log_labelled("seldon_core", ref)
            return ca_bundle, 1, None
        if done == "issued":
            logger.info(
                "Issued the webhook certificate", extra={"component": "seldon_core", "object": f"v1/Secret/{ref}"}
            )
            return (
                ca_bundle,
                1,
                Event("Normal", "CertificateIssued", f"Issued the webhook certificate {CORE_WEBHOOK_SECRET}"),
            )
        return ca_bundle, 0, None

    async def write_ahead() -> None:
        """Write-ahead inventory (issue 9): before anything new is created, the status lists it, so an object can
        never be forgotten by a crash between its apply and the status write at the end of the pass. The webhook
        certificate's Secret is not listed: its owner reference removes it with the SeldonOperator."""
        nonlocal writes, old_status
        ahead = inventory_ahead(old_inventory, result, secret_keys)
        if ahead != old_inventory:
            await write_status(kube, name, namespace, uid, old_status, {"inventory": ahead})
            writes += 1
            old_status = {**old_status, "inventory": ahead}
            logger.debug("Recorded the inventory ahead of the apply", extra={"object": f"{namespace}/{name}"})

    async def ensure_secret(comp: ComponentRender, spec: GeneratedSecret) -> tuple[int, Event | None]:
        ref = f"{spec.namespace}/{spec.name}"
        if _retained(spec, resource):
            done = await ensure_retained_secret(kube, spec, name, comp.name, data_claim_prefixes(comp), cache)
            if done.problem:
                lost[comp.name] = done.problem
                return 0, None
            if not done.action:
                return 0, None
            if done.action == "labelled":
                _log_labelled(comp.name, ref)
                return 1, None
            logger.info(
                "Ensured a retained credential",
                extra={"component": comp.name, "object": f"v1/Secret/{ref}", "action": done.action},
            )
            event = Event("Normal", SECRET_EVENTS[done.action], f"Secret {ref}: {done.action}")
            return (2 if done.action == "generated" else 1), event
        action = await ensure_generated_secret(kube, spec, name, comp.name, owner, cache)
        if action == "labelled":
            _log_labelled(comp.name, ref)
            return 1, None
        if action:
            logger.info("Generated Secret", extra={"component": comp.name, "object": f"v1/Secret/{ref}"})
            return 1, Event("Normal", "SecretGenerated", f"Generated Secret {ref}")
        return 0, None

    async def inventory_then_secrets() -> list[tuple[int, Event | None]]:
        # Each Secret is its own (a read, and a create when missing): all at once (issue 12), after the inventory
        # that lists them.
        await write_ahead()
        return await asyncio.gather(
            *(
                ensure_secret(comp, spec)
                for comp in result.components
                if comp.name not in unadopted
                for spec in comp.secrets
            )
        )

    # 4 and 5. The webhook certificate (render needs its CA) beside the inventory and the Secrets, and meanwhile the
    # apply's reads (step 6); then render again if the CA changed.
    applier = Applier(kube, name, cache)
    reads = [
        m
        for comp in result.components
        if comp.enabled and comp.name not in unadopted
        if all(facts.has_kind(p.group, p.kind) for p in comp.prerequisites)
        for m in comp.manifests
    ]
    (ca_bundle, cert_writes, cert_event), secrets_done, _ = await asyncio.gather(
        webhook_cert(), inventory_then_secrets(), applier.prefetch(reads)
    )
    for made, event in [(cert_writes, cert_event), *secrets_done]:
        writes += made
        if event is not None:
            events.append(event)
    if ca_bundle != guessed_ca:
        result = render(webhook_ca_bundle=ca_bundle)

    # 6. Apply: components concurrently, each after the components it depends on (``apply_components``).
    outcomes, inventory, applied_events, applied = await apply_components(
        applier, result, facts, lost, old_inventory, secret_keys, unadopted
    )
    writes += applied
    events.extend(applied_events)

    # 7. Prune what is no longer rendered.
    pruned, survivors = await prune(kube, old_inventory, inventory)
    writes += pruned
    if pruned:
        events.append(Event("Normal", "Pruned", f"deleted {pruned} object(s) no longer rendered"))
    for comp_name, keys in survivors.items():
        inventory[comp_name] = sorted({*inventory.get(comp_name, []), *keys})
    prune_problem: Problem | None = None
    if lost:
        prune_problem = Problem(c.CREDENTIALS_LOST, "; ".join(lost[k] for k in sorted(lost)), stalled=True)
    elif unadopted:
        prune_problem = Problem(c.VOLUMES_NOT_ADOPTED, "; ".join(unadopted[k] for k in sorted(unadopted)), True)
    elif survivors:
        prune_problem = Problem(
            c.PRUNE_FAILED, "could not delete: " + ", ".join(k for v in survivors.values() for k in v)
        )

    # 8 and 9. Status, written once.
    return await finish(outcomes, inventory, prune_problem, events, writes)


def _log_labelled(component: str, ref: str) -> None:
    logger.info(
        "Labelled Secret",
        extra={"component": component, "object": f"v1/Secret/{ref}", "why": "the watch selects on these labels"},
    )


#: The Event reason of each thing ensure_retained_secret may do.
SECRET_EVENTS = {"generated": "SecretGenerated", "restored": "SecretRestored", "copied": "SecretCopied"}


def data_claim_prefixes(comp: ComponentRender) -> list[str]:
    """``<template>-<statefulset>-``: the names of the PersistentVolumeClaims a component's StatefulSets claim."""
    return sorted(
        f"{template['metadata']['name']}-{m['metadata']['name']}-"
        for m in comp.manifests
        if m["kind"] == "StatefulSet"
        for template in m["spec"].get("volumeClaimTemplates") or []
    )


def _retained(spec: GeneratedSecret, resource: SeldonOperator) -> bool:
    """A generated credential whose data volume is retained is retained with it (issue 9)."""
    return bool(spec.data and resource.spec.retain_data)


def inventory_ahead(
    old: Mapping[str, list[str]], result: RenderResult, secret_keys: Mapping[str, list[str]]
) -> dict[str, list[str]]:
    """The old inventory plus every key this pass may create (pure). Narrowed to the rendered set at the end of
    the pass, after prune."""
    ahead = {k: list(v) for k, v in old.items()}
    for comp in result.components:
        if not comp.enabled:
            continue
        keys = {object_key(m) for m in comp.manifests} | set(secret_keys.get(comp.name, []))
        merged = sorted(set(ahead.get(comp.name, [])) | keys)
        if merged:
            ahead[comp.name] = merged
    return ahead


def missing_hint(missing: list[Prerequisite]) -> str:
    """One sentence per install hint, naming the kinds that are not served."""
    by_hint: dict[str, list[str]] = {}
    for prereq in missing:
        by_hint.setdefault(prereq.install_hint, []).append(prereq.key)
    return "; ".join(f"{hint} ({', '.join(keys)} not served)" for hint, keys in by_hint.items())


async def apply_components(
    applier: Applier,
    result: RenderResult,
    facts: ClusterFacts,
    lost: Mapping[str, str],
    old_inventory: Mapping[str, list[str]],
    secret_keys: Mapping[str, list[str]],
    unadopted: Mapping[str, str] | None = None,
) -> tuple[list[ComponentOutcome], dict[str, list[str]], list[Event], int]:
    """Apply every enabled component; returns (outcomes in registry order, inventory, events, writes).

    Every component is applied at once (issue 12): a dependency (``depends_on``) is a matter of status, not of
    admission, which only orders objects within a component (``Applier``). What must not be applied is known
    before anything is: a component whose credentials are lost or whose volumes were not adopted applies nothing,
    nor does anything that depends on it (``DependencyNotReady``). A dependency whose apply fails (a conflict, an
    outage) is known only afterwards: its dependents were applied, and report ``DependencyNotReady`` until it is
    applied too. Every scope the render needs is read first, all at once."""
    refused = {**(unadopted or {}), **lost}
    blocked: dict[str, list[str]] = {}  # component -> the refused components it depends on, directly or not
    for comp in result.components:  # registry order: a component's dependencies come before it
        if comp.enabled and (deps := [d for d in comp.depends_on if d in refused or d in blocked]):
            blocked[comp.name] = deps

    async def one(comp: ComponentRender) -> tuple[ComponentOutcome, list[str], list[Event], int]:
        kept = old_inventory.get(comp.name, [])
        if not comp.enabled:
            return ComponentOutcome(comp.name, comp.title, False, False, c.DISABLED, "turned off"), [], [], 0
        if comp.name in lost:  # its workloads would not open their data: apply nothing of it
            outcome = ComponentOutcome(comp.name, comp.title, True, False, c.CREDENTIALS_LOST, lost[comp.name])
            return outcome, kept, [Event("Warning", c.CREDENTIALS_LOST, lost[comp.name])], 0
        if why := (unadopted or {}).get(comp.name):  # an empty store would hide helm-era data: apply nothing of it
            outcome = ComponentOutcome(comp.name, comp.title, True, False, c.VOLUMES_NOT_ADOPTED, why)
            return outcome, kept, [Event("Warning", c.VOLUMES_NOT_ADOPTED, why)], 0
        missing = [p for p in comp.prerequisites if not facts.has_kind(p.group, p.kind)]
        if missing:
            hint = missing_hint(missing)
            return ComponentOutcome(comp.name, comp.title, True, False, c.PREREQUISITE_MISSING, hint), kept, [], 0
        if deps := blocked.get(comp.name):
            why = f"waiting for {', '.join(deps)}"
            return ComponentOutcome(comp.name, comp.title, True, False, c.DEPENDENCY_NOT_READY, why), kept, [], 0
        try:
            applied = await applier.apply_component(comp)
        except KubeError as exc:
            reason = c.APPLY_CONFLICT if exc.code == 409 else c.APPLY_FAILED
            message = str(exc) + (f" ({'; '.join(exc.causes)})" if exc.causes else "")
            outcome = ComponentOutcome(comp.name, comp.title, True, False, reason, message)
            # Keep what was there: a failed apply must not make prune delete the component's objects.
            keys = sorted({*kept, *applier.keys(comp)})
            return outcome, keys, [Event("Warning", reason, f"{comp.title}: {message}")], 0
        events: list[Event] = []
        if applied:
            OBJECTS_APPLIED.labels(comp.name).inc(applied)
            events.append(Event("Normal", "Applied", f"{comp.title}: applied {applied} object(s)"))
        if taken := applier.adopted.get(comp.name):
            events.append(Event("Normal", c.ADOPTED, f"{comp.title}: took over from Helm in place: {', '.join(taken)}"))
        keys = sorted({*applier.keys(comp), *secret_keys.get(comp.name, [])})
        return applier.health(comp), keys, events, applied

    await applier.read_scopes(
        m
        for comp in result.components
        if comp.enabled and comp.name not in refused and comp.name not in blocked
        for m in comp.manifests
        if all(facts.has_kind(p.group, p.kind) for p in comp.prerequisites)
    )
    tasks = {comp.name: asyncio.create_task(one(comp), name=f"apply {comp.name}") for comp in result.components}
    try:
        _done, pending = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for task in tasks.values():
            task.cancel()
        raise
    if pending:  # one raised something other than a KubeError (a bug): stop the others and report it
        for task in pending:
            task.cancel()
        await asyncio.wait(pending)
    for task in tasks.values():
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error
    outcomes: list[ComponentOutcome] = []
    inventory: dict[str, list[str]] = {}
    events: list[Event] = []
    writes = 0
    failed: set[str] = set()  # not applied, or applied but waiting for a dependency that was not
    for comp in result.components:  # registry order: a component's dependencies are settled before it
        outcome, keys, comp_events, applied = tasks[comp.name].result()
        if outcome.reason in (c.APPLY_FAILED, c.APPLY_CONFLICT) or comp.name in refused or comp.name in blocked:
            failed.add(comp.name)
        elif comp.enabled and (deps := [d for d in comp.depends_on if d in failed]):
            failed.add(comp.name)
            outcome = ComponentOutcome(
                comp.name,
                comp.title,
                True,
                False,
                c.DEPENDENCY_NOT_READY,
                f"waiting for {', '.join(deps)}",
                outcome.objects,
            )
        outcomes.append(outcome)
        if comp.enabled:  # a disabled component keeps no inventory: prune removes what it had
            inventory[comp.name] = keys
        events.extend(comp_events)
        writes += applied
    return outcomes, inventory, events, writes


#: Server-side applies in flight at once (issue 12), across the components applied concurrently: enough to hide
#: the round trips, few enough to stay far below the API server's default max-mutating-requests-inflight (200).
APPLY_CONCURRENCY = 16
#: How often the watch cache is looked at for a new CRD until it is Established (usually tens of milliseconds),
#: how often it is read meanwhile (in case no watch reports it), and for how long at most.
ESTABLISHED_POLL = 0.02
ESTABLISHED_GET = 1.0
#: Without a watch cache (the CLI's and tests' passes), a read is the only way to know: every half second.
ESTABLISHED_GET_UNCACHED = 0.5
ESTABLISHED_TIMEOUT = 30.0
#: Kinds that go first, so that what follows is admitted: CRDs (Established before their objects) and Namespaces.
FIRST_KINDS = frozenset({"CustomResourceDefinition", "Namespace"})
#: Kinds that go last: an admission webhook after the Service (and Deployment) that serves it.
LAST_KINDS = frozenset({"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def crd_serves(crd: Manifest) -> tuple[str, str]:
    """(group, kind) of the objects a CustomResourceDefinition serves."""
    spec = crd.get("spec") or {}
    return str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))


def admission_stage(kind: str) -> int:
    """The stage of a kind within a component: 0 CRDs and Namespaces; 1 everything else; 2 webhook configurations.
    Admission needs no more order than this (a pod refused for a ServiceAccount created a few milliseconds later is
    retried by its controller at once), and each stage costs a round trip on the way to Ready: a bare parallel
    apply, the limit we measure against, has the same three. A CRD goes first only when its component has objects
    of its kind (``Applier.apply_component``): Seldon Core's serves only its users' SeldonDeployments, so it is
    applied with the rest, and its Established is a matter of health (Ready waits for it), not of order."""
    if kind in FIRST_KINDS:
        return 0
    return 2 if kind in LAST_KINDS else 1


class Applier:
    """Applies components' objects, reading the live state once per scope (kind and namespace): from the watch's
    cache (kube/cache.py) when it covers the scope, else with one list."""

    def __init__(self, kube: Kube, platform: str, cache: ObjectCache | None = None) -> None:
        self.kube = kube
        self.platform = platform
        self.cache = cache
        self.live: dict[str, dict[str, Any]] = {}
        #: Objects under our names that our read did not find (not ours: a Helm release's, issue 11), by key.
        self.foreign: dict[str, dict[str, Any]] = {}
        #: component -> objects taken over from a Helm release in this pass, for the Adopted Event
        self.adopted: dict[str, list[str]] = {}
        self._read: dict[Scope, asyncio.Task[None]] = {}
        #: object key -> the read by name of an object absent from our read (``_adapt``), shared like ``_read``;
        #: an error is its value, raised to whoever awaits it, never left unretrieved by an unawaited prefetch.
        self._named: dict[str, asyncio.Task[tuple[dict[str, Any] | None, KubeError | None]]] = {}
        self._slots = asyncio.Semaphore(APPLY_CONCURRENCY)

    def keys(self, comp: ComponentRender) -> list[str]:
        return [object_key(m) for m in comp.manifests]

    async def read_scopes(self, manifests: Iterable[Manifest]) -> None:
        """Read every scope of ``manifests`` at once (lists in flight together); a failed read is left for the
        component's own apply to report."""
        scopes = {scope_of(m) for m in manifests}
        await asyncio.gather(*(self._scope(s) for s in scopes), return_exceptions=True)

    async def prefetch(self, manifests: Iterable[Manifest]) -> None:
        """Every read the apply of ``manifests`` will make, started now: each scope once, then each object absent
        from them by name. The pass calls it while it writes its inventory and Secrets, so that the apply that
        follows finds its reads done (issue 12). Never raises: a failed read is reported by the apply that needs
        it."""
        wanted = list(manifests)
        await self.read_scopes(wanted)
        for manifest in wanted:
            if self.live.get(object_key(manifest)) is None and self._read_done(scope_of(manifest)):
                self._unlabelled(manifest)

    def _read_done(self, scope: Scope) -> bool:
        task = self._read.get(scope)
        return task is not None and task.done() and not task.cancelled() and task.exception() is None

    def _unlabelled(self, manifest: Manifest) -> asyncio.Task[tuple[dict[str, Any] | None, KubeError | None]]:
        key = object_key(manifest)
        task = self._named.get(key)
        if task is None:

            async def read() -> tuple[dict[str, Any] | None, KubeError | None]:
                async with self._slots:
                    try:
                        return await adopt.unlabelled(self.kube, manifest), None
                    except KubeError as exc:
                        return None, exc

            task = self._named[key] = asyncio.ensure_future(read())
        return task

    def _scope(self, scope: Scope) -> asyncio.Task[None]:
        """One read per scope and pass, shared by whoever needs it (a failed read is tried again)."""
        task = self._read.get(scope)
        if task is None or (task.done() and not task.cancelled() and task.exception() is not None):
            task = self._read[scope] = asyncio.ensure_future(self._read_scope(scope))
        return task

    async def _read_scope(self, scope: Scope) -> None:
        api_version, kind, namespace = scope
        cache = self.cache
        if cache is not None and cache.fresh(scope):
            items = cache.objects(scope)
            OWNED_READS.labels("cache").inc()
        else:
            shared = cache is not None and cache.covers(scope)
            OWNED_READS.labels("list" if shared else "unwatched").inc()
            labels = cache.labels if cache is not None and shared else {PLATFORM_LABEL: self.platform}
            try:
                items, revision = await self.kube.list_versioned(api_version, kind, namespace or None, labels)
            except UnknownKindError:
                items, revision = [], None
            if cache is not None and shared:
                cache.prime(scope, items, revision)
        for item in items:
            if (item["metadata"].get("labels") or {}).get(PLATFORM_LABEL) == self.platform:
                self.live[object_key(item)] = item

    async def _load(self, manifest: Manifest) -> dict[str, Any] | None:
        await self._scope(scope_of(manifest))
        return self.live.get(object_key(manifest))

    async def apply_component(self, comp: ComponentRender) -> int:
        """Apply what changed or drifted; returns the number of writes.

        Objects go in admission stages (``admission_stage``), in order, because admission needs it (a CRD
        Established before its objects, a webhook's Service before the webhook). Within a stage the applies are
        concurrent, at most ``APPLY_CONCURRENCY`` at once across the pass (issue 12). A failed apply fails the
        component once its stage is done."""
        writes = 0
        adapted, take_over = await self._adapt(comp)
        served = {(group_of(m["apiVersion"]), m["kind"]) for m in adapted}

        def stage(manifest: Manifest) -> int:
            if manifest["kind"] == "CustomResourceDefinition" and crd_serves(manifest) not in served:
                return admission_stage("")  # nothing here is of its kind: applied with the rest, waited for by none
            return admission_stage(manifest["kind"])

        manifests = sorted(adapted, key=stage)
        for number, group in itertools.groupby(manifests, key=stage):
            batch = list(group)
            results = await asyncio.gather(
                *(self._apply_one(comp, m, object_key(m) in take_over, wait=number == 0) for m in batch),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result
                writes += result
        return writes

    async def _adapt(self, comp: ComponentRender) -> tuple[list[Manifest], set[str]]:
        """The component's render adapted to objects a Helm release made under our names (issue 11): those absent
        from our read are read by name (only then, so a steady pass reads nothing more), and render/adoption.py
        decides what to keep of them. Returns the manifests and the keys of the objects to take over now."""
        found = {object_key(m): await self._load(m) for m in comp.manifests}
        absent = [m for m in comp.manifests if found[object_key(m)] is None]
        for manifest, (other, error) in zip(
            absent, await asyncio.gather(*(self._unlabelled(m) for m in absent)), strict=True
        ):
            if error is not None:
                raise error
            if other is not None:
                found[object_key(manifest)] = self.foreign[object_key(manifest)] = other
        manifests, take_over = adoption.adapt_component(comp.manifests, found)
        return manifests, set(take_over)

    async def _apply_one(
        self, comp: ComponentRender, manifest: Manifest, take_over: bool = False, *, wait: bool = True
    ) -> int:
        """Apply one object if it changed or drifted; with ``wait``, a CRD is waited for until Established (the
        objects of its kind come next)."""
        live = await self._load(manifest) or self.foreign.get(object_key(manifest))
        desired = changes.with_hash(manifest)
        # Another manager (an HPA, `kubectl scale`) owns replicas: leave them out of both the comparison and the
        # apply, so we neither fight over them nor see endless drift. Helm's ownership is taken over instead.
        other = changes.foreign_replicas_owner(live, self.kube.field_manager)
        if other and adoption.replicas_owner_is_helm(other, live):
            other = None
        if other:
            desired = changes.without_replicas(desired)
        why = changes.needs_apply(desired, live)
        if why is None:
            return 0
        async with self._slots:
            if take_over and live is not None:  # Helm's: what Helm set becomes ours, so the apply removes the rest
                await adopt.transfer_ownership(self.kube, live, manifest)
            applied = await self.kube.apply(desired, force=True)
            if take_over and live is not None:  # then any Helm metadata left goes, and the adoption is recorded
                applied = await adopt.strip_helm(self.kube, live, desired, comp.name)
                self.adopted.setdefault(comp.name, []).append(adopt.describe(manifest, live))
        self._record(applied)
        meta = manifest["metadata"]
        logger.info(
            "Applied object",
            extra={
                "component": comp.name,
                "kind": manifest["kind"],
                "namespace": meta.get("namespace", ""),
                "object_name": meta["name"],
                "why": why,
                **({"replicas_owner": other} if other else {}),
            },
        )
        if wait and manifest["kind"] == "CustomResourceDefinition" and not health.crd(applied).ready:
            await self._wait_established(meta["name"])
        return 1

    def _record(self, obj: dict[str, Any]) -> None:
        """What the API server returned for our write: the state this pass (and, through the cache, the next one
        before its watch event arrives) sees."""
        self.live[object_key(obj)] = obj
        if self.cache is not None:
            self.cache.observe("APPLIED", obj, watched=False)

    async def _wait_established(self, crd_name: str) -> None:
        """Until the CRD is Established: its watch event says so (the cache is looked at every
        ``ESTABLISHED_POLL`` s), or a read every ``ESTABLISHED_GET`` s does. A CRD can be large (Seldon Core's is
        about 220 KB): reading it in a tight loop costs the API server and us more than the wait itself."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ESTABLISHED_TIMEOUT
        scope = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "")
        next_read = loop.time() if self.cache is None else loop.time() + ESTABLISHED_GET
        while True:
            found = self.cache.get(scope, crd_name) if self.cache is not None else None
            if (found is None or not health.crd(found).ready) and loop.time() >= next_read:
                found = await self.kube.get(*scope[:2], crd_name)
                next_read = loop.time() + (ESTABLISHED_GET if self.cache is not None else ESTABLISHED_GET_UNCACHED)
            if found is not None and health.crd(found).ready:
                self.live[object_key(found)] = found
                return
            if loop.time() > deadline:
                raise KubeError(
                    f"timed out after {ESTABLISHED_TIMEOUT:.0f}s waiting for CustomResourceDefinition {crd_name}"
                )
            await asyncio.sleep(ESTABLISHED_POLL)

    def health(self, comp: ComponentRender) -> ComponentOutcome:
        verdicts = [
            health.evaluate(self.live.get(object_key(m)), m["kind"], m["metadata"]["name"]) for m in comp.manifests
        ]
        failed = [v for v in verdicts if v.failed]
        waiting = [v for v in verdicts if not v.ready]
        n = len(comp.manifests)
        if failed:
            return ComponentOutcome(comp.name, comp.title, True, False, c.HEALTH_CHECK_FAILED, failed[0].message, n)
        if waiting:
            return ComponentOutcome(comp.name, comp.title, True, False, c.PROGRESSING, waiting[0].message, n)
        return ComponentOutcome(comp.name, comp.title, True, True, c.SUCCEEDED, f"{n} objects ready", n)


async def prune(
    kube: Kube, old: Mapping[str, list[str]], new: Mapping[str, list[str]]
) -> tuple[int, dict[str, list[str]]]:
    """Delete objects of the old inventory that the new one lacks. CRDs are never deleted (the SeldonDeployment
    CRD's removal would delete every model users deployed). Returns (deleted, survivors by component)."""
    keep = {k for keys in new.values() for k in keys}
    deleted = 0
    survivors: dict[str, list[str]] = {}
    for comp_name, keys in sorted(old.items()):
        for key in keys:
            if key in keep:
                continue
            api_version, kind, ns, obj_name = parse_key(key)
            if kind == "CustomResourceDefinition":
                continue
            try:
                if await kube.delete(api_version, kind, obj_name, ns or None):
                    deleted += 1
                    OBJECTS_PRUNED.labels(comp_name).inc()
                    logger.info(
                        "Pruned object",
                        extra={
                            "component": comp_name,
                            "kind": kind,
                            "namespace": ns,
                            "object_name": obj_name,
                            "why": "no longer rendered",
                        },
                    )
            except UnknownKindError:
                continue  # its CRD is gone, and the object with it
            except KubeError as exc:
                logger.warning("Could not delete object", extra={"object": key, "error": str(exc)})
                survivors.setdefault(comp_name, []).append(key)
    return deleted, survivors


async def write_status(
    kube: Kube, name: str, namespace: str, uid: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> None:
    """Set the status fields we own (each replaced whole, so map keys we dropped go too) on the SeldonOperator with
    this uid. A pass that outlives its SeldonOperator (deleted, or deleted and created again under the same name while
    the pass ran) raises ObjectReplacedError rather than writing its result onto the successor."""
    await kube.patch_status(API_VERSION, KIND, name, uid, new, namespace=namespace, has_status=bool(old))


def _transition_events(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Event]:
    def ready(status: Mapping[str, Any]) -> tuple[str, str]:
        for cond in status.get("conditions") or []:
            if cond.get("type") == c.READY:
                return cond.get("status", ""), cond.get("reason", "")
        return "", ""

    before, after = ready(old), ready(new)
    if before == after:
        return []
    message = next((x["message"] for x in new["conditions"] if x["type"] == c.READY), "")
    if after[0] == "True":
        return [Event("Normal", c.SUCCEEDED, message)]
    if after[1] in (c.PROGRESSING, c.DEPENDENCY_NOT_READY):
        return [Event("Normal", after[1], message)]
    return [Event("Warning", after[1], message)]


# --- Removal --------------------------------------------------------------------------------------------


@functools.cache
def everything_outline() -> tuple[Manifest, ...]:
    """Every object of every variant of a full render (``render_everything``), reduced to what the watches and the
    clean-up scans need: apiVersion, kind, name, namespace, and a CRD's group and names. Pure and fixed for this
    code, so computed once; a variant at a time, so the operator never holds five renders at once (that peak stayed
    in its resident memory: 3.5 MiB, issue 12)."""
    out: dict[tuple[str, str, str, str], Manifest] = {}
    for manifests in each_variant(namespace=_SCAN_NAMESPACE):
        for m in manifests:
            meta = {k: m["metadata"][k] for k in ("name", "namespace") if k in m["metadata"]}
            outline: dict[str, Any] = {"apiVersion": m["apiVersion"], "kind": m["kind"], "metadata": meta}
            if m["kind"] == "CustomResourceDefinition":
                names = m["spec"]["names"]
                outline["spec"] = {
                    "group": m["spec"]["group"],
                    "names": {"kind": names["kind"], "plural": names["plural"]},
                }
            out[(m["apiVersion"], m["kind"], meta.get("namespace", ""), meta["name"])] = outline
    return tuple(out.values())


@functools.cache
def foreign_kinds() -> list[tuple[str, str, bool]]:
    """(apiVersion, kind, namespaced) of every object the platform can place outside the SeldonOperator's namespace
    (cluster-scoped, or in another namespace): what a clean-up must scan for."""
    kinds = {
        (m["apiVersion"], m["kind"], "namespace" in m["metadata"])
        for m in everything_outline()
        if m["kind"] != "CustomResourceDefinition" and m["metadata"].get("namespace") != _SCAN_NAMESPACE
    }
    return sorted(kinds)


_SCAN_NAMESPACE = "scan"


@dataclass(frozen=True)
class ManagedResource:
    group: str
    version: str
    plural: str
    namespaced: bool


@functools.cache
def managed_resources() -> tuple[ManagedResource, ...]:
    """Every resource the platform can create (from every variant of a full render), plus the Secrets the
    reconcile generates: what the operator watches, by label, to react to changes of what it owns."""
    manifests = everything_outline()
    plural = plural_resolver(manifests, builtin_plural)
    kinds = {(m["apiVersion"], m["kind"], "namespace" in m["metadata"]) for m in manifests} | {("v1", "Secret", True)}
    out = set()
    for api_version, kind, namespaced in kinds:
        group, _, version = api_version.rpartition("/")
        out.add(ManagedResource(group, version, plural(api_version, kind), namespaced))
    return tuple(sorted(out, key=lambda r: (r.group, r.plural)))


async def cleanup_platform(kube: Kube, uid: str, namespaces: frozenset[str] | None = frozenset()) -> int:
    """Delete what a removed SeldonOperator (by ``uid``, never by name: issue 8) left outside its namespace; its own
    namespace is emptied by the garbage collector through owner references. Cluster-scoped kinds are listed by
    label; namespaced ones in ``namespaces``: the operator's allowed namespaces, the only other namespaces the
    platform may write to (None: every namespace, for ``seldonctl uninstall`` run by an admin).
    Returns the number of objects deleted."""
    return await _delete_where(kube, namespaces, lambda labels: labels.get(PLATFORM_UID_LABEL) == uid)


async def _delete_where(kube: Kube, namespaces: frozenset[str] | None, doomed: Callable[[dict[str, str]], bool]) -> int:
    deleted = 0
    for api_version, kind, namespaced in foreign_kinds():
        scopes: list[str | None] = [None] if not namespaced or namespaces is None else [*sorted(namespaces)]
        for scope in scopes:
            try:
                items = await kube.list(api_version, kind, scope, {MANAGED_BY_LABEL: MANAGED_BY})
            except UnknownKindError:
                break
            for item in items:
                meta = item["metadata"]
                if not doomed(meta.get("labels") or {}):
                    continue
                if await kube.delete(api_version, kind, meta["name"], meta.get("namespace")):
                    deleted += 1
                    logger.info(
                        "Deleted object",
                        extra={
                            "kind": kind,
                            "namespace": meta.get("namespace", ""),
                            "object_name": meta["name"],
                            "why": "its SeldonOperator is gone",
                        },
                    )
    return deleted


async def sweep_orphans(kube: Kube, namespace: str, allowed_namespaces: frozenset[str] = frozenset()) -> int:
    """On start-up (and on becoming the leader): remove objects outside any namespace's garbage collection whose
    SeldonOperator in ``namespace`` is gone (it was deleted while the operator was down). Objects of platforms of
    other namespaces (another operator's) are never touched."""
    live = await kube.list(API_VERSION, KIND, namespace)
    uids = {x["metadata"].get("uid") for x in live}
    names = {x["metadata"]["name"] for x in live}

    def orphan(labels: dict[str, str]) -> bool:
        if labels.get(PLATFORM_NAMESPACE_LABEL) != namespace:
            return False
        uid = labels.get(PLATFORM_UID_LABEL)
        return uid not in uids if uid else labels.get(PLATFORM_LABEL) not in names

    return await _delete_where(kube, allowed_namespaces, orphan)
