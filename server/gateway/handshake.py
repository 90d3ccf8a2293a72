"""A deadline for the HTTP request and WebSocket upgrade, and a cap on connections still in it.

uvicorn's HTTP protocol waits for a request for as long as the peer keeps the socket open, so a
client that sends nothing, or one byte every few seconds, holds a connection forever (its
keep-alive timeout starts only after a response). :class:`GuardedHttp` is uvicorn's httptools
protocol with, for each request: a deadline (``handshake_timeout``) by which its headers must
have arrived and, for an upgrade, the WebSocket handshake been accepted; and a cap on the
connections of this process that are at that stage, in all (``max_unauthenticated``) and per
client address (``max_unauthenticated_per_ip``): one past a cap is dropped at once. After the
upgrade, the gateway's own cap and its authentication deadline take over
(:class:`server.gateway.connection.Gateway`).

uvicorn builds its protocols itself from a class named in its options, so the limits are set on
the class, once per process, by :func:`configure` (``create_app`` calls it).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from server.core import log
from server.core.settings import Settings

_log = log.get(__name__)


@dataclass(frozen=True)
class Limits:
    timeout: float
    total: int
    per_ip: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.handshake_timeout,
            settings.max_unauthenticated,
            settings.max_unauthenticated_per_ip,
        )


def configure(settings: Settings) -> None:
    """Use ``settings``' limits for every connection this process accepts from now on."""
    if GuardedHttp is not None:
        GuardedHttp.limits = Limits.of(settings)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - without httptools uvicorn's h11 protocol is used
    GuardedHttp: Any = None
else:

    class GuardedHttp(HttpToolsProtocol):  # type: ignore[no-redef]
        limits: ClassVar[Limits] = Limits.of(Settings())
        _pending: ClassVar[Counter[str]] = Counter()  # connections before their upgrade, by ip

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._deadline: asyncio.TimerHandle | None = None
            self._ws: Any = None
            self._headers_done = False
            self._ip = self.client[0] if self.client else ""
            pending = GuardedHttp._pending
            pending[self._ip] += 1
            pending["*"] += 1
            self._counted = True
            if pending[self._ip] > self.limits.per_ip or pending["*"] > self.limits.total:
                _log.info("http.refused", reason="too many connections in handshake", ip=self._ip)
                self._release()
                transport.abort()
                return
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._release()
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._headers_done = False
            if self._deadline is None:
                self._arm()  # the next request on a kept-alive connection has its own

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._headers_done = True
            if not (self.parser.should_upgrade() and self._should_upgrade()):
                self._disarm()  # a plain request: uvicorn's own timeouts from here

        def handle_websocket_upgrade(self) -> None:
            super().handle_websocket_upgrade()
            # The WebSocket protocol has the transport now; the deadline stays until it has
            # accepted the handshake. Past the upgrade the gateway counts the connection.
            self._ws = self.transport.get_protocol()
            self._release()
            # uvicorn drops its parser (which calls back into this protocol: a reference cycle)
            # only in connection_lost, which never comes here once the transport has another
            # protocol: every WebSocket would leave a cycle holding its request for the cycle
            # collector. Nothing parses HTTP on this connection any more.
            self.parser = None  # type: ignore[assignment]

        def _arm(self) -> None:
            self._deadline = self.loop.call_later(self.limits.timeout, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _release(self) -> None:
            if self._counted:
                self._counted = False
                for key in (self._ip, "*"):
                    GuardedHttp._pending[key] -= 1
                    if GuardedHttp._pending[key] <= 0:
                        del GuardedHttp._pending[key]

        def _expired(self) -> None:
            self._deadline = None
            ws = self._ws
            if ws is not None:
                if getattr(ws, "handshake_complete", True):
                    return
            elif self._headers_done:
                return
            _log.info("http.handshake_timeout", ip=self._ip)
            self.transport.abort()
