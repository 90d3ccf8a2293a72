"""The hub's pub/sub connection: routes, confirmations, re-routing a channel in one step."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from server.subscriber import Subscriber


@pytest.fixture
async def subscriber(redis: Redis, redis_prefix: str) -> AsyncIterator[Subscriber]:
    sub = Subscriber(redis, private_channel=f"{redis_prefix}hub:{secrets.token_hex(4)}")
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


async def test_a_routed_channel_hears_its_confirmation_then_its_messages(
    subscriber: Subscriber, redis: Redis, redis_prefix: str
) -> None:
    channel = f"{redis_prefix}chan:{secrets.token_hex(4)}"
    handler = Handler()
    subscriber.route(channel, handler)
    await handler.wait_for(1)
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
    channel = f"{redis_prefix}chan:{secrets.token_hex(4)}"
    handler = Handler()
    subscriber.route(channel, handler)
    await handler.wait_for(1)
    assert (await redis.pubsub_numsub(channel))[0][1] == 1
    subscriber.unroute(channel)
    for _ in range(50):
        if (await redis.pubsub_numsub(channel))[0][1] == 0:
            break
        await asyncio.sleep(0.02)
    assert (await redis.pubsub_numsub(channel))[0][1] == 0
