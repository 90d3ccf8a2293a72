"""The hub's pub/sub connection: routes, confirmations, re-routing a channel in one step."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from server.fanout.subscriber import Subscriber
from server.redis.resp import Endpoint


@pytest.fixture
async def subscriber(redis_url: str, redis_prefix: str) -> AsyncIterator[Subscriber]:
    sub = Subscriber(
        Endpoint.from_url(redis_url), private_channel=f"{redis_prefix}hub:{secrets.token_hex(4)}"
    )
    await sub.start()
    try:
        yield sub
    finally:
        await sub.close()


class Handler:
    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes | None]] = []
        self._changed = asyncio.Event()

    def __call__(self, kind: str, data: bytes | None) -> None:
        self.seen.append((kind, data))
        self._changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.seen) < count:
                self._changed.clear()
                await self._changed.wait()


async def routed(subscriber: Subscriber, redis_prefix: str) -> tuple[str, Handler]:
    """A new channel routed to a new handler, once the subscription is confirmed."""
    channel = f"{redis_prefix}chan:{secrets.token_hex(4)}"
    handler = Handler()
    subscriber.route(channel, handler)
    await handler.wait_for(1)
    return channel, handler


async def test_a_routed_channel_hears_its_confirmation_then_its_messages(
    subscriber: Subscriber, redis: Redis, redis_prefix: str
) -> None:
    channel, handler = await routed(subscriber, redis_prefix)
    await redis.publish(channel, b"one")
    await handler.wait_for(2)
    assert handler.seen == [("subscribe", None), ("message", b"one")]


async def test_rerouting_a_channel_in_one_step_confirms_to_the_new_handler(
    subscriber: Subscriber, redis: Redis, redis_prefix: str
) -> None:
    channel = f"{redis_prefix}chan:{secrets.token_hex(4)}"
    old, new = Handler(), Handler()
    subscriber.route(channel, old)
    await old.wait_for(1)
    # The old route goes and a new one comes before the unsubscribe reached Redis: the channel
    # stays subscribed, and the new handler still needs to hear that it is.
    subscriber.unroute(channel)
    subscriber.route(channel, new)
    await new.wait_for(1)
    await redis.publish(channel, b"after")
    await new.wait_for(2)
    assert new.seen == [("subscribe", None), ("message", b"after")]
    assert old.seen == [("subscribe", None)]


async def test_an_unrouted_channel_is_unsubscribed(
    subscriber: Subscriber, redis: Redis, redis_prefix: str
) -> None:
    channel, _ = await routed(subscriber, redis_prefix)
    assert (await redis.pubsub_numsub(channel))[0][1] == 1
    subscriber.unroute(channel)
    for _ in range(50):
        if (await redis.pubsub_numsub(channel))[0][1] == 0:
            break
        await asyncio.sleep(0.02)
    assert (await redis.pubsub_numsub(channel))[0][1] == 0


async def test_after_a_lost_connection_every_route_is_confirmed_again(
    subscriber: Subscriber, redis: Redis, redis_prefix: str
) -> None:
    channel, handler = await routed(subscriber, redis_prefix)
    # Only this subscriber's connection: other processes may share the Redis.
    connection = subscriber._connection
    assert connection is not None and connection._transport is not None
    host, port = connection._transport.get_extra_info("sockname")[:2]
    assert await redis.client_kill_filter(_type="pubsub", addr=f"{host}:{port}") == 1
    # Reconnected and subscribed again: the handler hears it (its cue to catch up) ...
    await handler.wait_for(2)
    await redis.publish(channel, b"after")
    await handler.wait_for(3)
    assert handler.seen == [("subscribe", None), ("subscribe", None), ("message", b"after")]


async def test_handlers_hear_messages_in_order(
    subscriber: Subscriber, redis: Redis, redis_prefix: str
) -> None:
    channel = f"{redis_prefix}chan:{secrets.token_hex(4)}"
    seen: list[bytes | None] = []
    done = asyncio.Event()

    async def slow(kind: str, data: bytes | None) -> None:
        await asyncio.sleep(0)  # an async handler: the next message waits for it
        seen.append(data)
        if len(seen) == 201:
            done.set()

    subscriber.route(channel, slow)
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.01)
    for i in range(200):
        await redis.publish(channel, str(i).encode())
    async with asyncio.timeout(5):
        await done.wait()
    assert seen == [None] + [str(i).encode() for i in range(200)]
