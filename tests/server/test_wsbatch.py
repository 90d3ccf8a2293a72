"""The send-many ASGI extension over a real uvicorn server and real WebSocket clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets

from server.gateway.wsbatch import PROTOCOL, SEND_MANY

pytestmark = pytest.mark.skipif(PROTOCOL is None, reason="uvicorn has no sans-I/O protocol")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Sends ``a b c`` in one send-many, then ``d`` alone; reports whether it was advertised."""
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    advertised = SEND_MANY in scope.get("extensions", {})
    if advertised:
        await send({"type": SEND_MANY, "texts": ["a", b"b", "é" * 70_000]})
    await send({"type": "websocket.send", "text": f"advertised={advertised}"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


@contextlib.asynccontextmanager
async def serving(port: int, **options: Any) -> AsyncIterator[str]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn.Server offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await task


@pytest.mark.parametrize("compression", [None, "deflate"])
async def test_frames_sent_together_arrive_as_separate_messages_in_order(
    unused_tcp_port: int, compression: str | None
) -> None:
    async with (
        serving(unused_tcp_port, ws=PROTOCOL, ws_per_message_deflate=True) as url,
        websockets.connect(url, compression=compression, max_size=None) as client,
    ):
        received = [await client.recv() for _ in range(4)]
    assert received == ["a", "b", "é" * 70_000, "advertised=True"]


async def test_other_servers_do_not_advertise_it(unused_tcp_port: int) -> None:
    async with (
        serving(unused_tcp_port, ws="websockets-sansio") as url,
        websockets.connect(url) as client,
    ):
        assert await client.recv() == "advertised=False"
