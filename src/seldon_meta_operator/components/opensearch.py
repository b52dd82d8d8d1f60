"""Trial OpenSearch (``enable.payloadstore`` with ``payloadstore.internal_elastic.use_internal``): the payload
store the request logger writes to and Seldon Deploy reads from, for development and testing only.

Layer: components (pure).

The seed's Verification shows ``seldon-internal-opensearch-cluster-master-0`` to ``-2``, READY 1/1: the names the
OpenSearch chart gives a cluster called ``seldon-internal-opensearch-cluster`` with its ``master`` node group
(upstream-seldon-facts.md §6.1, §7). This is our own rendering of such a cluster.

Objects, all in the SeldonOperator's namespace:

- StatefulSet ``seldon-internal-opensearch-cluster-master`` with ``payloadstore.internal_elastic.replicas`` nodes
  (3 by default), each with every role (cluster manager, data, ingest), one container ``opensearch`` and a claim
  ``data`` of ``payloadstore.internal_elastic.storage_size``. Pods start in parallel, so that a new cluster can
  elect its manager; the claims follow ``retain_data`` as the trial PostgreSQL's do, and, as there, their size is
  fixed once the StatefulSet exists (the API server refuses changes to claim templates);
- Service ``seldon-internal-opensearch-cluster-master`` (clients: HTTP 9200, transport 9300) and the headless
  Service ``seldon-internal-opensearch-cluster-master-headless`` the nodes discover each other through;
- with two nodes or more, PodDisruptionBudget ``seldon-internal-opensearch-cluster-master`` (``maxUnavailable:
  1``, as the chart's), so a drain takes one node at a time.

Credentials: the generated Secret ``elastic-credentials``, keys ``username`` (``admin``) and ``password``, the
shape Seldon Deploy and the request logger read (facts §6.1). The admin password is set from it on first start
through ``OPENSEARCH_INITIAL_ADMIN_PASSWORD``. It is retained data, like the claims.

Values: none; the typed ``payloadstore.internal_elastic.*`` fields and the constants below.

Wiring, while this OpenSearch is in use: Seldon Deploy's ``elasticsearch.url``, ``elasticsearch.basicAuth`` and
``elasticsearch.secret.*``, and the request logger's ``requestLogger.elasticsearch.{host,port,protocol}``. User
values still win (render/values.py).

Adoption of a helm-era cluster (issue 11): the OpenSearch chart names its claim template after the StatefulSet,
so a release whose nodes were ``seldon-internal-opensearch-cluster-master-N`` (the names the seed's Verification
shows) left the claims ``seldon-internal-opensearch-cluster-master-seldon-internal-opensearch-cluster-master-N``.
When the caller found the first of them (``ctx.facts.claims``), the claim template takes the chart's name, so each
node mounts its old volume. The chart's image runs as the same user (uid and fsGroup 1000) and keeps its data at
the same path, and OpenSearch 2 reads the indices OpenSearch 1.x wrote. The security index keeps its users, so
the old ``elastic-credentials`` Secret is needed (kept if it exists; without it the component is Stalled,
``CredentialsLost``). A claim template cannot change once the StatefulSet exists: adoption happens when the
operator creates it.

Departures from upstream, and why:

- OpenSearch 2.19 instead of the chart's 1.3.2: only 2.12 and later set the admin password from an environment
  variable, so the generated password needs no hashed ``internal_users.yml`` (which render could not compute
  without knowing the password). Metronome 1.1 to 1.8.1 works with OpenSearch 2.x (facts §5.1), and the request
  logger's default 1.4.1 is one of them;
- ``node.store.allow_mmap: false`` instead of raising ``vm.max_map_count`` in a privileged init container (the
  chart's ``sysctlInit``): without memory-mapped index files OpenSearch skips that bootstrap check, so the pods
  run unprivileged, with one container each (1/1);
- the security plugin's demo configuration stays on, as in the chart: HTTP TLS with the demo certificates, hence
  ``https`` and the clients' disabled certificate verification. It is a trial store, not a production one;
- a 512 MiB heap and smaller requests than the chart's one CPU per node, to fit a trial cluster.
"""

from __future__ import annotations

from typing import Any

from seldon_meta_operator.components import names
from seldon_meta_operator.components.base import (
    ENTERPRISE,
    Component,
    GeneratedSecret,
    Layers,
    Manifest,
    RenderContext,
    WiringContext,
    claim_retention,
    data_claim_template,
    meta,
    obj,
    restricted_security_context,
    secret_env,
    volume_size,
)
from seldon_meta_operator.errors import SpecError

NAME = names.OPENSEARCH  # StatefulSet, client Service and the nodes' name prefix
HEADLESS = f"{NAME}-headless"
CLUSTER = "seldon-internal-opensearch-cluster"
RELEASE = "seldon-internal-opensearch"
#: Selector labels: a StatefulSet's selector cannot change, so these are fixed for good.
LABELS = {"app.kubernetes.io/name": "opensearch", "app.kubernetes.io/instance": RELEASE}
CONTAINER = "opensearch"

IMAGE = "opensearchproject/opensearch:2.19.1"
OPENSEARCH_UID = 1000  # the image's opensearch user
HTTP_PORT = names.OPENSEARCH_PORT
TRANSPORT_PORT = 9300
DATA_DIR = "/usr/share/opensearch/data"
HEAP = "512m"
ROLES = ("cluster_manager", "ingest", "data", "remote_cluster_client")

SECRET = names.ELASTIC_SECRET
USERNAME = "admin"  # the security plugin's built-in administrator
USER_KEY = "username"
PASSWORD_KEY = "password"
SCHEME = "https"  # the demo configuration serves HTTP over TLS

#: The OpenSearch chart names its claim template after the StatefulSet (``opensearch.uname``): the first claim a
#: helm-era node group of our name left behind.
CHART_CLAIM_TEMPLATE = NAME
CHART_CLAIM = f"{CHART_CLAIM_TEMPLATE}-{NAME}-0"

REPLICAS_FIELD = "spec.payloadstore.internal_elastic.replicas"
STORAGE_FIELD = "spec.payloadstore.internal_elastic.storage_size"


def host(namespace: str) -> str:
    """The client Service's in-cluster DNS name."""
    return f"{NAME}.{namespace}.svc.cluster.local"


def url(namespace: str) -> str:
    return f"{SCHEME}://{host(namespace)}:{HTTP_PORT}"


def wiring(w: WiringContext) -> Layers:
    if not w.spec.uses_internal_elastic:
        return {}
    return {
        ENTERPRISE: {
            "elasticsearch": {
                "url": url(w.namespace),
                "basicAuth": True,
                "secret": {"name": SECRET, "userKey": USER_KEY, "passwordKey": PASSWORD_KEY},
            },
            "requestLogger": {
                "elasticsearch": {"host": host(w.namespace), "port": str(HTTP_PORT), "protocol": SCHEME},
            },
        }
    }


def secrets(ctx: RenderContext) -> list[GeneratedSecret]:
    return [
        GeneratedSecret(
            name=SECRET,
            namespace=ctx.namespace,
            literals={USER_KEY: USERNAME},
            random_keys=(PASSWORD_KEY,),
            data=True,
        )
    ]


def replicas(ctx: RenderContext) -> int:
    count = ctx.spec.payloadstore.internal_elastic.replicas
    if count < 1:  # the typed field allows 1-9 already; a StatefulSet of 0 nodes is no payload store
        raise SpecError(f"{REPLICAS_FIELD}: expected at least 1 node, got {count}")
    return count


def node_names(count: int) -> list[str]:
    """The pods of the StatefulSet: the nodes that may vote in the first cluster-manager election."""
    return [f"{NAME}-{i}" for i in range(count)]


def claim_template_name(ctx: RenderContext) -> str:
    """The chart's claim template name when the caller found a claim of it (adoption), ``data`` otherwise."""
    return CHART_CLAIM_TEMPLATE if ctx.facts.claim(ctx.namespace, CHART_CLAIM) is not None else "data"


def _ports() -> list[dict[str, Any]]:
    return [
        {"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"},
        {"name": "transport", "port": TRANSPORT_PORT, "targetPort": "transport", "protocol": "TCP"},
    ]


def render_services(ctx: RenderContext) -> list[Manifest]:
    client = obj(
        "v1",
        "Service",
        meta(NAME, ctx.namespace, LABELS),
        spec={"type": "ClusterIP", "selector": dict(LABELS), "ports": _ports()},
    )
    headless = obj(
        "v1",
        "Service",
        meta(HEADLESS, ctx.namespace, LABELS),
        spec={
            "type": "ClusterIP",
            "clusterIP": "None",
            # Starting nodes must find each other to form the cluster, before any of them is ready.
            "publishNotReadyAddresses": True,
            "selector": dict(LABELS),
            "ports": _ports(),
        },
    )
    return [client, headless]


def _tcp_probe(port: str, period: int, failures: int, initial_delay: int = 0) -> dict[str, Any]:
    # TCP, not HTTP: every HTTP request needs the admin credentials, and a probe must not carry them.
    probe: dict[str, Any] = {"tcpSocket": {"port": port}}
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    probe.update({"periodSeconds": period, "timeoutSeconds": 3, "failureThreshold": failures})
    return probe


def node_env(count: int) -> list[dict[str, Any]]:
    """OpenSearch settings as environment variables: the image's entrypoint passes every ``a.b`` variable on as
    a ``-Ea.b=...`` setting, so the demo security installer can still write its part of ``opensearch.yml``."""
    return [
        {"name": "node.name", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "cluster.name", "value": CLUSTER},
        {"name": "cluster.initial_cluster_manager_nodes", "value": ",".join(node_names(count))},
        {"name": "discovery.seed_hosts", "value": HEADLESS},
        {"name": "network.host", "value": "0.0.0.0"},
        {"name": "node.roles", "value": ",".join(ROLES)},
        {"name": "node.store.allow_mmap", "value": "false"},  # see the module docstring: no sysctl needed
        {"name": "OPENSEARCH_JAVA_OPTS", "value": f"-Xms{HEAP} -Xmx{HEAP}"},
        secret_env("OPENSEARCH_INITIAL_ADMIN_PASSWORD", SECRET, PASSWORD_KEY),
    ]


def render_statefulset(ctx: RenderContext) -> Manifest:
    count = replicas(ctx)
    volume = claim_template_name(ctx)
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "ports": [
            {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
            {"name": "transport", "containerPort": TRANSPORT_PORT, "protocol": "TCP"},
        ],
        "env": node_env(count),
        # The first start installs the demo security configuration and forms the cluster: up to five minutes.
        "startupProbe": _tcp_probe("http", period=10, failures=30, initial_delay=5),
        "readinessProbe": _tcp_probe("http", period=5, failures=3),
        "livenessProbe": _tcp_probe("transport", period=20, failures=10),
        # A CPU limit too (issue 8: every container has CPU and memory limits); a trial node needs little.
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
        # The root filesystem stays writable: the demo security installer writes certificates and settings into
        # the image's config directory on every start.
        "securityContext": restricted_security_context(),
        "volumeMounts": [{"name": volume, "mountPath": DATA_DIR}],
    }
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,  # OpenSearch needs no Kubernetes API access
        "securityContext": {
            "runAsUser": OPENSEARCH_UID,
            "runAsGroup": OPENSEARCH_UID,
            "runAsNonRoot": True,
            "fsGroup": OPENSEARCH_UID,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        # Spread the nodes where the cluster can, so that one machine going down leaves a quorum.
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 1,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": dict(LABELS)},
                        },
                    }
                ]
            }
        },
        "terminationGracePeriodSeconds": 120,  # time to hand shards over before the node stops
        "containers": [container],
    }
    size = volume_size(ctx.spec.payloadstore.internal_elastic.storage_size, STORAGE_FIELD)
    claim = data_claim_template(LABELS, size, name=volume)
    return obj(
        "apps/v1",
        "StatefulSet",
        meta(NAME, ctx.namespace, LABELS),
        spec={
            "replicas": count,
            "serviceName": HEADLESS,
            # All nodes at once: one at a time would wait for a pod that waits for the others to elect a manager.
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": dict(LABELS)},
            "template": {"metadata": {"labels": dict(LABELS)}, "spec": pod},
            "volumeClaimTemplates": [claim],
            "persistentVolumeClaimRetentionPolicy": claim_retention(ctx.spec.retain_data),
        },
    )


def render_disruption_budget(ctx: RenderContext) -> list[Manifest]:
    """With several nodes, voluntary disruptions (a node drain, a cluster upgrade) take one node at a time, so
    the cluster keeps a quorum of cluster-manager-eligible nodes and its replicas. A single node gets none: a
    budget that allows no eviction would block every drain."""
    if replicas(ctx) < 2:
        return []
    return [
        obj(
            "policy/v1",
            "PodDisruptionBudget",
            meta(NAME, ctx.namespace, LABELS),
            spec={"maxUnavailable": 1, "selector": {"matchLabels": dict(LABELS)}},
        )
    ]


def render(ctx: RenderContext) -> list[Manifest]:
    return [*render_services(ctx), render_statefulset(ctx), *render_disruption_budget(ctx)]


COMPONENT = Component(
    name="opensearch",
    title="Trial OpenSearch",
    enabled=lambda spec: spec.uses_internal_elastic,
    render=render,
    wiring=wiring,
    secrets=secrets,
)
