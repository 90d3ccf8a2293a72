"""Fixtures for history: the store tests' database and a real hub (Redis) over it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from server.core.settings import Settings
from server.sequencer.hub import RedisHub
from server.store.audit import AuditLog
from server.store.postgres import PostgresStore
from tests.store import conftest as store_fixtures

# The store tests' database fixtures, shared (pytest finds fixtures by their name here).
accounts = store_fixtures.accounts
clock = store_fixtures.clock
migrated_url = store_fixtures.migrated_url
owner = store_fixtures.owner
pg_store = store_fixtures.pg_store


@pytest.fixture
async def hub(
    pg_store: PostgresStore,
    redis_url: str,
    redis_prefix: str,
) -> AsyncIterator[RedisHub]:
    settings = Settings(
        redis_prefix=f"{redis_prefix}{secrets.token_hex(4)}:",
        lock_ttl_ms=2000,
        watchdog_interval=0.1,
        feed_poll_interval=0.3,
    )
    made = RedisHub(
        redis=redis_url,
        store=pg_store,
        settings=settings,
        gateway_id="gw-history",
    )
    await made.start()
    yield made
    await made.close()


@pytest.fixture
def audit(pg_store: PostgresStore) -> AuditLog:
    return AuditLog(pg_store.pool)
