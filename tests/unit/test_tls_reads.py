"""The operator reads TLS connections in 16 KiB chunks (operator/runner.py, issue 12): asyncio allocates its read size
for every open TLS connection, and kopf keeps about 40 open. The setting must size that buffer (a Python that sized
it otherwise would make it useless), and a large response must still arrive whole.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
import tempfile
from asyncio import sslproto
from pathlib import Path

import pytest

from seldon_meta_operator.operator.runner import TLS_READ_SIZE, small_tls_reads
from seldon_meta_operator.reconcile.secrets import make_webhook_cert, webhook_hosts

PAYLOAD = bytes(range(256)) * 8 * 1024  # 2 MiB, many TLS records


def _buffer_of_a_new_connection() -> int:
    async def make() -> int:
        loop = asyncio.get_running_loop()
        proto = sslproto.SSLProtocol(loop, asyncio.Protocol(), ssl.create_default_context(), None)
        return len(proto._ssl_buffer)

    return asyncio.run(make())


def test_the_setting_sizes_the_buffer_asyncio_keeps_per_tls_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sslproto.SSLProtocol, "max_size", sslproto.SSLProtocol.max_size)  # restored after the test
    assert _buffer_of_a_new_connection() == 256 * 1024  # asyncio's default, what kopf's connections held
    small_tls_reads()
    assert _buffer_of_a_new_connection() == TLS_READ_SIZE == 16 * 1024


def test_a_large_response_arrives_whole_over_tls_with_small_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sslproto.SSLProtocol, "max_size", sslproto.SSLProtocol.max_size)
    small_tls_reads()
    namespace = "seldon-system"
    made = make_webhook_cert(namespace, datetime.datetime.now(datetime.UTC))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "tls.crt").write_text(made.cert_pem)
        (Path(tmp) / "tls.key").write_text(made.key_pem)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(Path(tmp) / "tls.crt", Path(tmp) / "tls.key")
    client_tls = ssl.create_default_context(cadata=made.ca_pem)

    async def serve(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(PAYLOAD)
        await writer.drain()
        writer.close()

    async def fetch() -> bytes:
        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_tls)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_tls, server_hostname=webhook_hosts(namespace)[2]
            )
            assert len(writer.transport._ssl_protocol._ssl_buffer) == TLS_READ_SIZE  # type: ignore[attr-defined]
            data = await reader.read()
            writer.close()
            return data

    assert asyncio.run(asyncio.wait_for(fetch(), 60)) == PAYLOAD
