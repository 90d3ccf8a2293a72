"""What an operator's tools ask a process: ``/healthz``, ``/readyz``, ``/metrics``, and the HTTP
instrumentation (request counts and times, a request id in every log line of a request).

``/readyz`` answers 503 while PostgreSQL or Redis does not answer within :data:`READY_TIMEOUT`,
and from the moment the process starts draining (SIGTERM), so a load balancer sends it no new
clients while it hands over what it holds.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.core import log, metrics

_log = log.get(__name__)

READY_TIMEOUT = 2.0
REQUEST_ID_HEADER = "x-request-id"
# A request id a client or a proxy sent is kept when it is short and plain (it is logged).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

Check = Callable[[], Awaitable[None]]


@dataclass
class Lifecycle:
    """Whether this process is draining: set on SIGTERM, before the server stops listening."""

    draining: bool = False

    def drain(self) -> None:
        if not self.draining:
            self.draining = True
            _log.info("app.draining")

    def on_sigterm(self, delay: float) -> None:
        """Mark the process draining on SIGTERM, ``delay`` seconds before the server's own
        handler (uvicorn's, which stops listening and closes every WebSocket with 1012) runs:
        the time a load balancer needs to see ``/readyz`` fail. Call it once the server's
        handler is installed (from the lifespan's startup)."""
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return
        loop = asyncio.get_running_loop()

        def handler(signum: int, frame: FrameType | None) -> None:
            # A signal handler runs between two bytecodes of whatever the main thread was
            # doing, perhaps writing a log line under the logger's lock: logging here would
            # wait for that lock forever. The event loop does the rest, the log line included.
            loop.call_soon_threadsafe(self.drain)
            loop.call_soon_threadsafe(loop.call_later, max(delay, 0), previous, signum, frame)

        signal.signal(signal.SIGTERM, handler)


async def readiness(lifecycle: Lifecycle, checks: dict[str, Check]) -> JSONResponse:
    if lifecycle.draining:
        return JSONResponse({"status": "draining", "problems": ["draining"]}, status_code=503)
    names = list(checks)
    results = await asyncio.gather(
        *(_timed(checks[name]) for name in names), return_exceptions=True
    )
    problems = [
        f"{name}: {type(result).__name__}"
        for name, result in zip(names, results, strict=True)
        if isinstance(result, BaseException)
    ]
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


async def _timed(check: Check) -> None:
    async with asyncio.timeout(READY_TIMEOUT):
        await check()


async def metrics_endpoint(request: Request) -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


class Instrumented:
    """ASGI middleware: counts and times every HTTP request by route template and status, and
    binds a request id (the client's ``X-Request-ID`` when it is plain, else a fresh one) to
    every log line written while the request runs; the response carries it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        # Each request runs in a task of its own (uvicorn's), so the binding ends with it.
        structlog.contextvars.bind_contextvars(request=request_id)
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route(scope)
            metrics.HTTP_REQUESTS.labels(route, str(status)).inc()
            metrics.HTTP_SECONDS.labels(route).observe(time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            given: str = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(given):
                return given
    return secrets.token_hex(8)


def _route(scope: Scope) -> str:
    route: Any = scope.get("route")
    path: object = getattr(route, "path", None)
    return path if isinstance(path, str) else "other"
