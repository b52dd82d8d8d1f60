"""The apply reads the watch cache instead of listing (issue 12): health comes from the objects the watch
reported, and components that do not depend on each other are applied at once. No API server: a stand-in that
counts lists and returns what it is asked to apply."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from tests.builders import watched_cache

from seldon_meta_operator.api import conditions as c
from seldon_meta_operator.components.base import ClusterFacts
from seldon_meta_operator.kube.cache import ObjectCache
from seldon_meta_operator.kube.client import KubeError
from seldon_meta_operator.reconcile import changes
from seldon_meta_operator.reconcile.reconciler import Applier, admission_stage, apply_components
from seldon_meta_operator.render.ownership import PLATFORM_LABEL
from seldon_meta_operator.render.pipeline import ComponentRender, RenderResult

NS = "seldon-system"
PLATFORM = "seldonoperator-sample"
SCOPE = ("apps/v1", "Deployment", NS)


class StandIn:
    """The few Kube calls the Applier makes. ``gate``: applies wait on it (to see which are in flight together)."""

    field_manager = "seldon-meta-operator"

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.lists = 0
        self.applied: list[str] = []
        self.in_flight: set[str] = set()
        self.seen_together: list[set[str]] = []
        self.gate = gate

    async def list_versioned(self, *_: Any, **__: Any) -> tuple[list[dict[str, Any]], str]:
        self.lists += 1
        return [], "1"

    async def get(self, *_: Any, **__: Any) -> None:  # by name: nothing but what the lists hold
        return None

    async def apply(self, manifest: dict[str, Any], force: bool = True) -> dict[str, Any]:
        name = manifest["metadata"]["name"]
        self.in_flight.add(name)
        self.seen_together.append(set(self.in_flight))
        if self.gate is not None:
            await self.gate.wait()
        else:
            await asyncio.sleep(0)
        self.in_flight.discard(name)
        self.applied.append(name)
        return {**copy.deepcopy(manifest), "metadata": {**manifest["metadata"], "resourceVersion": "100"}}


def deployment(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {PLATFORM_LABEL: PLATFORM}},
        "spec": {"replicas": 1},
    }


def component(name: str, *manifests: dict[str, Any], depends_on: tuple[str, ...] = ()) -> ComponentRender:
    return ComponentRender(name, name.title(), True, tuple(manifests), (), (), depends_on)


def live(manifest: dict[str, Any], rv: int, available: int) -> dict[str, Any]:
    """The object as the watch reports it: what we applied, with the server's status."""
    out = changes.with_hash(manifest)
    out["metadata"]["resourceVersion"] = str(rv)
    out["metadata"]["generation"] = 1
    out["status"] = {"observedGeneration": 1, "availableReplicas": available, "updatedReplicas": available}
    return out


def test_health_is_read_from_the_cache_without_listing() -> None:
    manifest = deployment("seldon-deploy")
    cache = watched_cache(NS, SCOPE, live(manifest, 10, available=0))
    comp = component("seldon_deploy", manifest)

    async def health() -> tuple[str, int, list[str]]:
        kube = StandIn()
        applier = Applier(kube, PLATFORM, cache)  # type: ignore[arg-type]
        await applier.apply_component(comp)
        return applier.health(comp).reason, kube.lists, kube.applied

    assert asyncio.run(health()) == (c.PROGRESSING, 0, [])
    cache.observe("MODIFIED", live(manifest, 11, available=1))  # the rollout's last event
    assert asyncio.run(health()) == (c.SUCCEEDED, 0, [])


def test_a_scope_the_watch_does_not_feed_is_listed() -> None:
    manifest = deployment("seldon-deploy")
    cache = ObjectCache(NS, {}, max_age=300)
    kube = StandIn()
    applier = Applier(kube, PLATFORM, cache)  # type: ignore[arg-type]
    asyncio.run(applier.apply_component(component("seldon_deploy", manifest)))
    assert (kube.lists, kube.applied) == (1, ["seldon-deploy"])
    assert cache.get(SCOPE, "seldon-deploy") is not None, "the apply's response is recorded for the next pass"


def three_components() -> RenderResult:
    core, postgres, deploy = deployment("core"), deployment("postgres"), deployment("deploy")
    return RenderResult(
        (
            component("seldon_core", core),
            component("postgres", postgres),
            component("seldon_deploy", deploy, depends_on=("seldon_core",)),
            component("routing", deployment("routing"), depends_on=("seldon_deploy",)),
        )
    )


def test_every_component_is_applied_at_once_dependencies_included() -> None:
    # A dependency orders status, not admission (which orders objects within a component): Seldon Deploy does not
    # wait for Seldon Core's apply (issue 12: the chain Core -> Deploy -> routing -> detectors cost ~1.4 s).
    result = three_components()

    async def run() -> StandIn:
        gate = asyncio.Event()
        kube = StandIn(gate)
        applying = asyncio.create_task(
            apply_components(Applier(kube, PLATFORM), result, ClusterFacts(), {}, {}, {})  # type: ignore[arg-type]
        )
        for _ in range(1000):  # until all four are in flight (never, if one waited for another's apply)
            if len(kube.in_flight) == 4:
                break
            await asyncio.sleep(0)
        gate.set()
        outcomes, inventory, _events, writes = await applying
        assert [o.name for o in outcomes] == ["seldon_core", "postgres", "seldon_deploy", "routing"]
        assert writes == 4 and set(inventory) == {"seldon_core", "postgres", "seldon_deploy", "routing"}
        return kube

    kube = asyncio.run(run())
    assert {"core", "postgres", "deploy", "routing"} in kube.seen_together


class FailingStandIn(StandIn):
    """Refuses the apply of the objects named in ``refuse`` (a conflict)."""

    def __init__(self, refuse: set[str]) -> None:
        super().__init__()
        self.refuse = refuse

    async def apply(self, manifest: dict[str, Any], force: bool = True) -> dict[str, Any]:
        if manifest["metadata"]["name"] in self.refuse:
            raise KubeError("apply Deployment seldon-system/core: conflict", code=409, reason="Conflict")
        return await super().apply(manifest, force)


def test_a_dependency_whose_apply_fails_leaves_its_dependents_applied_and_waiting() -> None:
    kube = FailingStandIn({"core"})
    outcomes, inventory, _events, writes = asyncio.run(
        apply_components(Applier(kube, PLATFORM), three_components(), ClusterFacts(), {}, {}, {})  # type: ignore[arg-type]
    )
    by_name = {o.name: o for o in outcomes}
    assert by_name["seldon_core"].reason == c.APPLY_CONFLICT
    assert by_name["postgres"].reason == c.PROGRESSING  # its own health: rolling out
    # Applied at once (no wait), but not Ready while what they depend on is not applied: directly or not.
    assert (by_name["seldon_deploy"].reason, by_name["seldon_deploy"].message) == (
        c.DEPENDENCY_NOT_READY,
        "waiting for seldon_core",
    )
    assert (by_name["routing"].reason, by_name["routing"].message) == (
        c.DEPENDENCY_NOT_READY,
        "waiting for seldon_deploy",
    )
    assert not by_name["seldon_deploy"].ready and by_name["seldon_deploy"].objects == 1
    assert sorted(kube.applied) == ["deploy", "postgres", "routing"] and writes == 3
    assert inventory["seldon_deploy"] == ["apps/v1/Deployment/seldon-system/deploy"]


def test_a_refused_dependency_applies_none_of_its_dependents() -> None:
    # Known before anything is applied (lost credentials, volumes not adopted): nothing that depends on it is applied.
    kube = StandIn()
    outcomes, inventory, _events, writes = asyncio.run(
        apply_components(
            Applier(kube, PLATFORM),  # type: ignore[arg-type]
            three_components(),
            ClusterFacts(),
            {},
            {"seldon_deploy": ["apps/v1/Deployment/seldon-system/deploy"]},
            {},
            {"seldon_core": "Seldon Core: volumes found"},
        )
    )
    by_name = {o.name: o for o in outcomes}
    assert by_name["seldon_core"].reason == c.VOLUMES_NOT_ADOPTED
    assert by_name["seldon_deploy"].reason == c.DEPENDENCY_NOT_READY and by_name["seldon_deploy"].objects == 0
    assert by_name["routing"].message == "waiting for seldon_deploy"
    assert kube.applied == ["postgres"] and writes == 1
    assert inventory["seldon_deploy"] == ["apps/v1/Deployment/seldon-system/deploy"]  # kept, not pruned


def test_admission_stages_keep_crds_first_and_webhooks_last() -> None:
    order = [
        "CustomResourceDefinition",
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "ClusterRoleBinding",
        "Service",
        "Deployment",
        "StatefulSet",
        "PodDisruptionBudget",
        "Gateway",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ]
    stages = [admission_stage(k) for k in order]
    assert stages == [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2]


def crd(group: str, kind: str) -> dict[str, Any]:
    plural = f"{kind.lower()}s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}", "labels": {PLATFORM_LABEL: PLATFORM}},
        "spec": {"group": group, "names": {"kind": kind, "plural": plural}, "scope": "Namespaced"},
    }


class Establishing(StandIn):
    """A stand-in whose CRDs are Established only when read after ``established`` is set; ``crd_reads`` counts
    the reads of an applied CRD (waiting for it)."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        super().__init__(gate)
        self.established = asyncio.Event()
        self.crd_reads = 0

    async def get(self, api_version: str, kind: str, name: str, *_: Any, **__: Any) -> dict[str, Any] | None:
        if kind != "CustomResourceDefinition":
            return None
        if name not in self.applied:  # the read by name of an object absent from our list (adoption, issue 11)
            return None
        self.crd_reads += 1
        conditions = [{"type": "Established", "status": "True"}] if self.established.is_set() else []
        return {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": name},
            "status": {"conditions": conditions},
        }


def test_a_crd_no_object_of_the_component_needs_is_applied_with_the_rest_and_not_waited_for() -> None:
    # Seldon Core's SeldonDeployment CRD serves its users' models, none of the platform's objects: waiting for it
    # to be Established before the controller and its webhook cost ~0.9 s of an install on a busy API server.
    sdep = crd("machinelearning.seldon.io", "SeldonDeployment")
    comp = component("seldon_core", sdep, deployment("seldon-controller-manager"))

    async def run() -> Establishing:
        kube = Establishing(asyncio.Event())
        applying = asyncio.create_task(Applier(kube, PLATFORM).apply_component(comp))  # type: ignore[arg-type]
        for _ in range(1000):
            if len(kube.in_flight) == 2:
                break
            await asyncio.sleep(0)
        kube.gate.set()  # type: ignore[union-attr]
        await asyncio.wait_for(applying, 5)  # never Established: it must not be waited for
        return kube

    kube = asyncio.run(run())
    assert {"seldondeployments.machinelearning.seldon.io", "seldon-controller-manager"} in kube.seen_together
    assert kube.crd_reads == 0


def test_a_crd_whose_kind_the_component_applies_goes_first_until_established() -> None:
    widgets = crd("example.com", "Widget")
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": NS, "labels": {PLATFORM_LABEL: PLATFORM}},
    }
    comp = component("widgets", widgets, widget, deployment("d"))

    async def run() -> Establishing:
        kube = Establishing()
        applying = asyncio.create_task(Applier(kube, PLATFORM).apply_component(comp))  # type: ignore[arg-type]
        for _ in range(200):
            await asyncio.sleep(0.001)
        assert kube.applied == ["widgets.example.com"], "nothing else before the CRD is Established"
        kube.established.set()
        await asyncio.wait_for(applying, 5)
        return kube

    kube = asyncio.run(run())
    assert kube.applied[0] == "widgets.example.com" and sorted(kube.applied[1:]) == ["d", "w"]
    assert kube.crd_reads >= 1


class CountingReads(StandIn):
    """Counts reads by name; ``failing`` names fail with a server error."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.gets: list[str] = []
        self.failing = failing

    async def get(self, api_version: str, kind: str, name: str, *_: Any, **__: Any) -> None:
        self.gets.append(name)
        if name in self.failing:
            raise KubeError(f"get {kind} {name}: 500 Internal Server Error", code=500)


def test_a_prefetch_makes_the_apply_read_nothing_more() -> None:
    # The pass starts the apply's reads while it writes its inventory and Secrets (issue 12): the apply that
    # follows finds every scope listed and every absent object read by name, once.
    comp = component("seldon_deploy", deployment("seldon-deploy"), deployment("other"))

    async def run() -> tuple[int, list[str], int, list[str]]:
        kube = CountingReads()
        applier = Applier(kube, PLATFORM)  # type: ignore[arg-type]
        await applier.prefetch(comp.manifests)
        await asyncio.sleep(0)  # the reads by name run as tasks
        lists, gets = kube.lists, sorted(kube.gets)
        await applier.apply_component(comp)
        return lists, gets, kube.lists, sorted(kube.gets)

    lists, gets, lists_after, gets_after = asyncio.run(run())
    assert (lists, gets) == (1, ["other", "seldon-deploy"])
    assert (lists_after, gets_after) == (1, ["other", "seldon-deploy"]), "the apply read nothing again"


def test_a_prefetched_read_that_failed_fails_its_component() -> None:
    comp = component("seldon_deploy", deployment("seldon-deploy"))

    async def run() -> tuple[str, list[str]]:
        kube = CountingReads(failing=frozenset({"seldon-deploy"}))
        applier = Applier(kube, PLATFORM)  # type: ignore[arg-type]
        await applier.prefetch(comp.manifests)
        outcomes, _inventory, _events, writes = await apply_components(
            applier,
            RenderResult((comp,)),
            ClusterFacts(),
            {},
            {},
            {},  # type: ignore[arg-type]
        )
        assert writes == 0
        return outcomes[0].reason, kube.applied

    reason, applied = asyncio.run(run())
    assert reason == c.APPLY_FAILED and applied == [], "nothing applied over an object it could not read"
