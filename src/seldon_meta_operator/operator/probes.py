"""Health endpoints of the operator: ``/healthz`` (liveness) and ``/readyz`` (readiness: this replica leads).

Layer: operator. kopf's own health endpoint answers 200 whatever its probes say, so it cannot restart a pod whose
worker is stuck; this one answers from the worker's heartbeat. aiohttp is kopf's own HTTP stack.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web


class Health(Protocol):
    def liveness(self) -> tuple[bool, str]: ...

    def readiness(self) -> tuple[bool, str]: ...


class ProbeServer:
    def __init__(self, host: str, port: int, health: Health) -> None:
        self.host = host
        self.port = port
        self.health = health
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.get("/healthz", self._healthz), web.get("/readyz", self._readyz)])
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, _request: web.Request) -> web.Response:
        ok, text = self.health.liveness()
        return web.Response(status=200 if ok else 500, text=text + "\n")

    async def _readyz(self, _request: web.Request) -> web.Response:
        ok, text = self.health.readiness()
        return web.Response(status=200 if ok else 503, text=text + "\n")
