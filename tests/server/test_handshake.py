"""Before authentication: a deadline for the HTTP request and upgrade, and caps on the
connections still in it, over raw TCP against a served gateway."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from websockets.exceptions import InvalidStatus

from tests.server.conftest import Serve
from tests.server.gateway_harness import Gateway, open_client

DEADLINE = 0.5
PER_IP = 3


@pytest.fixture(scope="module")
async def gateway(served: Serve) -> AsyncIterator[Gateway]:
    async with served(handshake_timeout=DEADLINE, max_unauthenticated_per_ip=PER_IP) as gw:
        yield gw


async def closed_after(reader: asyncio.StreamReader, within: float = 5.0) -> float:
    """Seconds until the server closes the connection (reading whatever it sends)."""
    started = time.monotonic()
    async with asyncio.timeout(within):
        while await reader.read(1024):
            pass
    return time.monotonic() - started


async def test_a_silent_connection_is_closed_by_the_deadline(gateway: Gateway) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    took = await closed_after(reader)
    assert took < DEADLINE + 1.0
    writer.close()


async def test_a_slowloris_request_is_closed_by_the_deadline(gateway: Gateway) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    request = (
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    started = time.monotonic()

    async def trickle() -> None:
        for byte in request:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)

    sender = asyncio.create_task(trickle())
    await closed_after(reader)
    assert time.monotonic() - started < DEADLINE + 1.0
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)
    writer.close()


async def test_a_prompt_upgrade_is_served_after_the_deadline(gateway: Gateway) -> None:
    _, key = await gateway.user()
    client = await open_client(gateway.url, key)
    await asyncio.sleep(DEADLINE * 2)
    assert await client.request({"a": "pp"}) == {"a": "pp"}
    await client.close()


async def test_unauthenticated_connections_are_capped_per_address(gateway: Gateway) -> None:
    waiting = [await open_client(gateway.url, handshake=False) for _ in range(PER_IP)]
    with pytest.raises(InvalidStatus):
        await open_client(gateway.url, handshake=False)
    # raw connections still in their request count too: one past the cap is dropped at once
    _, key = await gateway.user()
    await waiting[0].send({"a": "auth", "token": key})
    await waiting[0].expect(lambda m: m.get("a") == "auth")
    extra = await open_client(gateway.url, handshake=False)  # the authenticated one left room
    for client in (*waiting, extra):
        await client.close()
    idle = [await asyncio.open_connection("127.0.0.1", gateway.port) for _ in range(PER_IP)]
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    assert await closed_after(reader, within=DEADLINE / 2) < DEADLINE / 2
    for _, w in (*idle, (reader, writer)):
        w.close()
