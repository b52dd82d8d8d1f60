"""EventRecorder against the real API server: Events appear about the right object, repeats grow one Event's
series instead of creating new ones, the per-object rate cap holds, and nothing raises when posting fails."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import pytest
from prometheus_client import REGISTRY

from seldon_meta_operator.kube import Kube
from seldon_meta_operator.reconcile.events import EventRecorder
from tests.conftest import Cluster, with_kube

pytestmark = pytest.mark.cluster


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.datetime.now(datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


def dropped(cause: str) -> float:
    return REGISTRY.get_sample_value("seldon_operator_events_dropped_total", {"cause": cause}) or 0.0


async def regarding(kube: Kube, namespace: str, name: str = "subject") -> dict[str, Any]:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
    return await kube.apply(manifest)


async def events_of(kube: Kube, namespace: str, uid: str) -> list[dict[str, Any]]:
    found = await kube.list("events.k8s.io/v1", "Event", namespace)
    return sorted((e for e in found if e["regarding"].get("uid") == uid), key=lambda e: e["metadata"]["name"])


def test_an_event_is_posted_about_the_object_in_its_namespace(cluster: Cluster, namespace: str) -> None:
    async def body(kube: Kube) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        obj = await regarding(kube, namespace)
        recorder = EventRecorder(kube, instance="test-pod")
        await recorder.record(obj, "Normal", "Applied", "Applied ConfigMap subject (created)", "Apply")
        return obj, await events_of(kube, namespace, obj["metadata"]["uid"])

    obj, events = with_kube(cluster, body)
    assert len(events) == 1
    event = events[0]
    assert event["metadata"]["name"].startswith("subject.")
    assert event["regarding"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "subject",
        "namespace": namespace,
        "uid": obj["metadata"]["uid"],
    }
    assert (event["type"], event["reason"], event["action"]) == ("Normal", "Applied", "Apply")
    assert event["note"] == "Applied ConfigMap subject (created)"
    assert (event["reportingController"], event["reportingInstance"]) == ("seldon-meta-operator", "test-pod")
    assert "series" not in event


def test_repeats_grow_one_events_series_instead_of_creating_events(cluster: Cluster, namespace: str) -> None:
    clock = FakeClock()

    async def body(kube: Kube) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        obj = await regarding(kube, namespace)
        recorder = EventRecorder(kube, clock=clock)
        for _ in range(4):
            await recorder.record(obj, "Warning", "HealthCheckFailed", "Deployment x: 0/1 ready", "Reconcile")
            clock.advance(10)
        repeated = await events_of(kube, namespace, obj["metadata"]["uid"])
        # Another note is another Event; so is the same note once the series window has passed.
        await recorder.record(obj, "Warning", "HealthCheckFailed", "Deployment y: 0/1 ready", "Reconcile")
        clock.advance(recorder.series_window + 1)
        await recorder.record(obj, "Warning", "HealthCheckFailed", "Deployment x: 0/1 ready", "Reconcile")
        return repeated, await events_of(kube, namespace, obj["metadata"]["uid"])

    repeated, later = with_kube(cluster, body)
    assert len(repeated) == 1
    series = repeated[0]["series"]
    assert series["count"] == 4
    assert series["lastObservedTime"] > repeated[0]["eventTime"]
    assert len(later) == 3
    assert sorted(e["note"] for e in later) == ["Deployment x: 0/1 ready"] * 2 + ["Deployment y: 0/1 ready"]


def test_the_rate_cap_per_object_holds_and_refills(cluster: Cluster, namespace: str) -> None:
    clock = FakeClock()
    before = dropped("rate-limited")

    async def body(kube: Kube) -> tuple[int, int, int]:
        obj = await regarding(kube, namespace)
        other = await regarding(kube, namespace, "other")
        recorder = EventRecorder(kube, burst=5, refill_every=5.0, clock=clock)
        for i in range(12):
            await recorder.record(obj, "Normal", "Applied", f"change {i}", "Apply")
        capped = len(await events_of(kube, namespace, obj["metadata"]["uid"]))
        await recorder.record(other, "Normal", "Applied", "change", "Apply")  # another object has its own bucket
        clock.advance(10.0)  # two tokens back
        for i in range(12, 16):
            await recorder.record(obj, "Normal", "Applied", f"change {i}", "Apply")
        refilled = len(await events_of(kube, namespace, obj["metadata"]["uid"]))
        return capped, len(await events_of(kube, namespace, other["metadata"]["uid"])), refilled

    capped, other, refilled = with_kube(cluster, body)
    assert (capped, other, refilled) == (5, 1, 7)
    assert dropped("rate-limited") - before == 7 + 2


def test_a_failure_to_post_never_raises_and_warns_once_per_reason(
    cluster: Cluster, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = dropped("failed")

    async def body(kube: Kube) -> None:
        obj = await regarding(kube, namespace)
        # The namespace of the Event must be the object's: a forged one is refused by the API server.
        forged = {**obj, "metadata": {**obj["metadata"], "namespace": "no-such-namespace-here"}}
        recorder = EventRecorder(kube)
        with caplog.at_level(logging.DEBUG, logger="seldon_meta_operator.reconcile.events"):
            for note in ("one", "two", "three"):
                await recorder.record(forged, "Normal", "Applied", note, "Apply")
            await recorder.record(forged, "Normal", "Pruned", "one", "Prune")

    with_kube(cluster, body)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [getattr(r, "reason", None) for r in warnings] == ["Applied", "Pruned"]
    assert dropped("failed") - before == 4
