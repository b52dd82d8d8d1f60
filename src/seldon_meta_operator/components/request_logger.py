"""Request logger (``enable.payloadstore`` or ``enable.detectors``): the service that receives Seldon Core's
request and response events, and detectors' replies, and writes them to the payload store.

Layer: components (pure).

Objects, in the SeldonOperator's namespace (the Seldon Deploy chart puts them in ``seldon-logs``; the seed's
Verification shows them next to everything else):

- Deployment ``seldon-request-logger`` (container ``user-container``, port 8080) and Service
  ``seldon-request-logger`` (port 80 to 8080), selected by ``app: seldon-request-logger`` as in the chart
  (upstream-seldon-facts.md §4.4, §5.1). The Service is the detectors' Trigger subscriber, so the logger runs
  whenever detectors are on, even without a payload store to write to.

Values: the Deploy chart's ``requestLogger.*`` (chart 2.0.2), in ``spec.enterprise.values``:

- ``image`` (one string, default ``seldonio/metronome:1.4.1``), ``imagePullPolicy``, ``replicas``,
  ``resources``, ``env`` (extra variables, e.g. ``MAX_PAYLOAD_BYTES``);
- ``elasticsearch.{host,port,protocol}`` (the user's store with ``use_internal: false``; wired to the trial
  OpenSearch otherwise) and ``elasticsearch.jwtSecretName``/``jwtSecretKey`` (a bearer token). Basic auth follows
  Deploy's own ``elasticsearch.basicAuth`` and ``elasticsearch.secret.*``: both read the same store;
- ``http.enabled``, ``kafka_consumer.*``, and ``deployHost`` with ``authSecret``, used as the chart uses them
  only when ``metadata.pg.enabled`` (the logger then asks Deploy's API for model metadata);
- ``create: false`` renders no logger: bring your own Service ``seldon-request-logger`` in this namespace;
- ``trigger.apiVersion`` and ``trigger.broker`` are declared here, the chart's place for them, and read by the
  detectors component, which renders the Trigger;
- ``namespace.name`` may only name the SeldonOperator's namespace, and ``namespace.create`` must stay false: the
  logger, the Broker and Deploy's detectors all live there.

Wiring, while the logger is enabled: Deploy's ``requestLogger.namespace.name`` is the SeldonOperator's namespace,
so Deploy's detector reply URL is ``http://seldon-request-logger.<namespace>`` (the seed's second known issue: it
was ``seldon-logs``); Seldon Core's ``executor.requestLogger.defaultEndpoint`` is the namespace's broker when
detectors are on (every event goes through the Trigger), else the logger's Service itself (no Knative needed for
payload logging alone). User values still win (render/values.py).

Departures from the chart, and why:

- ``kafka_consumer.enabled`` defaults to false: the platform installs no Kafka, and Seldon Core v1 sends events
  over HTTP;
- without a payload store (detectors alone) the Elasticsearch credentials are optional references, as in
  Seldon Deploy, so the logger starts without ``elastic-credentials``;
- the container drops every capability and forbids privilege escalation. No ``runAsNonRoot``: the image's user is
  not documented (Seldon Deploy's container is treated the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seldon_meta_operator.api.v1alpha1 import SeldonOperatorSpec
from seldon_meta_operator.components import names
from seldon_meta_operator.components.base import (
    CORE,
    ENTERPRISE,
    SELDON_UID,
    Component,
    EnvList,
    Layers,
    Manifest,
    RenderContext,
    Values,
    ValuesSchema,
    WiringContext,
    meta,
    obj,
    restricted_pod_security_context,
    values_path,
)
from seldon_meta_operator.errors import SpecError, brief

NAME = names.REQUEST_LOGGER  # Deployment and Service
LABELS = {"app": NAME}  # the chart's selector
CONTAINER = "user-container"
HTTP_PORT = 8080
SERVICE_PORT = 80  # the Trigger's subscriber URI has no port

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("http", "https")

# --- Default values: the Deploy chart's requestLogger.* (upstream-seldon-facts.md §4.3, chart 2.0.2) -----------

DEFAULTS: dict[str, Any] = {
    "requestLogger": {
        "create": True,
        "image": "seldonio/metronome:1.4.1",
        "replicas": 1,
        "imagePullPolicy": "IfNotPresent",
        "elasticsearch": {
            "host": "opensearch-cluster-master.seldon-logs.svc.cluster.local",
            "port": "9200",
            "protocol": "https",
        },
        "namespace": {"create": False},
        "http": {"enabled": True},
        # Departure: no Kafka is installed by the platform (the chart defaults to true).
        "kafka_consumer": {
            "enabled": False,
            "bootstrap_servers": "seldon-kafka-bootstrap.kafka.svc.cluster.local:9092",
            "group_id": "metronome",
            "auto_offset_reset": "earliest",
        },
        "deployHost": "http://seldon-deploy.seldon-system/seldon-deploy/api/v1alpha1",
        "authSecret": "",
        "trigger": {"apiVersion": "eventing.knative.dev/v1", "broker": names.BROKER},
        # The 1.2.1 chart's CPU limit (2.0.2 has none): every container gets CPU and memory limits (issue 8).
        "resources": {"limits": {"cpu": "600m", "memory": "500Mi"}, "requests": {"cpu": "100m", "memory": "200Mi"}},
    }
}
#: Keys read when set, with no default: ``namespace.name`` is wired (the chart's ``seldon-logs`` never applies).
OPTIONAL = (
    "requestLogger.namespace.name",
    "requestLogger.elasticsearch.jwtSecretName",
    "requestLogger.elasticsearch.jwtSecretKey",
)
OPEN_MAPS = ("requestLogger.env", "requestLogger.resources")

#: Deploy's keys for the store's credentials (declared by seldon_deploy), with the chart's defaults.
DEPLOY_KEYS: dict[str, Any] = {
    "elasticsearch.basicAuth": True,
    "elasticsearch.secret.name": names.ELASTIC_SECRET,
    "elasticsearch.secret.userKey": "username",
    "elasticsearch.secret.passwordKey": "password",
    "metadata.pg.enabled": False,
}


def default(path: str) -> Any:
    """The chart default of a ``requestLogger.*`` path: what a user ``null`` (which deletes the key) falls back to."""
    node: Any = DEFAULTS
    for part in path.split("."):
        node = node[part]
    return node


# --- Wiring --------------------------------------------------------------------------------------------------


def enabled(spec: SeldonOperatorSpec) -> bool:
    """Payload logging needs the logger; so do detectors, whose Trigger delivers to it."""
    return spec.enable.payloadstore or spec.enable.detectors


def executor_endpoint(w: WiringContext) -> str:
    """Where Seldon Core's executors send request and response events by default."""
    if w.spec.enable.detectors:
        return names.broker_url(w.namespace)
    return names.request_logger_url(w.namespace)


def wiring(w: WiringContext) -> Layers:
    if not enabled(w.spec):
        return {}
    return {
        CORE: {"executor": {"requestLogger": {"defaultEndpoint": executor_endpoint(w)}}},
        ENTERPRISE: {"requestLogger": {"namespace": {"name": w.namespace}}},
    }


# --- Reading values ------------------------------------------------------------------------------------------


def _word(v: Values, path: str) -> str:
    """A non-empty string without whitespace (image, host, Secret name), falling back to the chart default."""
    text = v.str(path, default(path))
    if not text or any(c.isspace() for c in text):
        raise v.error(path, "a non-empty string without spaces", text)
    return text


def _port(v: Values, path: str) -> int:
    port = v.int(path, default(path))
    if not 1 <= port <= 65535:
        raise v.error(path, "a port number between 1 and 65535", port)
    return port


def check_namespace(ctx: RenderContext) -> None:
    v = ctx.enterprise
    wanted = v.opt_str("requestLogger.namespace.name")
    if wanted is not None and wanted != ctx.namespace:
        raise SpecError(
            f"{values_path(v.root, 'requestLogger.namespace.name')}: the request logger, its Broker and Deploy's "
            f"detectors run in the SeldonOperator's namespace `{ctx.namespace}`; remove the key (got {brief(wanted)})"
        )
    if v.bool("requestLogger.namespace.create", False):
        raise SpecError(
            f"{values_path(v.root, 'requestLogger.namespace.create')}: the request logger runs in the "
            f"SeldonOperator's namespace `{ctx.namespace}`, which exists; remove the key or set it to false"
        )


def store_host(v: Values) -> str:
    path = "requestLogger.elasticsearch.host"
    host = _word(v, path)
    if "://" in host or "/" in host:
        raise v.error(path, "a host name alone (set requestLogger.elasticsearch.protocol and port apart)", host)
    return host


def _derived_env(ctx: RenderContext) -> EnvList:
    v = ctx.enterprise
    env = EnvList()
    env.add("ELASTICSEARCH_HOST", store_host(v))
    env.add("ELASTICSEARCH_PORT", str(_port(v, "requestLogger.elasticsearch.port")))
    env.add(
        "ELASTICSEARCH_PROTOCOL",
        v.str("requestLogger.elasticsearch.protocol", default("requestLogger.elasticsearch.protocol"), PROTOCOLS),
    )
    if v.bool("elasticsearch.basicAuth", DEPLOY_KEYS["elasticsearch.basicAuth"]):
        # Without a payload store (detectors alone) there may be no credentials: optional, as in Seldon Deploy.
        optional = None if ctx.spec.enable.payloadstore else True
        secret = v.opt_str("elasticsearch.secret.name") or DEPLOY_KEYS["elasticsearch.secret.name"]
        user_key = v.opt_str("elasticsearch.secret.userKey") or DEPLOY_KEYS["elasticsearch.secret.userKey"]
        password_key = v.opt_str("elasticsearch.secret.passwordKey") or DEPLOY_KEYS["elasticsearch.secret.passwordKey"]
        env.secret("ELASTICSEARCH_USER", secret, user_key, optional)
        env.secret("ELASTICSEARCH_PASS", secret, password_key, optional)
    if jwt := v.opt_str("requestLogger.elasticsearch.jwtSecretName"):
        key = v.opt_str("requestLogger.elasticsearch.jwtSecretKey")
        if key is None:
            raise SpecError(
                f"{values_path(v.root, 'requestLogger.elasticsearch.jwtSecretKey')}: a token from "
                "requestLogger.elasticsearch.jwtSecretName needs the key holding it; set it, or remove "
                "requestLogger.elasticsearch.jwtSecretName"
            )
        env.secret("ELASTICSEARCH_TOKEN", jwt, key)
    if v.bool("requestLogger.http.enabled", default("requestLogger.http.enabled")):
        env.add("METRONOME_SERVER_HTTP_PORT", str(HTTP_PORT))
    if v.bool("requestLogger.kafka_consumer.enabled", default("requestLogger.kafka_consumer.enabled")):
        for var, key in (
            ("BOOTSTRAP_SERVERS", "bootstrap_servers"),
            ("GROUP_ID", "group_id"),
            ("AUTO_OFFSET_RESET", "auto_offset_reset"),
        ):
            env.add(f"METRONOME_SERVER_KAFKA_CONSUMER_{var}", _word(v, f"requestLogger.kafka_consumer.{key}"))
    if v.bool("metadata.pg.enabled", DEPLOY_KEYS["metadata.pg.enabled"]):
        env.add("DEPLOY_API_HOST", _word(v, "requestLogger.deployHost"))
    return env


def container_env(ctx: RenderContext) -> list[dict[str, Any]]:
    """The derived variables, then ``requestLogger.env`` sorted by name (as Helm ranges over a map)."""
    v = ctx.enterprise
    derived = _derived_env(ctx)
    user = v.str_map("requestLogger.env", {})
    clashes = sorted(k for k in user if k in derived.entries)
    if clashes:
        raise SpecError(
            "; ".join(
                f"{values_path(v.root, 'requestLogger.env.' + k)}: the request logger sets {k} itself from its "
                "chart values; remove it from env and set the chart value instead"
                for k in clashes
            )
        )
    return [*derived.entries.values(), *({"name": k, "value": user[k]} for k in sorted(user))]


def _env_from(ctx: RenderContext) -> list[dict[str, Any]]:
    """``authSecret``: credentials for Deploy's API (OIDC variables), read with the metadata lookups only."""
    v = ctx.enterprise
    if not v.bool("metadata.pg.enabled", DEPLOY_KEYS["metadata.pg.enabled"]):
        return []
    secret = v.str("requestLogger.authSecret", default("requestLogger.authSecret"))
    if not secret:
        return []
    if any(c.isspace() for c in secret):
        raise v.error("requestLogger.authSecret", "a Secret name", secret)
    return [{"secretRef": {"name": secret}}]


def _resources(v: Values) -> dict[str, Any]:
    path = "requestLogger.resources"
    resources = v.map(path, default(path))
    for key, value in resources.items():
        if key not in ("limits", "requests", "claims"):
            raise SpecError(
                f"{values_path(v.root, path)}.{str(key)[:64]}: expected limits or requests, got {brief(key)}"
            )
        if not isinstance(value, Mapping):
            raise SpecError(f"{values_path(v.root, path)}.{key}: expected a mapping of quantities, got {brief(value)}")
    return resources


# --- Objects -------------------------------------------------------------------------------------------------

SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _tcp_probe(initial_delay: int, period: int) -> dict[str, Any]:
    # TCP: neither logger image documents a health endpoint, and a GET on / is an event to them.
    return {
        "tcpSocket": {"port": "http"},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }


def render_deployment(ctx: RenderContext) -> Manifest:
    v = ctx.enterprise
    replicas = v.int("requestLogger.replicas", default("requestLogger.replicas"))
    if replicas < 0:
        raise v.error("requestLogger.replicas", "a number of replicas, 0 or more", replicas)
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": _word(v, "requestLogger.image"),
        "imagePullPolicy": v.str(
            "requestLogger.imagePullPolicy", default("requestLogger.imagePullPolicy"), PULL_POLICIES
        ),
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "env": container_env(ctx),
    }
    if env_from := _env_from(ctx):
        container["envFrom"] = env_from
    container.update(
        {
            "readinessProbe": _tcp_probe(initial_delay=5, period=10),
            "livenessProbe": _tcp_probe(initial_delay=15, period=20),
        }
    )
    if resources := _resources(v):
        container["resources"] = resources
    container["securityContext"] = dict(SECURITY_CONTEXT)
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,  # the logger needs no Kubernetes API access
        # Pod Security "restricted"; Seldon's uid, as the logger's image may not name a numeric user.
        "securityContext": restricted_pod_security_context(SELDON_UID),
        "containers": [container],
    }
    return obj(
        "apps/v1",
        "Deployment",
        meta(NAME, ctx.namespace, LABELS),
        spec={
            "replicas": replicas,
            "selector": {"matchLabels": dict(LABELS)},
            "template": {"metadata": {"labels": dict(LABELS)}, "spec": pod},
        },
    )


def render_service(ctx: RenderContext) -> Manifest:
    return obj(
        "v1",
        "Service",
        meta(NAME, ctx.namespace, LABELS),
        spec={
            "type": "ClusterIP",
            "selector": dict(LABELS),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    )


def render(ctx: RenderContext) -> list[Manifest]:
    check_namespace(ctx)
    if not ctx.enterprise.bool("requestLogger.create", default("requestLogger.create")):
        return []
    return [render_service(ctx), render_deployment(ctx)]


COMPONENT = Component(
    name="request_logger",
    title="Request logger",
    enabled=enabled,
    render=render,
    depends_on=("opensearch",),
    values=(ValuesSchema(root=ENTERPRISE, defaults=DEFAULTS, optional=OPTIONAL, open_maps=OPEN_MAPS),),
    wiring=wiring,
)
