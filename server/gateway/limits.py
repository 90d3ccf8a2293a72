"""Limits on what one connection and one user may do.

- ops per second per connection: a token bucket in memory (no round trip on the hot path);
- ops per second per user, across every gateway: a fixed one-second window counter in Redis
  (``ratelimit:ops:<user>:<second>``, expiring right after its window), taken in leases;
- connections per user, across every gateway: a sorted set of connection ids scored by when
  each lease expires. Every live connection renews its lease, so the connections of a gateway
  that died stop counting once their leases run out, without anyone cleaning up.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from server.core.ids import UserId
from server.redis.errors import translated
from server.redis.keys import Keys
from server.redis.resp import Resp

# A connection lease lasts this long; connections renew it at a third of that.
CONNECTION_LEASE = 60.0
LEASE_RENEWAL = CONNECTION_LEASE / 3
# A user's ops-per-second budget is leased to gateways in about this many parts a window.
LEASES_PER_WINDOW = 50
# Users whose leases are remembered before those of past windows are dropped.
MAX_LEASED_USERS = 10_000


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up. Time is passed in (monotonic)."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True


class UserRateLimiter:
    """Ops per second per user, shared by every gateway through Redis (``scope`` names the
    counter: ``ops`` for the socket's ops; the HTTP API counts its requests under its own).

    Each gateway takes the user's window counter in leases of ``lease`` ops (one INCRBY) and
    spends them locally, so a busy user costs a round trip per lease, not per op. The counter
    never lets more than ``limit`` ops through a window across gateways; ops leased by one
    gateway and not used there are lost to the others, so a user spread over gateways may be
    stopped up to ``lease - 1`` ops per other gateway early."""

    def __init__(
        self,
        redis: Resp,
        keys: Keys,
        limit: int,
        *,
        lease: int | None = None,
        scope: str = "ops",
    ) -> None:
        self._redis = redis
        self._scope = scope
        self._keys = keys
        self._limit = limit
        self._lease = lease if lease is not None else max(1, limit // LEASES_PER_WINDOW)
        # user -> (window, ops still leased in it; -1 once the window is used up everywhere)
        self._leased: dict[UserId | str, tuple[int, int]] = {}

    def allow_leased(self, user_id: UserId | str, now: float | None = None) -> bool | None:
        """Decide from this gateway's lease alone, without a round trip: None when a new lease
        is needed (then :meth:`allow` decides)."""
        window = int(time.time() if now is None else now)
        window_held, left = self._leased.get(user_id, (window - 1, 0))
        if window_held == window:
            if left > 0:
                self._leased[user_id] = (window, left - 1)
                return True
            if left < 0:
                return False
        return None

    async def allow(self, user_id: UserId | str, now: float | None = None) -> bool:
        leased = self.allow_leased(user_id, now)
        if leased is not None:
            return leased
        window = int(time.time() if now is None else now)
        key = self._keys.rate_limit(self._scope, str(user_id), window)
        with translated():
            count, _ = await self._redis.pipeline(("INCRBY", key, self._lease), ("EXPIRE", key, 2))
        granted = min(self._lease, self._limit - (int(count) - self._lease))
        self._forget_old(window)
        # Leases taken concurrently for the same user add up.
        window_held, left = self._leased.get(user_id, (window, 0))
        left = max(left, 0) if window_held == window else 0
        if granted <= 0 and left == 0:
            self._leased[user_id] = (window, -1)
            return False
        self._leased[user_id] = (window, left + max(granted, 0) - 1)
        return True

    def _forget_old(self, window: int) -> None:
        if len(self._leased) > MAX_LEASED_USERS:
            self._leased = {u: held for u, held in self._leased.items() if held[0] >= window}


class ConnectionLimiter:
    """At most ``limit`` live connections per user, counted across gateways."""

    def __init__(self, redis: Redis, keys: Keys, limit: int) -> None:
        self._redis = redis
        self._keys = keys
        self._limit = limit

    async def acquire(self, user_id: UserId, connection_id: str) -> bool:
        """Take a lease; False (and nothing kept) when the user is at the limit."""
        key = self._keys.connections(user_id)
        now = time.time()
        with translated():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.zadd(key, {connection_id: now + CONNECTION_LEASE})
                pipe.zcard(key)
                pipe.expire(key, int(CONNECTION_LEASE) + 1)
                _, _, count, _ = await pipe.execute()
            if int(count) <= self._limit:
                return True
            await self._redis.zrem(key, connection_id)
        return False

    async def renew(self, user_id: UserId, connection_id: str) -> None:
        key = self._keys.connections(user_id)
        with translated():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(key, {connection_id: time.time() + CONNECTION_LEASE}, xx=True)
                pipe.expire(key, int(CONNECTION_LEASE) + 1)
                await pipe.execute()

    async def release(self, user_id: UserId, connection_id: str) -> None:
        with translated():
            await self._redis.zrem(self._keys.connections(user_id), connection_id)
