"""A real hub (Redis) over the real PostgreSQL store, and a user, for the sync tests."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest

from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.core.submission import SubmitRecord
from server.sequencer.hub import RedisHub
from server.store.accounts import Accounts
from server.store.postgres import PostgresStore
from tests.store.conftest import clock, migrated_url, pg_store, widget

__all__ = ["clock", "migrated_url", "pg_store", "widget"]


@pytest.fixture(scope="module")
async def hub(
    pg_store: PostgresStore, redis_url: str, redis_prefix: str
) -> AsyncIterator[RedisHub]:
    settings = Settings(redis_prefix=f"{redis_prefix}{secrets.token_hex(4)}:")
    made = RedisHub(redis=redis_url, store=pg_store, settings=settings, gateway_id="sync-tests")
    await made.start()
    yield made
    await made.close()


@pytest.fixture(scope="module")
async def user(pg_store: PostgresStore) -> UserId:
    name = "sync" + secrets.token_hex(6)
    return await Accounts(pg_store.pool).create_user(f"{name}@example.com", name)


def document(widgets: dict[str, Any] | None = None, title: str = "Ops") -> dict[str, Any]:
    widgets = widgets or {}
    return {"title": title, "description": "", "settings": {}, "widgets": widgets,
            "layout": sorted(widgets)}  # fmt: skip


async def create(hub: RedisHub, user: UserId, doc: dict[str, Any]) -> DashboardId:
    d = DashboardId(uuid4())
    create = {"type": "http://sharejs.org/types/JSONv0", "data": doc}
    await hub.submit(SubmitRecord(d, f"t:{uuid4()}", 1, 0, user, create=create))
    return d


async def edit(hub: RedisHub, user: UserId, d: DashboardId, op: list[dict[str, Any]]) -> int:
    """An editor's op against the head; the version it made."""
    head = await hub.snapshot(d)
    done = await hub.submit(SubmitRecord(d, f"t:{uuid4()}", 1, head.version, user, op=op))
    return done.version + 1
