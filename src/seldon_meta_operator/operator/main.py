"""``seldon-meta-operator``: the operator's own entry point, what its Deployment runs (``seldonctl operator run``
is the same, for a shell).

Layer: operator. Only the standard library's argparse parses the arguments: the CLI's typer stack (typer, its
pydantic parameter adapters, click) cost the long-running process about 1.6 MiB of resident memory, for a parse
done once at start-up (issue 12).
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Sequence

#: ``seldonctl operator run``'s name for itself in usage and help.
PROG = "seldon-meta-operator"


def _positive(text: str) -> float:
    value = float(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is less than 1")
    return value


def parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run the operator in the foreground. It serves SeldonOperators in one namespace only (its own).",
        epilog="Example: KUBECONFIG=.cluster/admin.kubeconfig seldon-meta-operator --json-logs",
    )
    p.add_argument(
        "--kubeconfig",
        help="Kubeconfig (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account).",
    )
    p.add_argument(
        "--namespace",
        help="The only namespace whose SeldonOperators are served (default: the pod's namespace in a cluster, else "
        "seldon-system).",
    )
    p.add_argument(
        "--allowed-namespace",
        dest="allowed_namespaces",
        action="append",
        default=[],
        metavar="NAMESPACE",
        help="Another namespace the platform may put objects in (repeatable; e.g. kube-system for Seldon Core's "
        "usage metrics). The operator needs rights there too: docs/security.md.",
    )
    p.add_argument("--health-port", type=int, default=8081, help="Port of GET /healthz and GET /readyz.")
    p.add_argument(
        "--health-host",
        default="127.0.0.1",
        help="Address the probes listen on (0.0.0.0 in a pod, for the kubelet).",
    )
    p.add_argument("--metrics-port", type=int, default=8080, help="Port of the Prometheus metrics (0: off).")
    p.add_argument("--metrics-host", default="127.0.0.1", help="Address the metrics listen on.")
    p.add_argument(
        "--resync-interval",
        type=_positive,
        metavar="SECONDS",
        help="Seconds between full re-checks of a settled platform, a safety net besides the watches (default 300, "
        "or $SELDON_OPERATOR_TIMER_INTERVAL).",
    )
    p.add_argument(
        "--leader-elect",
        action="store_true",
        help="Run with other replicas: only the holder of a Lease in the namespace works.",
    )
    p.add_argument("--json-logs", action="store_true", help="Log JSON lines.")
    p.add_argument("--verbose", action="store_true", help="Debug logging.")
    return p


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> None:
    args = parser(prog).parse_args(argv)
    # kopf is imported only now: a mistyped flag is reported without loading it.
    from seldon_meta_operator.operator import runner  # noqa: PLC0415
    from seldon_meta_operator.operator.config import (  # noqa: PLC0415
        OperatorConfig,
        default_namespace,
        interval_from_env,
    )

    interval = args.resync_interval or interval_from_env()
    config = OperatorConfig(
        namespace=args.namespace or default_namespace(),
        allowed_namespaces=frozenset(args.allowed_namespaces),
        kubeconfig=args.kubeconfig,
        health_host=args.health_host,
        health_port=args.health_port,
        interval=interval,
        progress_interval=min(2.0, interval),
        leader_election=args.leader_elect,
        identity=os.environ.get("POD_NAME") or socket.gethostname(),
    )
    if args.kubeconfig:
        os.environ["KUBECONFIG"] = args.kubeconfig
    runner.run(
        config,
        metrics_port=args.metrics_port or None,
        metrics_host=args.metrics_host,
        json_logs=args.json_logs,
        verbose=args.verbose,
    )


if __name__ == "__main__":
    main()
