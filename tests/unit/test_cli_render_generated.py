"""`seldonctl render` tells the whole truth: by default it names, on stderr, what the operator generates at
reconcile time and does not print it; `--include-generated` prints it freshly generated and marked, with the
webhook's caBundle set to the CA of the certificate it made; with cert-manager there is no certificate."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml
from click.testing import Result
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from tests.builders import EXAMPLES, core_values, platform
from typer.testing import CliRunner

from seldon_meta_operator.cli.main import app

CERT_SECRET = "seldon-webhook-server-cert"
MARK = ("operator.seldon.io/generated-by", "seldonctl-render")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["render", *args])


def docs(result: Result) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def secrets(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == "Secret"}


def test_by_default_the_generated_objects_are_named_on_stderr_and_not_printed() -> None:
    result = run("-f", str(EXAMPLES / "all-features.yaml"))
    assert result.exit_code == 0
    assert not secrets(docs(result))
    for name in (CERT_SECRET, "metadata-postgres", "elastic-credentials"):
        assert f"not printed: v1/Secret/seldon-system/{name}" in result.stderr
    assert "--include-generated" in result.stderr
    (hook,) = [d for d in docs(result) if d["kind"] == "ValidatingWebhookConfiguration"]
    assert "caBundle" not in hook["webhooks"][0]["clientConfig"]


def test_include_generated_prints_them_marked_with_a_ca_bundle_that_verifies_the_serving_certificate() -> None:
    result = run("-f", str(EXAMPLES / "all-features.yaml"), "--include-generated")
    assert result.exit_code == 0, result.stderr
    objs = docs(result)
    made = secrets(objs)
    assert {CERT_SECRET, "metadata-postgres", "elastic-credentials"} <= set(made)
    for secret in made.values():
        assert secret["metadata"]["annotations"][MARK[0]] == MARK[1]
        assert "ownerReferences" not in secret["metadata"]
    assert "not printed" not in result.stderr
    tls = {k: base64.b64decode(v) for k, v in made[CERT_SECRET]["data"].items()}
    (hook,) = [d for d in objs if d["kind"] == "ValidatingWebhookConfiguration"]
    ca_bundle = base64.b64decode(hook["webhooks"][0]["clientConfig"]["caBundle"])
    assert ca_bundle == tls["ca.crt"]
    ca = x509.load_pem_x509_certificate(ca_bundle)
    cert = x509.load_pem_x509_certificate(tls["tls.crt"])
    public_key = ca.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert "seldon-webhook-service.seldon-system.svc" in names
    assert made["metadata-postgres"]["data"]["password"]


def test_two_renders_generate_different_credentials() -> None:
    first = secrets(docs(run("-f", str(EXAMPLES / "all-features.yaml"), "--include-generated")))
    second = secrets(docs(run("-f", str(EXAMPLES / "all-features.yaml"), "--include-generated")))
    assert first["metadata-postgres"]["data"]["password"] != second["metadata-postgres"]["data"]["password"]
    assert first[CERT_SECRET]["data"]["tls.key"] != second[CERT_SECRET]["data"]["tls.key"]


def test_with_cert_manager_no_certificate_is_generated_or_listed(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(platform(core_values({"certManager": {"enabled": True}}))))
    listed = run("-f", str(path))
    assert CERT_SECRET not in listed.stderr
    printed = run("-f", str(path), "--include-generated")
    assert printed.exit_code == 0
    assert CERT_SECRET not in secrets(docs(printed))
    (hook,) = [d for d in docs(printed) if d["kind"] == "ValidatingWebhookConfiguration"]
    assert "caBundle" not in hook["webhooks"][0]["clientConfig"]


def test_component_filter_keeps_only_that_components_generated_objects() -> None:
    result = run("-f", str(EXAMPLES / "all-features.yaml"), "--include-generated", "--component", "postgres")
    assert set(secrets(docs(result))) == {"metadata-postgres"}
