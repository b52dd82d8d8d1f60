"""A stand-in for Knative Eventing's controllers on the local cluster, as KWOK stands in for kubelets.

The local control plane serves our minimal Knative CRDs (hack/prereqs/knative-eventing.yaml) but runs no Knative
controller, so nothing would ever mark a Broker or Trigger Ready. This loop does what Knative would report for
them: a Broker gets ``Ready=True`` and its multi-tenant ingress address; a Trigger whose broker exists gets
``Ready=True`` and its subscriber's URI. It delivers no events. The operator's readiness logic is unchanged: it
still waits for a Ready condition, exactly as on a real cluster.

Usage: python hack/cluster/fake_knative.py [--once] [--interval SECONDS]   (uses $KUBECONFIG)
"""

from __future__ import annotations

import argparse
import datetime
import time
from typing import Any

from lightkube import ApiError, Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.types import PatchType

BROKER = create_namespaced_resource("eventing.knative.dev", "v1", "Broker", "brokers")
TRIGGER = create_namespaced_resource("eventing.knative.dev", "v1", "Trigger", "triggers")
INGRESS = "http://broker-ingress.knative-eventing.svc.cluster.local"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ready(obj: Any) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _condition() -> dict[str, str]:
    return {"type": "Ready", "status": "True", "lastTransitionTime": _now()}


def _subscriber_uri(trigger: Any) -> str | None:
    ref = (trigger.get("spec", {}).get("subscriber") or {}).get("ref") or {}
    if ref.get("kind") == "Service" and ref.get("name"):
        namespace = ref.get("namespace") or trigger["metadata"]["namespace"]
        return f"http://{ref['name']}.{namespace}.svc.cluster.local"
    uri = (trigger.get("spec", {}).get("subscriber") or {}).get("uri")
    return str(uri) if uri else None


def reconcile_once(client: Client) -> int:
    """Mark what Knative would mark Ready; returns how many objects were updated."""
    updated = 0
    brokers = {(b["metadata"]["namespace"], b["metadata"]["name"]): b for b in client.list(BROKER, namespace="*")}
    for (namespace, name), broker in brokers.items():
        if _ready(broker):
            continue
        status = {
            "conditions": [_condition()],
            "address": {"url": f"{INGRESS}/{namespace}/{name}"},
            "observedGeneration": broker["metadata"].get("generation", 1),
        }
        updated += _patch_status(client, BROKER, name, namespace, status)
    for trigger in client.list(TRIGGER, namespace="*"):
        meta = trigger["metadata"]
        broker_name = trigger.get("spec", {}).get("broker", "default")
        if _ready(trigger) or (meta["namespace"], broker_name) not in brokers:
            continue
        status = {"conditions": [_condition()], "observedGeneration": meta.get("generation", 1)}
        uri = _subscriber_uri(trigger)
        if uri:
            status["subscriberUri"] = uri
        updated += _patch_status(client, TRIGGER, meta["name"], meta["namespace"], status)
    return updated


def _patch_status(client: Client, res: Any, name: str, namespace: str, status: dict[str, Any]) -> int:
    try:
        client.patch(res.Status, name, {"status": status}, namespace=namespace, patch_type=PatchType.MERGE)
    except ApiError as exc:
        if exc.status.code == 404:
            return 0
        raise
    return 1


def run(interval: float = 1.0, once: bool = False, stop: Any = None) -> None:
    """Loop until ``stop`` (a threading.Event) is set; tolerate the CRDs being absent or just established."""
    client = Client(field_manager="fake-knative")
    while True:
        try:
            reconcile_once(client)
        except ApiError as exc:
            # 404: the Knative CRDs are not installed (yet); 503 "storage is (re)initializing": one was just
            # established; 409: a status write raced another. A controller retries all of them.
            if exc.status.code not in (404, 409, 429, 500, 503):
                raise
            if once:
                raise
        if once or (stop is not None and stop.wait(interval)):
            return
        if stop is None:
            time.sleep(interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    run(args.interval, args.once)


if __name__ == "__main__":
    main()
