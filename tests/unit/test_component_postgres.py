"""Trial PostgreSQL: the seed's one pod READY 1/1, its volume, its generated credentials in the shape Seldon Deploy
reads, and the wiring of Deploy's metadata store to it."""

from __future__ import annotations

from typing import Any

import pytest
from tests.builders import NS, Doc, Modifier, container, enable, enterprise_values, env, find, platform, render, spec

from seldon_meta_operator.components.base import GeneratedSecret, Manifest
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render.pipeline import RenderResult

POSTGRES = "seldon-internal-postgres-postgresql"
HEADLESS = f"{POSTGRES}-hl"
SECRET = "metadata-postgres"


def catalogue(*mods: Modifier, namespace: str = NS) -> Doc:
    return platform(enable("catalogue"), *mods, namespace=namespace)


def objects(doc: Doc) -> list[Manifest]:
    return list(render(doc).component("postgres").manifests)


def statefulset(doc: Doc) -> Manifest:
    return find(objects(doc), "StatefulSet", POSTGRES)


def pod(doc: Doc) -> dict[str, Any]:
    spec_: dict[str, Any] = statefulset(doc)["spec"]["template"]["spec"]
    return spec_


def generated(result: RenderResult) -> GeneratedSecret:
    (secret,) = result.component("postgres").secrets
    return secret


def deploy_env(result: RenderResult) -> dict[str, Any]:
    return env(find(result.manifests, "Deployment", "seldon-deploy"))


# --- What is rendered ----------------------------------------------------------------------------------------


def test_without_the_catalogue_nothing_is_rendered_generated_or_wired() -> None:
    result = render(platform())
    comp = result.component("postgres")
    assert (comp.enabled, comp.manifests, comp.secrets) == (False, (), ())
    assert result.values["enterprise"]["metadata"]["pg"]["enabled"] is False
    assert "METADATA_PG_ENABLED" not in deploy_env(result)


def test_the_catalogue_renders_one_statefulset_and_its_two_services() -> None:
    kinds = sorted((m["kind"], m["metadata"]["name"], m["metadata"]["namespace"]) for m in objects(catalogue()))
    assert kinds == [("Service", POSTGRES, NS), ("Service", HEADLESS, NS), ("StatefulSet", POSTGRES, NS)]


def test_one_server_with_one_container_so_the_pod_shows_ready_1_of_1() -> None:
    sts = statefulset(catalogue())
    assert sts["spec"]["replicas"] == 1
    assert [c["name"] for c in sts["spec"]["template"]["spec"]["containers"]] == ["postgresql"]
    assert "initContainers" not in sts["spec"]["template"]["spec"]


def test_the_pod_gets_its_stable_name_from_the_headless_service() -> None:
    doc = catalogue()
    headless = find(objects(doc), "Service", HEADLESS)
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert statefulset(doc)["spec"]["serviceName"] == HEADLESS


def test_clients_reach_the_server_on_5432_through_the_service_named_like_the_statefulset() -> None:
    doc = catalogue()
    service = find(objects(doc), "Service", POSTGRES)
    assert service["spec"].get("clusterIP") != "None"
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(5432, "tcp-postgresql")]
    ports = container(statefulset(doc))["ports"]
    assert [(p["name"], p["containerPort"]) for p in ports] == [("tcp-postgresql", 5432)]
    assert service["spec"]["selector"] == statefulset(doc)["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize(
    ("mods", "size"),
    [((), "8Gi"), ((spec(**{"catalogue.internal_postgres.storage_size": "20Gi"}),), "20Gi")],
    ids=["the volume is 8Gi by default", "the volume has catalogue.internal_postgres.storage_size"],
)
def test_the_volume_claim_template_is_sized_by_the_typed_field(mods: tuple[Modifier, ...], size: str) -> None:
    (claim,) = statefulset(catalogue(*mods))["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == size
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    mounts = {m["name"]: m["mountPath"] for m in container(statefulset(catalogue(*mods)))["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/var/lib/postgresql/data"


@pytest.mark.parametrize(
    ("retain", "when_deleted"),
    [(True, "Retain"), (False, "Delete")],
    ids=["with retain_data the claim outlives the statefulset", "with retain_data false it is deleted with it"],
)
def test_the_claim_follows_retain_data(retain: bool, when_deleted: str) -> None:
    policy = statefulset(catalogue(spec(retain_data=retain)))["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy == {"whenDeleted": when_deleted, "whenScaled": "Retain"}


def test_the_data_directory_is_below_the_mount_point_so_initdb_finds_it_empty() -> None:
    values = env(statefulset(catalogue()))
    assert values["PGDATA"].startswith("/var/lib/postgresql/data/")


def test_shared_memory_is_a_sized_memory_backed_volume_inside_the_memory_limit() -> None:
    """The runtime's 64 MiB /dev/shm is too small for parallel queries (issue 11)."""
    volume = next(v for v in pod(catalogue())["volumes"] if v["name"] == "dshm")
    assert volume["emptyDir"] == {"medium": "Memory", "sizeLimit": "256Mi"}
    server = container(statefulset(catalogue()))
    assert {"name": "dshm", "mountPath": "/dev/shm"} in server["volumeMounts"]
    assert server["resources"]["limits"]["memory"] == "1Gi"  # the volume's pages count against it


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe", "livenessProbe"])
def test_probes_ask_pg_isready_over_tcp(probe: str) -> None:
    command = container(statefulset(catalogue()))[probe]["exec"]["command"]
    assert command[0] == "pg_isready"
    assert command[command.index("-h") + 1] == "127.0.0.1"
    assert command[command.index("-p") + 1] == "5432"


def test_the_server_runs_unprivileged_without_api_access() -> None:
    spec_ = pod(catalogue())
    assert spec_["securityContext"]["runAsNonRoot"] is True
    assert spec_["securityContext"]["fsGroup"] == spec_["securityContext"]["runAsUser"]
    assert spec_["automountServiceAccountToken"] is False
    ctx = container(statefulset(catalogue()))["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["readOnlyRootFilesystem"] is True


# --- Credentials ---------------------------------------------------------------------------------------------


def test_the_password_is_generated_by_reconcile_never_rendered() -> None:
    result = render(catalogue())
    secret = generated(result)
    assert (secret.name, secret.namespace, secret.random_keys) == (SECRET, NS, ("password",))
    assert "password" not in secret.literals
    assert not [m for m in result.manifests if m["kind"] == "Secret"]


def test_the_credentials_secret_holds_what_seldon_deploy_reads() -> None:
    secret = generated(render(catalogue(namespace="team-a")))
    assert secret.literals == {
        "host": f"{POSTGRES}.team-a.svc.cluster.local",
        "port": "5432",
        "user": "seldon",
        "dbname": "metadata",
        "sslmode": "disable",
    }
    assert secret.namespace == "team-a"


def test_the_credentials_are_retained_data_like_the_volume() -> None:
    assert generated(render(catalogue())).data is True


def test_the_server_and_deploy_read_one_password_from_one_secret() -> None:
    result = render(catalogue())
    server = env(find(result.manifests, "StatefulSet", POSTGRES))
    assert server["POSTGRES_PASSWORD"] == {"secretKeyRef": {"name": SECRET, "key": "password"}}
    assert server["POSTGRES_USER"] == "seldon" and server["POSTGRES_DB"] == "metadata"
    assert deploy_env(result)["METADATA_PG_PASSWORD"] == {"secretKeyRef": {"name": SECRET, "key": "password"}}


# --- Wiring --------------------------------------------------------------------------------------------------


def test_the_catalogue_turns_on_deploys_metadata_store() -> None:
    result = render(catalogue())
    assert result.values["enterprise"]["metadata"]["pg"] == {"enabled": True, "secret": SECRET}
    values = deploy_env(result)
    assert values["METADATA_PG_ENABLED"] == "true"
    assert values["METADATA_PG_HOST"] == {"secretKeyRef": {"name": SECRET, "key": "host"}}


WINS: list[tuple[str, dict[str, Any], str, Any]] = [
    ("a managed database's secret", {"metadata": {"pg": {"secret": "managed-pg"}}}, "METADATA_PG_HOST", "managed-pg"),
    ("metadata.pg.enabled false", {"metadata": {"pg": {"enabled": False}}}, "METADATA_PG_ENABLED", None),
]


@pytest.mark.parametrize(
    ("values", "var", "expected"),
    [w[1:] for w in WINS],
    ids=[f"the user's {w[0]} beats the wiring" for w in WINS],
)
def test_user_values_beat_the_wiring(values: dict[str, Any], var: str, expected: Any) -> None:
    result = render(catalogue(enterprise_values(values)))
    found = deploy_env(result).get(var)
    assert (found["secretKeyRef"]["name"] if isinstance(found, dict) else found) == expected
    assert result.component("postgres").manifests  # the trial server is still installed


# --- Bad values ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["0", "0Gi", "0.0Mi"], ids=["a size of 0", "a size of 0Gi", "a size of 0.0Mi"])
def test_a_zero_sized_volume_is_a_spec_error_naming_the_field(size: str) -> None:
    with pytest.raises(SpecError, match=r"spec\.catalogue\.internal_postgres\.storage_size"):
        render(catalogue(spec(**{"catalogue.internal_postgres.storage_size": size})))


def test_a_size_that_is_no_quantity_is_a_spec_error_naming_the_field() -> None:
    with pytest.raises(SpecError, match=r"spec\.catalogue\.internal_postgres\.storage_size"):
        render(catalogue(spec(**{"catalogue.internal_postgres.storage_size": "8 gigs"})))
