"""Fixtures shared by the server tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from redis.asyncio import Redis

from server.core.settings import Settings
from server.redis.resp import Resp
from server.sequencer.lock import connect
from tests.server.gateway_harness import Gateway, running_gateway


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client configured as the hub configures its own (retries, timeouts)."""
    client = connect(redis_url, max_connections=Settings().redis_pool_size)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def resp(redis_url: str) -> AsyncIterator[Resp]:
    """The lean client the hub uses for its hot path (queue, lock, settle)."""
    client = Resp.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


Serve = Callable[..., AbstractAsyncContextManager[Gateway]]


@pytest.fixture(scope="session")
def served(database_url: str, redis_url: str, redis_prefix: str) -> Serve:
    """A gateway on this run's database and Redis prefix, with these settings changed."""

    def serve(**more: Any) -> AbstractAsyncContextManager[Gateway]:
        settings = Settings(
            database_url=database_url, redis_url=redis_url, redis_prefix=redis_prefix, **more
        )
        return running_gateway(settings)

    return serve
