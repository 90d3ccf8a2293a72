"""What the API's handlers reach: the running process's stores, hub and limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.access.cache import CachedSessions, SharedCache
from server.api.limits import HttpLimits
from server.core.settings import Settings
from server.core.submission import Hub
from server.redis.keys import Keys
from server.store.access import Access
from server.store.accounts import Accounts
from server.store.audit import AuditLog
from server.store.guests import GuestSessions
from server.store.postgres import PostgresStore


@dataclass(frozen=True)
class ApiServices:
    settings: Settings
    pool: Any  # asyncpg.Pool
    hub: Hub
    redis: Any  # redis.asyncio.Redis
    keys: Keys
    accounts: Accounts
    guests: GuestSessions
    own_origins: tuple[str, ...]  # server.gateway.auth.public_origin of the settings
    access: Access
    audit: AuditLog
    limits: HttpLimits
    store: PostgresStore
    cache: SharedCache  # roles, dashboard metadata, sessions, profiles (server.access.cache)
    sessions: CachedSessions  # the session a token opens, through the cache
