"""Seldon Deploy: the seed's minimal and LoadBalancer flows, every chart value that changes an object, the
integrations that need other settings, the licence, and the wiring of the request logger to Deploy's API."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from seldon_meta_operator.api.v1alpha1 import parse_seldon_operator
from seldon_meta_operator.components import seldon_deploy
from seldon_meta_operator.components.base import Manifest
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render.pipeline import RenderResult, render_platform

NS = "seldon-system"
DEPLOY = "seldon-deploy"
P = "spec.enterprise.values"

# --- builders ------------------------------------------------------------------------------------------------


def platform(values: dict[str, Any] | None = None, namespace: str = NS, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = dict(spec)
    if values is not None:
        body["enterprise"] = {"values": values}
    return {
        "apiVersion": "operator.seldon.io/v1alpha1",
        "kind": "SeldonOperator",
        "metadata": {"name": "seldonoperator-sample", "namespace": namespace},
        "spec": body,
    }


#: Namespaces these tests name in values (Argo CD's, a request logger's): as if the admin allowed them.
ALLOWED = frozenset({"argocd", "gitops", "seldon-logs"})


def render(document: dict[str, Any]) -> RenderResult:
    return render_platform(parse_seldon_operator(document), allowed_namespaces=ALLOWED)


def manifests(values: dict[str, Any] | None = None, namespace: str = NS, **spec: Any) -> list[Manifest]:
    return list(render(platform(values, namespace, **spec)).component("seldon_deploy").manifests)


def find(objs: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [m for m in objs if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind} {name}: {len(matches)} found"
    return matches[0]


def names_of(objs: list[Manifest], kind: str) -> list[tuple[str, str]]:
    return sorted((m["metadata"].get("namespace", ""), m["metadata"]["name"]) for m in objs if m["kind"] == kind)


def server(objs: list[Manifest]) -> dict[str, Any]:
    container: dict[str, Any] = find(objs, "Deployment", DEPLOY)["spec"]["template"]["spec"]["containers"][0]
    return container


def env(objs: list[Manifest]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in server(objs)["env"]}


def env_values(objs: list[Manifest]) -> dict[str, str | None]:
    return {name: e.get("value") for name, e in env(objs).items()}


def secret_ref(entry: dict[str, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = entry["valueFrom"]["secretKeyRef"]
    return ref


def pod(objs: list[Manifest], name: str = DEPLOY) -> dict[str, Any]:
    spec: dict[str, Any] = find(objs, "Deployment", name)["spec"]["template"]["spec"]
    return spec


def volumes(objs: list[Manifest]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in pod(objs)["volumes"]}


def mounts(objs: list[Manifest]) -> dict[str, str]:
    return {m["name"]: m["mountPath"] for m in server(objs)["volumeMounts"]}


def spec_error(values: dict[str, Any], **spec: Any) -> str:
    with pytest.raises(SpecError) as info:
        manifests(values, **spec)
    return str(info.value)


# --- the seed's flows ----------------------------------------------------------------------------------------


def test_the_minimal_spec_renders_the_deployment_and_clusterip_service_the_seed_shows() -> None:
    objs = manifests()
    service = find(objs, "Service", DEPLOY)
    assert service["metadata"]["namespace"] == NS
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    deployment = find(objs, "Deployment", DEPLOY)
    assert deployment["metadata"]["namespace"] == NS
    assert deployment["spec"]["replicas"] == 1
    container = server(objs)
    assert container["name"] == DEPLOY
    assert container["image"] == "seldonio/seldon-deploy-server:2.0.2"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "http": 8000,
        "metrics": 8001,
        "webhook": 8080,
    }
    assert names_of(objs, "Service") == [(NS, DEPLOY)]  # no git webhook Service by default


def test_the_service_selects_the_pods_of_the_deployment() -> None:
    objs = manifests()
    deployment = find(objs, "Deployment", DEPLOY)
    selector = find(objs, "Service", DEPLOY)["spec"]["selector"]
    assert deployment["spec"]["selector"]["matchLabels"] == selector
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_the_seeds_load_balancer_manifest_gives_a_load_balancer_service() -> None:
    service = find(manifests({"service": {"type": "LoadBalancer"}}), "Service", DEPLOY)
    assert service["spec"]["type"] == "LoadBalancer"
    assert [p["port"] for p in service["spec"]["ports"]] == [80]


def test_the_server_is_probed_on_its_status_path_and_has_resources() -> None:
    container = server(manifests())
    probe = {"httpGet": {"path": "/seldon-deploy/api/status", "port": "http"}}
    assert container["readinessProbe"] == probe
    assert container["livenessProbe"] == probe
    assert container["resources"] == {
        "limits": {"cpu": "800m", "memory": "800Mi"},
        "requests": {"cpu": "100m", "memory": "200Mi"},
    }


def test_the_minimal_install_lands_on_the_licence_prompt_not_a_login_page() -> None:
    values = env_values(manifests())
    assert "ENABLE_APP_AUTH" not in values
    assert "ARGOCD_NAMESPACE" not in values
    assert not [name for name in values if name.startswith("GIT_")]


def test_seldon_deploy_is_always_enabled_after_seldon_core() -> None:
    assert seldon_deploy.COMPONENT.depends_on == ("seldon_core",)
    comp = render(platform()).component("seldon_deploy")
    assert comp.enabled is True
    assert comp.prerequisites == ()


# --- the Service ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ({"type": "NodePort", "nodePort": 30080}, {"type": "NodePort", "nodePort": 30080, "ranges": None}),
        (
            {"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"]},
            {"type": "LoadBalancer", "nodePort": None, "ranges": ["10.0.0.0/8"]},
        ),
        ({"port": 8080}, {"type": "ClusterIP", "nodePort": None, "ranges": None}),
    ],
    ids=["a NodePort service keeps its nodePort", "a LoadBalancer keeps its source ranges", "the port is honoured"],
)
def test_service_values_are_honoured(service: dict[str, Any], expected: dict[str, Any]) -> None:
    spec = find(manifests({"service": service}), "Service", DEPLOY)["spec"]
    assert spec["type"] == expected["type"]
    assert spec["ports"][0].get("nodePort") == expected["nodePort"]
    assert spec.get("loadBalancerSourceRanges") == expected["ranges"]
    assert spec["ports"][0]["port"] == service.get("port", 80)


@pytest.mark.parametrize(
    ("values", "field", "hint"),
    [
        ({"service": {"type": "Foo"}}, "service.type", "expected one of ClusterIP, NodePort, LoadBalancer, got 'Foo'"),
        ({"service": {"port": 70000}}, "service.port", "a port number"),
        ({"service": {"nodePort": 30080}}, "service.nodePort", "NodePort or LoadBalancer"),
        ({"service": {"loadBalancerSourceRanges": ["10.0.0.0/8"]}}, "service.loadBalancerSourceRanges", "LoadBalancer"),
        ({"image": {"pullPolicy": "Sometimes"}}, "image.pullPolicy", "expected one of Always, IfNotPresent, Never"),
        ({"replicaCount": "two"}, "replicaCount", "an integer"),
        ({"external": {"protocol": "ftp"}}, "external.protocol", "expected one of http, https"),
    ],
    ids=[
        "an unknown service type is refused",
        "a port out of range is refused",
        "a nodePort on a ClusterIP service is refused",
        "source ranges on a ClusterIP service are refused",
        "an unknown pull policy is refused",
        "a replica count that is not a number is refused",
        "an external protocol other than http or https is refused",
    ],
)
def test_bad_values_name_their_field(values: dict[str, Any], field: str, hint: str) -> None:
    message = spec_error(values)
    assert f"{P}.{field}" in message
    assert hint in message


# --- env -----------------------------------------------------------------------------------------------------


def test_every_env_entry_becomes_an_env_var_sorted_by_name() -> None:
    objs = manifests({"env": {"ZZ_CUSTOM": "last", "APP_ANALYTICS_TOKEN": "abc", "CLIENT_ID": "my-client", "N": 3}})
    names = [e["name"] for e in server(objs)["env"]]
    values = env_values(objs)
    assert names[0] == "SELDON_DEPLOY_NAMESPACE"
    user = names[1 : names.index("ZZ_CUSTOM") + 1]
    assert user == sorted(user)
    assert values["ZZ_CUSTOM"] == "last"
    assert values["APP_ANALYTICS_TOKEN"] == "abc"
    assert values["CLIENT_ID"] == "my-client"  # the user's value replaces the chart default
    assert values["N"] == "3"
    assert values["OIDC_SCOPES"] == "profile email groups"  # chart defaults stay
    assert len(names) == len(set(names))


def test_the_namespace_env_var_comes_from_the_pod() -> None:
    entry = env(manifests())["SELDON_DEPLOY_NAMESPACE"]
    assert entry["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


@pytest.mark.parametrize(
    "name",
    ["ENABLE_READ_NAMESPACES", "SELDON_DEPLOY_NAMESPACE", "REQUEST_LOGGER_NAMESPACE"],
    ids=["a flag set from rbac.readNamespaces", "the pod's namespace", "the request logger namespace"],
)
def test_an_env_entry_that_deploy_sets_itself_is_refused_naming_it(name: str) -> None:
    message = spec_error({"env": {name: "x"}})
    assert f"{P}.env.{name}:" in message
    assert "remove it from env" in message


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"enableAppAnalytics": False}, {"ENABLE_APP_ANALYTICS": None}),
        ({"rbac": {"readNamespaces": False}}, {"ENABLE_READ_NAMESPACES": "false"}),
        ({"defaultUserID": ""}, {"DEFAULT_USER_ID": None}),
        ({"gitops": {"fileFormat": "yaml"}}, {"GITOPS_FORMAT": "yaml"}),
        ({"loadtest": {"image": "hey:1"}, "alibidetect": {"image": "ad:2"}}, {"LOADTEST_IMAGE": "hey:1"}),
        ({"workflow": {"securityContext": {"runAsUser": 2000}}}, {"WORKFLOW_SECURITY_CONTEXT_RUN_AS_USER": "2000"}),
        ({"seldonCoreV2": {"enabled": True}}, {"SELDONPIPELINES": "true"}),
        ({"rbac": {"nsLabelsAuth": {"enabled": False}}}, {"ENABLE_NS_LABELS_AUTHORIZATION": "false"}),
        ({"applicationLogs": {"elasticIndexPattern": "logs-*"}}, {"APP_LOGS_ELASTIC_INDEX_PATTERN": "logs-*"}),
        ({"featureFlags": {"envPrefix": ""}}, {"FEATURE_FLAGS_ENV_PREFIX": None}),
        (
            {"audit": {"stdout": {"enabled": True}, "fluentd": {"enabled": True, "port": 24225, "requireConn": False}}},
            {"AUDIT_TO_STDOUT": "true", "AUDIT_TO_FLUENTD": "true", "AUDIT_FLUENTD_PORT": "24225"},
        ),
        (
            {"metadata": {"disableRuntimeMetadata": True, "authorizeModelsByProject": True}},
            {"DISABLE_RUNTIME_META": "true", "ENABLE_PROJECT_META_AUTH": "true", "DISABLE_RUNTIME_META_WATCHERS": None},
        ),
    ],
    ids=[
        "app analytics off drops its flag",
        "readNamespaces is passed on",
        "an empty default user id is left out",
        "the GitOps file format is passed on",
        "the load test and detector images are passed on",
        "the batch job security context is passed on",
        "Seldon Core v2 pipelines are passed on",
        "namespace label authorization is passed on",
        "the application log index pattern is passed on",
        "an empty feature flag prefix is left out",
        "audit to stdout and to Fluentd",
        "runtime metadata switches",
    ],
)
def test_values_become_the_env_vars_the_server_reads(values: dict[str, Any], expected: dict[str, str | None]) -> None:
    actual = env_values(manifests(values))
    for name, value in expected.items():
        assert actual.get(name) == value, name


def test_app_auth_with_its_oidc_settings_turns_auth_on() -> None:
    oidc = {
        "OIDC_PROVIDER": "https://idp.example.com/realms/deploy",
        "REDIRECT_URL": "https://x/seldon-deploy/auth/callback",
    }
    values = env_values(manifests({"enableAppAuth": True, "env": oidc}))
    assert values["ENABLE_APP_AUTH"] == "true"
    assert values["OIDC_PROVIDER"] == oidc["OIDC_PROVIDER"]


def test_keycloak_user_management_sets_its_flag_and_settings() -> None:
    values = env_values(
        manifests({"keycloakUserManagement": {"enabled": True, "keycloakBasePath": "https://kc/auth", "debug": False}})
    )
    assert values["SD_FLAG_USER_MANAGEMENT_ENABLED"] == "true"
    assert values["KEYCLOAK_BASE_PATH"] == "https://kc/auth"
    assert values["KEYCLOAK_USER_REALM"] == "deploy-realm"
    assert values["KEYCLOAK_USER_MANAGER_DEBUG"] == "false"
    assert "KEYCLOAK_USERNAME" not in values  # empty values are left out


def test_opa_authorization_mounts_its_policies_and_sets_its_env() -> None:
    objs = manifests({"rbac": {"opa": {"enabled": True, "istioPolicySyncInterval": "5m"}}})
    values = env_values(objs)
    assert values["ENABLE_OPA_AUTHORIZATION"] == "true"
    assert values["OPA_DATA_FILE"] == "/etc/policies/data"
    assert values["OPA_CONFIG_MAP_NAME"] == "seldon-deploy-policies"
    assert values["OPA_ISTIO_POLICY_SYNC_INTERVAL"] == "5m"
    assert values["OPA_ISTIO_POLICY_SYNC_NAMESPACE"] == "istio-system"
    assert volumes(objs)["policies"]["configMap"] == {"name": "seldon-deploy-policies"}
    assert mounts(objs)["policies"] == "/etc/policies"


def test_a_token_for_elasticsearch_and_prometheus_comes_from_the_named_secrets() -> None:
    objs = manifests(
        {
            "elasticsearch": {"jwtSecretName": "jwt-seldon", "jwtSecretKey": "jwt.txt"},
            "prometheus": {"seldon": {"jwtSecretName": "prom-jwt", "jwtSecretKey": "token"}},
        }
    )
    assert secret_ref(env(objs)["ELASTICSEARCH_TOKEN"]) == {"name": "jwt-seldon", "key": "jwt.txt"}
    assert secret_ref(env(objs)["PROMETHEUS_SELDON_TOKEN"]) == {"name": "prom-jwt", "key": "token"}


@pytest.mark.parametrize(
    ("routing", "prefix"),
    [(True, "/seldon-deploy/"), (False, None)],
    ids=["routing on: the external prefix is the VirtualService's", "routing off: no external prefix"],
)
def test_the_external_prefix_follows_the_virtual_service(routing: bool, prefix: str | None) -> None:
    assert env_values(manifests(enable={"routing": routing})).get("EXTERNAL_PREFIX") == prefix


# --- Elasticsearch basic auth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payloadstore", "optional"),
    [(True, None), (False, True)],
    ids=[
        "with the payload store the credentials are required",
        "without a payload store they are optional, so the minimal install starts without the Secret",
    ],
)
def test_basic_auth_reads_the_user_and_password_from_the_elasticsearch_secret(
    payloadstore: bool, optional: bool | None
) -> None:
    values = {"elasticsearch": {"secret": {"name": "my-elastic", "userKey": "user", "passwordKey": "pass"}}}
    objs = manifests(values, enable={"payloadstore": payloadstore})
    user, password = secret_ref(env(objs)["ELASTICSEARCH_USER"]), secret_ref(env(objs)["ELASTICSEARCH_PASS"])
    assert (user["name"], user["key"], user.get("optional")) == ("my-elastic", "user", optional)
    assert (password["name"], password["key"], password.get("optional")) == ("my-elastic", "pass", optional)


def test_without_basic_auth_no_elasticsearch_credentials_are_read() -> None:
    values = env_values(manifests({"elasticsearch": {"basicAuth": False}}))
    assert "ELASTICSEARCH_USER" not in values
    assert "ELASTICSEARCH_PASS" not in values


# --- metadata PostgreSQL ---------------------------------------------------------------------------------------


def test_metadata_postgres_reads_every_connection_setting_from_its_secret() -> None:
    objs = manifests({"metadata": {"pg": {"enabled": True, "secret": "my-pg"}}})
    entries = env(objs)
    assert entries["METADATA_PG_ENABLED"]["value"] == "true"
    for var, key in [("HOST", "host"), ("PORT", "port"), ("USER", "user"), ("PASSWORD", "password"),
                     ("DBNAME", "dbname"), ("SSLMODE", "sslmode")]:  # fmt: skip
        assert secret_ref(entries[f"METADATA_PG_{var}"]) == {"name": "my-pg", "key": key}
    ca = volumes(objs)["metadata-pg-ca-certs"]["secret"]
    assert ca["secretName"] == "my-pg"
    assert ca["items"] == [{"key": "ca.crt", "path": "server-ca.pem"}]
    assert mounts(objs)["metadata-pg-ca-certs"] == "/etc/pgsql/ca"
    assert "metadata-pg-client-certs" not in volumes(objs)


def test_metadata_postgres_client_certificates_are_mounted_when_named() -> None:
    objs = manifests({"metadata": {"pg": {"enabled": True, "clientTLSSecret": "pg-client"}}})
    client = volumes(objs)["metadata-pg-client-certs"]["secret"]
    assert client["secretName"] == "pg-client"
    assert [i["path"] for i in client["items"]] == ["client-cert.pem", "client-key.pem"]
    assert mounts(objs)["metadata-pg-client-certs"] == "/etc/pgsql/client"


def test_without_metadata_postgres_nothing_of_it_is_read() -> None:
    objs = manifests({"metadata": {"pg": {"clientTLSSecret": "pg-client"}}})
    assert not [name for name in env(objs) if name.startswith("METADATA_PG")]
    assert not [name for name in volumes(objs) if name.startswith("metadata-pg")]


# --- integrations that need other settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"enableAppAuth": True, "env": {"REDIRECT_URL": "https://x/cb"}}, "env.OIDC_PROVIDER"),
        ({"enableAppAuth": True, "env": {"OIDC_PROVIDER": "https://idp"}}, "env.REDIRECT_URL"),
        ({"gitops": {"argocd": {"enabled": True}, "git": {"secret": ""}}}, "gitops.git.secret"),
        ({"audit": {"fluentd": {"enabled": True, "host": ""}}}, "audit.fluentd.host"),
        ({"keycloakUserManagement": {"enabled": True}}, "keycloakUserManagement.keycloakBasePath"),
        ({"metadata": {"pg": {"enabled": True, "secret": ""}}}, "metadata.pg.secret"),
        ({"elasticsearch": {"secret": {"name": ""}}}, "elasticsearch.secret.name"),
        ({"workflow": {"serviceAccount": ""}}, "workflow.serviceAccount"),
        ({"rbac": {"opa": {"enabled": True, "configMap": ""}}}, "rbac.opa.configMap"),
        ({"elasticsearch": {"jwtSecretName": "jwt"}}, "elasticsearch.jwtSecretKey"),
        ({"prometheus": {"seldon": {"jwtSecretName": "jwt"}}}, "prometheus.seldon.jwtSecretKey"),
    ],
    ids=[
        "app auth needs the OIDC provider",
        "app auth needs the redirect URL",
        "Argo CD needs a git secret or a git user",
        "audit to Fluentd needs its host",
        "Keycloak user management needs its base path",
        "metadata PostgreSQL needs its secret",
        "Elasticsearch basic auth needs its secret",
        "batch jobs need a workflow service account",
        "OPA needs its policies ConfigMap",
        "an Elasticsearch token needs its key",
        "a Prometheus token needs its key",
    ],
)
def test_an_integration_missing_a_setting_is_refused_naming_the_field_to_set(
    values: dict[str, Any], field: str
) -> None:
    message = spec_error(values)
    assert f"{P}.{field}: " in message
    assert "; set it" in message.partition(f"{P}.{field}: ")[2]


def test_every_missing_integration_setting_is_reported_at_once() -> None:
    message = spec_error({"enableAppAuth": True, "audit": {"fluentd": {"enabled": True, "host": ""}}})
    assert f"{P}.env.OIDC_PROVIDER" in message
    assert f"{P}.env.REDIRECT_URL" in message
    assert f"{P}.audit.fluentd.host" in message


# --- GitOps --------------------------------------------------------------------------------------------------


def test_argo_cd_with_the_users_git_secret_reads_credentials_and_known_hosts_from_it() -> None:
    objs = manifests({"gitops": {"argocd": {"enabled": True, "namespace": "gitops"}}})
    entries = env(objs)
    assert entries["ARGOCD_NAMESPACE"]["value"] == "gitops"
    assert secret_ref(entries["GIT_USER"]) == {"name": "git-creds", "key": "username"}
    assert secret_ref(entries["GIT_TOKEN"]) == {"name": "git-creds", "key": "token", "optional": True}
    assert secret_ref(entries["GIT_SSHKEY"])["optional"] is True
    assert volumes(objs)["ssh-known-hosts"]["secret"]["items"] == [{"key": "known_hosts", "path": "ssh_known_hosts"}]
    assert mounts(objs)["ssh-known-hosts"] == "/etc/ssh"
    assert names_of(objs, "Secret") == []
    role = find(objs, "Role", "seldon-deploy-argocd")
    assert role["metadata"]["namespace"] == "gitops"
    assert role["rules"] == [
        {"apiGroups": ["argoproj.io"], "resources": ["applications"], "verbs": ["get", "list", "watch"]}
    ]
    assert find(objs, "RoleBinding", "seldon-deploy-argocd-rolebinding")["metadata"]["namespace"] == "gitops"
    assert find(objs, "ConfigMap", "seldon-deploy-config")["data"]["argocdEnabled"] == "true"


@pytest.mark.parametrize(
    ("git", "keys"),
    [
        ({"user": "bot", "email": "bot@example.com", "token": "t0k3n"}, ["email", "token", "username"]),
        ({"user": "bot"}, ["username"]),
    ],
    ids=["user, email and token given: all three are stored", "only a user given: no token or email is invented"],
)
def test_argo_cd_with_git_values_creates_a_secret_of_exactly_the_given_credentials(
    git: dict[str, str], keys: list[str]
) -> None:
    objs = manifests({"gitops": {"argocd": {"enabled": True}, "git": {"secret": "", **git}}})
    secret = find(objs, "Secret", "git-seldon-deploy")
    assert sorted(secret["data"]) == keys
    assert base64.b64decode(secret["data"]["username"]).decode() == "bot"
    git_env = {name: secret_ref(e)["key"] for name, e in env(objs).items() if name.startswith("GIT_")}
    assert sorted(git_env.values()) == keys
    assert all(secret_ref(env(objs)[name])["name"] == "git-seldon-deploy" for name in git_env)
    assert "ssh-known-hosts" not in volumes(objs)


def test_git_values_without_argo_cd_create_nothing() -> None:
    objs = manifests({"gitops": {"git": {"secret": "", "user": "bot"}}})
    assert names_of(objs, "Secret") == []
    assert not [name for name in env(objs) if name.startswith("GIT_")]


def test_the_git_webhook_service_is_a_load_balancer_to_the_webhook_port() -> None:
    values = {"gitops": {"git": {"webhook": {"service": {"create": True, "loadBalancerSourceRanges": ["1.2.3.0/24"]}}}}}
    spec = find(manifests(values), "Service", "seldon-deploy-webhook")["spec"]
    assert spec["type"] == "LoadBalancer"
    assert spec["ports"] == [{"name": "webhook", "port": 80, "targetPort": "webhook", "protocol": "TCP"}]
    assert spec["loadBalancerSourceRanges"] == ["1.2.3.0/24"]


# --- RBAC ----------------------------------------------------------------------------------------------------


def rules_of(role: Manifest) -> set[tuple[str, str]]:
    return {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}


@pytest.mark.parametrize(
    ("rbac", "cluster_role"),
    [
        ({}, {("", "namespaces"), ("machinelearning.seldon.io", "seldondeployments"), ("argoproj.io", "workflows")}),
        ({"clusterWide": False}, {("", "namespaces")}),
        ({"clusterWide": False, "readNamespaces": False}, None),
    ],
    ids=[
        "cluster-wide by default: namespaces, models and batch workflows everywhere",
        "readNamespaces only: the ClusterRole reads namespaces and nothing else",
        "neither: no ClusterRole",
    ],
)
def test_the_cluster_role_follows_cluster_wide_and_read_namespaces(
    rbac: dict[str, Any], cluster_role: set[tuple[str, str]] | None
) -> None:
    objs = manifests({"rbac": rbac})
    if cluster_role is None:
        assert names_of(objs, "ClusterRole") == names_of(objs, "ClusterRoleBinding") == []
        return
    role = find(objs, "ClusterRole", "seldon-deploy-role")
    assert cluster_role <= rules_of(role)
    if rbac.get("clusterWide") is False:
        assert rules_of(role) == cluster_role
    binding = find(objs, "ClusterRoleBinding", "seldon-deploy-rolebinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": DEPLOY, "namespace": NS}]


def test_namespaced_roles_are_created_in_deploys_and_the_request_loggers_namespaces() -> None:
    objs = manifests({"requestLogger": {"namespace": {"name": "seldon-logs"}}})
    assert names_of(objs, "Role") == [("seldon-logs", "seldon-deploy-logs"), (NS, "seldon-deploy-role")]
    assert names_of(objs, "RoleBinding") == [
        ("seldon-logs", "seldon-deploy-logs-rolebinding"),
        (NS, "seldon-deploy-rolebinding"),
    ]
    logs = find(objs, "Role", "seldon-deploy-logs")
    assert rules_of(logs) == {("serving.knative.dev", "services"), ("eventing.knative.dev", "triggers")}
    assert all("watch" in rule["verbs"] and "create" in rule["verbs"] for rule in logs["rules"])
    assert env_values(objs)["REQUEST_LOGGER_NAMESPACE"] == "seldon-logs"


def test_rbac_create_false_renders_no_namespaced_roles() -> None:
    objs = manifests({"rbac": {"create": False}, "gitops": {"argocd": {"enabled": True}}})
    assert names_of(objs, "Role") == names_of(objs, "RoleBinding") == []
    assert names_of(objs, "ClusterRole") == [("", "seldon-deploy-role")]


@pytest.mark.parametrize(
    ("service_account", "created", "used"),
    [
        ({}, [(NS, DEPLOY)], DEPLOY),
        ({"name": "deploy-sa"}, [(NS, "deploy-sa")], "deploy-sa"),
    ],
    ids=["created as seldon-deploy", "created under the given name"],
)
def test_the_service_account(service_account: dict[str, Any], created: list[tuple[str, str]], used: str) -> None:
    objs = manifests({"serviceAccount": service_account})
    assert names_of(objs, "ServiceAccount") == created
    assert pod(objs)["serviceAccountName"] == used
    assert {s["name"] for m in objs if m["kind"].endswith("Binding") for s in m["subjects"]} == {used}


def test_an_existing_service_account_is_never_bound_to_deploys_roles() -> None:
    # Issue 8: binding a tenant's own account to Deploy's ClusterRole would hand it Deploy's power.
    with pytest.raises(
        SpecError,
        match=r"ClusterRoleBinding seldon-deploy-rolebinding: subjects\[0\].*"
        r"spec\.enterprise\.values\.serviceAccount\.create",
    ):
        manifests({"serviceAccount": {"create": False, "name": "existing"}})


# --- licence -------------------------------------------------------------------------------------------------


def test_a_licence_is_stored_in_its_configmap_and_its_checksum_restarts_the_server() -> None:
    licence = "eyJsaWNlbnNlIjoidHJpYWwifQ=="
    objs = manifests({"license": licence})
    assert find(objs, "ConfigMap", "seldon-deploy-license")["data"] == {"license": licence}
    annotations = find(objs, "Deployment", DEPLOY)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["operator.seldon.io/license-checksum"] == hashlib.sha256(licence.encode()).hexdigest()


def test_a_new_licence_changes_the_pod_template() -> None:
    def template(licence: str) -> Any:
        return find(manifests({"license": licence}), "Deployment", DEPLOY)["spec"]["template"]

    assert template("first") != template("second")


def test_without_a_licence_there_is_no_licence_configmap_or_checksum() -> None:
    objs = manifests()
    assert ("seldon-system", "seldon-deploy-license") not in names_of(objs, "ConfigMap")
    annotations = find(objs, "Deployment", DEPLOY)["spec"]["template"]["metadata"]["annotations"]
    assert "operator.seldon.io/license-checksum" not in annotations


@pytest.mark.parametrize("licence", ["", "   ", 42], ids=["empty", "blank", "not a string"])
def test_a_licence_that_is_not_text_is_refused_without_echoing_it(licence: Any) -> None:
    message = spec_error({"license": licence})
    assert f"{P}.license:" in message
    assert "<redacted>" in message


# --- ConfigMaps ----------------------------------------------------------------------------------------------


def test_the_config_configmap_carries_the_prometheus_and_elasticsearch_settings() -> None:
    values = {
        "prometheus": {"seldon": {"url": "http://prom/api/v1/", "resourceMetricsUrl": "http://res/api/v1/"}},
        "elasticsearch": {"url": "https://es:9200"},
        "skipVerifyHttpCalls": False,
    }
    data = find(manifests(values), "ConfigMap", "seldon-deploy-config")["data"]
    assert data["prometheusSeldonUrl"] == "http://prom/api/v1/"
    assert data["prometheusSeldonResourceUrl"] == "http://res/api/v1/"
    assert data["elasticsearchUrl"] == "https://es:9200"
    assert data["skipVerifyHttpCalls"] == "false"
    assert data["argocdEnabled"] == "false"
    assert "{{ .ModelName }}" in data["seldonRequestForm"]


def test_the_resource_metrics_url_defaults_to_the_prometheus_url() -> None:
    data = find(manifests(), "ConfigMap", "seldon-deploy-config")["data"]
    assert data["prometheusSeldonResourceUrl"] == data["prometheusSeldonUrl"]


def test_the_feature_flags_configmap_is_mounted_where_the_server_reads_it() -> None:
    objs = manifests()
    assert "SELDON_PIPELINES_ENABLED" in find(objs, "ConfigMap", "seldon-deploy-feature-flags")["data"]["flags"]
    assert volumes(objs)["feature-flags"]["configMap"] == {"name": "seldon-deploy-feature-flags"}
    assert mounts(objs)["feature-flags"] == "/etc/feature-flags"
    assert env_values(objs)["FEATURE_FLAGS_CONFIG_FILE"] == "/etc/feature-flags/flags"


def test_no_feature_flags_configmap_when_its_name_is_empty() -> None:
    objs = manifests({"featureFlags": {"configMap": ""}})
    assert names_of(objs, "ConfigMap") == [(NS, "seldon-deploy-config")]
    assert "feature-flags" not in volumes(objs)
    assert "FEATURE_FLAGS_CONFIG_FILE" not in env_values(objs)


# --- pod settings --------------------------------------------------------------------------------------------


def test_scheduling_pull_secrets_replicas_and_image_are_honoured() -> None:
    values = {
        "replicaCount": 3,
        "image": {"image": "registry.local/deploy:2.0.2", "pullPolicy": "IfNotPresent"},
        "imagePullSecrets": [{"name": "regcred"}, "other"],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "affinity": {"podAntiAffinity": {}},
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
    }
    objs = manifests(values)
    spec = pod(objs)
    assert find(objs, "Deployment", DEPLOY)["spec"]["replicas"] == 3
    assert server(objs)["image"] == "registry.local/deploy:2.0.2"
    assert server(objs)["imagePullPolicy"] == "IfNotPresent"
    assert server(objs)["resources"] == {
        "limits": {"cpu": "1", "memory": "1Gi"},
        "requests": {"cpu": "100m", "memory": "200Mi"},
    }
    assert spec["imagePullSecrets"] == [{"name": "regcred"}, {"name": "other"}]
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert spec["affinity"] == {"podAntiAffinity": {}}


def test_the_pod_is_annotated_for_scraping_and_kept_out_of_the_mesh() -> None:
    annotations = find(manifests(), "Deployment", DEPLOY)["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "sidecar.istio.io/inject": "false"}


def test_the_custom_theme_is_mounted_from_an_optional_secret() -> None:
    objs = manifests()
    assert volumes(objs)["custom-theme"]["secret"] == {"secretName": "seldon-deploy-custom-theme", "optional": True}
    assert mounts(objs)["custom-theme"] == "/seldon-deploy/custom-theme"


# --- Ingress and UI ------------------------------------------------------------------------------------------


def test_the_ingress_is_a_v1_ingress_to_the_deploy_service() -> None:
    values = {
        "ingress": {"enabled": True, "hosts": [{"host": "deploy.example.com", "paths": []}]},
        "service": {"port": 8080},
    }
    ingress = find(manifests(values), "Ingress", DEPLOY)
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "deploy.example.com"
    assert rule["http"]["paths"] == [
        {
            "path": "/seldon-deploy/",
            "pathType": "Prefix",
            "backend": {"service": {"name": DEPLOY, "port": {"number": 8080}}},
        }
    ]


def test_no_ingress_unless_enabled() -> None:
    assert names_of(manifests(), "Ingress") == []


def test_an_ingress_path_must_be_a_path() -> None:
    message = spec_error({"ingress": {"enabled": True, "hosts": [{"host": "x", "paths": ["seldon-deploy"]}]}})
    assert f"{P}.ingress.hosts[0].paths[0]" in message


def test_the_separate_ui_server_gets_its_deployment_and_service_when_set() -> None:
    objs = manifests({"ui": {"image": "seldonio/seldon-deploy-ui:2.0.2"}, "env": {"CLIENT_ID": "ui"}})
    ui_pod = pod(objs, "seldon-deploy-ui")
    [container] = ui_pod["containers"]
    assert container["name"] == "ui-container"
    assert container["image"] == "seldonio/seldon-deploy-ui:2.0.2"
    assert container["readinessProbe"] == {"httpGet": {"path": "/status", "port": "http"}}
    assert {"name": "CLIENT_ID", "value": "ui"} in container["env"]
    service = find(objs, "Service", "seldon-deploy-ui")
    assert (
        service["spec"]["selector"] == find(objs, "Deployment", "seldon-deploy-ui")["spec"]["selector"]["matchLabels"]
    )


def test_a_ui_without_an_image_is_refused() -> None:
    assert f"{P}.ui.image:" in spec_error({"ui": {"replicaCount": 1}})


def test_no_ui_server_by_default() -> None:
    assert ("seldon-system", "seldon-deploy-ui") not in names_of(manifests(), "Deployment")


# --- wiring and warnings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "values", "host"),
    [
        ("seldon-system", None, "http://seldon-deploy.seldon-system/seldon-deploy/api/v1alpha1"),
        ("team-a", None, "http://seldon-deploy.team-a/seldon-deploy/api/v1alpha1"),
        (
            "seldon-system",
            {"service": {"port": 8080}},
            "http://seldon-deploy.seldon-system:8080/seldon-deploy/api/v1alpha1",
        ),
    ],
    ids=["in seldon-system", "in another namespace", "on a service port other than 80"],
)
def test_the_request_logger_is_pointed_at_deploys_api(namespace: str, values: dict[str, Any] | None, host: str) -> None:
    result = render(platform(values, namespace))
    assert result.values["enterprise"]["requestLogger"]["deployHost"] == host


def test_the_wiring_is_present_whatever_is_enabled() -> None:
    features = {"analytics": True, "catalogue": True, "payloadstore": True, "routing": True, "detectors": True}
    result = render(platform(enable=features))
    assert result.values["enterprise"]["requestLogger"]["deployHost"].startswith("http://seldon-deploy.seldon-system/")


def test_a_misspelt_key_is_warned_about_with_the_key_it_probably_meant() -> None:
    warnings = render(platform({"servce": {"type": "LoadBalancer"}})).warnings
    assert any(w.startswith(f"{P}.servce: ") and "`service`" in w for w in warnings)


def test_keys_this_component_reads_raise_no_warning() -> None:
    values = {
        "env": {"ANYTHING": "x"},
        "resources": {"limits": {"cpu": "2"}},
        "license": "l",
        "ui": {"image": "ui:1"},
        "service": {"nodePort": 30080, "type": "NodePort"},
        "ingress": {"annotations": {"a/b": "c"}, "className": "nginx"},
        "metadata": {"pg": {"clientTLSSecret": "c"}},
    }
    warnings = render(platform(values)).warnings
    assert [w for w in warnings if w.startswith(P)] == []


def test_rendering_twice_gives_identical_objects() -> None:
    values = {"license": "l", "gitops": {"argocd": {"enabled": True}, "git": {"secret": "", "user": "u"}}}
    assert manifests(values) == manifests(values)
