"""How kopf logs in: the in-cluster configuration the way client-go reads it, else kopf's kubeconfig login.

Layer: operator (kopf glue). Imported by ``operator/runner.py`` for its side effect: registering a login handler
replaces kopf's built-in ones. kopf's own service-account login connects to ``https://kubernetes.default.svc``,
a DNS name a pod on the host network (or with its own DNS) cannot resolve; client-go, lightkube and
``kube/client.py`` use ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT``, and so does this handler.

Rotation: the token is read at each login. When the kubelet rotates it and the API server answers 401, kopf
invalidates these credentials and calls the handler again, which reads the new token (client-go re-reads the
file too).

Order, as controller-runtime's ``GetConfig``: ``$KUBECONFIG`` when set (the e2e suite runs the operator as a host
process under a ServiceAccount token that way), else the pod's ServiceAccount, else ``~/.kube/config``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kopf

from seldon_meta_operator.kube.client import SERVICE_ACCOUNT_DIR, in_cluster


def service_account_login(
    service_account_dir: str | os.PathLike[str] = SERVICE_ACCOUNT_DIR, environ: dict[str, str] | None = None
) -> kopf.ConnectionInfo | None:
    """kopf credentials from a pod's ServiceAccount, or None outside a pod."""
    config = in_cluster(service_account_dir, environ)
    if config is None:
        return None
    ca = Path(config.ca_file)
    return kopf.ConnectionInfo(
        server=config.server,
        ca_path=str(ca) if ca.is_file() else None,
        scheme="Bearer",
        token=Path(config.token_file).read_text().strip() or None,
        default_namespace=config.namespace,
    )


def login(
    service_account_dir: str | os.PathLike[str] = SERVICE_ACCOUNT_DIR,
    environ: dict[str, str] | None = None,
    **kwargs: Any,
) -> kopf.ConnectionInfo | None:
    """The credentials kopf uses: ``$KUBECONFIG``, else the ServiceAccount, else ``~/.kube/config``."""
    env = dict(os.environ) if environ is None else environ
    if not env.get("KUBECONFIG"):
        found = service_account_login(service_account_dir, env)
        if found is not None:
            return found
    return kopf.login_with_kubeconfig(**kwargs)


@kopf.on.login()
def login_handler(**kwargs: Any) -> kopf.ConnectionInfo | None:
    return login(**kwargs)
