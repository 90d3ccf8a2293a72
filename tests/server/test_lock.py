"""The sequencer lock against a real Redis: token checks, expiry, the guarded queue trim."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from redis.asyncio import Redis

from server.redis.resp import Resp
from server.sequencer.lock import Lock, holder_of


@pytest.fixture
def key(redis_prefix: str) -> str:
    return f"{redis_prefix}test-lock:{secrets.token_hex(4)}"


async def released(lock: Lock, redis: Redis) -> bool:
    """Release ``lock``; True if that deleted it (it was still this acquisition's)."""
    held = await holds(lock, redis)
    await lock.release_counting(lock.key + ":queue")
    return held and await redis.get(lock.key) is None


async def holds(lock: Lock, redis: Redis) -> bool:
    return await redis.get(lock.key) == lock.token.encode()


async def trimmed(lock: Lock, queue: str, count: int) -> bool:
    """Drop ``count`` records of ``queue`` if ``lock`` is still held (the settle's trim)."""
    held, _ = await lock.settle(
        queue, count, channel=queue + ":none", message=b"", committed=False, next_batch=1
    )
    return held


async def test_only_one_holder_at_a_time(redis: Redis, resp: Resp, key: str) -> None:
    first = await Lock.acquire(resp, key, 5000)
    assert first is not None
    assert await Lock.acquire(resp, key, 5000) is None
    assert await released(first, redis)
    second = await Lock.acquire(resp, key, 5000)
    assert second is not None
    assert second.token != first.token


async def test_the_token_names_its_holder(redis: Redis, resp: Resp, key: str) -> None:
    lock = await Lock.acquire(resp, key, 5000, holder="gw-a:1")
    assert lock is not None
    stored = await redis.get(key)
    assert stored is not None
    assert holder_of(stored) == "gw-a:1"
    holder, _, random_part = lock.token.rpartition(":")
    assert holder == "gw-a:1" and len(random_part) == 32  # 128 bits in hex
    assert await released(lock, redis)
    anonymous = await Lock.acquire(resp, key, 5000)
    assert anonymous is not None and holder_of(anonymous.token) is None


async def test_a_holders_stale_acquisition_cannot_touch_its_next_one(
    redis: Redis, resp: Resp, key: str
) -> None:
    stale = await Lock.acquire(resp, key, 100, holder="gw-a")
    assert stale is not None
    await asyncio.sleep(0.15)
    fresh = await Lock.acquire(resp, key, 5000, holder="gw-a")
    assert fresh is not None and fresh.token != stale.token
    assert not await stale.extend()
    assert not await released(stale, redis)
    assert await holds(fresh, redis)


async def test_concurrent_acquirers_have_one_winner(redis: Redis, resp: Resp, key: str) -> None:
    results = await asyncio.gather(*(Lock.acquire(resp, key, 5000) for _ in range(20)))
    assert sum(lock is not None for lock in results) == 1


async def test_extend_pushes_the_expiry(redis: Redis, resp: Resp, key: str) -> None:
    lock = await Lock.acquire(resp, key, 300)
    assert lock is not None
    await asyncio.sleep(0.2)
    assert await lock.extend()
    await asyncio.sleep(0.2)
    assert await holds(lock, redis)  # 400 ms after acquiring a 300 ms lock: the extension counted
    assert 0 < await redis.pttl(key) <= 300


async def test_expired_lock_cannot_be_extended_released_or_used(
    redis: Redis, resp: Resp, key: str
) -> None:
    stale = await Lock.acquire(resp, key, 100)
    assert stale is not None
    await asyncio.sleep(0.2)
    assert not await holds(stale, redis)
    fresh = await Lock.acquire(resp, key, 5000)
    assert fresh is not None
    assert not await stale.extend()
    assert not await released(stale, redis)
    assert await holds(
        fresh, redis
    )  # the stale holder's release did not delete the new holder's lock
    assert await redis.pttl(key) > 1000  # nor did its extend shorten it


async def test_trim_only_while_holding(redis: Redis, resp: Resp, key: str) -> None:
    queue = key + ":queue"
    await redis.rpush(queue, b"a", b"b", b"c")
    lock = await Lock.acquire(resp, key, 100)
    assert lock is not None
    assert await trimmed(lock, queue, 1)
    assert await redis.lrange(queue, 0, -1) == [b"b", b"c"]
    await asyncio.sleep(0.2)
    other = await Lock.acquire(resp, key, 5000)
    assert other is not None
    assert not await trimmed(lock, queue, 2)
    assert await redis.lrange(queue, 0, -1) == [b"b", b"c"]
    assert await trimmed(other, queue, 2)
    assert await redis.llen(queue) == 0


async def test_release_counting_tells_what_is_left_in_the_queue(
    redis: Redis, resp: Resp, key: str
) -> None:
    queue = f"{key}:queue"
    lock = await Lock.acquire(resp, key, 5000)
    assert lock is not None
    await redis.rpush(queue, b"a", b"b")
    assert await lock.release_counting(queue) == (True, 2)
    assert await redis.get(key) is None
    other = await Lock.acquire(resp, key, 5000)
    assert other is not None
    assert await lock.release_counting(queue) == (False, 2)  # stale: counts, releases nothing
    assert await redis.get(key) is not None
    await redis.delete(key, queue)
