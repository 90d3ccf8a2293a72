"""Rate limits on the HTTP API, on the same Redis counters (and the same leasing) as the
socket's (:class:`~server.gateway.limits.UserRateLimiter`): requests per second per user, or per
address for a caller without a session; and wrong-password attempts per share link and per
address per minute, a plain fixed window that is only ever spent on a failure.
"""

from __future__ import annotations

import time

from redis.exceptions import RedisError

from server.api.principal import Principal
from server.core.errors import RateLimited, StoreUnavailable
from server.gateway.limits import UserRateLimiter
from server.redis.keys import Keys
from server.redis.resp import Resp

ATTEMPT_WINDOW = 60  # seconds


class HttpLimits:
    def __init__(
        self,
        resp: Resp,
        keys: Keys,
        *,
        per_user: int,
        per_address: int,
        password_attempts: int,
    ) -> None:
        self._resp = resp
        self._keys = keys
        self._users = UserRateLimiter(resp, keys, per_user, scope="http")
        self._addresses = UserRateLimiter(resp, keys, per_address, scope="http-ip")
        self._password_attempts = password_attempts

    async def check(self, scope: str, principal: Principal | None, ip: str | None) -> None:
        """Spend one request of the caller's budget; RateLimited when it is used up."""
        if principal is not None:
            allowed = await self._users.allow(principal.user_id)
        elif ip is not None:
            allowed = await self._addresses.allow(ip)
        else:
            return
        if not allowed:
            raise RateLimited("too many requests; slow down")

    async def failed_password(self, *subjects: str) -> None:
        """Count a wrong password against each subject (``link:<id>``, ``ip:<address>``)."""
        window = int(time.time()) // ATTEMPT_WINDOW
        commands = []
        for subject in subjects:
            key = self._keys.rate_limit("password", subject, window)
            commands += [("INCR", key), ("EXPIRE", key, ATTEMPT_WINDOW * 2)]
        try:
            await self._resp.pipeline(*commands)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis unavailable: {exc}") from exc

    async def check_password_attempts(self, *subjects: str) -> None:
        """RateLimited when any subject used up its wrong-password attempts this minute."""
        window = int(time.time()) // ATTEMPT_WINDOW
        keys = [self._keys.rate_limit("password", s, window) for s in subjects]
        try:
            counts = await self._resp.pipeline(*(("GET", k) for k in keys))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis unavailable: {exc}") from exc
        if any(c is not None and int(c) >= self._password_attempts for c in counts):
            raise RateLimited("too many wrong passwords; try again in a minute")
