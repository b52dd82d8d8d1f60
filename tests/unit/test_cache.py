"""The watch cache of owned objects (kube/cache.py): when a pass may read it instead of listing, and how watch
events, lists and our own writes are merged."""

from __future__ import annotations

from typing import Any

import pytest

from seldon_meta_operator.kube.cache import ObjectCache, trim

NS = "seldon-system"
LABELS = {"app.kubernetes.io/managed-by": "seldon-meta-operator"}
DEPLOY = ("apps/v1", "Deployment", NS)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def deployment(name: str, rv: int, ready: int = 0, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "resourceVersion": str(rv), **meta},
        "spec": {"replicas": 1},
        "status": {"readyReplicas": ready},
    }


def cache(clock: Clock | None = None) -> ObjectCache:
    return ObjectCache(NS, LABELS, max_age=300, clock=clock or Clock())


def names(c: ObjectCache) -> dict[str, int]:
    return {o["metadata"]["name"]: int(o["metadata"]["resourceVersion"]) for o in c.objects(DEPLOY)}


def test_a_scope_is_fresh_only_once_listed_and_fed_by_a_watch() -> None:
    c = cache()
    assert not c.fresh(DEPLOY)
    c.prime(DEPLOY, [deployment("a", 5)], "5")
    assert not c.fresh(DEPLOY), "no watch event of the scope yet: nothing says a watch feeds it"
    c.observe("MODIFIED", deployment("a", 6))
    assert c.fresh(DEPLOY)
    assert names(c) == {"a": 6}


def test_our_own_writes_are_no_evidence_of_a_watch() -> None:
    c = cache()
    c.prime(DEPLOY, [], "5")
    c.observe("APPLIED", deployment("a", 6), watched=False)
    assert not c.fresh(DEPLOY)
    assert names(c) == {"a": 6}


def test_a_primed_scope_expires_after_max_age() -> None:
    clock = Clock()
    c = cache(clock)
    c.observe("ADDED", deployment("a", 5))
    c.prime(DEPLOY, [deployment("a", 5)], "5")
    clock.now += 299
    assert c.fresh(DEPLOY)
    clock.now += 2
    assert not c.fresh(DEPLOY)


def test_a_watch_that_lists_again_makes_the_scope_listed_again() -> None:
    c = cache()
    c.observe("ADDED", deployment("a", 5))
    c.prime(DEPLOY, [deployment("a", 5)], "5")
    assert c.fresh(DEPLOY)
    c.observe(None, deployment("a", 9))  # kopf re-listed (410 Gone): deletions during the gap are not reported
    assert not c.fresh(DEPLOY)


def test_an_older_event_never_rolls_an_entry_back() -> None:
    c = cache()
    c.observe("APPLIED", deployment("a", 8, ready=1), watched=False)
    c.observe("MODIFIED", deployment("a", 7, ready=0))
    assert names(c) == {"a": 8}
    assert c.get(DEPLOY, "a")["status"] == {"readyReplicas": 1}  # type: ignore[index]


def test_a_deletion_seen_while_a_list_was_in_flight_is_not_undone_by_it() -> None:
    c = cache()
    c.observe("ADDED", deployment("a", 5))
    c.observe("DELETED", deployment("a", 7))
    c.prime(DEPLOY, [deployment("a", 5), deployment("b", 6)], "6")  # listed before the deletion
    assert names(c) == {"b": 6}


def test_an_object_created_while_a_list_was_in_flight_survives_it() -> None:
    c = cache()
    c.observe("ADDED", deployment("new", 9))
    c.prime(DEPLOY, [deployment("a", 5)], "6")
    assert names(c) == {"a": 5, "new": 9}


def test_a_list_drops_what_it_no_longer_holds() -> None:
    c = cache()
    c.observe("ADDED", deployment("gone", 4))
    c.prime(DEPLOY, [deployment("a", 5)], "6")
    assert names(c) == {"a": 5}


def test_a_newer_held_version_beats_the_listed_one() -> None:
    c = cache()
    c.observe("MODIFIED", deployment("a", 9, ready=1))
    c.prime(DEPLOY, [deployment("a", 5)], "6")
    assert names(c) == {"a": 9}


@pytest.mark.parametrize(
    ("namespace", "held"),
    [(NS, True), ("kube-system", False)],
    ids=["objects in the watched namespace are held", "objects elsewhere are not (the watch does not cover them)"],
)
def test_only_the_watched_namespace_is_held(namespace: str, held: bool) -> None:
    c = cache()
    obj = deployment("a", 5)
    obj["metadata"]["namespace"] = namespace
    c.observe("ADDED", obj)
    assert (c.get(("apps/v1", "Deployment", namespace), "a") is not None) is held
    assert c.covers(("apps/v1", "Deployment", namespace)) is held
    assert c.covers(("rbac.authorization.k8s.io/v1", "ClusterRole", ""))


def test_trim_keeps_only_who_owns_replicas() -> None:
    managed = [
        {"manager": "seldon-meta-operator", "fieldsV1": {"f:spec": {"f:template": {}}}},
        {"manager": "kubectl", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
    ]
    obj = deployment("a", 5, managedFields=managed)
    out = trim(obj)
    assert out["metadata"]["managedFields"] == [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    assert obj["metadata"]["managedFields"] == managed, "the event's own object is not changed"
    assert "managedFields" not in trim(deployment("b", 5, managedFields=managed[:1]))["metadata"]
