"""The only code that talks to the Kubernetes API: a small async facade over lightkube.

Layer: kube. Everything passes plain dicts (the rendered manifests) in and out. Objects of every kind go through
lightkube's generic resources, so a manifest is sent exactly as rendered. Each request is counted by verb in the
``seldon_operator_api_requests_total`` metric.
"""

from __future__ import annotations

import asyncio
import builtins
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient, KubeConfig
from lightkube.core import resource as lkr
from lightkube.core.exceptions import LoadResourceError
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.types import CascadeType, PatchType

from seldon_meta_operator.metrics import API_REQUESTS

FIELD_MANAGER = "seldon-meta-operator"
#: Reads are retried on these statuses (throttling, a CRD's storage initialising), a few times, briefly.
TRANSIENT = frozenset({429, 500, 502, 503, 504})
READ_ATTEMPTS = 5
#: Where the kubelet mounts a pod's ServiceAccount token, the cluster CA and the namespace.
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_KUBECONFIG = "~/.kube/config"
#: Aggregated discovery (v2, then v2beta1 of Kubernetes 1.26-1.29), else the plain APIGroupList.
DISCOVERY_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


class KubeError(Exception):
    """An API request failed. ``code`` is the HTTP status; ``causes`` the server's detail fields."""

    def __init__(self, message: str, code: int = 0, reason: str = "", causes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.causes = causes


class UnknownKindError(KubeError):
    """The API server does not serve this apiVersion/kind (a prerequisite CRD is missing)."""


class UnreachableError(KubeError):
    """No answer from the API server: the connection was refused, reset or timed out, or TLS failed. ``code`` is 0
    and ``reason`` "Unreachable"; whether a write took effect is unknown (level-based callers just try again)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=0, reason="Unreachable")


class ObjectReplacedError(KubeError):
    """A write was made for an object (by uid) that has been deleted, or deleted and re-created under the same name,
    since it was read: the result is for an object that no longer exists, and was not written."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=409, reason="ObjectReplaced")


#: Everything a request can raise besides ApiError (a JSON Status): an HTTP error without a JSON body, every
#: transport error of httpx2 (connect, read, write, protocol, timeouts, decoding) and the OS's (issue 9: a
#: ConnectError escaping KubeError ended the periodic pass for good).
_REQUEST_FAILURES = (httpx2.HTTPStatusError, httpx2.RequestError, OSError)
#: Broken connections after which a read is tried again, as client-go retries a GET on a reset or an unexpected
#: EOF. A refused connection or a timeout is an outage and is reported at once.
_RETRY_READ_ON = (httpx2.ReadError, httpx2.WriteError, httpx2.RemoteProtocolError)
#: The longest ``Retry-After`` of a 429 a read honours; the server's hint is usually 1 s.
RETRY_AFTER_CAP = 5.0
#: How a read waits before its next attempt (tests replace it to run without sleeping).
_backoff = asyncio.sleep


@dataclass(frozen=True)
class ResourceInfo:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.rsplit("/", 1)[0] if "/" in self.api_version else ""


def _error(exc: ApiError, what: str) -> KubeError:
    status = exc.status
    details = getattr(status, "details", None)
    causes = tuple(
        f"{c.field}: {c.message}" if getattr(c, "field", None) else str(getattr(c, "message", ""))
        for c in (getattr(details, "causes", None) or [])
    )
    return KubeError(f"{what}: {status.message}", code=status.code or 0, reason=status.reason or "", causes=causes)


def _failure(exc: BaseException, what: str) -> KubeError:
    """``exc`` (ApiError or one of _REQUEST_FAILURES) as our KubeError, naming the verb and the object."""
    if isinstance(exc, ApiError):
        return _error(exc, what)
    if isinstance(exc, httpx2.HTTPStatusError):  # an error status without a JSON Status body (a proxy, a gateway)
        phrase = exc.response.reason_phrase
        return KubeError(f"{what}: HTTP {exc.response.status_code} {phrase}", exc.response.status_code, phrase)
    return UnreachableError(f"{what}: API server unreachable ({type(exc).__name__}: {exc})")


def _pointer(key: str) -> str:
    """``key`` as one JSON Pointer reference token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _status_code(exc: BaseException) -> int:
    if isinstance(exc, ApiError):
        return int(exc.status.code or exc.response.status_code)
    if isinstance(exc, httpx2.HTTPStatusError):
        return exc.response.status_code
    return 0


def retry_after_seconds(value: str | None) -> float | None:
    """The delay of a ``Retry-After`` header in seconds (its integer form, the one the API server sends)."""
    try:
        seconds = float((value or "").strip())
    except ValueError:
        return None  # an HTTP date: not what the API server sends; fall back to our own backoff
    return seconds if seconds >= 0 else None


def read_retry_delay(exc: BaseException, attempt: int) -> float | None:
    """How long to wait before attempt ``attempt + 2`` of a read that failed with ``exc``; None: do not retry."""
    if attempt + 1 >= READ_ATTEMPTS:
        return None
    code = _status_code(exc)
    if code == 429 and isinstance(exc, httpx2.HTTPStatusError):
        hinted = retry_after_seconds(exc.response.headers.get("Retry-After"))
        if hinted is not None:
            return min(hinted, RETRY_AFTER_CAP)
    if code in TRANSIENT or isinstance(exc, _RETRY_READ_ON):
        return 0.5 * (attempt + 1)
    return None


def split_api_version(api_version: str) -> tuple[str, str]:
    return (api_version.rsplit("/", 1)[0], api_version.rsplit("/", 1)[1]) if "/" in api_version else ("", api_version)


@dataclass(frozen=True)
class InCluster:
    """A pod's in-cluster configuration, read the way client-go's ``rest.InClusterConfig`` reads it."""

    server: str  # https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
    token_file: str  # re-read by the clients when the kubelet rotates the token
    ca_file: str
    namespace: str | None


def in_cluster(
    service_account_dir: str | os.PathLike[str] = SERVICE_ACCOUNT_DIR, environ: Mapping[str, str] | None = None
) -> InCluster | None:
    """The in-cluster configuration, or None outside a pod (no KUBERNETES_SERVICE_HOST/PORT, or no token).

    As client-go, the server is ``KUBERNETES_SERVICE_HOST``:``KUBERNETES_SERVICE_PORT``, not the DNS name
    ``kubernetes.default.svc``: a pod on the host network, or with its own DNS, cannot resolve that name
    (kopf's built-in service-account login assumes it; operator/login.py uses this instead).
    """
    env = os.environ if environ is None else environ
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "")
    directory = Path(service_account_dir)
    token = directory / "token"
    if not host or not port or not token.is_file():
        return None
    if ":" in host:  # IPv6
        host = f"[{host}]"
    namespace_file = directory / "namespace"
    namespace = namespace_file.read_text().strip() if namespace_file.is_file() else ""
    return InCluster(f"https://{host}:{port}", str(token), str(directory / "ca.crt"), namespace or None)


def kube_config(
    path: str | None = None, service_account_dir: str | os.PathLike[str] = SERVICE_ACCOUNT_DIR
) -> KubeConfig:
    """The configuration to use, in controller-runtime's order: ``path``, else ``$KUBECONFIG``, else the
    in-cluster configuration (a pod's ServiceAccount), else ``~/.kube/config``."""
    explicit = path or os.environ.get("KUBECONFIG")
    if explicit:
        return KubeConfig.from_file(explicit)
    if in_cluster(service_account_dir) is not None:
        # lightkube reads KUBERNETES_SERVICE_HOST/PORT as client-go does, and authenticates with the token file,
        # re-reading it on a 401 (client-go's tokenFileAuth), so a rotated token is picked up.
        return KubeConfig.from_service_account(service_account_dir)
    default = Path(DEFAULT_KUBECONFIG).expanduser()
    if default.is_file():
        return KubeConfig.from_file(default)
    raise KubeError(
        "no Kubernetes configuration: pass --kubeconfig or set KUBECONFIG, or run in a pod with a ServiceAccount "
        f"token in {service_account_dir} and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT set"
    )


class Kube:
    """Async Kubernetes access for the operator, the CLI and the tests."""

    def __init__(self, client: AsyncClient, field_manager: str = FIELD_MANAGER) -> None:
        self.client = client
        self.field_manager = field_manager
        self._classes: dict[tuple[str, str], tuple[ResourceInfo, Any]] = {}
        self._crd_infos: dict[tuple[str, str], ResourceInfo] | None = None
        #: The aggregated discovery document's ETag and what it said: an unchanged document is answered with 304
        #: Not Modified and nothing to parse (every pass asks, issue 12).
        self._discovery: tuple[str, dict[tuple[str, str], ResourceInfo]] | None = None

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, context: str | None = None) -> Kube:
        """A client for ``path``, or the first of ``$KUBECONFIG``, the in-cluster configuration and
        ``~/.kube/config`` (``kube_config``)."""
        config = kube_config(path)
        return cls(AsyncClient(config.get(context_name=context), timeout=httpx2.Timeout(30.0)))

    @classmethod
    def from_service_account(cls, service_account_dir: str | os.PathLike[str] = SERVICE_ACCOUNT_DIR) -> Kube:
        """A client with a pod's in-cluster configuration (what client-go's ``rest.InClusterConfig`` gives)."""
        if in_cluster(service_account_dir) is None:
            raise KubeError(
                f"not in a pod: no ServiceAccount token in {service_account_dir}, or KUBERNETES_SERVICE_HOST/"
                "KUBERNETES_SERVICE_PORT unset"
            )
        config = KubeConfig.from_service_account(service_account_dir)
        return cls(AsyncClient(config, timeout=httpx2.Timeout(30.0)))

    async def close(self) -> None:
        await self.client.close()

    async def server_version(self) -> str:
        """The API server's ``gitVersion`` (GET /version, which is not a resource lightkube models)."""
        API_REQUESTS.labels("get").inc()
        try:
            response = await self.client._client._client.get("/version")  # lightkube's configured session
            response.raise_for_status()
        except _REQUEST_FAILURES as exc:
            raise _failure(exc, "get /version") from exc
        return str(response.json().get("gitVersion", ""))

    async def review_access(self, attributes: Mapping[str, str]) -> bool:
        """Whether the current user may do what ``attributes`` describe (a SelfSubjectAccessReview).

        Sent without a field manager: the server records none for a review and rejects one that asks."""
        review: dict[str, Any] = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": dict(attributes)},
        }
        _info, cls = await self.info("authorization.k8s.io/v1", "SelfSubjectAccessReview")
        API_REQUESTS.labels("create").inc()
        try:
            created = await self.client.create(cls.from_dict(review))
        except (ApiError, *_REQUEST_FAILURES) as exc:
            raise _failure(exc, "create SelfSubjectAccessReview") from exc
        return bool((_to_dict(created).get("status") or {}).get("allowed"))

    # --- discovery -------------------------------------------------------------------------------------

    async def _crds(self, refresh: bool = False) -> dict[tuple[str, str], ResourceInfo]:
        """(apiVersion, kind) -> how to address it, for every served kind of a named API group: from the aggregated
        discovery document (one small GET of /apis), or, from a server without it, from the list of CRDs."""
        if self._crd_infos is None or refresh:
            infos = await self._discovered()
            if infos is None:
                infos = await self._listed_crds()
            if infos is not self._crd_infos:
                self._crd_infos = infos
                self._classes = {k: v for k, v in self._classes.items() if _builtin(k[0])}
        return self._crd_infos

    async def _discovered(self) -> dict[tuple[str, str], ResourceInfo] | None:
        """The aggregated discovery of /apis (apidiscovery.k8s.io v2, GA in Kubernetes 1.30): every group, version and
        resource in one response of a few tens of KiB, where the list of CRDs carries every schema (MiBs in a
        cluster with Istio and Knative, and growing with it: issue 12). None from a server that does not serve it."""
        API_REQUESTS.labels("get").inc()
        headers = {"Accept": DISCOVERY_ACCEPT}
        if self._discovery is not None:
            headers["If-None-Match"] = self._discovery[0]
        try:
            response = await self.client._client._client.get("/apis", headers=headers)
            if response.status_code == 304 and self._discovery is not None:
                return self._discovery[1]
            response.raise_for_status()
        except _REQUEST_FAILURES as exc:
            raise _failure(exc, "get /apis") from exc
        document = response.json()
        if document.get("kind") != "APIGroupDiscoveryList":  # an older server answers with a plain APIGroupList
            return None
        infos: dict[tuple[str, str], ResourceInfo] = {}
        for group in document.get("items") or []:
            name = group.get("metadata", {}).get("name", "")
            for version in group.get("versions") or []:
                api_version = f"{name}/{version.get('version', '')}"
                for res in version.get("resources") or []:
                    kind = (res.get("responseKind") or {}).get("kind")
                    if kind and res.get("resource"):
                        infos[(api_version, kind)] = ResourceInfo(
                            api_version, kind, res["resource"], res.get("scope") == "Namespaced"
                        )
        etag = response.headers.get("ETag")
        self._discovery = (etag, infos) if etag else None
        return infos

    async def _listed_crds(self) -> dict[tuple[str, str], ResourceInfo]:
        infos: dict[tuple[str, str], ResourceInfo] = {}
        for crd in await self.list("apiextensions.k8s.io/v1", "CustomResourceDefinition"):
            if not _established(crd):
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    api_version = f"{spec['group']}/{version['name']}"
                    infos[(api_version, spec["names"]["kind"])] = ResourceInfo(
                        api_version, spec["names"]["kind"], spec["names"]["plural"], spec["scope"] == "Namespaced"
                    )
        return infos

    async def api_kinds(self) -> frozenset[str]:
        """``group/Kind`` of every served kind of a named API group, custom resources included (the core group's
        kinds are assumed present)."""
        crds = await self._crds(refresh=True)
        return frozenset(f"{info.group}/{info.kind}" for info in crds.values())

    async def info(self, api_version: str, kind: str) -> tuple[ResourceInfo, Any]:
        key = (api_version, kind)
        if key in self._classes:
            return self._classes[key]
        info: ResourceInfo | None = None
        if _builtin(api_version):
            try:
                model = resource_registry.load(api_version, kind)
            except (LoadResourceError, ModuleNotFoundError, AttributeError):
                model = None
            if model is not None:
                plural = model._api_info.plural
                info = ResourceInfo(api_version, kind, plural, issubclass(model, lkr.NamespacedResource))
        if info is None:
            info = (await self._crds()).get(key) or (await self._crds(refresh=True)).get(key)
        if info is None:
            raise UnknownKindError(f"the API server does not serve {api_version} {kind}", code=404, reason="NotFound")
        group, version = split_api_version(api_version)
        make = create_namespaced_resource if info.namespaced else create_global_resource
        cls = _generic_class(make, group, version, kind, info.plural)
        self._classes[key] = (info, cls)
        return info, cls

    # --- verbs -----------------------------------------------------------------------------------------

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        info, cls = await self.info(api_version, kind)
        for attempt in range(READ_ATTEMPTS):
            API_REQUESTS.labels("get").inc()
            try:
                found = await self.client.get(cls, name, namespace=namespace if info.namespaced else None)
            except (ApiError, *_REQUEST_FAILURES) as exc:
                if _status_code(exc) == 404:
                    return None
                delay = read_retry_delay(exc, attempt)
                if delay is not None:
                    await _backoff(delay)
                    continue
                raise _failure(exc, f"get {kind} {_ref(namespace, name)}") from exc
            return _to_dict(found)
        raise AssertionError("unreachable")

    async def list(
        self, api_version: str, kind: str, namespace: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        items, _revision = await self.list_versioned(api_version, kind, namespace, labels)
        return items

    async def list_versioned(
        self, api_version: str, kind: str, namespace: str | None = None, labels: Mapping[str, str] | None = None
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
        """``list``, and the resourceVersion the list was read at (kube/cache.py compares it with watch events)."""
        info, cls = await self.info(api_version, kind)
        revision: str | None = None
        for attempt in range(READ_ATTEMPTS):
            API_REQUESTS.labels("list").inc()
            try:
                listing = self.client.list(
                    cls, namespace=(namespace or "*") if info.namespaced else None, labels=dict(labels or {})
                )
                items = [_to_dict(item) async for item in listing]
                revision = getattr(listing, "_resourceVersion", None)
                break
            except (ApiError, *_REQUEST_FAILURES) as exc:
                # A CRD that was just established answers 503 "storage is (re)initializing" for a moment.
                delay = read_retry_delay(exc, attempt)
                if delay is not None:
                    await _backoff(delay)
                    continue
                raise _failure(exc, f"list {kind}{' in ' + namespace if namespace else ''}") from exc
        for item in items:  # list items carry no apiVersion/kind
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items, revision

    async def watch_one(
        self, api_version: str, kind: str, name: str, namespace: str | None = None, server_timeout: int = 300
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Stream ``(event type, object)`` for the one object ``name`` (a watch with a ``metadata.name`` field
        selector, so RBAC may restrict it by resourceNames): first its current state (``ADDED``, if it exists),
        then every change. lightkube re-opens the watch when the server ends it after ``server_timeout``; any
        failure ends the stream with a KubeError (the caller decides when to watch again)."""
        info, cls = await self.info(api_version, kind)
        API_REQUESTS.labels("watch").inc()
        try:
            async for event, found in self.client.watch(
                cls,
                namespace=namespace if info.namespaced else None,
                fields={"metadata.name": name},
                server_timeout=server_timeout,
            ):
                yield event, _to_dict(found)
        except (ApiError, *_REQUEST_FAILURES) as exc:
            raise _failure(exc, f"watch {kind} {_ref(namespace, name)}") from exc

    async def apply(self, manifest: Mapping[str, Any], force: bool = True, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply with our field manager."""
        info, cls = await self.info(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        API_REQUESTS.labels("apply" if not dry_run else "apply-dry-run").inc()
        try:
            applied = await self.client.patch(
                cls,
                meta["name"],
                cls.from_dict(dict(manifest)),
                namespace=meta.get("namespace") if info.namespaced else None,
                patch_type=PatchType.APPLY,
                field_manager=self.field_manager,
                force=force,
                dry_run=dry_run,
            )
        except (ApiError, *_REQUEST_FAILURES) as exc:
            raise _failure(exc, f"apply {manifest['kind']} {_ref(meta.get('namespace'), meta['name'])}") from exc
        return _to_dict(applied)

    async def create(self, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
        """Create; None when the object already exists (never overwrites)."""
        _info, cls = await self.info(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        API_REQUESTS.labels("create").inc()
        try:
            created = await self.client.create(cls.from_dict(dict(manifest)), field_manager=self.field_manager)
        except (ApiError, *_REQUEST_FAILURES) as exc:
            if _status_code(exc) == 409:
                return None
            raise _failure(exc, f"create {manifest['kind']} {_ref(meta.get('namespace'), meta['name'])}") from exc
        return _to_dict(created)

    async def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Mapping[str, Any],
        *,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        """JSON merge patch (adoption's metadata hand-over, Event series). Our own status: ``patch_status``."""
        info, cls = await self.info(api_version, kind)
        API_REQUESTS.labels("patch").inc()
        try:
            patched = await self.client.patch(
                cls,
                name,
                dict(patch),
                namespace=namespace if info.namespaced else None,
                patch_type=PatchType.MERGE,
                field_manager=self.field_manager,
            )
        except (ApiError, *_REQUEST_FAILURES) as exc:
            raise _failure(exc, f"patch {kind} {_ref(namespace, name)}") from exc
        return _to_dict(patched)

    async def patch_status(
        self,
        api_version: str,
        kind: str,
        name: str,
        uid: str,
        fields: Mapping[str, Any],
        *,
        namespace: str | None = None,
        has_status: bool = True,
    ) -> dict[str, Any]:
        """Set the top-level ``status`` fields in ``fields`` (each replaced whole) of the object ``name`` whose uid is
        ``uid``: one JSON patch whose first operation tests the uid, so a write computed for an object that has since
        been deleted and re-created under the same name never lands on its successor (a merge patch by name would;
        the status subresource ignores a uid in the body). Raises ``ObjectReplacedError`` when the uid differs or the
        object is gone. ``has_status``: whether the object has a status map to add the fields to (otherwise the
        whole status is set)."""
        ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/uid", "value": uid}]
        if has_status:
            ops += [{"op": "add", "path": f"/status/{_pointer(k)}", "value": v} for k, v in fields.items()]
        else:
            ops.append({"op": "add", "path": "/status", "value": dict(fields)})
        info, cls = await self.info(api_version, kind)
        API_REQUESTS.labels("patch").inc()
        what = f"patch {kind} {_ref(namespace, name)} status"
        try:
            patched = await self.client.patch(
                cls.Status,
                name,
                ops,
                namespace=namespace if info.namespaced else None,
                patch_type=PatchType.JSON,
                field_manager=self.field_manager,
            )
        except (ApiError, *_REQUEST_FAILURES) as exc:
            failure = _failure(exc, what)
            if failure.code in (404, 422):
                # A failed ``test`` is a bare 422 "Invalid" with no detail: the object itself says which it was.
                live = await self.get(api_version, kind, name, namespace)
                if live is None or live["metadata"].get("uid") != uid:
                    raise ObjectReplacedError(f"{what}: the object with uid {uid} no longer exists") from exc
            raise failure from exc
        return _to_dict(patched)

    async def replace(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        _info, cls = await self.info(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        API_REQUESTS.labels("update").inc()
        try:
            replaced = await self.client.replace(cls.from_dict(dict(manifest)), field_manager=self.field_manager)
        except (ApiError, *_REQUEST_FAILURES) as exc:
            raise _failure(exc, f"update {manifest['kind']} {_ref(meta.get('namespace'), meta['name'])}") from exc
        return _to_dict(replaced)

    async def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None, foreground: bool = False
    ) -> bool:
        """Delete; False when it was already gone."""
        info, cls = await self.info(api_version, kind)
        API_REQUESTS.labels("delete").inc()
        try:
            await self.client.delete(
                cls,
                name,
                namespace=namespace if info.namespaced else None,
                cascade=CascadeType.FOREGROUND if foreground else CascadeType.BACKGROUND,
            )
        except (ApiError, *_REQUEST_FAILURES) as exc:
            if _status_code(exc) == 404:
                return False
            raise _failure(exc, f"delete {kind} {_ref(namespace, name)}") from exc
        return True

    async def wait_for(
        self,
        api_version: str,
        kind: str,
        name: str,
        predicate: Any,
        namespace: str | None = None,
        timeout: float = 60.0,
        interval: float = 0.5,
    ) -> dict[str, Any]:
        """Poll until ``predicate(object)`` holds; raises KubeError on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await self.get(api_version, kind, name, namespace)
            if found is not None and predicate(found):
                return found
            if loop.time() > deadline:
                raise KubeError(f"timed out after {timeout:.0f}s waiting for {kind} {_ref(namespace, name)}")
            await asyncio.sleep(interval)


def _ref(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _builtin(api_version: str) -> bool:
    group = split_api_version(api_version)[0]
    return group == "" or group.endswith(".k8s.io") or "." not in group


def _established(crd: Mapping[str, Any]) -> bool:
    conditions = crd.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _to_dict(found: Any) -> dict[str, Any]:
    out = found.to_dict() if hasattr(found, "to_dict") else dict(found)
    return dict(out)


_GENERIC_CLASSES: dict[tuple[str, str, str, str, bool], Any] = {}


def _generic_class(make: Any, group: str, version: str, kind: str, plural: str) -> Any:
    """lightkube registers one class per (apiVersion, kind) process-wide; reuse it across clients."""
    key = (group, version, kind, plural, make is create_namespaced_resource)
    if key not in _GENERIC_CLASSES:
        try:
            _GENERIC_CLASSES[key] = make(group, version, kind, plural)
        except ValueError:
            # A built-in model is registered under this apiVersion/kind: generic twins are refused, and the
            # registry returns the existing generic class if one was made earlier in the process.
            existing = resource_registry.get(f"{group}/{version}" if group else version, kind)
            if existing is None:
                raise
            _GENERIC_CLASSES[key] = existing
    return _GENERIC_CLASSES[key]


def builtin_plural(api_version: str, kind: str) -> str | None:
    """The resource plural of a built-in kind (lightkube-models' Kubernetes models: data shipped with the library,
    no API call), or None for custom kinds."""
    try:
        model = resource_registry.load(api_version, kind)
    except (LoadResourceError, ModuleNotFoundError, AttributeError):
        return None
    if model is None or not issubclass(model, lkr.Resource):
        return None
    return str(model._api_info.plural)
