"""`seldonctl render --include-generated` is a complete install: applied to the real local API server in a fresh
namespace, the webhook configuration carries the caBundle of the certificate Secret it printed, and the
SeldonDeployment CRD refuses an invalid SeldonDeployment. KWOK runs no containers, so the webhook itself cannot
answer: a valid SeldonDeployment passes the schema and then reaches the webhook, which is as far as this cluster
can prove (the API server reports that it called `v1.vseldondeployment.kb.io`)."""

from __future__ import annotations

import base64
import copy
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from typer.testing import CliRunner

from seldon_meta_operator.cli.main import app
from tests.builders import example
from tests.conftest import Cluster, wait_until
from tests.unit.test_sdep_schema import CS0, VALID

pytestmark = pytest.mark.cluster

SDEP_CRD = "seldondeployments.machinelearning.seldon.io"
CLUSTER_KINDS = "validatingwebhookconfigurations,clusterroles,clusterrolebindings"


def _kubectl(cluster: Cluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={cluster.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def installed(cluster: Cluster, namespace: str, tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    """The minimal example, rendered with --include-generated into ``namespace`` and applied client side."""
    crd_existed = cluster.get_json("crd", SDEP_CRD) is not None
    doc = example("minimal")
    doc["metadata"]["namespace"] = namespace
    path = tmp_path / "minimal.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(app, ["render", "-f", str(path), "--include-generated"])
    assert result.exit_code == 0, result.stderr
    objs = [d for d in yaml.safe_load_all(result.stdout) if d]
    try:
        applied = _kubectl(cluster, "apply", "-f", "-", stdin=result.stdout)
        assert applied.returncode == 0, applied.stderr
        yield objs
    finally:
        label = f"operator.seldon.io/platform-namespace={namespace}"
        _kubectl(cluster, "delete", CLUSTER_KINDS, "-l", label, "--ignore-not-found", "--wait=false")
        if not crd_existed:
            _kubectl(cluster, "delete", "crd", SDEP_CRD, "--ignore-not-found", "--wait=false")


def test_the_webhook_ca_bundle_verifies_the_printed_serving_certificate(
    cluster: Cluster, namespace: str, installed: list[dict[str, Any]]
) -> None:
    hook = cluster.get_json("validatingwebhookconfiguration", f"seldon-validating-webhook-configuration-{namespace}")
    secret = cluster.get_json("secret", "seldon-webhook-server-cert", "-n", namespace)
    assert hook is not None and secret is not None
    assert secret["metadata"]["annotations"]["operator.seldon.io/generated-by"] == "seldonctl-render"
    ca_pem = base64.b64decode(hook["webhooks"][0]["clientConfig"]["caBundle"])
    assert ca_pem == base64.b64decode(secret["data"]["ca.crt"])
    ca = x509.load_pem_x509_certificate(ca_pem)
    serving = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    serving.verify_directly_issued_by(ca)
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"seldon-webhook-service.{namespace}.svc" in names.get_values_for_type(x509.DNSName)
    # The manager's certificate volume is there, so its pod is not stuck on a missing Secret.
    pod = cluster.get_json("deployment", "seldon-controller-manager", "-n", namespace)["spec"]["template"]["spec"]
    assert {"name": "cert", "secret": {"secretName": "seldon-webhook-server-cert", "defaultMode": 420}} in pod[
        "volumes"
    ]


def test_an_invalid_seldondeployment_is_refused_and_a_valid_one_reaches_the_webhook(
    cluster: Cluster, namespace: str, installed: list[dict[str, Any]]
) -> None:
    wait_until(
        "the SeldonDeployment CRD to be established",
        lambda: any(
            c.get("type") == "Established" and c.get("status") == "True"
            for c in ((cluster.get_json("crd", SDEP_CRD) or {}).get("status") or {}).get("conditions") or []
        ),
    )
    invalid = copy.deepcopy(VALID)
    node: Any = invalid
    for key in CS0:
        node = node[key]
    del node["hpaSpec"]["maxReplicas"]
    refused = _kubectl(cluster, "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(invalid))
    assert refused.returncode != 0 and "hpaSpec.maxReplicas: Required value" in refused.stderr, refused.stderr
    # Valid for the schema: the API server then calls the webhook, whose pod KWOK does not run.
    valid = _kubectl(cluster, "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(VALID))
    assert "Required value" not in valid.stderr
    assert valid.returncode == 0 or "v1.vseldondeployment.kb.io" in valid.stderr, valid.stderr
