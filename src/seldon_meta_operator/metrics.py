"""Prometheus metrics of the operator (prometheus-client). Served by ``seldonctl operator run`` on
``--metrics-port``.

Layer: none (imported by kube, reconcile and operator; no I/O at import).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECONCILES = Counter("seldon_operator_reconciles_total", "Reconcile passes, by outcome.", ["outcome"])
RECONCILE_ERRORS = Counter(
    "seldon_operator_reconcile_errors_total", "Reconcile passes that failed, by reason.", ["reason"]
)
RECONCILE_DURATION = Histogram(
    "seldon_operator_reconcile_duration_seconds",
    "Duration of a reconcile pass.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
OBJECTS_APPLIED = Counter(
    "seldon_operator_objects_applied_total", "Objects created or changed by apply.", ["component"]
)
OBJECTS_PRUNED = Counter("seldon_operator_objects_pruned_total", "Objects deleted by prune.", ["component"])
API_REQUESTS = Counter("seldon_operator_api_requests_total", "Kubernetes API requests, by verb.", ["verb"])
OWNED_READS = Counter(
    "seldon_operator_owned_reads_total",
    "Reads of one kind in one namespace by a pass, by source: cache (the watch's), list (a scope the watch covers, "
    "not yet trusted), unwatched (a scope no watch covers).",
    ["source"],
)
EVENTS_POSTED = Counter(
    "seldon_operator_events_posted_total", "Events posted (created, or a repeat added to a series).", ["type"]
)
EVENTS_DROPPED = Counter(
    "seldon_operator_events_dropped_total",
    "Events not posted: over the rate cap of their object (rate-limited) or refused by the API (failed).",
    ["cause"],
)
