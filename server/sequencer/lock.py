"""The per-dashboard sequencer lock in Redis, and the redis-py client the rest of the hub uses.

A lock is ``SET key token NX PX ttl`` with a fresh token per acquisition: ``{holder}:{random}``,
the holder being the gateway id of the process that won it (so an operator, or a test, reading the
key knows which process sequences the dashboard) and the random part 128 bits, so no two
acquisitions share a token. Extend, release and the settle (the queue trim) run as Lua scripts that first check
the whole token, so a holder whose lock expired (and was taken by someone else, or by itself
again) can never extend, release or trim on the new holder's behalf. The lock's commands are on
the hot path and go through the lean client (:mod:`server.redis.resp`).
The lock only orders the work: correctness rests on the store's fence (``lock_epoch``).
"""

from __future__ import annotations

import secrets
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.redis.resp import Resp, Script

_EXTEND = Script("""
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
""")

# Release KEYS[1] if it holds our token, and count the records left in the queue KEYS[2] at that
# same instant: one pushed before is counted, one pushed after finds the lock free.
_RELEASE_COUNTING = Script("""
local ours = 0
if redis.call('get', KEYS[1]) == ARGV[1] then
    redis.call('del', KEYS[1])
    ours = 1
end
return {ours, redis.call('llen', KEYS[2])}
""")

# After a batch's COMMIT, in one round trip: drop its ARGV[2] records from the queue KEYS[2],
# push the lock's expiry to ARGV[3] ms and publish the outcome ARGV[5] on channel ARGV[4], all
# only while KEYS[1] holds our token, and read the next ARGV[7] records of the queue. A holder
# that lost the lock still publishes what it did commit (ARGV[6] = '1'): those ops are in the
# log and their submitters wait for them. With KEYS[3] and KEYS[4] (the dashboard's cached
# metadata and its generation, server.access.cache), a commit deletes the one and bumps the
# other (ARGV[8]: the generation's lifetime), so no reader serves or writes the old head.
# Returns {1, records} or {0}.
_SETTLE = Script("""
if ARGV[6] == '1' and #KEYS == 4 then
    redis.call('del', KEYS[3])
    redis.call('incr', KEYS[4])
    redis.call('pexpire', KEYS[4], ARGV[8])
end
if redis.call('get', KEYS[1]) == ARGV[1] then
    redis.call('ltrim', KEYS[2], ARGV[2], -1)
    redis.call('pexpire', KEYS[1], ARGV[3])
    if ARGV[5] ~= '' then
        redis.call('publish', ARGV[4], ARGV[5])
    end
    return {1, redis.call('lrange', KEYS[2], 0, tonumber(ARGV[7]) - 1)}
end
if ARGV[6] == '1' and ARGV[5] ~= '' then
    redis.call('publish', ARGV[4], ARGV[5])
end
return {0}
""")


def connect(url: str, *, max_connections: int, timeout: float = 5.0, retries: int = 3) -> Redis:
    """A client with explicit timeouts and retries on connection errors and timeouts, over a
    bounded pool: a burst of commands waits for a connection rather than opening hundreds.

    What goes through it (presence, connection leases, the watchdog's reads, administration)
    is safe to run twice; the queue, the lock and the settle script, which are not, go through
    :mod:`server.redis.resp`, which does not retry.
    """
    errors: list[type[Exception]] = [RedisConnectionError, RedisTimeoutError]
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries),
        retry_on_error=errors,
        health_check_interval=15,
    )
    client: Redis = Redis.from_pool(pool)
    return client


class Lock:
    """One acquisition of a lock: a new object (and token) each time it is won."""

    def __init__(self, redis: Resp, key: str, token: str, ttl_ms: int) -> None:
        self._redis = redis
        self.key = key
        self.token = token
        self.ttl_ms = ttl_ms

    @classmethod
    async def acquire(cls, redis: Resp, key: str, ttl_ms: int, *, holder: str = "") -> Lock | None:
        """The lock if it was free, else None. ``holder`` (a gateway id) is named in the token;
        the empty default names nobody. Not retried: a SET whose reply was lost leaves a lock
        that nobody uses, and it expires after ``ttl_ms``."""
        token = f"{holder}:{secrets.token_hex(16)}"
        if await redis.call("SET", key, token, "NX", "PX", ttl_ms) is not None:
            return cls(redis, key, token, ttl_ms)
        return None

    async def extend(self) -> bool:
        """Push the expiry ``ttl_ms`` into the future; False when the lock is no longer ours."""
        return bool(await self._redis.run(_EXTEND, (self.key,), (self.token, self.ttl_ms)))

    async def release_counting(self, queue_key: str) -> tuple[bool, int]:
        """Delete the lock if it is still ours (not once it expired or changed hands); whether
        it was, and how many records ``queue_key`` held at that moment."""
        ours, left = await self._redis.run(_RELEASE_COUNTING, (self.key, queue_key), (self.token,))
        return bool(ours), int(left)

    async def settle(
        self,
        queue_key: str,
        count: int,
        *,
        channel: str,
        message: bytes,
        committed: bool,
        next_batch: int,
        stale: tuple[str, str, int] | None = None,
    ) -> tuple[bool, list[bytes]]:
        """Trim ``count`` records, extend the lock and publish ``message`` if the lock is still
        ours (publish anyway when ``committed``); also read the next ``next_batch`` records.
        When ``committed``, forget ``stale``: a cached entry, its generation and that one's
        lifetime in ms. Returns whether the lock is still ours and those records (empty when
        it is not)."""
        reply = await self._redis.run(
            _SETTLE,
            (self.key, queue_key, *(stale[:2] if stale is not None else ())),
            (
                self.token,
                count,
                self.ttl_ms,
                channel,
                message,
                "1" if committed else "0",
                next_batch,
                0 if stale is None else stale[2],
            ),
        )
        if not reply[0]:
            return False, []
        return True, cast(list[bytes], reply[1])


def holder_of(token: str | bytes) -> str | None:
    """The holder a lock token names (see :meth:`Lock.acquire`), None when it names nobody."""
    holder, _, _ = _text(token).rpartition(":")
    return holder or None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
