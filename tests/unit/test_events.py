"""The pure parts of the EventRecorder (reconcile/events.py): references, note limits, the token bucket; and that
recording never raises when the API server is unreachable. Series and posting are tested against the real API
server in tests/integration/test_events.py."""

from __future__ import annotations

import asyncio
import datetime
import logging
import socket

import httpx2
import pytest
from lightkube import AsyncClient, KubeConfig

from seldon_meta_operator.kube import Kube
from seldon_meta_operator.reconcile.events import (
    EventRecorder,
    TokenBucket,
    micro_time,
    object_reference,
    truncate_note,
)

SELDON_OPERATOR = {
    "apiVersion": "operator.seldon.io/v1alpha1",
    "kind": "SeldonOperator",
    "metadata": {"name": "sample", "namespace": "seldon-system", "uid": "u-1", "resourceVersion": "42"},
    "spec": {},
}


def test_the_reference_names_the_object_without_its_resource_version() -> None:
    assert object_reference(SELDON_OPERATOR) == {
        "apiVersion": "operator.seldon.io/v1alpha1",
        "kind": "SeldonOperator",
        "name": "sample",
        "namespace": "seldon-system",
        "uid": "u-1",
    }


def test_a_cluster_scoped_reference_has_no_namespace() -> None:
    ref = object_reference({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "uid": "u"}})
    assert "namespace" not in ref


@pytest.mark.parametrize(
    ("note", "expected_bytes"),
    [("short", 5), ("x" * 1024, 1024), ("x" * 5000, 1024), ("é" * 1000, 1024 - 1)],
    ids=["a short note is kept", "1 KiB exactly is kept", "a long note is cut to 1 KiB", "cut on a character"],
)
def test_notes_fit_the_api_servers_limit(note: str, expected_bytes: int) -> None:
    out = truncate_note(note)
    assert len(out.encode()) == expected_bytes
    assert out == note or out.endswith("…")


def test_micro_time_is_utc_with_microseconds() -> None:
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert micro_time(when) == "2026-01-02T01:04:05.000678Z"


def test_the_bucket_allows_a_burst_then_one_per_refill_period() -> None:
    bucket = TokenBucket(burst=3, refill_every=5.0, tokens=3.0, stamp=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(4.9) is False
    assert bucket.take(5.0) is True  # 4.9 + 0.1 s of refill since the last try
    assert bucket.take(100.0) and bucket.take(100.0) and bucket.take(100.0)  # refills up to the burst only
    assert bucket.take(100.0) is False


def test_recording_never_raises_when_the_api_server_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = KubeConfig.from_dict(
        {
            "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )

    async def go() -> None:
        kube = Kube(AsyncClient(config, timeout=httpx2.Timeout(2.0), trust_env=False))
        recorder = EventRecorder(kube, instance="pod")
        try:
            for _ in range(3):
                await recorder.record(SELDON_OPERATOR, "Normal", "Applied", "note", "Apply")
            await recorder.record(SELDON_OPERATOR, "Warning", "ApplyFailed", "note", "Apply")
            await recorder.record(SELDON_OPERATOR, "Bogus", "Applied", "note", "Apply")  # a bug: still no raise
        finally:
            await kube.close()

    with caplog.at_level(logging.DEBUG, logger="seldon_meta_operator.reconcile.events"):
        asyncio.run(go())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [getattr(r, "reason", None) for r in warnings] == ["Applied", "ApplyFailed"]
    assert "unreachable" in getattr(warnings[0], "error", "")
