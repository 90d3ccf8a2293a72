"""Settings that shape the realtime path: WebSocket compression and the Redis pool."""

from __future__ import annotations

import asyncio

from server.app import uvicorn_options
from server.core.settings import Settings
from server.sequencer.lock import connect


def test_compression_is_off_unless_asked_for() -> None:
    assert not Settings.from_env({}).ws_compression
    assert uvicorn_options(Settings.from_env({}))["ws_per_message_deflate"] is False
    on = Settings.from_env({"TANDEM_WS_COMPRESSION": "true"})
    assert on.ws_compression
    assert uvicorn_options(on)["ws_per_message_deflate"] is True


def test_redis_pool_size_from_env() -> None:
    assert Settings.from_env({"TANDEM_REDIS_POOL_SIZE": "8"}).redis_pool_size == 8


async def test_a_burst_larger_than_the_pool_waits_instead_of_failing(
    redis_url: str, redis_prefix: str
) -> None:
    client = connect(redis_url, max_connections=4)
    key = f"{redis_prefix}test:burst"
    try:
        await asyncio.gather(*(client.incr(key) for _ in range(300)))
        assert await client.get(key) == b"300"
    finally:
        await client.delete(key)
        await client.aclose()
