"""RedisHubs over the real PostgreSQL store: convergence, the fence, creates."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest

from ot.dashboard.document import new_document
from server.core.errors import StaleFence
from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.core.submission import Committed, SubmitRecord
from server.sequencer.hub import RedisHub
from server.store.accounts import Accounts
from server.store.migrate import prepare
from server.store.model import JsonOp, NewOp
from server.store.postgres import PostgresStore

MakeHub = Callable[..., Awaitable[RedisHub]]


@pytest.fixture(scope="module")
async def pg(database_url: str) -> AsyncIterator[PostgresStore]:
    await prepare(database_url)
    store = await PostgresStore.open(database_url, checkpoint_interval=10, min_size=1, max_size=4)
    yield store
    await store.close()


@pytest.fixture(scope="module")
async def owner(pg: PostgresStore) -> UserId:
    name = "hub" + secrets.token_hex(6)
    return await Accounts(pg.pool).create_user(f"{name}@example.com", name)


@pytest.fixture
async def make_hub(redis_url: str, redis_prefix: str) -> AsyncIterator[MakeHub]:
    settings = Settings(
        redis_prefix=f"{redis_prefix}{secrets.token_hex(4)}:",
        lock_ttl_ms=2000,
        batch_size=10,
        watchdog_interval=0.1,
        feed_poll_interval=0.3,
    )
    made: list[RedisHub] = []

    async def make(store: PostgresStore, **overrides: Any) -> RedisHub:
        hub = RedisHub(
            redis=redis_url,
            store=store,
            settings=replace(settings, **overrides),
            gateway_id=f"gw-{len(made)}",
        )
        await hub.start()
        made.append(hub)
        return hub

    yield make
    for hub in made:
        await hub.close()


async def new_dashboard(pg: PostgresStore, owner: UserId) -> DashboardId:
    head = await pg.create_dashboard(owner_id=owner, title="Ops", document=new_document("Ops"))
    return head.dashboard_id


def title_insert(text: str) -> JsonOp:
    return [{"p": ["title"], "t": "text-unicode", "o": [text]}]


def record(
    d: DashboardId, user: UserId, src: str, seq: int, version: int, op: JsonOp
) -> SubmitRecord:
    return SubmitRecord(dashboard_id=d, src=src, seq=seq, version=version, user_id=user, op=op)


async def test_two_hubs_converge_on_postgres(
    make_hub: MakeHub, pg: PostgresStore, owner: UserId
) -> None:
    hubs = [await make_hub(pg), await make_hub(pg)]
    d = await new_dashboard(pg, owner)
    seen: list[list[Committed]] = [[], []]
    for hub, committed in zip(hubs, seen, strict=True):
        hub.listen(d, committed.append, from_version=1)
    clients, per_client = 4, 6

    async def client(n: int) -> list[int]:
        known, acked = 1, []
        for seq in range(1, per_client + 1):
            letter = chr(ord("a") + n)
            done = await hubs[n % 2].submit(
                record(d, owner, f"c{n}", seq, known, title_insert(letter))
            )
            acked.append(done.version)
            known = done.version + 1
        return acked

    acks = await asyncio.gather(*(client(n) for n in range(clients)))
    total = clients * per_client
    assert sorted(v for a in acks for v in a) == list(range(1, total + 1))
    # A resubmit of the first op, after everything: acknowledged with its version, not applied.
    again = await hubs[1].submit(record(d, owner, "c0", 1, 1, title_insert("a")))
    assert again.version == acks[0][0]
    snapshot = await pg.load(d)
    assert snapshot.version == total + 1
    assert len(snapshot.document["title"]) == total + 3
    for committed in seen:
        for _ in range(50):
            if len(committed) >= total:
                break
            await asyncio.sleep(0.05)
        assert [c.version for c in committed] == list(range(1, total + 1))
    assert (await pg.load(d, version=total + 1, from_scratch=True)).document == snapshot.document


class Paused(PostgresStore):
    """A holder that stalls before its first commit, past its lock's TTL."""

    fenced = 0

    async def commit(
        self,
        dashboard_id: DashboardId,
        *,
        base_version: int,
        epoch: int,
        ops: Sequence[NewOp],
        document: Any,
    ) -> int:
        if not self.fenced:
            await asyncio.sleep(1.0)
        try:
            return await super().commit(
                dashboard_id, base_version=base_version, epoch=epoch, ops=ops, document=document
            )
        except StaleFence:
            self.fenced += 1
            raise


async def test_a_stale_holder_commits_nothing(
    make_hub: MakeHub, pg: PostgresStore, owner: UserId
) -> None:
    paused = Paused(pg.pool)
    a = await make_hub(paused, lock_ttl_ms=300)
    await make_hub(pg)  # the hub whose watchdog takes over
    d = await new_dashboard(pg, owner)
    # a takes the lock and stalls; its lock expires, b's watchdog takes over (a new epoch) and
    # commits the op; a's late commit is fenced off.
    done = await a.submit(record(d, owner, "c1", 1, 1, title_insert("x")))
    assert done.version == 1
    for _ in range(40):
        if paused.fenced:
            break
        await asyncio.sleep(0.05)
    assert paused.fenced == 1
    ops = await pg.ops_between(d, 1)
    assert [(op.version, op.src, op.seq) for op in ops] == [(1, "c1", 1)]
    assert (await pg.load(d)).document["title"] == "xOps"


async def test_a_dashboard_created_through_the_hub(
    make_hub: MakeHub, pg: PostgresStore, owner: UserId
) -> None:
    a = await make_hub(pg)
    d = DashboardId(uuid4())
    seen: list[Committed] = []
    a.listen(d, seen.append)
    create = SubmitRecord(
        dashboard_id=d,
        src="c1",
        seq=1,
        version=0,
        user_id=owner,
        create={"type": "http://sharejs.org/types/JSONv0", "data": new_document("New")},
    )
    created = await a.submit(create)
    assert created.version == 0
    edited = await a.submit(record(d, owner, "c1", 2, 1, title_insert("A")))
    assert edited.version == 1
    again = await a.submit(create)  # a resent create is recognised by (src, seq)
    assert again.version == 0
    assert (await pg.load(d)).document["title"] == "ANew"
    assert [c.version for c in seen] == [0, 1]
    assert seen[0].create is not None
