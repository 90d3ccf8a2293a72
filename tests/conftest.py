"""Shared fixtures: real PostgreSQL and Redis for every test that needs them.

With ``DATABASE_URL`` / ``REDIS_URL`` set those servers are used; otherwise the embedded ones
start under ``.tandem/test``. Each run gets a fresh database (dropped at the end) and its own
Redis key prefix (its keys deleted at the end), so runs never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis

from server.embedded import EmbeddedServices, ServiceUrls

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "node"


@pytest.fixture(scope="session")
def run_id() -> str:
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
def services() -> Iterator[ServiceUrls]:
    embedded = EmbeddedServices.from_env(root=ROOT / ".tandem" / "test")
    with embedded as urls:
        yield urls


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(services: ServiceUrls, run_id: str) -> Iterator[str]:
    """A fresh, empty database for this test run (no migrations applied)."""
    name = f"tandem_test_{run_id}"
    asyncio.run(_admin(services.database_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(services.database_url, name)
    finally:
        asyncio.run(_admin(services.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_url(services: ServiceUrls) -> str:
    return services.redis_url


@pytest.fixture(scope="session")
def redis_prefix(redis_url: str, run_id: str) -> Iterator[str]:
    """A key prefix private to this run; every key under it is deleted at the end."""
    prefix = f"tandem-test-{run_id}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The reference libraries' own test vectors, carried in the repository (see its README)."""
    return ROOT / "tests" / "ot" / "vectors"


@pytest.fixture(scope="session")
def node_dir() -> Path:
    """The Node.js peers (reference OT libraries, ShareDB client); installed by ``make test``."""
    if not (NODE_DIR / "node_modules").is_dir():
        pytest.fail("tests/node/node_modules is missing: run `make node` (make test does)")
    return NODE_DIR


def pytest_report_header() -> str:
    db = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded PostgreSQL"
    rd = "REDIS_URL" if os.environ.get("REDIS_URL") else "embedded Redis"
    return f"tandem: {db}, {rd}"
