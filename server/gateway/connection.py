"""The WebSocket pump: one :class:`Connection` per client, all of a process in one :class:`Gateway`.

A connection is three tasks around one :class:`~server.protocol.session.Session`: the reader
decodes frames and hands them to the :class:`~server.gateway.dispatch.Dispatcher` in order; the writer
drains the outbox; background work (submits, catch-ups) runs in tasks of its own.

The outbox is bounded by ``send_queue_size`` for what the server pushes unasked (broadcast ops,
presence): a client that does not keep up is closed (4030), never waited for, since waiting
would hold up everyone sharing the dashboard. Replies to the client's own requests are the
client's pace: the reader takes the next frame only once the outbox is below half full, and a
client that does not read its replies within ``ping_timeout`` is closed the same way. The
WebSocket ping/pong keepalive is uvicorn's (``ws_ping_interval`` / ``ws_ping_timeout``, set
from the settings by :func:`server.app.uvicorn_options`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from starlette.types import Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.core import log, metrics
from server.core.codes import CloseCode, Code
from server.core.errors import TandemError
from server.gateway.auth import TOKEN_QUERY_PARAM, handshake_token, origin_allowed
from server.gateway.dispatch import Dispatcher
from server.gateway.limits import TokenBucket
from server.gateway.services import Services
from server.gateway.wsbatch import SEND_MANY
from server.protocol.codec import decode
from server.protocol.errors import ProtocolError
from server.protocol.names import echo
from server.protocol.outgoing import Out, encode, error
from server.protocol.session import Session

_log = log.get(__name__)


def _client_ip(websocket: WebSocket) -> str | None:
    host = websocket.client.host if websocket.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


class Connection:
    def __init__(
        self, websocket: WebSocket, services: Services, send_many: Send | None = None
    ) -> None:
        self.websocket = websocket
        # The server's send-many extension (server.gateway.wsbatch), when it has it: the writer then
        # hands over every frame waiting in the outbox in one message, written in one go.
        self._send_many = send_many
        self.services = services
        self.settings = services.settings
        self.ip = _client_ip(websocket)
        self.id = secrets.token_hex(16)
        self.session = Session(self.id)
        # The dispatcher and its parts hold the connection weakly: a closed connection is freed
        # by its reference count, with its socket, request and buffers, instead of waiting
        # for the cycle collector (which the serving thresholds make rare, see server.app).
        self.dispatcher = Dispatcher(self.session, services, weakref.proxy(self))
        self._outbox: deque[bytes] = deque()  # UTF-8 JSON, one text frame each
        self._limit = max(1, self.settings.send_queue_size)
        self._wake = asyncio.Event()  # the writer has something to do
        self._room = asyncio.Event()  # the outbox fell below half full
        self._errors = TokenBucket(
            self.settings.errors_per_second, self.settings.error_burst, time.monotonic()
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._done = asyncio.Event()
        self._closing = False
        self._flush = False
        self._close_code: int = CloseCode.NORMAL
        self._close_reason = ""
        self._peer_gone = False
        self.admitted: Callable[[], None] | None = None  # set by the Gateway

    # -- the Link the dispatcher uses --------------------------------------------------------

    def authenticated(self) -> None:
        """The connection authenticated (or ended): it no longer counts as waiting to."""
        admitted, self.admitted = self.admitted, None
        if admitted is not None:
            admitted()

    def send(self, message: Out) -> None:
        """Queue a reply (the reader paces requests, so replies need no bound here)."""
        if not self._closing:
            self._outbox.append(encode(message))
            self._wake.set()

    def push(self, message: Out) -> None:
        """Queue something the client did not ask for; closes a client that lags too far."""
        if self._closing:
            return
        if len(self._outbox) >= self._limit:
            self._slow("send queue full")
            return
        self._outbox.append(encode(message))
        self._wake.set()

    def _slow(self, reason: str) -> None:
        metrics.SLOW_CONSUMERS.inc()
        _log.warning("ws.slow_consumer", connection=self.id, queued=len(self._outbox))
        self.close(CloseCode.SLOW_CONSUMER, reason, flush=False)

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        if self._closing:
            work.close()
            return
        task = asyncio.create_task(self._guarded(work), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self, code: int, reason: str, *, flush: bool = True) -> None:
        """End the connection; with ``flush``, what is queued goes out before the close frame."""
        if self._closing:
            return
        self._closing = True
        self._close_code = code
        self._close_reason = reason
        self._flush = flush
        self._done.set()

    def strike(self, count: int) -> None:
        if not self._errors.take(time.monotonic(), count):
            self.close(CloseCode.TOO_MANY_ERRORS, "too many invalid requests")

    def error(self, problem: ProtocolError) -> None:
        """Answer an error; close when it is fatal or when errors come too fast."""
        self.send(error(problem.echo, problem.code, problem.message))
        if problem.close_code is not None:
            self.close(problem.close_code, problem.message)
        elif not self._errors.take(time.monotonic()):
            if problem.code == Code.RATE_LIMITED:
                self.close(CloseCode.RATE_LIMITED, "rate limit exceeded repeatedly")
            else:
                self.close(CloseCode.TOO_MANY_ERRORS, "too many invalid messages")

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        ws = self.websocket
        origin = ws.headers.get("origin")
        if not origin_allowed(origin, self.services.own_origins, self.settings.allowed_origins):
            _log.info("ws.refused", reason="origin", origin=origin, ip=self.ip)
            await ws.close(code=CloseCode.POLICY)  # before accept: the client gets HTTP 403
            return
        await ws.accept()
        # Every line logged for this client from here on (its tasks copy this context) names it.
        structlog.contextvars.bind_contextvars(connection=self.id)
        started = time.monotonic()
        self.send(self.session.greeting())
        writer = asyncio.create_task(self._write(), name="ws.writer")
        reader = asyncio.create_task(self._guarded(self._read()), name="ws.reader")
        deadline = asyncio.get_running_loop().call_later(
            self.settings.auth_timeout, self._auth_deadline
        )
        try:
            await self._done.wait()
        finally:
            deadline.cancel()
            reader.cancel()
            await self._finish(writer)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(reader, *self._tasks, return_exceptions=True)
            await self.dispatcher.close()
            _log.info(
                "ws.closed",
                connection=self.id,
                code=int(self._close_code),
                reason=self._close_reason,
                seconds=round(time.monotonic() - started, 3),
            )

    async def _finish(self, writer: asyncio.Task[None]) -> None:
        """Flush if asked, then send the close frame, never waiting long for a slow peer."""
        if self._flush and not writer.done():
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(writer), self.settings.close_timeout)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        if self._peer_gone or self.websocket.application_state != WebSocketState.CONNECTED:
            return
        with contextlib.suppress(Exception):  # the peer may vanish while we close
            await asyncio.wait_for(
                self.websocket.close(code=self._close_code, reason=self._close_reason),
                self.settings.close_timeout,
            )

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        """The outermost point of a connection's task: a bug closes this connection only."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            _log.exception("ws.failed", connection=self.id)
            self.close(CloseCode.INTERNAL, "internal error", flush=False)

    async def _write(self) -> None:
        half = self._limit // 2
        try:
            while True:
                while not self._outbox:
                    if self._closing:
                        return  # flushed
                    self._wake.clear()
                    await self._wake.wait()
                if self._send_many is not None:
                    texts = list(self._outbox)
                    self._outbox.clear()
                    self._room.set()
                    metrics.FRAMES_SENT.inc(len(texts))
                    await self._send_many({"type": SEND_MANY, "texts": texts})
                    continue
                text = self._outbox.popleft()
                if len(self._outbox) <= half:
                    self._room.set()
                metrics.FRAMES_SENT.inc()
                await self.websocket.send_text(text.decode())
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._peer_gone = True
            self.close(CloseCode.NORMAL, "peer gone", flush=False)

    async def _paced(self) -> bool:
        """Wait until the client has read most of its replies; False: it stopped reading."""
        if len(self._outbox) <= self._limit // 2:
            return True
        self._room.clear()
        try:
            await asyncio.wait_for(self._room.wait(), self.settings.ping_timeout)
        except TimeoutError:
            self._slow("client is not reading")
            return False
        return True

    async def _read(self) -> None:
        try:
            await self._authenticate_handshake()
        except TandemError as exc:  # the store is unreachable: the client may retry with auth
            self.error(ProtocolError(exc.code, exc.message, echo={"a": "auth"}))
        while not self._closing:
            event = await self.websocket.receive()
            if event["type"] == "websocket.disconnect":
                self._peer_gone = True
                self.close(event.get("code") or CloseCode.NORMAL, "peer closed", flush=False)
                return
            metrics.FRAMES_RECEIVED.inc()
            frame = event.get("text")
            if frame is None:
                frame = event.get("bytes") or b""
            await self._receive(frame)
            if not await self._paced():
                return

    async def _receive(self, frame: str | bytes) -> None:
        message = None
        try:
            message = decode(
                frame,
                max_bytes=self.settings.max_message_bytes,
                max_depth=self.settings.max_json_depth,
            )
            await self.dispatcher.handle(message)
        except ProtocolError as problem:
            self.error(problem)
        except TandemError as exc:
            where = echo(message) if message is not None else {}
            self.error(ProtocolError(exc.code, exc.message, echo=where))

    async def _authenticate_handshake(self) -> None:
        """A session cookie (the Origin check passed) or, if allowed, a URL token."""
        ws = self.websocket
        token, source = handshake_token(
            ws.headers, ws.query_params, allow_url=self.settings.allow_token_in_url
        )
        if token is not None:
            await self.dispatcher.authenticate(token, source)
        elif ws.query_params.get(TOKEN_QUERY_PARAM):
            self.send(
                error(
                    {"a": "auth"},
                    Code.UNAUTHENTICATED,
                    "tokens in the URL are disabled: send {a:'auth', token}",
                )
            )

    def _auth_deadline(self) -> None:
        if self.session.authenticated or self._closing:
            return
        self.error(
            ProtocolError(
                Code.UNAUTHENTICATED,
                "not authenticated in time",
                echo={"a": "auth"},
                close_code=CloseCode.UNAUTHENTICATED,
            )
        )


class Gateway:
    """Every live connection of this process."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.connections: set[Connection] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        # Connections not authenticated yet, by client address ("*": all of them).
        self._unauthenticated: Counter[str | None] = Counter()

    async def serve(self, websocket: WebSocket, send_many: Send | None = None) -> None:
        connection = Connection(websocket, self.services, send_many)
        settings = self.services.settings
        waiting = self._unauthenticated
        if (
            waiting[connection.ip] >= settings.max_unauthenticated_per_ip
            or waiting["*"] >= settings.max_unauthenticated
        ):
            _log.info("ws.refused", reason="too many unauthenticated", ip=connection.ip)
            await websocket.close(code=CloseCode.POLICY)  # before accept: HTTP 403
            return
        keys = (connection.ip, "*")
        for key in keys:
            waiting[key] += 1

        def authenticated() -> None:
            for key in keys:
                waiting[key] -= 1
                if waiting[key] <= 0:
                    del waiting[key]

        connection.admitted = authenticated
        self.connections.add(connection)
        self._idle.clear()
        metrics.CONNECTIONS_OPEN.inc()
        try:
            await connection.run()
        finally:
            connection.authenticated()
            metrics.CONNECTIONS_OPEN.dec()
            self.connections.discard(connection)
            if not self.connections:
                self._idle.set()

    async def close(self) -> None:
        """Tell every client to reconnect (to another process), and wait briefly for them to go.
        Under uvicorn they have been told already (it closes every WebSocket with 1012 when it
        stops); this covers other servers and connections that raced the shutdown."""
        for connection in list(self.connections):
            connection.close(CloseCode.SERVICE_RESTART, "server restarting")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self.services.settings.close_timeout * 2)
