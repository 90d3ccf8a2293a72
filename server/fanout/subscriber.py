"""The process's one Redis pub/sub connection, with each channel routed to a handler.

Handlers get the message type and data: ``("message", data)`` for a publication and
``("subscribe", None)`` whenever a subscription is (re)confirmed, which is the moment to read
from the log whatever may have been published while the channel was not subscribed. Handlers
run one at a time, in the order Redis sent the messages.

Every committed batch and every nudge between gateways crosses this connection, so it speaks
RESP itself, parsed by hiredis, as :mod:`server.redis.resp` does. When the connection breaks it
reconnects, backing off, and subscribes again to every routed channel; each confirmation is
passed on, so the hub's feeds catch up from the log on what they missed meanwhile.

On a Redis Cluster every node relays every publication, so any node will do: when its node
cannot be reached, the subscriber moves to the first of the cluster's other nodes (``nodes``)
that answers, and stays there.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import hiredis
from redis.exceptions import RedisError, ResponseError

from server.core import log
from server.redis.resp import Endpoint, open_connection, pack

_log = log.get(__name__)

Handler = Callable[[str, bytes | None], Awaitable[None] | None]

RETRY_FIRST = 0.05
RETRY_MAX = 2.0


class _Connection(asyncio.Protocol):
    """Replies go to ``inbox`` as they are parsed; ``closed`` resolves when the socket goes."""

    def __init__(self, inbox: collections.deque[Any], wake: asyncio.Event) -> None:
        self._reader = hiredis.Reader(replyError=ResponseError)
        self._inbox = inbox
        self._wake = wake
        self._transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            self._inbox.append(reply)
        self._wake.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self._wake.set()

    def send(self, *args: str | bytes) -> None:
        if self._transport is not None and not self.closed.done():
            self._transport.write(pack(args))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class Subscriber:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        private_channel: str,
        timeout: float = 5.0,
        nodes: Callable[[], Awaitable[list[Endpoint]]] | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._nodes = nodes  # where else to subscribe when ``endpoint`` cannot be reached
        self._known: list[Endpoint] = []  # what ``nodes`` said while the cluster answered
        self._private_channel = private_channel
        self._timeout = timeout
        self._routes: dict[str, Handler] = {}
        self._active: set[str] = set()  # subscribed on the current connection (confirmed)
        self._confirmed: dict[str, Handler] = {}  # the handler each confirmation last went to
        self._inbox: collections.deque[Any] = collections.deque()
        self._wake = asyncio.Event()
        self._connection: _Connection | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def endpoint(self) -> Endpoint:
        """The node subscribed on (or to subscribe on next)."""
        return self._endpoint

    async def start(self) -> None:
        await self._connect(self._endpoint)
        if self._nodes is not None:
            self._known = await self._nodes()  # while the node answers, to ask it the others
        self._spawn(self._read())
        self._spawn(self._stay_connected())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._connection is not None:
            self._connection.close()

    def route(self, channel: str, handler: Handler) -> None:
        self._routes[channel] = handler
        if channel in self._active:
            if self._confirmed.get(channel) is not handler:
                # Still subscribed from a previous route: the new handler gets the
                # confirmation Redis will not send again.
                self._inbox.append([b"subscribe", channel.encode(), 0])
                self._wake.set()
        elif self._connection is not None:
            self._connection.send("SUBSCRIBE", channel)

    def unroute(self, channel: str) -> None:
        if self._routes.pop(channel, None) is None:
            return
        self._active.discard(channel)
        self._confirmed.pop(channel, None)
        if self._connection is not None and channel != self._private_channel:
            self._connection.send("UNSUBSCRIBE", channel)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, endpoint: Endpoint) -> None:
        inbox, wake = self._inbox, self._wake
        connection = await open_connection(
            endpoint, lambda: _Connection(inbox, wake), self._timeout
        )
        for command in endpoint.handshake():
            if command[0] == "AUTH":  # SELECT does not matter to pub/sub
                connection.send(*(str(a) for a in command))
        self._active.clear()
        self._confirmed.clear()
        self._connection = connection
        connection.send("SUBSCRIBE", *dict.fromkeys([self._private_channel, *self._routes]))

    async def _stay_connected(self) -> None:
        delay = RETRY_FIRST
        while True:
            connection = self._connection
            if connection is not None:
                await connection.closed
                _log.warning("pubsub.disconnected")
                self._connection = None
            try:
                await self._reconnect()
                delay = RETRY_FIRST
            except RedisError as exc:
                _log.warning("pubsub.reconnect_failed", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _reconnect(self) -> None:
        """To the same node, or else to the first other node (``nodes``) that answers."""
        try:
            await self._connect(self._endpoint)
            return
        except RedisError as exc:
            if self._nodes is None:
                raise
            problem = exc
        fresh = await self._nodes()
        self._known = [*dict.fromkeys([*fresh, *self._known])]
        for endpoint in self._known:
            if endpoint == self._endpoint:
                continue
            try:
                await self._connect(endpoint)
            except RedisError as exc:
                problem = exc
                continue
            _log.warning("pubsub.moved", host=endpoint.host, port=endpoint.port)
            self._endpoint = endpoint
            return
        raise problem

    async def _read(self) -> None:
        while True:
            while self._inbox:
                await self._dispatch(self._inbox.popleft())
            self._wake.clear()
            await self._wake.wait()

    async def _dispatch(self, reply: Any) -> None:
        if isinstance(reply, ResponseError):
            # AUTH refused, most likely: drop the connection and let the reconnects report it.
            _log.error("pubsub.refused", error=str(reply))
            if self._connection is not None:
                self._connection.close()
            return
        if not isinstance(reply, list) or len(reply) < 3:
            return  # AUTH's OK
        kind, channel = reply[0], reply[1].decode()
        if kind == b"message":
            handler = self._routes.get(channel)
            if handler is not None and isinstance(reply[2], bytes):
                await _call(handler, "message", reply[2])
        elif kind == b"subscribe":
            self._active.add(channel)
            handler = self._routes.get(channel)
            if handler is not None:
                self._confirmed[channel] = handler
                await _call(handler, "subscribe", None)
        elif kind == b"unsubscribe" and channel not in self._routes:
            self._active.discard(channel)


async def _call(handler: Handler, kind: str, data: bytes | None) -> None:
    try:
        result = handler(kind, data)
        if inspect.isawaitable(result):
            await result
    except Exception:
        # A handler is the hub's code for one channel: its failure must not stop the others.
        _log.exception("pubsub.handler_failed", kind=kind)
