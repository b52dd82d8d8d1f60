"""Shared plumbing of the seldonctl commands that talk to a cluster: the common options, one Kube client per
command, error mapping to one-line messages, consoles, output formats and small readers of live objects.

Layer: cli. Every cluster command gathers through ``Kube`` (kube/, the only code that talks to the API), decides
with pure functions, then acts (house style §8). ``run`` wraps the async part in ``asyncio.run`` and turns API,
connection and kubeconfig errors into ``fail(...)``: one line and a hint, never a traceback.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import yaml

from seldon_meta_operator.api.v1alpha1 import KIND, SeldonOperator
from seldon_meta_operator.cli.common import fail
from seldon_meta_operator.errors import SpecError
from seldon_meta_operator.render.ownership import CRD_NAME

if TYPE_CHECKING:
    # kube/ pulls in lightkube and its HTTP client, rich its console: both are imported where a command runs, so
    # that `seldonctl --help` and `seldonctl render` never load them (tests/unit/test_cli_imports.py).
    from rich.console import Console

    from seldon_meta_operator.kube import Kube, KubeError

T = TypeVar("T")

#: The namespace of the install manifest: the operator's Deployment, and the default for SeldonOperators.
OPERATOR_NAMESPACE = "seldon-system"
OPERATOR_DEPLOYMENT = "seldon-operator-controller-manager"
#: Field manager of what the CLI applies on the user's behalf (the operator's own is ``seldon-meta-operator``).
CLI_FIELD_MANAGER = "seldonctl"


class Output(StrEnum):
    yaml = "yaml"
    json = "json"


# --- Options shared by every cluster command (typer's Annotated style) ------------------------------------

KubeconfigOpt = Annotated[
    str | None,
    typer.Option("--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)."),
]
ContextOpt = Annotated[str | None, typer.Option("--context", help="Kubeconfig context (default: the current one).")]
OutputOpt = Annotated[Output | None, typer.Option("-o", "--output", help="Machine-readable output instead of tables.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=1, help="Give up waiting after this many seconds.")]
AllowedNamespacesOpt = Annotated[
    list[str],
    typer.Option(
        "--allowed-namespace",
        help="Another namespace objects may go to, as the operator's own --allowed-namespace (repeatable): the "
        "check of what the operator will accept, before anything is sent.",
    ),
]
OperatorNamespaceOpt = Annotated[str, typer.Option("-n", "--namespace", help="Namespace of the operator.")]

# --- Consoles -------------------------------------------------------------------------------------------


def stdout_console() -> Console:
    """Tables go to stdout. rich decides on colour (only on a terminal; NO_COLOR is respected); when piped, lines
    are not wrapped at 80 columns, as kubectl does not wrap."""
    from rich.console import Console  # noqa: PLC0415

    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def stderr_console() -> Console:
    """Progress and notes go to stderr, so that stdout stays machine-readable."""
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)


def dump(data: Any, output: Output) -> None:
    if output is Output.json:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120))


# --- Running async code against a cluster ---------------------------------------------------------------

_TRANSPORT_MODULES = frozenset({"httpx", "httpx2", "httpcore", "h11", "h2", "anyio", "lightkube"})


def _is_connection_error(exc: BaseException) -> bool:
    # Connection and kubeconfig errors come from lightkube and its HTTP client; cli does not import them (kube/ is
    # the only package that does), so they are recognised by the module that defines them.
    if isinstance(exc, (OSError, TimeoutError)):
        return True
    return any(cls.__module__.split(".")[0] in _TRANSPORT_MODULES for cls in type(exc).__mro__)


def describe_kube_error(exc: KubeError) -> str:
    return str(exc) + (f" ({'; '.join(exc.causes)})" if exc.causes else "")


def kube_error_hint(exc: KubeError) -> str:
    from seldon_meta_operator.kube import UnknownKindError  # noqa: PLC0415

    if exc.code == 401:
        return "your credentials were refused; check the user of the kubeconfig context (--context)"
    if exc.code == 403:
        return "your user may not do this; `seldonctl doctor` lists the permissions an install needs"
    if exc.code == 404 and "namespaces" in str(exc):
        return "create the namespace first: kubectl create namespace NAME"
    if isinstance(exc, UnknownKindError):
        return "a CustomResourceDefinition is missing; `seldonctl doctor` says which and how to install it"
    return "check the cluster's state with `seldonctl doctor`"


def run(
    kubeconfig: str | None,
    context: str | None,
    action: Callable[[Kube], Awaitable[T]],
    *,
    field_manager: str | None = None,
    error_code: int = 1,
) -> T:
    """Run ``action(kube)`` on a fresh event loop and client; map every cluster error to ``fail``."""
    import asyncio  # noqa: PLC0415  (asyncio and ssl: ~30 ms that --help and render do not need)

    from seldon_meta_operator.kube import Kube, KubeError, UnreachableError  # noqa: PLC0415

    server = ""

    async def main() -> T:
        nonlocal server
        kube = Kube.from_kubeconfig(kubeconfig, context)
        server = str(getattr(getattr(getattr(kube.client, "config", None), "cluster", None), "server", "") or "")
        if field_manager:
            kube.field_manager = field_manager
        try:
            return await action(kube)
        finally:
            await kube.close()

    try:
        return asyncio.run(main())
    except typer.Exit:
        raise
    except UnreachableError as exc:  # kube/ maps transport errors (refused, reset, timeout) to this
        fail(f"cannot reach the cluster{_where(server, context)}: {exc}", _UNREACHABLE_HINT, code=error_code)
    except KubeError as exc:
        fail(describe_kube_error(exc), kube_error_hint(exc), code=error_code)
    except SpecError as exc:
        fail(str(exc), "fix the field named above; see docs/api.md", code=error_code)
    except Exception as exc:
        if not _is_connection_error(exc):
            raise
        detail = str(exc) or type(exc).__name__
        fail(f"cannot reach the cluster{_where(server, context)}: {detail}", _UNREACHABLE_HINT, code=error_code)


_UNREACHABLE_HINT = "check --kubeconfig/--context (or $KUBECONFIG) and that the API server is up: kubectl cluster-info"


def _where(server: str, context: str | None) -> str:
    return f" at {server}" if server else (f" (context {context})" if context else "")


# --- Reading live objects -------------------------------------------------------------------------------


def ref(obj: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` (or ``Kind name`` when cluster-scoped), for messages."""
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def key_ref(key: str) -> str:
    """``Kind namespace/name`` of an inventory key ``apiVersion/Kind/namespace/name``."""
    _api, kind, ns, name = key.rsplit("/", 3)
    return f"{kind} {ns + '/' if ns else ''}{name}"


def condition(obj: Mapping[str, Any] | None, type_: str) -> Mapping[str, Any] | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return None


def crd_established(crd: Mapping[str, Any] | None) -> bool:
    cond = condition(crd, "Established")
    return bool(cond and cond.get("status") == "True")


async def seldon_operator_crd(kube: Kube) -> dict[str, Any] | None:
    return await kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD_NAME)


def parse_time(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


def age(since: datetime.datetime | None, now: datetime.datetime) -> str:
    """kubectl's short durations: 45s, 5m30s, 3h, 2d4h, 12d."""
    if since is None:
        return "<unknown>"
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    hours = minutes // 60
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    days = hours // 24
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# --- SeldonOperator documents from a file ---------------------------------------------------------------


def manifest_of(resource: SeldonOperator, namespace: str | None) -> dict[str, Any]:
    """The document to send for a parsed SeldonOperator: only the fields the file set (so the server's defaults
    and other field managers keep theirs), without status, with ``-n`` filling in a namespace the file left out.
    A file naming another namespace than ``-n`` is an error, as with kubectl."""
    doc: dict[str, Any] = resource.model_dump(mode="json", exclude_unset=True)
    doc.pop("status", None)
    meta = doc.setdefault("metadata", {})
    for server_field in ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"):
        meta.pop(server_field, None)
    given = meta.get("namespace") if "namespace" in resource.metadata.model_fields_set else None
    if given and namespace and given != namespace:
        fail(
            f"{KIND} {given}/{meta['name']}: the file says namespace {given}, -n says {namespace}",
            "drop -n, or the namespace in the file",
        )
    meta["namespace"] = given or namespace or "default"
    doc.setdefault("spec", {})
    return doc


async def poll(probe: Callable[[], Awaitable[T | None]], timeout: float, interval: float = 1.0) -> T | None:
    """``probe()``'s first truthy value, or None once ``timeout`` seconds have passed. Never hangs."""
    import asyncio  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(min(interval, max(0.0, deadline - loop.time())))
