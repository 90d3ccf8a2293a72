"""Fixtures for the store tests: one migrated database per run, a store over it, helpers.

Tests stay independent by creating their own dashboards (and users); tests that need an empty
database (migrations) create a throwaway one.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from server.core.ids import DashboardId, UserId
from server.embedded import ServiceUrls
from server.store.accounts import Accounts
from server.store.memory import MemoryStore
from server.store.migrate import prepare
from server.store.model import NewOp
from server.store.postgres import PostgresStore

INTERVAL = 10  # small, so short histories cross checkpoints


class Clock:
    """Time the tests move by hand (the stores take it instead of reading the wall clock)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    @classmethod
    def at(cls, now: datetime) -> Clock:
        return cls(now)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def database_named(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@pytest.fixture(scope="session")
async def migrated_url(database_url: str) -> str:
    await prepare(database_url)
    return database_url


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
async def pg_store(migrated_url: str, clock: Clock) -> AsyncIterator[PostgresStore]:
    store = await PostgresStore.open(
        migrated_url, checkpoint_interval=INTERVAL, min_size=1, max_size=6, clock=clock
    )
    yield store
    await store.close()


@pytest.fixture(scope="session")
async def accounts(pg_store: PostgresStore) -> Accounts:
    return Accounts(pg_store.pool)


async def new_user(accounts: Accounts) -> UserId:
    name = "u" + secrets.token_hex(6)
    return await accounts.create_user(f"{name}@example.com", name)


@pytest.fixture(scope="session")
async def owner(accounts: Accounts) -> UserId:
    return await new_user(accounts)


@pytest.fixture(params=["memory", "postgres"])
def store(
    request: pytest.FixtureRequest, pg_store: PostgresStore, clock: Clock
) -> MemoryStore | PostgresStore:
    if request.param == "memory":
        return MemoryStore(checkpoint_interval=INTERVAL, clock=clock)
    return pg_store


@pytest.fixture
async def empty_database(services: ServiceUrls) -> AsyncIterator[str]:
    """A database of its own, without any schema, dropped afterwards."""
    name = f"tandem_store_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(services.database_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield database_named(services.database_url, name)
    conn = await asyncpg.connect(services.database_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def document(title: str = "Ops", widgets: dict[str, Any] | None = None) -> dict[str, Any]:
    widgets = widgets or {}
    return {
        "title": title,
        "description": "",
        "settings": {"theme": "dark"},
        "widgets": widgets,
        "layout": sorted(widgets),
    }


async def new_board(
    store: MemoryStore | PostgresStore, owner: UserId, title: str = "t"
) -> DashboardId:
    """A new dashboard of no widgets, titled ``title``, at version 1."""
    head = await store.create_dashboard(owner_id=owner, title=title, document=document(title))
    return head.dashboard_id


def widget(title: str = "CPU", x: int = 0) -> dict[str, Any]:
    return {
        "type": "chart",
        "title": title,
        "position": {"x": x, "y": 0, "width": 4, "height": 3},
        "config": {},
        "data": {},
        "isLocked": False,
    }


def new_op(
    op: list[dict[str, Any]],
    *,
    seq: int,
    src: str = "client",
    target_id: str | None = None,
    inverse: list[dict[str, Any]] | None = None,
    client_version: int = 1,
) -> NewOp:
    return NewOp(
        src=src,
        seq=seq,
        user_id=None,
        client_version=client_version,
        op=op,
        inverse=inverse or [],
        operation_type="update",
        target_id=target_id,
    )


def retitle(old: str, new: str, seq: int, src: str = "client") -> NewOp:
    return new_op([{"p": ["title"], "od": old, "oi": new}], seq=seq, src=src,
                  inverse=[{"p": ["title"], "od": new, "oi": old}])  # fmt: skip
