"""Running the operator: kopf in the foreground, with health probes and Prometheus metrics.

Layer: operator.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import kopf
from prometheus_client import start_http_server

import seldon_meta_operator.operator.handlers as _handlers  # registers the handlers
import seldon_meta_operator.operator.login as _login  # noqa: F401  (registers the login handler)
from seldon_meta_operator.operator.config import OperatorConfig

#: Python's JSON decoder recurses once per nesting level and stops at the recursion limit (1,000 by default),
#: while the API server stores objects nested up to 10,000 levels. Without this, one deeply nested SeldonOperator
#: makes kopf's watch stream raise RecursionError, and the operator exits and cannot start again while that object
#: exists (issue 8). The reconcile refuses such a spec with a short InvalidSpec before walking it recursively.
RECURSION_LIMIT = 25_000

#: Bytes asyncio reads from a TLS connection at a time. asyncio allocates that much for every TLS connection when it
#: connects and keeps it while the connection is open (``asyncio.sslproto.SSLProtocol.max_size``, 256 KiB). kopf
#: holds about 40 connections to the API server while idle, one per watched kind and the pooled ones it opened to
#: discover the API: their buffers were 5 MiB of the operator's idle RSS (issue 12, found with tracemalloc; idle RSS
#: all-features 88.3 -> 83.8 MiB). A TLS record carries at most 16 KiB, so smaller reads only take a few more turns
#: of the loop for a large LIST. lightkube's connections (anyio) do not use this buffer.
TLS_READ_SIZE = 16 * 1024


def small_tls_reads() -> None:
    """Make asyncio read TLS connections opened from now on in ``TLS_READ_SIZE`` chunks (see there)."""
    from asyncio import sslproto  # noqa: PLC0415  (asyncio's own module; no public setting exists)

    sslproto.SSLProtocol.max_size = TLS_READ_SIZE


class RetriedRequestsAreWarnings(logging.Filter):
    """kopf logs each failed attempt of a request it retries at ERROR ("Request attempt #1/23 failed; will retry",
    e.g. 429 "storage is (re)initializing" just after a CRD is created, or an API server restart). A request that
    is retried is the cluster's weather, not an error: such records become WARNINGs. The last attempt
    ("escalating") stays an ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and record.name.startswith("kopf"):
            text = record.getMessage()
            if text.startswith("Request attempt") and ("will retry" in text or "will re-authenticate" in text):
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def run(
    config: OperatorConfig,
    *,
    metrics_port: int | None = 8080,
    metrics_host: str = "127.0.0.1",
    json_logs: bool = False,
    verbose: bool = False,
) -> None:
    """Run until SIGTERM or SIGINT. Probes: ``GET /healthz`` and ``GET /readyz`` on ``config.health_port``."""
    assert _handlers.on_event  # the import above has side effects; keep it explicit
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
    small_tls_reads()
    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if json_logs else kopf.LogFormat.PLAIN,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RetriedRequestsAreWarnings())
    if not verbose:
        # kopf reports every handler run at INFO; our own logger reports changes (house style §7).
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("seldon_meta_operator").setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("seldon_meta_operator").info(
        "Starting",
        extra={
            "namespace": config.namespace,
            "allowed_namespaces": ",".join(sorted(config.allowed_namespaces)),
            "leader_election": config.leader_election,
        },
    )
    if metrics_port:
        start_http_server(metrics_port, addr=metrics_host)
    asyncio.run(
        kopf.operator(
            standalone=True,
            clusterwide=False,
            namespaces=[config.namespace],
            memo=kopf.Memo(config=config),
        )
    )
