"""The operator's own configuration: what the cluster admin decides in the operator's Deployment args.

Layer: operator. Nothing here comes from a SeldonOperator: the namespace the operator serves and the extra
namespaces it may write to are the admin's choice, so no CR can widen them (issue 8).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Where a pod's service account files are mounted (the namespace file names the pod's namespace).
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
#: Outside a pod, with no ``--namespace``: the namespace of the product documentation.
DEFAULT_NAMESPACE = "seldon-system"


def default_namespace(service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> str:
    """The pod's own namespace in a cluster, else ``seldon-system``."""
    try:
        found = (service_account_dir / "namespace").read_text().strip()
    except OSError:
        found = ""
    return found or DEFAULT_NAMESPACE


def interval_from_env(default: float = 300.0) -> float:
    """``SELDON_OPERATOR_TIMER_INTERVAL`` (seconds): the tests shorten the resync interval with it."""
    try:
        return float(os.environ.get("SELDON_OPERATOR_TIMER_INTERVAL", default))
    except ValueError:
        return default


@dataclass(frozen=True)
class OperatorConfig:
    #: The only namespace whose SeldonOperators are served; the platform's namespaced objects go here.
    namespace: str = DEFAULT_NAMESPACE
    #: Other namespaces the admin lets the platform put objects in (``--allowed-namespace``), e.g. kube-system for
    #: Seldon Core's usage metrics. The operator needs rights there too (docs/security.md).
    allowed_namespaces: frozenset[str] = field(default_factory=frozenset)
    kubeconfig: str | None = None
    health_host: str = "127.0.0.1"
    health_port: int = 8081
    #: A settled platform is re-checked this often, seconds: a safety net, as changes to what it owns are watched.
    interval: float = 300.0
    #: A platform still rolling out is re-checked this often, seconds.
    progress_interval: float = 2.0
    #: Liveness fails when the worker has made no progress for this long, seconds.
    stale_after: float = 120.0
    #: Leader election through a Lease in ``namespace``; only the holder reconciles.
    leader_election: bool = False
    #: This replica's name in the Lease (the pod name in a cluster).
    identity: str = ""
