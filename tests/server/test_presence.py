"""Presence through RedisHubs: relay, snapshot, expiry of a dead gateway, transforms, throttle."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from ot.dashboard.document import new_document
from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.core.submission import PresenceUpdate, SubmitRecord
from server.presence.throttle import Throttle
from server.redis.resp import Resp
from server.sequencer.hub import RedisHub
from server.store.memory import MemoryStore

USER = UserId(uuid4())

MakeHub = Callable[..., Awaitable[RedisHub]]


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def dashboard_id(store: MemoryStore) -> DashboardId:
    head = await store.create_dashboard(
        owner_id=USER, title="Hello", document=new_document("Hello")
    )
    return head.dashboard_id


@pytest.fixture
async def make_hub(
    redis: Redis, resp: Resp, redis_prefix: str, store: MemoryStore
) -> AsyncIterator[MakeHub]:
    settings = Settings(
        redis_prefix=f"{redis_prefix}{secrets.token_hex(4)}:",
        presence_ttl=0.6,
        presence_throttle=0.0,
    )
    made: list[RedisHub] = []

    async def make(*, start: bool = True, **overrides: Any) -> RedisHub:
        hub = RedisHub(
            redis=redis,
            resp=resp,
            store=store,
            settings=replace(settings, **overrides),
            gateway_id=f"gw-{len(made)}",
        )
        if start:
            await hub.start()
            made.append(hub)
        return hub

    yield make
    for hub in made:
        await hub.close()


def presence(
    d: DashboardId, client: str, value: Any, *, version: int = 1, seq: int = 1
) -> PresenceUpdate:
    return PresenceUpdate(
        dashboard_id=d,
        client_id=client,
        src=f"conn-{client}",
        seq=seq,
        version=version,
        value=value,
    )


def selection(index: int, length: int) -> dict[str, Any]:
    return {"selection": {"p": ["title"], "index": index, "length": length}, "color": "#f00"}


class Inbox:
    def __init__(self) -> None:
        self.updates: list[PresenceUpdate] = []
        self._arrived = asyncio.Event()

    def __call__(self, update: PresenceUpdate) -> None:
        self.updates.append(update)
        self._arrived.set()

    async def next(self) -> PresenceUpdate:
        async with asyncio.timeout(5):
            while not self.updates:
                self._arrived.clear()
                await self._arrived.wait()
        return self.updates.pop(0)


async def test_presence_is_relayed_between_gateways_and_kept(
    make_hub: MakeHub, dashboard_id: DashboardId
) -> None:
    a, b = await make_hub(), await make_hub()
    inbox = Inbox()
    a.listen_presence(dashboard_id, inbox)
    await asyncio.sleep(0.1)  # let the subscription reach Redis
    await b.publish_presence(presence(dashboard_id, "p1", selection(1, 2)))
    got = await inbox.next()
    assert (got.client_id, got.src, got.value) == ("p1", "conn-p1", selection(1, 2))

    snapshot = await a.presence_snapshot(dashboard_id)
    assert [(u.client_id, u.value) for u in snapshot] == [("p1", selection(1, 2))]

    await b.publish_presence(presence(dashboard_id, "p1", None, seq=2))
    gone = await inbox.next()
    assert (gone.client_id, gone.value) == ("p1", None)
    assert await a.presence_snapshot(dashboard_id) == []


async def test_a_dead_gateways_presence_expires(
    make_hub: MakeHub, dashboard_id: DashboardId
) -> None:
    a = await make_hub()
    alive = await make_hub()
    dead = await make_hub(start=False)  # never heartbeats: as if its process died
    inbox = Inbox()
    a.listen_presence(dashboard_id, inbox)
    await asyncio.sleep(0.1)
    await dead.publish_presence(presence(dashboard_id, "ghost", selection(0, 1)))
    await alive.publish_presence(presence(dashboard_id, "live", selection(2, 1)))
    assert {(await inbox.next()).client_id, (await inbox.next()).client_id} == {"ghost", "live"}

    # presence_ttl is 0.6 s: well past it, only the heartbeated presence is left.
    gone = await inbox.next()
    assert (gone.client_id, gone.value) == ("ghost", None)
    await asyncio.sleep(0.3)
    assert [u.client_id for u in await a.presence_snapshot(dashboard_id)] == ["live"]


async def test_closing_a_gateway_clears_its_presences(
    make_hub: MakeHub, dashboard_id: DashboardId
) -> None:
    a, b = await make_hub(), await make_hub()
    inbox = Inbox()
    a.listen_presence(dashboard_id, inbox)
    await asyncio.sleep(0.1)
    await b.publish_presence(presence(dashboard_id, "p1", selection(0, 0)))
    await inbox.next()
    await b.close()
    gone = await inbox.next()
    assert (gone.client_id, gone.value) == ("p1", None)
    assert await a.presence_snapshot(dashboard_id) == []


async def test_selections_are_carried_through_later_ops(
    make_hub: MakeHub, dashboard_id: DashboardId
) -> None:
    a, b = await make_hub(), await make_hub()
    await b.publish_presence(presence(dashboard_id, "p1", selection(1, 2)))  # "el" of "Hello"
    await a.submit(
        SubmitRecord(
            dashboard_id=dashboard_id,
            src="conn-other",
            seq=1,
            version=1,
            user_id=USER,
            op=[{"p": ["title"], "t": "text-unicode", "o": ["Oh, "]}],
        )
    )
    # Stored at version 1; read at the head (2), shifted past "Oh, ".
    [current] = await a.presence_snapshot(dashboard_id)
    assert (current.version, current.value) == (2, selection(5, 2))

    # A presence sent against an old version is brought to the head when it is published.
    inbox = Inbox()
    a.listen_presence(dashboard_id, inbox)
    await asyncio.sleep(0.1)
    await b.publish_presence(presence(dashboard_id, "p2", selection(1, 4), seq=1))
    relayed = await inbox.next()
    assert (relayed.version, relayed.value) == (2, selection(5, 4))


async def test_the_throttle_sends_the_latest_value() -> None:
    sent: list[PresenceUpdate] = []

    async def send(update: PresenceUpdate) -> None:
        sent.append(update)

    d = DashboardId(uuid4())
    throttle = Throttle(0.1, send)
    for i in range(5):
        await throttle.offer(presence(d, "p1", {"cursor": i}, seq=i))
    await throttle.offer(presence(d, "p2", {"cursor": 0}))
    assert [(u.client_id, u.value) for u in sent] == [("p1", {"cursor": 0}), ("p2", {"cursor": 0})]
    await asyncio.sleep(0.2)  # the waiting value goes out 0.1 s after the first
    assert [u.value for u in sent if u.client_id == "p1"] == [{"cursor": 0}, {"cursor": 4}]
    await asyncio.sleep(0.2)  # and the interval after that one has passed too

    # A removal goes out at once and drops the value waiting behind the interval.
    await throttle.offer(presence(d, "p1", {"cursor": 5}, seq=5))  # the interval has passed
    await throttle.offer(presence(d, "p1", {"cursor": 6}, seq=6))  # waits
    await throttle.offer(presence(d, "p1", None, seq=7))
    await asyncio.sleep(0.2)
    assert [u.value for u in sent if u.client_id == "p1"][2:] == [{"cursor": 5}, None]
    throttle.close()
