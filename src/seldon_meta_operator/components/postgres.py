"""Trial PostgreSQL (``enable.catalogue``): the model catalogue's database, for development and testing only.

Layer: components (pure).

The seed's Verification shows one pod ``seldon-internal-postgres-postgresql-0`` READY 1/1: the names a Bitnami
``postgresql`` release called ``seldon-internal-postgres`` would give (upstream-seldon-facts.md §6.2, §7). No
public source pins the original's chart, so this is our own single-node server on the official ``postgres``
image, with the objects named as that release would name them.

Objects, all in the SeldonOperator's namespace:

- StatefulSet ``seldon-internal-postgres-postgresql``: one replica, one container ``postgresql``, probes that run
  ``pg_isready``, a volume claim template ``data`` of ``catalogue.internal_postgres.storage_size``. The claim
  survives turning the feature off and deleting the SeldonOperator unless ``retain_data: false``
  (``persistentVolumeClaimRetentionPolicy``). Its size is fixed once the StatefulSet exists: the API server
  refuses changes to claim templates (the change is reported as ApplyFailed), and a recreated StatefulSet finds
  the kept claim again, so a bigger volume means expanding the claim itself where its StorageClass allows it;
- Service ``seldon-internal-postgres-postgresql`` (clients, port 5432) and the headless Service
  ``seldon-internal-postgres-postgresql-hl`` that gives the pod its stable DNS name.

Credentials: one generated Secret, ``metadata-postgres``, in the shape Seldon Deploy reads (keys ``host``, ``port``,
``user``, ``password``, ``dbname``, ``sslmode``; facts §6.2). The server reads its password from the same Secret,
so the two can never disagree: reconcile generates the password once and never overwrites it. The Secret is
retained data (``GeneratedSecret.data``): it follows ``retain_data`` like the claim, so a retained database stays
readable when the feature comes back.

Values: none. The seed documents no values for the trial database; its settings are the typed
``catalogue.internal_postgres.*`` fields and the constants below.

Wiring: Seldon Deploy's ``metadata.pg.enabled`` and ``metadata.pg.secret`` point at this server while the
catalogue is enabled. User values still win (render/values.py), e.g. ``metadata.pg.secret`` naming the Secret of a
managed database.

Adoption of a helm-era database (issue 11): the claim ``data-seldon-internal-postgres-postgresql-0`` is the one a
Bitnami ``postgresql`` release called ``seldon-internal-postgres`` leaves behind, and the one our StatefulSet
claims. Bitnami labels its primary's claims ``app.kubernetes.io/component: primary``; ours never carry that label.
When the caller found such a claim (``ctx.facts.claims``), the server is rendered for the layout Bitnami's image
wrote: uid, gid and fsGroup 1001, the volume mounted at ``/bitnami/postgresql`` and ``PGDATA`` at
``/bitnami/postgresql/data``. Bitnami keeps ``postgresql.conf`` and ``pg_hba.conf`` outside the data directory,
so the server then reads ours from the ConfigMap ``seldon-internal-postgres-postgresql-configuration``
(``-c config_file=...``): listening on every address, password (md5 or SCRAM) authentication. The official
image reads PostgreSQL 15 data, which is what the Bitnami chart 12.x (bitnami/postgresql 12.1.15) writes; the
database's users and passwords are the old ones, so Deploy needs the old ``metadata-postgres`` Secret (kept if it
exists; without it the component is Stalled, ``CredentialsLost``, and nothing is applied).

Departures from upstream, and why:

- the official ``postgres`` image rather than Bitnami's: it needs none of the Bitnami chart's layout, and it runs
  unprivileged as its ``postgres`` user (uid 999) with a read-only root filesystem once its socket and temporary
  directories are volumes;
- ``sslmode`` is ``disable``: the trial server has no certificate, and the traffic stays inside the cluster
  (Zalando's operator, the Deploy docs' trial database, generated a self-signed one and used ``require``);
- the superuser is ``seldon`` and owns the database ``metadata``, as in the Deploy docs' trial database; no second
  administrative password exists to leak.
"""

from __future__ import annotations

from dataclasses import dataclass
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

NAME = names.POSTGRES  # StatefulSet and client Service
HEADLESS = f"{NAME}-hl"
RELEASE = "seldon-internal-postgres"
#: Selector labels: a StatefulSet's selector cannot change, so these are fixed for good.
LABELS = {"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": RELEASE}
CONTAINER = "postgresql"
PORT_NAME = "tcp-postgresql"

IMAGE = "postgres:15.10"  # PostgreSQL 15, as the Deploy docs' 2024 trial database
POSTGRES_UID = 999  # the image's postgres user
DATA_DIR = "/var/lib/postgresql/data"
# A directory below the mount point: initdb refuses a non-empty directory, and a fresh volume may hold lost+found.
PGDATA = f"{DATA_DIR}/pgdata"
SOCKET_DIR = "/var/run/postgresql"
SSLMODE = "disable"

SECRET = names.METADATA_POSTGRES_SECRET
PASSWORD_KEY = "password"
STORAGE_FIELD = "spec.catalogue.internal_postgres.storage_size"

#: The claim a Bitnami release ``seldon-internal-postgres`` leaves, and the one our StatefulSet claims.
CLAIM = f"data-{NAME}-0"
#: The label Bitnami's chart puts on its primary's claims (and its selector); our claims never carry it.
BITNAMI_CLAIM_LABEL = ("app.kubernetes.io/component", "primary")
BITNAMI_UID = 1001  # the Bitnami image's user (and the chart's fsGroup)
BITNAMI_MOUNT = "/bitnami/postgresql"
BITNAMI_PGDATA = f"{BITNAMI_MOUNT}/data"
CONFIG_MAP = f"{NAME}-configuration"
CONFIG_DIR = "/etc/seldon-postgresql"


@dataclass(frozen=True)
class Layout:
    """Where the server's data lives on its volume, and as whom it runs: fixed by whoever wrote the data first."""

    uid: int
    mount: str  # where the claim is mounted
    pgdata: str
    bitnami: bool = False  # Bitnami's layout: our configuration files, from the ConfigMap


OFFICIAL = Layout(uid=POSTGRES_UID, mount=DATA_DIR, pgdata=PGDATA)
BITNAMI = Layout(uid=BITNAMI_UID, mount=BITNAMI_MOUNT, pgdata=BITNAMI_PGDATA, bitnami=True)


def layout(ctx: RenderContext) -> Layout:
    """Bitnami's layout when the caller found our claim labelled as Bitnami labels its primary's claims (a
    helm-era database to adopt); ours otherwise, including offline, when nobody looked."""
    claim = ctx.facts.claim(ctx.namespace, CLAIM)
    key, value = BITNAMI_CLAIM_LABEL
    return BITNAMI if claim is not None and claim.labels.get(key) == value else OFFICIAL


def render_configuration(ctx: RenderContext) -> Manifest:
    """postgresql.conf and pg_hba.conf for a database Bitnami's image wrote (it keeps them outside the data
    directory). Passwords are checked with ``md5``, which accepts both MD5 and SCRAM password hashes."""
    conf = "\n".join(
        [
            "listen_addresses = '*'",
            f"port = {names.POSTGRES_PORT}",
            f"unix_socket_directories = '{SOCKET_DIR}'",
            f"hba_file = '{CONFIG_DIR}/pg_hba.conf'",
            f"ident_file = '{CONFIG_DIR}/pg_ident.conf'",
            "",
        ]
    )
    hba = "\n".join(
        [
            "local all all md5",
            "host all all 127.0.0.1/32 md5",
            "host all all ::1/128 md5",
            "host all all 0.0.0.0/0 md5",
            "host all all ::/0 md5",
            "",
        ]
    )
    return obj(
        "v1",
        "ConfigMap",
        meta(CONFIG_MAP, ctx.namespace, LABELS),
        data={"postgresql.conf": conf, "pg_hba.conf": hba, "pg_ident.conf": ""},
    )


def host(namespace: str) -> str:
    """The client Service's in-cluster DNS name (the ``host`` of ``metadata-postgres``)."""
    return f"{NAME}.{namespace}.svc.cluster.local"


def wiring(w: WiringContext) -> Layers:
    if not w.spec.enable.catalogue:
        return {}
    return {ENTERPRISE: {"metadata": {"pg": {"enabled": True, "secret": SECRET}}}}


def secrets(ctx: RenderContext) -> list[GeneratedSecret]:
    return [
        GeneratedSecret(
            name=SECRET,
            namespace=ctx.namespace,
            literals={
                "host": host(ctx.namespace),
                "port": str(names.POSTGRES_PORT),
                "user": names.POSTGRES_USER,
                "dbname": names.POSTGRES_DATABASE,
                "sslmode": SSLMODE,
            },
            random_keys=(PASSWORD_KEY,),
            data=True,
        )
    ]


def _pg_isready() -> dict[str, Any]:
    # Over TCP, not the socket: during initdb the entrypoint runs a temporary server on the socket only, and the
    # pod must not count as ready before the real server listens.
    command = ["pg_isready", "-U", names.POSTGRES_USER, "-d", names.POSTGRES_DATABASE, "-h", "127.0.0.1"]
    return {"exec": {"command": [*command, "-p", str(names.POSTGRES_PORT)]}}


def _probe(period: int, failures: int) -> dict[str, Any]:
    return {**_pg_isready(), "periodSeconds": period, "timeoutSeconds": 5, "failureThreshold": failures}


def render_services(ctx: RenderContext) -> list[Manifest]:
    port = {"name": PORT_NAME, "port": names.POSTGRES_PORT, "targetPort": PORT_NAME, "protocol": "TCP"}
    client = obj(
        "v1",
        "Service",
        meta(NAME, ctx.namespace, LABELS),
        spec={"type": "ClusterIP", "selector": dict(LABELS), "ports": [dict(port)]},
    )
    headless = obj(
        "v1",
        "Service",
        meta(HEADLESS, ctx.namespace, LABELS),
        spec={
            "type": "ClusterIP",
            "clusterIP": "None",
            # The pod's DNS name exists while it starts, as a StatefulSet's governing Service should provide.
            "publishNotReadyAddresses": True,
            "selector": dict(LABELS),
            "ports": [dict(port)],
        },
    )
    return [client, headless]


#: Size of the memory-backed /dev/shm: room for parallel query workers, well inside the 1Gi memory limit.
SHM_SIZE = "256Mi"


def render_statefulset(ctx: RenderContext) -> Manifest:
    where = layout(ctx)
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": PORT_NAME, "containerPort": names.POSTGRES_PORT, "protocol": "TCP"}],
        "env": [
            {"name": "POSTGRES_USER", "value": names.POSTGRES_USER},
            {"name": "POSTGRES_DB", "value": names.POSTGRES_DATABASE},
            secret_env("POSTGRES_PASSWORD", SECRET, PASSWORD_KEY),
            {"name": "PGDATA", "value": where.pgdata},
        ],
        # initdb on a new volume takes a while: up to five minutes before liveness counts.
        "startupProbe": _probe(period=10, failures=30),
        "readinessProbe": _probe(period=10, failures=3),
        "livenessProbe": _probe(period=20, failures=6),
        # A CPU limit too (issue 8: every container has CPU and memory limits); a trial database needs little.
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": {**restricted_security_context(), "readOnlyRootFilesystem": True},
        "volumeMounts": [
            {"name": "data", "mountPath": where.mount},
            {"name": "run", "mountPath": SOCKET_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "dshm", "mountPath": "/dev/shm"},
        ],
    }
    volumes: list[dict[str, Any]] = [
        {"name": "run", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
        # The runtime's /dev/shm is 64 MiB, which PostgreSQL's parallel queries (dynamic shared memory)
        # exceed; memory-backed, it counts against the container's memory limit, as Bitnami's shmVolume does.
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE}},
    ]
    if where.bitnami:
        # The image's entrypoint runs ``postgres`` with these arguments; the data exists, so it never runs initdb.
        container["args"] = ["-c", f"config_file={CONFIG_DIR}/postgresql.conf"]
        container["volumeMounts"].append({"name": "configuration", "mountPath": CONFIG_DIR, "readOnly": True})
        volumes.append({"name": "configuration", "configMap": {"name": CONFIG_MAP}})
    pod = {
        "automountServiceAccountToken": False,  # a database needs no Kubernetes API access
        "securityContext": {
            "runAsUser": where.uid,
            "runAsGroup": where.uid,
            "runAsNonRoot": True,
            "fsGroup": where.uid,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
    claim = data_claim_template(LABELS, volume_size(ctx.spec.catalogue.internal_postgres.storage_size, STORAGE_FIELD))
    return obj(
        "apps/v1",
        "StatefulSet",
        meta(NAME, ctx.namespace, LABELS),
        spec={
            "replicas": 1,  # a single server: no replication in a trial database
            "serviceName": HEADLESS,
            "selector": {"matchLabels": dict(LABELS)},
            "template": {"metadata": {"labels": dict(LABELS)}, "spec": pod},
            "volumeClaimTemplates": [claim],
            "persistentVolumeClaimRetentionPolicy": claim_retention(ctx.spec.retain_data),
        },
    )


def render(ctx: RenderContext) -> list[Manifest]:
    configuration = [render_configuration(ctx)] if layout(ctx).bitnami else []
    return [*render_services(ctx), *configuration, render_statefulset(ctx)]


COMPONENT = Component(
    name="postgres",
    title="Trial PostgreSQL",
    enabled=lambda spec: spec.enable.catalogue,
    render=render,
    wiring=wiring,
    secrets=secrets,
)
