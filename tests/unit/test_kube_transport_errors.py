"""kube/ turns every transport failure into our KubeError (UnreachableError), naming the verb and the object, and
reads retry briefly on transient statuses and broken connections, honouring a 429's Retry-After (capped).

No Kubernetes API mock: the client talks to real sockets on loopback that refuse, reset, hang up or answer with a
bare HTTP status, which is what an API-server outage or a broken proxy looks like from the client's side.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from lightkube import AsyncClient, KubeConfig

from seldon_meta_operator.kube import client as kc
from seldon_meta_operator.kube.client import Kube, KubeError, UnreachableError

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}}

#: Each verb of the facade, called on a built-in kind (no discovery request needed).
VERBS: dict[str, Callable[[Kube], Awaitable[Any]]] = {
    "get": lambda k: k.get("v1", "ConfigMap", "cm", "ns"),
    "list": lambda k: k.list("v1", "ConfigMap", "ns"),
    "apply": lambda k: k.apply(CONFIG_MAP),
    "create": lambda k: k.create(CONFIG_MAP),
    "patch": lambda k: k.patch("v1", "ConfigMap", "cm", {"data": {}}, namespace="ns"),
    "update": lambda k: k.replace(CONFIG_MAP),
    "delete": lambda k: k.delete("v1", "ConfigMap", "cm", "ns"),
    "get /version": lambda k: k.server_version(),
    "create SelfSubjectAccessReview": lambda k: k.review_access({"verb": "get", "resource": "pods"}),
    "wait_for": lambda k: k.wait_for("v1", "ConfigMap", "cm", bool, namespace="ns", timeout=0.1),
}


def kube_at(port: int, timeout: float = 5.0) -> Kube:
    config = KubeConfig.from_dict(
        {
            "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )
    return Kube(AsyncClient(config, timeout=httpx2.Timeout(timeout), trust_env=False))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on exit: connecting is refused


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def tcp_server(handler: Handler) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
    writer.transport.abort()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.close()


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await asyncio.sleep(30)


def respond(status: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    head = {"Content-Length": str(len(body)), "Content-Type": "text/plain", **(headers or {})}
    return (
        f"HTTP/1.1 {status}\r\n".encode() + b"".join(f"{k}: {v}\r\n".encode() for k, v in head.items()) + b"\r\n" + body
    )


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Reads retry without sleeping; the delays they asked for are recorded."""
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr(kc, "_backoff", record)
    return delays


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


@pytest.mark.parametrize("verb", list(VERBS), ids=[f"{v} maps a refused connection" for v in VERBS])
def test_a_refused_connection_is_unreachable_for_every_verb(verb: str) -> None:
    async def go() -> UnreachableError:
        kube = kube_at(closed_port())
        try:
            with pytest.raises(UnreachableError) as caught:
                await VERBS[verb](kube)
        finally:
            await kube.close()
        return caught.value

    err = run(go())
    assert isinstance(err, KubeError)
    assert (err.code, err.reason) == (0, "Unreachable")
    assert "unreachable" in str(err) and "ConnectError" in str(err)
    expected_words = verb if verb != "wait_for" else "get"
    assert str(err).startswith(expected_words.split()[0])


@pytest.mark.parametrize(
    ("handler", "error_name"),
    [(reset, "ReadError"), (hang_up, "RemoteProtocolError"), (never_answer, "ReadTimeout")],
    ids=["a reset connection", "a connection closed without an answer", "no answer within the timeout"],
)
@pytest.mark.parametrize("verb", ["get", "apply", "delete"])
def test_a_broken_connection_is_unreachable_and_named(handler: Handler, error_name: str, verb: str) -> None:
    async def go() -> tuple[UnreachableError, int]:
        seen = 0

        async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal seen
            seen += 1
            await handler(reader, writer)

        async with tcp_server(counting) as port:
            kube = kube_at(port, timeout=0.5)
            try:
                with pytest.raises(UnreachableError) as caught:
                    await VERBS[verb](kube)
            finally:
                await kube.close()
        return caught.value, seen

    err, requests = run(go())
    assert error_name in str(err)
    assert str(err).startswith(f"{verb} ConfigMap ns/cm: API server unreachable")
    if verb == "get" and handler is not never_answer:
        assert requests == kc.READ_ATTEMPTS  # client-go retries a GET on a reset or an unexpected EOF
    else:
        assert requests == 1  # writes are never retried here; a timeout is an outage, reported at once


def test_a_bare_error_status_is_a_kube_error_with_its_code_and_reads_retry_it() -> None:
    requests: list[bytes] = []

    async def unavailable(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                requests.append(await read_request(reader))
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            writer.write(respond("503 Service Unavailable", b"upstream down"))
            await writer.drain()

    async def go() -> tuple[KubeError, KubeError]:
        async with tcp_server(unavailable) as port:
            kube = kube_at(port)
            try:
                with pytest.raises(KubeError) as read:
                    await kube.get("v1", "ConfigMap", "cm", "ns")
                with pytest.raises(KubeError) as write:
                    await kube.apply(CONFIG_MAP)
            finally:
                await kube.close()
        return read.value, write.value

    read, write = run(go())
    assert not isinstance(read, UnreachableError) and read.code == 503
    assert str(write) == "apply ConfigMap ns/cm: HTTP 503 Service Unavailable"
    assert len(requests) == kc.READ_ATTEMPTS + 1


def test_a_429_is_retried_after_the_servers_hint(no_backoff: list[float]) -> None:
    status = b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}'
    answers = [
        respond("429 Too Many Requests", b'{"kind":"Status","code":429}', {"Retry-After": "2"}),
        respond("404 Not Found", status, {"Content-Type": "application/json"}),
    ]

    async def throttled(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            try:
                await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            writer.write(answers.pop(0))
            await writer.drain()

    async def go() -> Any:
        async with tcp_server(throttled) as port:
            kube = kube_at(port)
            try:
                return await kube.get("v1", "ConfigMap", "cm", "ns")
            finally:
                await kube.close()

    assert run(go()) is None  # the 429 was retried; the 404 that followed means "absent"
    assert answers == []
    assert no_backoff == [2.0]


def _error(status: int, headers: dict[str, str] | None = None) -> httpx2.HTTPStatusError:
    request = httpx2.Request("GET", "http://127.0.0.1/api/v1/namespaces/ns/configmaps/cm")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    return httpx2.HTTPStatusError("failed", request=request, response=response)


@pytest.mark.parametrize(
    ("exc", "attempt", "delay"),
    [
        (_error(429, {"Retry-After": "1"}), 0, 1.0),
        (_error(429, {"Retry-After": "120"}), 0, kc.RETRY_AFTER_CAP),
        (_error(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), 1, 1.0),
        (_error(429), 0, 0.5),
        (_error(503), 2, 1.5),
        (_error(504), kc.READ_ATTEMPTS - 1, None),
        (_error(500), 0, 0.5),
        (_error(403), 0, None),
        (httpx2.ReadError("connection reset"), 0, 0.5),
        (httpx2.RemoteProtocolError("server disconnected"), 0, 0.5),
        (httpx2.ConnectError("refused"), 0, None),
        (httpx2.ReadTimeout("slow"), 0, None),
    ],
    ids=[
        "a 429 waits for its Retry-After",
        "a long Retry-After is capped",
        "a Retry-After date falls back to our backoff",
        "a 429 without a hint uses our backoff",
        "a 503 backs off longer on each attempt",
        "the last attempt is not retried",
        "a 500 on a read is retried (reads are idempotent)",
        "a 403 is not retried",
        "a reset connection is retried",
        "an unexpected EOF is retried",
        "a refused connection is an outage, not retried",
        "a timeout is an outage, not retried",
    ],
)
def test_read_retry_delay(exc: BaseException, attempt: int, delay: float | None) -> None:
    assert kc.read_retry_delay(exc, attempt) == delay
