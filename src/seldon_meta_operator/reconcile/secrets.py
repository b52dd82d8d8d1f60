"""Generated credentials and the Seldon Core webhook certificate.

Layer: reconcile. Values are generated here (never in render), once: a Secret that exists is never overwritten.
Secret values never reach logs, Events, status or annotations.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seldon_meta_operator.components.base import GeneratedSecret
from seldon_meta_operator.components.names import CORE_WEBHOOK_SECRET, CORE_WEBHOOK_SERVICE
from seldon_meta_operator.kube import Kube
from seldon_meta_operator.kube.cache import ObjectCache
from seldon_meta_operator.render.generated import (
    GENERATED_BY_ANNOTATION,
    GENERATED_BY_RENDER,
    generated_at_reconcile,
)
from seldon_meta_operator.render.ownership import RETAIN_ANNOTATION, platform_labels
from seldon_meta_operator.render.pipeline import RenderResult

if TYPE_CHECKING:
    from cryptography import x509

#: Certificates are valid this long and renewed when less than RENEW_BEFORE is left.
CERT_VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)


def random_value() -> str:
    """At least 256 bits from ``secrets``, plus a fixed tail so that it meets password rules that ask for
    upper case, lower case, a digit and a symbol (OpenSearch's admin password rule)."""
    return secrets.token_urlsafe(32) + "-Aa1"


def secret_manifest(
    spec: GeneratedSecret, platform: str, component: str, owner: Mapping[str, Any] | None
) -> dict[str, Any]:
    data = {**spec.literals, **{k: random_value() for k in spec.random_keys}}
    meta: dict[str, Any] = {
        "name": spec.name,
        "namespace": spec.namespace,
        # The platform-namespace label is what the operator's watch selects on: without it a deleted Secret was
        # noticed only at the next resync (generated Secrets live in the platform's namespace).
        "labels": platform_labels(platform, component, spec.namespace),
    }
    if owner is not None:
        meta["ownerReferences"] = [owner]
    else:
        meta["annotations"] = {RETAIN_ANNOTATION: "true"}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(data.items())},
    }


async def read_secret(kube: Kube, name: str, namespace: str, cache: ObjectCache | None = None) -> dict[str, Any] | None:
    """The Secret as the operator's watch holds it (``cache``, where it is trusted), else as a GET returns it: a
    steady pass reads nothing (issue 12). Only a hit is trusted: a Secret the watch does not select (one of an
    earlier version, without our labels) is still read, never taken for absent."""
    scope = ("v1", "Secret", namespace)
    if cache is not None and cache.fresh(scope) and (held := cache.get(scope, name)) is not None:
        return held
    return await kube.get("v1", "Secret", name, namespace)


async def ensure_generated_secret(
    kube: Kube,
    spec: GeneratedSecret,
    platform: str,
    component: str,
    owner: Mapping[str, Any] | None,
    cache: ObjectCache | None = None,
) -> str:
    """Create the Secret if it is absent: "generated"; "labelled" when an existing one got the labels the watch
    needs (``label_for_the_watch``); "" otherwise. Reads first (``read_secret``), so a steady pass never writes."""
    live = await read_secret(kube, spec.name, spec.namespace, cache)
    if live is not None:
        return "labelled" if await label_for_the_watch(kube, live, platform, component) else ""
    return "generated" if await kube.create(secret_manifest(spec, platform, component, owner)) is not None else ""


async def label_for_the_watch(kube: Kube, secret: Mapping[str, Any], platform: str, component: str) -> bool:
    """Add the labels of ours a Secret lacks (one merge patch; True if it was needed). Secrets written by earlier
    versions lack the platform-namespace label the operator's watch selects on, so their deletion went unnoticed
    until the next resync. Labels someone else changed are left alone: only missing keys are added."""
    meta = secret["metadata"]
    have = meta.get("labels") or {}
    missing = {k: v for k, v in platform_labels(platform, component, meta["namespace"]).items() if k not in have}
    if not missing:
        return False
    await kube.patch("v1", "Secret", meta["name"], {"metadata": {"labels": missing}}, namespace=meta["namespace"])
    return True


# --- Credentials that follow their data (issue 9) --------------------------------------------------------

#: The retained copy of a retained credential Secret is named ``<name><COPY_SUFFIX>``.
COPY_SUFFIX = "-retained"


def copy_name(name: str) -> str:
    return f"{name}{COPY_SUFFIX}"


@dataclass(frozen=True)
class SecretOutcome:
    """What ``ensure_retained_secret`` did: ``action`` is "", "generated", "restored" or "copied" (the retained
    copy was made from the live Secret); ``problem`` is set when the data outlived both copies of its credentials."""

    action: str = ""
    problem: str | None = None


def _copy_of(secret: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``secret`` under another name, keeping its data and our labels, owned by nobody and marked retained."""
    meta = secret["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": dict(meta.get("labels") or {}),
            "annotations": {RETAIN_ANNOTATION: "true"},
        },
        "type": secret.get("type", "Opaque"),
        "data": dict(secret.get("data") or {}),
    }


async def ensure_retained_secret(
    kube: Kube,
    spec: GeneratedSecret,
    platform: str,
    component: str,
    data_claims: Sequence[str],
    cache: ObjectCache | None = None,
) -> SecretOutcome:
    """A credential Secret whose data volumes are retained, kept in step with that data.

    The Secret and a retained copy (``copy_name``) hold the same values; neither is owned, so both outlive the
    SeldonOperator like the volumes do. A deleted Secret is restored from the copy with the same values (and the
    copy from the Secret). Only when both are gone while any of ``data_claims`` (PersistentVolumeClaim name
    prefixes, ``data-<statefulset>-``) still exist is nothing generated: a new password would not open the old
    data, so the outcome is a problem naming the Secret and the two ways out. Reads first: a steady pass writes
    nothing (``read_secret``)."""
    live, kept = await asyncio.gather(
        read_secret(kube, spec.name, spec.namespace, cache),
        read_secret(kube, copy_name(spec.name), spec.namespace, cache),
    )
    if live is not None and kept is not None:
        labelled = [await label_for_the_watch(kube, x, platform, component) for x in (live, kept)]
        return SecretOutcome("labelled" if any(labelled) else "")
    if live is not None:
        await kube.create(_copy_of(live, copy_name(spec.name)))
        return SecretOutcome("copied")
    if kept is not None:
        await kube.create(_copy_of(kept, spec.name))
        return SecretOutcome("restored")
    claims = sorted(
        c["metadata"]["name"]
        for c in await kube.list("v1", "PersistentVolumeClaim", spec.namespace)
        if any(c["metadata"]["name"].startswith(prefix) for prefix in data_claims)
    )
    if claims:
        return SecretOutcome(
            problem=(
                f"Secret {spec.namespace}/{spec.name} and its copy {copy_name(spec.name)} are gone while the data "
                f"they open remains ({', '.join(claims)}); a new password would not open it. Either restore the "
                f"Secret from a backup (kubectl apply), or delete those PersistentVolumeClaims to start over with "
                "new credentials and empty data"
            )
        )
    created = await kube.create(secret_manifest(spec, platform, component, None))
    if created is None:  # another writer created it meanwhile: the next pass makes the copy
        return SecretOutcome()
    await kube.create(_copy_of(created, copy_name(spec.name)))
    return SecretOutcome("generated")


# --- Seldon Core webhook certificate -------------------------------------------------------------------


#: What the webhook Secret says about its certificate, so that a pass checks it without parsing X.509: the
#: cryptography package (OpenSSL, ~10 MiB of the operator's memory) is loaded only to issue or renew a certificate,
#: or to read one these annotations do not describe (issue 12). They count only while ``CERT_SHA256`` is the digest
#: of the Secret's ``tls.crt``: a certificate put there by anyone else is parsed.
CERT_SHA256_ANNOTATION = "operator.seldon.io/tls-crt-sha256"
CERT_NOT_AFTER_ANNOTATION = "operator.seldon.io/tls-crt-not-after"
CERT_DNS_NAMES_ANNOTATION = "operator.seldon.io/tls-crt-dns-names"


@dataclass(frozen=True)
class WebhookCert:
    ca_pem: str
    cert_pem: str
    key_pem: str
    not_after: datetime.datetime
    dns_names: tuple[str, ...]


def _name(common_name: str) -> x509.Name:
    from cryptography import x509  # noqa: PLC0415  (lazy: see CERT_SHA256_ANNOTATION)
    from cryptography.x509.oid import NameOID  # noqa: PLC0415  (lazy: see CERT_SHA256_ANNOTATION)

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_webhook_cert(namespace: str, now: datetime.datetime) -> WebhookCert:
    """A new CA and a serving certificate for ``seldon-webhook-service.<namespace>.svc``."""
    from cryptography import x509  # noqa: PLC0415  (lazy: see CERT_SHA256_ANNOTATION)
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415  (lazy: see CERT_SHA256_ANNOTATION)
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415  (lazy: see CERT_SHA256_ANNOTATION)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("seldon-webhook-ca"))
        .issuer_name(_name("seldon-webhook-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    hosts = webhook_hosts(namespace)
    cert = (
        x509.CertificateBuilder()
        # The DNS names are the subject alternative names; a common name is limited to 64 characters, which
        # `seldon-webhook-service.<namespace>.svc` exceeds for namespaces longer than 37.
        .subject_name(_name(CORE_WEBHOOK_SERVICE))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return WebhookCert(
        ca_pem=ca_cert.public_bytes(pem).decode(),
        cert_pem=cert.public_bytes(pem).decode(),
        key_pem=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode(),
        not_after=cert.not_valid_after_utc,
        dns_names=tuple(hosts),
    )


def webhook_hosts(namespace: str) -> list[str]:
    base = f"{CORE_WEBHOOK_SERVICE}.{namespace}"
    return [CORE_WEBHOOK_SERVICE, base, f"{base}.svc", f"{base}.svc.cluster.local"]


def cert_needs_renewal(secret: Mapping[str, Any] | None, namespace: str, now: datetime.datetime) -> str | None:
    """Why the webhook Secret must be (re)generated, or None when it is good."""
    if secret is None:
        return "missing"
    data = secret.get("data") or {}
    if not all(k in data for k in ("ca.crt", "tls.crt", "tls.key")):
        return "incomplete"
    try:
        tls_crt = base64.b64decode(data["tls.crt"])
    except ValueError:
        return "unreadable"
    facts = described(secret, tls_crt) or parsed(tls_crt)
    if facts is None:
        return "unreadable"
    not_after, names = facts
    if not_after - now < RENEW_BEFORE:
        return "expiring"
    if not names:
        return "no subject alternative names"
    if f"{CORE_WEBHOOK_SERVICE}.{namespace}.svc" not in names:
        return "wrong namespace"
    return None


def described(secret: Mapping[str, Any], tls_crt: bytes) -> tuple[datetime.datetime, tuple[str, ...]] | None:
    """(not after, DNS names) from the annotations we wrote with the certificate, if they describe this one."""
    notes = (secret.get("metadata") or {}).get("annotations") or {}
    if notes.get(CERT_SHA256_ANNOTATION) != hashlib.sha256(tls_crt).hexdigest():
        return None
    try:
        not_after = datetime.datetime.fromisoformat(notes.get(CERT_NOT_AFTER_ANNOTATION, ""))
    except ValueError:
        return None
    if not_after.tzinfo is None:
        return None
    names = notes.get(CERT_DNS_NAMES_ANNOTATION, "")
    return not_after, tuple(n for n in names.split(",") if n)


def parsed(tls_crt: bytes) -> tuple[datetime.datetime, tuple[str, ...]] | None:
    """(not after, DNS names) read from the certificate itself; None if it is not a PEM certificate."""
    from cryptography import x509  # noqa: PLC0415  (lazy: see CERT_SHA256_ANNOTATION)

    try:
        cert = x509.load_pem_x509_certificate(tls_crt)
    except ValueError:
        return None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return cert.not_valid_after_utc, ()
    return cert.not_valid_after_utc, tuple(san.get_values_for_type(x509.DNSName))


def webhook_cert_manifest(
    made: WebhookCert, namespace: str, platform: str, owner: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The ``kubernetes.io/tls`` Secret Seldon Core's manager mounts, holding ``made``."""
    meta: dict[str, Any] = {
        "name": CORE_WEBHOOK_SECRET,
        "namespace": namespace,
        "labels": platform_labels(platform, "seldon_core", namespace),
        "annotations": {
            CERT_SHA256_ANNOTATION: hashlib.sha256(made.cert_pem.encode()).hexdigest(),
            CERT_NOT_AFTER_ANNOTATION: made.not_after.isoformat(),
            CERT_DNS_NAMES_ANNOTATION: ",".join(made.dns_names),
        },
    }
    if owner is not None:
        meta["ownerReferences"] = [owner]
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "kubernetes.io/tls",
        "data": {
            "ca.crt": base64.b64encode(made.ca_pem.encode()).decode(),
            "tls.crt": base64.b64encode(made.cert_pem.encode()).decode(),
            "tls.key": base64.b64encode(made.key_pem.encode()).decode(),
        },
    }
    return manifest


def ca_bundle_of(secret: Mapping[str, Any] | None) -> str | None:
    """The CA bundle (PEM) a webhook certificate Secret holds, or None."""
    encoded = ((secret or {}).get("data") or {}).get("ca.crt")
    return base64.b64decode(encoded).decode() if encoded else None


async def ensure_webhook_cert(
    kube: Kube,
    namespace: str,
    platform: str,
    owner: Mapping[str, Any] | None,
    now: datetime.datetime,
    cache: ObjectCache | None = None,
) -> tuple[str, str]:
    """(CA bundle PEM, what was done: "issued", "labelled" (``label_for_the_watch``) or ""). Generates or renews the
    certificate as needed."""
    current = await read_secret(kube, CORE_WEBHOOK_SECRET, namespace, cache)
    ca_bundle = ca_bundle_of(current)
    if current is not None and ca_bundle is not None and cert_needs_renewal(current, namespace, now) is None:
        labelled = await label_for_the_watch(kube, current, platform, "seldon_core")
        return ca_bundle, "labelled" if labelled else ""
    # In a thread: the first certificate imports cryptography (about 80 ms), while the pass's other requests go on.
    made = await asyncio.to_thread(make_webhook_cert, namespace, now)
    await kube.apply(webhook_cert_manifest(made, namespace, platform, owner), force=True)
    return made.ca_pem, "issued"


# --- What reconcile generates, for `seldonctl render` (issue 11) -------------------------------------------------


def generate_offline(
    result: RenderResult, platform: str, namespace: str, now: datetime.datetime
) -> tuple[str | None, list[dict[str, Any]]]:
    """(webhook CA bundle or None, Secrets) freshly generated as a reconcile would generate them, without owner
    references (there is no SeldonOperator uid offline) and marked with ``GENERATED_BY_ANNOTATION``. The operator
    keeps them: it never overwrites a generated Secret, nor a webhook certificate that is still good."""
    made: list[dict[str, Any]] = []
    ca_bundle: str | None = None
    marker = {GENERATED_BY_ANNOTATION: GENERATED_BY_RENDER}
    if any(o.key.endswith(f"/{CORE_WEBHOOK_SECRET}") for o in generated_at_reconcile(result, namespace)):
        cert = make_webhook_cert(namespace, now)
        ca_bundle = cert.ca_pem
        secret = webhook_cert_manifest(cert, namespace, platform, None)
        secret["metadata"]["annotations"].update(marker)
        made.append(secret)
    for comp in result.components:
        for spec in comp.secrets:
            secret = secret_manifest(spec, platform, comp.name, None)
            annotations = secret["metadata"].setdefault("annotations", {})
            if not spec.data:  # without an owner, secret_manifest marks it retained: only data credentials are
                annotations.pop(RETAIN_ANNOTATION, None)
            annotations.update(marker)
            made.append(secret)
    return ca_bundle, made
