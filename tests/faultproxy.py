"""A fault-injecting HTTP proxy of our own between a client (the operator) and the API server, for tests.

It listens on 127.0.0.1 for plain HTTP/1.1 (a kubeconfig whose server is ``http://127.0.0.1:PORT`` with the
same bearer token: lightkube and kopf both send the token over plain HTTP), and forwards every request to the real
API server over TLS, trusting the cluster's CA. Responses are streamed as they come (chunked), so watches work.

On a fraction of the requests (``rate``, 10 % by default; a seeded RNG, so a run can be repeated) it injects,
chosen at random among ``kinds``:

- ``500``: an HTTP 500 with a ``Status`` body (reason InternalError), the request not forwarded;
- ``429``: an HTTP 429 with ``Retry-After: 1`` and a ``Status`` body (reason TooManyRequests), not forwarded;
- ``reset``: the connection is reset (RST) before anything is forwarded or answered;
- ``delay``: the request is forwarded after ``delay`` seconds (2 s).

It counts forwarded requests and injected faults by verb (get, list, watch, create, update, patch, apply,
delete, other). Loopback only, on both sides; bounded: headers, bodies and requests per connection have limits.

Usage from asyncio: ``async with FaultProxy(upstream, ssl_context) as proxy: ... proxy.url``; from a synchronous
test: ``FaultProxyThread(...)`` (its own event loop in a thread), and ``proxy_kubeconfig()`` to point a kubeconfig
at it.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import random
import socket
import ssl
import struct
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
import yaml

KINDS = ("500", "429", "reset", "delay")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_HEADER_LINE = 64 * 1024
MAX_HEADERS = 100
MAX_BODY = 64 * 1024 * 1024
MAX_REQUESTS_PER_CONNECTION = 100_000
#: Headers that belong to one hop (RFC 9110 §7.6.1), never forwarded; lengths are set again per hop.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name), "")

    @property
    def keep_alive(self) -> bool:
        return "close" not in self.header("connection").lower()


def verb_of(method: str, target: str, content_type: str = "") -> str:
    """The Kubernetes verb of a request, from its method, path and query."""
    path, _, query = target.partition("?")
    parts = [p for p in path.split("/") if p]
    if method == "GET":
        if parse_qs(query).get("watch", [""])[0] in ("true", "1"):
            return "watch"
        if parts[:1] == ["api"] and len(parts) >= 2:
            rest = parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            rest = parts[3:]
        else:
            return "other"  # discovery, /version, /openapi
        if rest[:1] == ["namespaces"] and len(rest) >= 3:
            rest = rest[2:]
        return "list" if len(rest) == 1 else "get" if rest else "other"
    if method == "PATCH":
        return "apply" if "apply-patch" in content_type else "patch"
    return {"POST": "create", "PUT": "update", "DELETE": "delete"}.get(method, "other")


def status_body(code: int, reason: str, message: str) -> bytes:
    return json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }
    ).encode()


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        ssl_context: ssl.SSLContext | None = None,
        *,
        rate: float = 0.1,
        seed: int = 1,
        kinds: Iterable[str] = KINDS,
        delay: float = 2.0,
        port: int = 0,
    ) -> None:
        host = urlparse(upstream).hostname
        if host not in LOOPBACK:
            raise ValueError(f"fault proxy: upstream {upstream} is not on loopback; the proxy is for local tests only")
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(KINDS)
        if unknown or not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault proxy: kinds must be among {KINDS} (got {sorted(unknown)}) and 0 <= rate <= 1")
        self.upstream = upstream.rstrip("/")
        self.rate = rate
        self.delay = delay
        self.rng = random.Random(seed)
        self.port = port
        self.enabled = True  # False: forward everything (e.g. while a test sets up)
        self.forwarded: collections.Counter[str] = collections.Counter()
        self.injected: collections.Counter[tuple[str, str]] = collections.Counter()
        self._ssl = ssl_context
        self._server: asyncio.Server | None = None
        self._client: httpx2.AsyncClient | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def faults(self) -> int:
        return sum(self.injected.values())

    def summary(self) -> str:
        by_kind: collections.Counter[str] = collections.Counter()
        for (kind, _verb), n in self.injected.items():
            by_kind[kind] += n
        return (
            f"forwarded {sum(self.forwarded.values())} requests {dict(sorted(self.forwarded.items()))}; "
            f"injected {self.faults()} faults {dict(sorted(by_kind.items()))}"
        )

    async def start(self) -> int:
        self._client = httpx2.AsyncClient(
            verify=self._ssl if self._ssl is not None else True,
            timeout=httpx2.Timeout(connect=10.0, read=None, write=30.0, pool=None),
            limits=httpx2.Limits(max_connections=None, max_keepalive_connections=20),
            trust_env=False,
        )
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, limit=MAX_HEADER_LINE)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.aclose()

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- one connection -------------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            for _ in range(MAX_REQUESTS_PER_CONNECTION):
                request = await read_request(reader)
                if request is None or not await self._handle(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away or sent something we do not parse: drop the connection
        except asyncio.CancelledError:
            pass  # stop(): ending normally keeps asyncio's stream callback from logging the cancellation
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _pick(self) -> str | None:
        if not self.enabled or not self.kinds or self.rng.random() >= self.rate:
            return None
        return self.rng.choice(self.kinds)

    async def _handle(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must be closed."""
        verb = verb_of(request.method, request.target, request.header("content-type"))
        fault = self._pick()
        if fault is not None:
            self.injected[(fault, verb)] += 1
        if fault == "reset":
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if fault in ("500", "429"):
            code, phrase, reason = (
                (500, "Internal Server Error", "InternalError")
                if fault == "500"
                else (429, "Too Many Requests", "TooManyRequests")
            )
            body = status_body(code, reason, f"injected by the fault proxy ({fault})")
            extra = "Retry-After: 1\r\n" if fault == "429" else ""
            writer.write(
                (
                    f"HTTP/1.1 {code} {phrase}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    f"{extra}Connection: {'keep-alive' if request.keep_alive else 'close'}\r\n\r\n"
                ).encode()
                + body
            )
            await writer.drain()
            return request.keep_alive
        if fault == "delay":
            await asyncio.sleep(self.delay)
        self.forwarded[verb] += 1
        return await self._forward(request, writer)

    async def _forward(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        assert self._client is not None
        upstream = self._client.build_request(
            request.method,
            self.upstream + request.target,
            headers=[(k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP],
            content=request.body or None,
        )
        try:
            response = await self._client.send(upstream, stream=True)
        except httpx2.HTTPError as exc:
            body = status_body(502, "BadGateway", f"fault proxy: upstream failed: {type(exc).__name__}")
            head = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n"
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
            return request.keep_alive
        try:
            no_body = request.method == "HEAD" or response.status_code in (204, 304) or response.status_code < 200
            head = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
            head += [f"{k}: {v}" for k, v in response.headers.multi_items() if k.lower() not in HOP_BY_HOP]
            head.append("Content-Length: 0" if no_body else "Transfer-Encoding: chunked")
            head.append(f"Connection: {'keep-alive' if request.keep_alive else 'close'}")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            if not no_body:
                async for chunk in response.aiter_raw():
                    if chunk:
                        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        await writer.drain()  # as it comes: watch events must not wait for the next ones
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except httpx2.HTTPError:
            return False  # the upstream broke mid-stream: break ours too, as the server would have
        finally:
            await response.aclose()
        return request.keep_alive


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One HTTP/1.1 request, or None at the end of the connection."""
    line = await reader.readline()
    if not line:
        return None
    if line in (b"\r\n", b"\n"):  # tolerated between requests (RFC 9112 §2.2)
        line = await reader.readline()
    parts = line.decode("latin-1").strip().split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x request line: {line[:100]!r}")
    method, target, _version = parts
    headers: list[tuple[str, str]] = []
    for _ in range(MAX_HEADERS + 1):
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    else:
        raise ValueError("too many headers")
    request = Request(method, target, headers, b"")
    if "chunked" in request.header("transfer-encoding").lower():
        body = bytearray()
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                break
            if len(body) + size > MAX_BODY:
                raise ValueError("request body too large")
            body += await reader.readexactly(size)
            await reader.readline()
        request.body = bytes(body)
    elif request.header("content-length"):
        length = int(request.header("content-length"))
        if not 0 <= length <= MAX_BODY:
            raise ValueError("request body too large")
        request.body = await reader.readexactly(length)
    return request


# --- kubeconfigs and a thread for synchronous tests -------------------------------------------------------


@dataclass(frozen=True)
class Upstream:
    server: str
    ssl_context: ssl.SSLContext | None
    user: dict[str, Any]


def upstream_of(kubeconfig: Path) -> Upstream:
    """The current context's API server, an SSL context trusting its CA (and presenting its client certificate,
    if the user has one), and the user entry."""
    config = yaml.safe_load(kubeconfig.read_text())
    context = next(c for c in config["contexts"] if c["name"] == config["current-context"])["context"]
    cluster = next(c for c in config["clusters"] if c["name"] == context["cluster"])["cluster"]
    user = next(u for u in config["users"] if u["name"] == context["user"])["user"]
    base = kubeconfig.parent
    if not cluster["server"].startswith("https://"):
        return Upstream(cluster["server"], None, user)
    if cluster.get("certificate-authority-data"):
        ctx = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    elif cluster.get("certificate-authority"):
        ctx = ssl.create_default_context(cafile=str(base / cluster["certificate-authority"]))
    else:
        ctx = ssl.create_default_context()
    if user.get("client-certificate-data") or user.get("client-certificate"):
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "cert", Path(tmp) / "key"
            for path, field in ((cert, "client-certificate"), (key, "client-key")):
                data = user.get(f"{field}-data")
                path.write_bytes(base64.b64decode(data) if data else (base / user[field]).read_bytes())
            ctx.load_cert_chain(str(cert), str(key))
    return Upstream(cluster["server"], ctx, user)


def proxy_kubeconfig(source: Path, proxy_url: str, out: Path) -> Path:
    """A copy of ``source``'s current context whose server is the proxy (plain HTTP), with the same token."""
    user = dict(upstream_of(source).user)
    if "token" not in user and "tokenFile" not in user:
        raise ValueError(f"{source}: the proxy forwards bearer tokens only; this user has none")
    out.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "proxied",
                "clusters": [{"name": "proxy", "cluster": {"server": proxy_url}}],
                "users": [{"name": "user", "user": {k: v for k, v in user.items() if k in ("token", "tokenFile")}}],
                "contexts": [{"name": "proxied", "context": {"cluster": "proxy", "user": "user"}}],
            }
        )
    )
    return out


class FaultProxyThread:
    """A FaultProxy on its own event loop in a daemon thread, for synchronous tests."""

    def __init__(self, upstream: str, ssl_context: ssl.SSLContext | None = None, **options: Any) -> None:
        self.proxy = FaultProxy(upstream, ssl_context, **options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(30)
        return self.proxy

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.proxy.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()
