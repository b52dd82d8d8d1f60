"""Running the operator: kopf in the foreground, with health probes and Prometheus metrics.

Layer: operator.
"""

from __future__ import annotations

import asyncio
import logging

import kopf
from prometheus_client import start_http_server

import seldon_meta_operator.operator.handlers as _handlers  # registers the handlers


def run(
    *,
    liveness_host: str = "0.0.0.0",
    liveness_port: int = 8081,
    metrics_port: int | None = 8080,
    metrics_host: str = "0.0.0.0",
    json_logs: bool = False,
    verbose: bool = False,
    namespace: str | None = None,
) -> None:
    """Run until interrupted. Probes: ``GET /healthz`` on the liveness port (kopf's own endpoint)."""
    assert _handlers.reconcile  # the import above has side effects; keep it explicit
    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if json_logs else kopf.LogFormat.PLAIN,
    )
    if not verbose:
        # kopf reports every handler and timer run at INFO; our own logger reports changes (house style §7).
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("seldon_meta_operator").setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    if metrics_port:
        start_http_server(metrics_port, addr=metrics_host)
    asyncio.run(
        kopf.operator(
            standalone=True,
            clusterwide=namespace is None,
            namespaces=[namespace] if namespace else [],
            liveness_endpoint=f"http://{liveness_host}:{liveness_port}/healthz",
        )
    )
