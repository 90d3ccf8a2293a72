"""Limits over real sockets: floods, slow consumers, rate limits, connection counts, deadlines."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from redis.asyncio import Redis
from starlette.websockets import WebSocketState
from websockets.asyncio.client import connect

from ot.dashboard.document import new_document
from server.core.ids import DashboardId
from server.core.settings import Settings
from server.gateway.connection import Connection
from server.gateway.limits import ConnectionLimiter, TokenBucket, UserRateLimiter
from server.redis.keys import Keys
from server.redis.resp import Resp
from tests.server.gateway_harness import (
    Client,
    Gateway,
    eventually,
    open_client,
    running_gateway,
    title_op,
)

PER_CONNECTION = 20
PER_USER = 10


@pytest.fixture(scope="module")
async def gateway(database_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Gateway]:
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        auth_timeout=0.5,
        ping_timeout=2.0,
        send_queue_size=8,
        ops_per_second_per_connection=PER_CONNECTION,
        ops_per_second_per_user=PER_USER,
        connections_per_user=3,
    )
    async with running_gateway(settings) as gw:
        yield gw


def setting_op(i: int) -> list[dict[str, Any]]:
    return [{"p": ["settings", f"k{i}"], "oi": i}]


async def test_token_bucket() -> None:
    bucket = TokenBucket(rate=2, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5) and not bucket.take(0.5)  # one token back after half a second
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # burst caps


async def test_user_rate_limit_window(redis_url: str, redis_prefix: str) -> None:
    redis, resp = Redis.from_url(redis_url), Resp.from_url(redis_url)
    limiter = UserRateLimiter(resp, Keys(redis_prefix), limit=3)
    user = uuid4()
    now = 1_000_000.2
    assert [await limiter.allow(user, now) for _ in range(4)] == [True, True, True, False]  # type: ignore[arg-type]
    assert await limiter.allow(user, now + 1)  # type: ignore[arg-type]
    assert await redis.ttl(Keys(redis_prefix).rate_limit("ops", str(user), int(now))) <= 2
    await redis.aclose()
    await resp.aclose()


async def test_user_rate_limit_leases_never_pass_the_limit_across_gateways(
    redis_url: str, redis_prefix: str
) -> None:
    redis, resp = Redis.from_url(redis_url), Resp.from_url(redis_url)
    keys = Keys(redis_prefix)
    one, other = UserRateLimiter(resp, keys, limit=100), UserRateLimiter(resp, keys, limit=100)
    user = uuid4()
    now = 2_000_000.5
    alone = [await one.allow(user, now) for _ in range(120)]  # type: ignore[arg-type]
    assert alone == [True] * 100 + [False] * 20  # one gateway: exactly the limit
    later = now + 1
    shared = [await gw.allow(user, later) for _ in range(60) for gw in (one, other)]  # type: ignore[arg-type]
    assert 100 - 2 <= sum(shared) <= 100  # at most a lease (2 ops) left unused on one side
    assert await redis.get(keys.rate_limit("ops", str(user), int(now))) is not None
    await redis.aclose()
    await resp.aclose()


async def test_connection_leases(redis_url: str, redis_prefix: str) -> None:
    redis = Redis.from_url(redis_url)
    keys = Keys(redis_prefix)
    limiter = ConnectionLimiter(redis, keys, limit=2)
    user = uuid4()
    assert await limiter.acquire(user, "a")  # type: ignore[arg-type]
    assert await limiter.acquire(user, "b")  # type: ignore[arg-type]
    assert not await limiter.acquire(user, "c")  # type: ignore[arg-type]
    await limiter.release(user, "a")  # type: ignore[arg-type]
    assert await limiter.acquire(user, "c")  # type: ignore[arg-type]
    # a lease nobody renews (its gateway died) stops counting once it expires
    await redis.zadd(keys.connections(user), {"b": time.time() - 1})  # type: ignore[arg-type]
    assert await limiter.acquire(user, "d")  # type: ignore[arg-type]
    assert await redis.zcard(keys.connections(user)) == 2  # type: ignore[arg-type]
    await redis.aclose()


async def test_op_flood_is_limited_then_closed(gateway: Gateway) -> None:
    owner, key = await gateway.user()
    doc = await gateway.dashboard(owner)
    calm = await open_client(gateway.url, key)
    flood = await open_client(gateway.url, key)
    for seq in range(1, 201):
        await flood.send(
            {"a": "op", "c": "dashboards", "d": doc, "v": 1, "seq": seq, "op": setting_op(seq)}
        )
    code, reason = await flood.closed()
    assert code == 4029, reason
    limited = [m for m in flood.backlog if m.get("error", {}).get("code") == "rate_limited"]
    assert len(limited) >= 40
    # Ops accepted before the flood was cut off are committed (their acks went with the
    # connection); the connection that stayed calm meanwhile is served as usual.
    await asyncio.sleep(1.1)  # a fresh rate-limit window for this user
    version, document = await gateway.document(doc)
    assert 1 <= version - 1 <= PER_USER * 2  # the user's window may straddle a second
    assert len(document["settings"]) == version - 1
    await calm.send({"a": "f", "c": "dashboards", "d": doc, "v": 1})
    assert [(await calm.recv())["v"] for _ in range(version - 1)] == list(range(1, version))
    assert (await calm.recv())["a"] == "f"
    assert (await calm.op(doc, version, title_op("Ops", "calm")))["v"] == version
    await calm.close()


async def test_malformed_flood_is_closed(gateway: Gateway) -> None:
    _, key = await gateway.user()
    client = await open_client(gateway.url, key)
    for _ in range(100):
        await client.send("{not json")
    code, _ = await client.closed()
    assert code == 4008
    assert sum(m.get("error", {}).get("code") == "bad_json" for m in client.backlog) >= 40


async def test_per_user_rate_limit_spans_connections(gateway: Gateway) -> None:
    owner, key = await gateway.user()
    doc = await gateway.dashboard(owner)
    clients = [await open_client(gateway.url, key) for _ in range(3)]
    for i, client in enumerate(clients):
        for n in range(10):  # each connection stays well inside its own bucket
            seq = n + 1
            await client.send({"a": "op", "c": "dashboards", "d": doc, "v": 1, "seq": seq,
                               "op": setting_op(100 * i + seq)})  # fmt: skip
    replies = []
    for client in clients:
        for _ in range(10):
            replies.append(await client.expect(lambda m: m.get("a") == "op" and "op" not in m))
    limited = sum(r.get("error", {}).get("code") == "rate_limited" for r in replies)
    assert limited >= 10  # 30 ops in at most two one-second windows of 10
    assert 30 - limited <= 2 * PER_USER
    for client in clients:
        await client.close()


async def test_connections_per_user(gateway: Gateway) -> None:
    _, key = await gateway.user()
    clients = [await open_client(gateway.url, key) for _ in range(3)]
    extra = await open_client(gateway.url, handshake=False)
    await extra.send({"a": "auth", "token": key})
    code, _ = await extra.closed()
    assert code == 4031
    assert extra.backlog[-1]["error"]["code"] == "too_many_connections"
    await clients[0].close()
    await asyncio.sleep(0.2)  # its lease is released as it closes
    again = await open_client(gateway.url, key)
    assert await again.request({"a": "pp"}) == {"a": "pp"}
    for client in [*clients[1:], again]:
        await client.close()


async def test_authentication_deadline(gateway: Gateway) -> None:
    client = await open_client(gateway.url, handshake=False)
    started = time.monotonic()
    code, reason = await client.closed(within=5)
    assert code == 4001 and "time" in reason
    assert 0.4 < time.monotonic() - started < 3
    assert client.backlog[-1]["error"]["code"] == "unauthenticated"


async def test_client_not_reading_its_replies_is_disconnected(gateway: Gateway) -> None:
    owner, key = await gateway.user()
    big = new_document("Big")
    big["settings"] = {"blob": "x" * 200_000}
    head = await gateway.services.store.create_dashboard(owner_id=owner, title="Big", document=big)
    doc = str(head.dashboard_id)
    # A client that reads nothing: a tiny receive buffer and no recv() calls.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", gateway.port))
    sock.setblocking(False)
    ws = await connect(gateway.url, sock=sock, max_queue=1, max_size=2**24, compression=None)
    slow = Client(ws, {})
    await slow.send({"a": "auth", "token": key})
    before = len(gateway.services.gateway.connections)
    for _ in range(100):
        await slow.send({"a": "f", "c": "dashboards", "d": doc})
    await eventually(lambda: len(gateway.services.gateway.connections) < before)
    # everyone else is served meanwhile
    other = await open_client(gateway.url, key)
    assert (await other.request({"a": "f", "c": "dashboards", "d": doc}))["data"]["v"] == 1
    await other.close()
    ws.transport.abort()


class StuckSocket:
    """A WebSocket whose peer stopped reading: ``send_text`` never returns after the first."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.query_params: dict[str, str] = {}
        self.client = None
        self.application_state = WebSocketState.CONNECTED
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self._never = asyncio.Event()

    async def accept(self) -> None:
        pass

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_text(self, text: str) -> None:
        self.sent.append(text)
        await self._never.wait()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code
        await self._never.wait()  # even the close frame cannot be written

    def feed(self, message: dict[str, Any]) -> None:
        self.incoming.put_nowait({"type": "websocket.receive", "text": json.dumps(message)})


async def test_subscriber_that_lags_behind_broadcasts_is_closed(gateway: Gateway) -> None:
    owner, key = await gateway.user()
    editor, editor_key = await gateway.user()
    doc = await gateway.dashboard(owner, editor=editor)
    stuck = StuckSocket()
    connection = Connection(stuck, gateway.services.gateway.services)  # type: ignore[arg-type]
    running = asyncio.create_task(connection.run())
    stuck.feed({"a": "auth", "token": key})
    stuck.feed({"a": "s", "c": "dashboards", "d": doc})
    await eventually(lambda: connection.dispatcher.session.is_subscribed(DashboardId(UUID(doc))))
    writer = await open_client(gateway.url, editor_key)
    for version in range(1, 11):
        await writer.op(doc, version, setting_op(version))
    # closed while its socket is still stuck: nobody waited for it
    async with asyncio.timeout(10):
        await running
    assert stuck.closed_with == 4030
    assert len(stuck.sent) == 1  # only the greeting ever reached the socket
    assert (await writer.op(doc, 11, setting_op(11)))["v"] == 11
    await writer.close()
