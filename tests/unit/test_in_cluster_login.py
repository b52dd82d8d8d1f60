"""In-cluster login, the way client-go's ``rest.InClusterConfig`` does it: KUBERNETES_SERVICE_HOST/PORT and the
ServiceAccount's token, CA and namespace, for both API clients (lightkube in kube/, kopf's own in operator/).

A fake ServiceAccount directory stands in for /var/run/secrets/kubernetes.io/serviceaccount (the functions take
the directory as an argument). The container test (tests/integration/test_image.py) runs the real path in a pod's
configuration.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import kopf
import pytest

from seldon_meta_operator.kube.client import Kube, KubeError, in_cluster, kube_config
from seldon_meta_operator.operator import login

POD_ENV = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "6443"}


def service_account(tmp_path: Path, token: str = "token-1", namespace: str = "seldon-system") -> Path:
    directory = tmp_path / "serviceaccount"
    directory.mkdir(exist_ok=True)
    (directory / "token").write_text(token + "\n")
    (directory / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (directory / "namespace").write_text(namespace)
    return directory


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (POD_ENV, "https://127.0.0.1:6443"),
        ({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}, "https://[fd00::1]:443"),
    ],
    ids=["the server is KUBERNETES_SERVICE_HOST and _PORT", "an IPv6 host is bracketed"],
)
def test_in_cluster_reads_the_server_from_the_environment_not_a_dns_name(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    directory = service_account(tmp_path)
    config = in_cluster(directory, env)
    assert config is not None
    assert config.server == expected
    assert config.token_file == str(directory / "token")
    assert config.ca_file == str(directory / "ca.crt")
    assert config.namespace == "seldon-system"


@pytest.mark.parametrize(
    ("env", "with_token"),
    [({}, True), ({"KUBERNETES_SERVICE_HOST": "127.0.0.1"}, True), (POD_ENV, False)],
    ids=["no service environment", "a host without a port", "no token file"],
)
def test_outside_a_pod_there_is_no_in_cluster_configuration(
    tmp_path: Path, env: dict[str, str], with_token: bool
) -> None:
    directory = service_account(tmp_path)
    if not with_token:
        (directory / "token").unlink()
    assert in_cluster(directory, env) is None


def test_kube_config_uses_the_service_account_when_no_kubeconfig_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = service_account(tmp_path)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    for key, value in POD_ENV.items():
        monkeypatch.setenv(key, value)
    config = kube_config(None, directory).get()
    assert config.cluster.server == "https://127.0.0.1:6443"
    assert config.cluster.certificate_auth == str(directory / "ca.crt")
    # A token file, not only the token: lightkube re-reads it on a 401, as client-go does when it rotates.
    assert config.user is not None
    assert config.user.token_file == str(directory / "token")
    assert config.namespace == "seldon-system"


def test_kube_config_prefers_kubeconfig_to_the_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = service_account(tmp_path)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://10.0.0.1:6443'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    for key, value in POD_ENV.items():
        monkeypatch.setenv(key, value)
    assert kube_config(None, directory).get().cluster.server == "https://10.0.0.1:6443"


def test_without_any_configuration_the_error_says_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeError, match=r"KUBECONFIG.*KUBERNETES_SERVICE_HOST"):
        kube_config(None, tmp_path / "absent")
    with pytest.raises(KubeError, match="not in a pod"):
        Kube.from_service_account(tmp_path / "absent")


def test_kube_from_service_account_connects_to_the_service_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = service_account(tmp_path)
    for key, value in POD_ENV.items():
        monkeypatch.setenv(key, value)
    # The CA file is a placeholder: only the configuration is checked, no TLS context is needed for that.
    monkeypatch.setattr("ssl.SSLContext.load_verify_locations", lambda *_a, **_k: None)
    kube = Kube.from_service_account(directory)
    assert str(kube.client._client._client.base_url).startswith("https://127.0.0.1:6443")
    asyncio.run(kube.close())


def test_kopf_logs_in_with_the_service_account_in_a_pod(tmp_path: Path) -> None:
    directory = service_account(tmp_path, token="token-1")
    info = login.login(directory, dict(POD_ENV), settings=kopf.OperatorSettings())
    assert info is not None
    assert info.server == "https://127.0.0.1:6443"  # not kopf's https://kubernetes.default.svc
    assert info.token == "token-1"
    assert info.scheme == "Bearer"
    assert info.ca_path == str(directory / "ca.crt")
    assert info.default_namespace == "seldon-system"


def test_kopf_reads_a_rotated_token_when_it_logs_in_again(tmp_path: Path) -> None:
    directory = service_account(tmp_path, token="token-1")
    first = login.service_account_login(directory, dict(POD_ENV))
    (directory / "token").write_text("token-2")  # the kubelet rotated it; kopf re-logs in after a 401
    second = login.service_account_login(directory, dict(POD_ENV))
    assert first is not None and second is not None
    assert (first.token, second.token) == ("token-1", "token-2")


def test_kopf_uses_kubeconfig_outside_a_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://10.0.0.1:6443'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))  # kopf's kubeconfig login reads the real environment
    # $KUBECONFIG wins even in a pod's environment (the e2e suite runs the operator this way).
    env = {"KUBECONFIG": str(kubeconfig), **POD_ENV}
    info = login.login(service_account(tmp_path), env, settings=kopf.OperatorSettings())
    assert info is not None
    assert info.server == "https://10.0.0.1:6443"
    assert info.token == "t"


def test_the_login_handler_is_registered_with_kopf() -> None:
    handlers = kopf.get_default_registry()._activities.get_all_handlers()
    assert any(getattr(h.fn, "__name__", "") == "login_handler" for h in handlers)
