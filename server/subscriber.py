"""The process's one Redis pub/sub connection, with each channel routed to a handler.

Handlers get the message type and data: ``("message", data)`` for a publication and
``("subscribe", None)`` whenever a subscription is (re)confirmed, which is the moment to read
from the log whatever may have been published while the channel was not subscribed (redis-py
resubscribes by itself after a reconnect). Subscriptions follow the routes: changes are made one
at a time and retried until Redis accepts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from server import log

_log = log.get(__name__)

Handler = Callable[[str, bytes | None], Awaitable[None] | None]


class Subscriber:
    def __init__(self, redis: Redis, *, private_channel: str) -> None:
        self._redis = redis
        self._private_channel = private_channel
        self._pubsub: PubSub | None = None
        self._routes: dict[str, Handler] = {}
        self._subscribed: set[str] = set()
        self._confirmed: dict[str, Handler] = {}  # the handler each confirmation last went to
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub()
        # A channel of its own keeps the connection subscribed, so it can be read from the start.
        await self._pubsub.subscribe(self._private_channel)
        self._spawn(self._read())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    def route(self, channel: str, handler: Handler) -> None:
        self._routes[channel] = handler
        self._spawn(self._sync(channel))

    def unroute(self, channel: str) -> None:
        self._routes.pop(channel, None)
        self._spawn(self._sync(channel))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sync(self, channel: str) -> None:
        """Bring the subscription of ``channel`` in line with the routes."""
        assert self._pubsub is not None, "Subscriber.start() was not called"
        delay = 0.05
        while True:
            async with self._lock:
                try:
                    handler = self._routes.get(channel)
                    if handler is not None and channel in self._subscribed:
                        if self._confirmed.get(channel) is not handler:
                            # Still subscribed from a previous route: the new handler gets the
                            # confirmation Redis will not send again.
                            self._confirmed[channel] = handler
                            await _call(handler, "subscribe", None)
                    elif handler is not None:
                        await self._pubsub.subscribe(channel)
                        self._subscribed.add(channel)
                    elif channel in self._subscribed:
                        await self._pubsub.unsubscribe(channel)
                        self._subscribed.discard(channel)
                        self._confirmed.pop(channel, None)
                    return
                except RedisError as exc:
                    _log.warning("pubsub.subscribe_failed", error=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except RedisError as exc:
                # redis-py reconnects and resubscribes on the next read.
                _log.warning("pubsub.read_failed", error=str(exc))
                await asyncio.sleep(0.5)
                continue
            if message is None or message["type"] not in ("message", "subscribe"):
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            handler = self._routes.get(channel)
            if handler is None:
                continue
            if message["type"] == "subscribe":
                self._confirmed[channel] = handler
                await _call(handler, "subscribe", None)
            elif isinstance(message["data"], bytes):
                await _call(handler, "message", message["data"])


async def _call(handler: Handler, kind: str, data: bytes | None) -> None:
    try:
        result = handler(kind, data)
        if inspect.isawaitable(result):
            await result
    except Exception:
        # A handler is the hub's code for one channel: its failure must not stop the others.
        _log.exception("pubsub.handler_failed", kind=kind)
