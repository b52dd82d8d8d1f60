"""The fault-injecting proxy of the tests (tests/faultproxy.py), against a tiny local HTTP server: it forwards
requests and bodies, streams responses as they come, injects each kind of fault, counts by verb, and repeats
itself with the same seed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from tests.faultproxy import FaultProxy, read_request, verb_of


@asynccontextmanager
async def upstream(release_second_chunk: asyncio.Event | None = None) -> AsyncIterator[str]:
    """/echo answers what it received as JSON; /stream sends one chunk, waits for the event, then another."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (request := await read_request(reader)) is not None:
                if request.target.startswith("/stream"):
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    )
                    for part in (b'{"n":1}\n', b'{"n":2}\n'):
                        writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                        await writer.drain()
                        if release_second_chunk is not None:
                            await release_second_chunk.wait()
                    writer.write(b"0\r\n\r\n")
                else:
                    body = json.dumps(
                        {
                            "method": request.method,
                            "target": request.target,
                            "authorization": request.header("authorization"),
                            "body": request.body.decode(),
                        }
                    ).encode()
                    writer.write(
                        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


def test_requests_and_bodies_are_forwarded_with_their_token_and_counted_by_verb() -> None:
    async def go() -> tuple[list[dict[str, Any]], FaultProxy]:
        async with (
            upstream() as url,
            FaultProxy(url, rate=0.0) as proxy,
            httpx2.AsyncClient(base_url=proxy.url, headers={"Authorization": "Bearer t0k"}) as client,
        ):
            answers = [
                await client.get("/api/v1/namespaces/ns/configmaps/cm"),
                await client.post("/api/v1/namespaces/ns/configmaps", content=b'{"a":1}'),
                await client.patch(
                    "/api/v1/namespaces/ns/configmaps/cm?fieldManager=x",
                    content=b"{}",
                    headers={"Content-Type": "application/apply-patch+yaml"},
                ),
                await client.put("/api/v1/namespaces/ns/configmaps/cm", content=chunks(b"chun", b"ked")),
            ]
        return [r.json() for r in answers if r.status_code == 201], proxy

    answers, proxy = run(go())
    assert [(a["method"], a["body"]) for a in answers] == [
        ("GET", ""),
        ("POST", '{"a":1}'),
        ("PATCH", "{}"),
        ("PUT", "chunked"),
    ]
    assert {a["authorization"] for a in answers} == {"Bearer t0k"}
    assert answers[2]["target"] == "/api/v1/namespaces/ns/configmaps/cm?fieldManager=x"
    assert proxy.forwarded == {"get": 1, "create": 1, "apply": 1, "update": 1}
    assert proxy.faults() == 0


def test_a_streamed_response_reaches_the_client_as_it_comes() -> None:
    release = asyncio.Event()

    async def go() -> list[bytes]:
        async with upstream(release) as url, FaultProxy(url, rate=0.0) as proxy, httpx2.AsyncClient() as client:
            lines = []
            async with client.stream("GET", f"{proxy.url}/stream?watch=true") as response:
                async for line in response.aiter_lines():
                    lines.append(line.encode())
                    release.set()  # the upstream sends the second event only after we got the first
            assert proxy.forwarded == {"watch": 1}
            return lines

    assert run(go()) == [b'{"n":1}', b'{"n":2}']


@pytest.mark.parametrize("kind", ["500", "429"], ids=["an injected 500", "an injected 429"])
def test_injected_error_statuses_carry_a_status_body(kind: str) -> None:
    async def go() -> tuple[httpx2.Response, httpx2.Response, FaultProxy]:
        async with (
            upstream() as url,
            FaultProxy(url, rate=1.0, kinds=[kind]) as proxy,
            httpx2.AsyncClient(base_url=proxy.url) as client,
        ):
            first = await client.get("/api/v1/namespaces/ns/configmaps")
            second = await client.delete("/api/v1/namespaces/ns/configmaps/cm")  # same connection, kept alive
        return first, second, proxy

    first, second, proxy = run(go())
    assert first.status_code == second.status_code == int(kind)
    assert first.json()["kind"] == "Status" and first.json()["code"] == int(kind)
    assert first.headers.get("Retry-After") == ("1" if kind == "429" else None)
    assert proxy.injected == {(kind, "list"): 1, (kind, "delete"): 1}
    assert sum(proxy.forwarded.values()) == 0


def test_an_injected_reset_breaks_the_connection() -> None:
    async def go() -> FaultProxy:
        async with (
            upstream() as url,
            FaultProxy(url, rate=1.0, kinds=["reset"]) as proxy,
            httpx2.AsyncClient(base_url=proxy.url) as client,
        ):
            with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
                await client.get("/api/v1/namespaces/ns/configmaps/cm")
        return proxy

    assert run(go()).injected == {("reset", "get"): 1}


def test_an_injected_delay_still_forwards() -> None:
    async def go() -> tuple[int, FaultProxy]:
        async with (
            upstream() as url,
            FaultProxy(url, rate=1.0, kinds=["delay"], delay=0.01) as proxy,
            httpx2.AsyncClient(base_url=proxy.url) as client,
        ):
            status = (await client.get("/api/v1/nodes")).status_code
        return status, proxy

    status, proxy = run(go())
    assert status == 201
    assert proxy.injected == {("delay", "list"): 1} and proxy.forwarded == {"list": 1}


def test_the_same_seed_injects_the_same_faults_at_about_the_rate() -> None:
    async def faults(seed: int) -> list[tuple[int, int]]:
        async with (
            upstream() as url,
            FaultProxy(url, seed=seed, kinds=["500", "429"]) as proxy,
            httpx2.AsyncClient(base_url=proxy.url) as client,
        ):
            return [
                (i, (await client.get("/api/v1/namespaces")).status_code) for i in range(200) if proxy.faults() >= 0
            ]

    first, again, other = run(faults(7)), run(faults(7)), run(faults(8))
    failed = [i for i, code in first if code != 201]
    assert first == again and first != other
    assert 5 <= len(failed) <= 40  # 10 % of 200, seeded: deterministic


def test_only_a_loopback_upstream_is_accepted() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("https://kubernetes.example.com:6443")


@pytest.mark.parametrize(
    ("method", "target", "content_type", "verb"),
    [
        ("GET", "/api/v1/namespaces/ns/pods", "", "list"),
        ("GET", "/api/v1/namespaces/ns/pods/p", "", "get"),
        ("GET", "/api/v1/namespaces", "", "list"),
        ("GET", "/api/v1/namespaces/ns", "", "get"),
        ("GET", "/apis/apps/v1/deployments?watch=true&resourceVersion=1", "", "watch"),
        ("GET", "/apis/operator.seldon.io/v1alpha1/namespaces/ns/seldonoperators/x/status", "", "get"),
        ("GET", "/apis", "", "other"),
        ("PATCH", "/api/v1/namespaces/ns/pods/p", "application/merge-patch+json", "patch"),
        ("PATCH", "/api/v1/namespaces/ns/pods/p", "application/apply-patch+yaml", "apply"),
        ("DELETE", "/api/v1/namespaces/ns/pods/p", "", "delete"),
    ],
)
def test_verbs_are_told_from_method_path_and_query(method: str, target: str, content_type: str, verb: str) -> None:
    assert verb_of(method, target, content_type) == verb
