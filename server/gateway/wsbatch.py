"""Several WebSocket frames in one socket write: an ASGI extension on uvicorn's sans-I/O protocol.

A committed batch of ops reaches every client of the dashboard as several frames (its ack and
the others' ops). ASGI sends one frame per ``websocket.send``, and uvicorn writes each to the
socket at once, so a client got one ``write(2)`` per frame; under load those writes (and the
wake-ups of the readers they cause) were the gateway's largest single cost. This protocol adds
the ASGI extension ``tandem.websocket.send_many``, advertised in ``scope["extensions"]`` as the
ASGI spec provides: the message ``{"type": "tandem.websocket.send_many", "texts": [...]}``
(each a ``str``, or ``bytes`` already encoded as UTF-8, which saves a decode and an encode)
frames every text as its own WebSocket message (the client sees exactly what separate sends
give it, permessage-deflate included) and writes them together.

The gateway uses the extension only when the server advertises it, so it runs unchanged under
any other ASGI server. ``tandem serve`` gives uvicorn :data:`PROTOCOL` when this uvicorn has
the sans-I/O implementation (None otherwise, and uvicorn's default is used).
"""

from __future__ import annotations

from typing import Any

SEND_MANY = "tandem.websocket.send_many"

try:
    from uvicorn.protocols.utils import ClientDisconnected
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.exceptions import InvalidState
except ImportError:  # pragma: no cover - an older uvicorn: frames go one by one
    PROTOCOL: type | None = None
else:

    class BatchingProtocol(WebSocketsSansIOProtocol):
        """uvicorn's sans-I/O WebSocket protocol, plus ``tandem.websocket.send_many``."""

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            # websockets' parser is a generator suspended for the next bytes, holding its
            # protocol: a reference cycle that would keep every closed connection's protocol
            # and buffers for the cycle collector. Nothing arrives to parse any more.
            self.conn.parser.close()

        def handle_connect(self, event: Any) -> None:
            super().handle_connect(event)
            scope: Any = getattr(self, "scope", None)
            if scope is not None:  # an accepted upgrade (the app runs once this returns)
                scope["extensions"][SEND_MANY] = {}

        async def send(self, message: Any) -> None:
            if message["type"] != SEND_MANY:
                await super().send(message)
                return
            await self.writable.wait()
            if self.disconnected:
                raise ClientDisconnected()
            if not self.handshake_complete or self.close_sent:
                raise RuntimeError(f"{SEND_MANY} needs an open, accepted WebSocket")
            try:
                for text in message["texts"]:
                    self.conn.send_text(text if type(text) is bytes else text.encode())
            except InvalidState:
                raise ClientDisconnected() from None
            self.transport.write(b"".join(self.conn.data_to_send()))

    PROTOCOL = BatchingProtocol
