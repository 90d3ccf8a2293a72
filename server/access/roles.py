"""A user's role on a dashboard, through a small per-process cache over the shared one.

Every message naming a dashboard is authorised, so most role checks must be answered without
an await: :meth:`Roles.cached`. A miss asks the cache every process shares in Redis
(:mod:`server.access.cache`, which the HTTP API reads too), and only a miss there PostgreSQL,
whose answer goes into both. An entry of this process lives ``ttl`` (``role_cache_seconds``);
entries of dashboards that open connections watch are refreshed by the re-validation sweep
(:mod:`server.access.revalidate`), which reads them all in one query, and entries an access
change names are dropped at once. A role changed directly in PostgreSQL therefore reaches the
cache within a sweep interval or the cache's lifetime, whichever comes first (the shared
entry, which no sweep refreshes, within its TTL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

from server.access.cache import MISS, Miss, SharedCache  # MISS: not cached (None: no role)
from server.core.ids import DashboardId, UserId
from server.store.model import Role

EDIT_ROLES: frozenset[Role] = frozenset({"editor", "admin"})

Pair = tuple[DashboardId, UserId]


class RoleSource(Protocol):
    async def role_for(self, dashboard_id: DashboardId, user_id: UserId) -> Role | None: ...


class Roles:
    """``role_for`` with a short-lived cache (every message is authorised; most hit the cache)."""

    def __init__(
        self,
        source: RoleSource,
        *,
        shared: SharedCache | None = None,
        ttl: float = 1.0,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._shared = shared
        self._ttl = ttl
        self._size = size  # entries at most; beyond, expired ones go, then all
        self._clock = clock
        self._cache: dict[Pair, tuple[float, Role | None]] = {}

    def cached(self, dashboard_id: DashboardId, user_id: UserId) -> Role | Miss | None:
        """The role from the cache while it is fresh (no await on the per-message path)."""
        hit = self._cache.get((dashboard_id, user_id))
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        return MISS

    async def role(self, dashboard_id: DashboardId, user_id: UserId) -> Role | None:
        cached = self.cached(dashboard_id, user_id)
        if not isinstance(cached, Miss):
            return cached
        if self._shared is None:
            role = await self._source.role_for(dashboard_id, user_id)
        else:
            shared, access = await self._shared.role(dashboard_id, user_id)
            if isinstance(shared, Miss):
                role = await self._source.role_for(dashboard_id, user_id)
                await self._shared.remember_role(dashboard_id, user_id, role, access)
            else:
                role = shared
        self.put({(dashboard_id, user_id): role})
        return role

    def put(self, roles: dict[Pair, Role | None], ttl: float | None = None) -> None:
        """Remember fresh answers (the sweep's, with its own lifetime)."""
        now = self._clock()
        if len(self._cache) + len(roles) > self._size:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) + len(roles) > self._size:
                self._cache.clear()
        expires = now + (self._ttl if ttl is None else ttl)
        for pair, role in roles.items():
            self._cache[pair] = (expires, role)

    def drop(self, *, user: UserId | None = None, dashboards: Iterable[DashboardId] = ()) -> None:
        """Forget every entry of ``user`` (on all dashboards, or only on ``dashboards``) or,
        without a user, every entry of ``dashboards``."""
        only = frozenset(dashboards)
        self._cache = {
            (d, u): hit
            for (d, u), hit in self._cache.items()
            if not ((user is None or u == user) and (not only or d in only))
        }
