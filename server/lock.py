"""The per-dashboard sequencer lock in Redis, and the Redis client every part of the hub uses.

A lock is ``SET key token NX PX ttl`` with a fresh random token per acquisition; extend, release
and the queue trim run as Lua scripts that first check the token, so a holder whose lock expired
(and was taken by someone else) can never extend, release or trim on the new holder's behalf.
The lock only orders the work: correctness rests on the store's fence (``lock_epoch``).
"""

from __future__ import annotations

import secrets
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

# Removes the first ARGV[2] records of the queue KEYS[2], but only while KEYS[1] holds our token:
# a holder that lost the lock leaves the records for the next holder, which re-drains and dedups.
_TRIM = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    redis.call('ltrim', KEYS[2], ARGV[2], -1)
    return 1
end
return 0
"""


def connect(url: str, *, timeout: float = 5.0, retries: int = 3) -> Redis:
    """A client with explicit timeouts and retries on connection errors and timeouts.

    Retrying a non-idempotent command (RPUSH of a submit) may enqueue a record twice; the
    sequencer recognises the copy by ``(src, seq)``.
    """
    errors: list[type[Exception]] = [RedisConnectionError, RedisTimeoutError]
    client: Redis = Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries),
        retry_on_error=errors,
        health_check_interval=15,
    )
    return client


class Lock:
    """One acquisition of a lock: a new object (and token) each time it is won."""

    def __init__(self, redis: Redis, key: str, token: str, ttl_ms: int) -> None:
        self._redis = redis
        self.key = key
        self.token = token
        self.ttl_ms = ttl_ms

    @classmethod
    async def acquire(cls, redis: Redis, key: str, ttl_ms: int) -> Lock | None:
        """The lock if it was free, else None."""
        token = secrets.token_hex(16)
        if await redis.set(key, token, nx=True, px=ttl_ms):
            return cls(redis, key, token, ttl_ms)
        # A retried SET whose first attempt reached Redis answers "not set" although the key
        # holds our own token: that acquisition is ours.
        current = await redis.get(key)
        if current is not None and _text(current) == token:
            return cls(redis, key, token, ttl_ms)
        return None

    async def extend(self) -> bool:
        """Push the expiry ``ttl_ms`` into the future; False when the lock is no longer ours."""
        result = await self._script(_EXTEND, [self.key], [self.token, self.ttl_ms])
        return bool(result)

    async def release(self) -> bool:
        """Delete the lock if it is still ours; False when it had expired or changed hands."""
        result = await self._script(_RELEASE, [self.key], [self.token])
        return bool(result)

    async def held(self) -> bool:
        current = await self._redis.get(self.key)
        return current is not None and _text(current) == self.token

    async def trim(self, queue_key: str, count: int) -> bool:
        """Drop the first ``count`` records of ``queue_key`` if the lock is still ours."""
        result = await self._script(_TRIM, [self.key, queue_key], [self.token, count])
        return bool(result)

    async def _script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        return await self._redis.eval(source, len(keys), *keys, *args)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
