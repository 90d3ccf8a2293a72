"""Two RedisHubs (two gateways in one process) sharing one Redis and one in-memory store."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from ot.dashboard.document import new_document
from server.core.errors import StoreUnavailable
from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.core.submission import Committed, SubmitRecord
from server.redis.keys import Keys
from server.redis.resp import Resp
from server.sequencer.hub import RedisHub, SubmitRejected, SubmitTimeout
from server.sequencer.lock import Lock, holder_of
from server.sequencer.records import BatchOutcome, encode_outcome
from server.store.memory import MemoryStore
from server.store.model import JsonOp, NewOp

USER = UserId(uuid4())

MakeHub = Callable[..., Awaitable[RedisHub]]


@pytest.fixture
def settings(redis_prefix: str) -> Settings:
    return Settings(
        redis_prefix=f"{redis_prefix}{secrets.token_hex(4)}:",
        lock_ttl_ms=1000,
        submit_timeout=10.0,
        batch_size=20,
        watchdog_interval=0.2,
        feed_poll_interval=0.3,
    )


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def make_hub(redis_url: str, settings: Settings) -> AsyncIterator[MakeHub]:
    made: list[RedisHub] = []

    async def make(store: MemoryStore, **overrides: Any) -> RedisHub:
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


async def new_dashboard(store: MemoryStore) -> DashboardId:
    head = await store.create_dashboard(owner_id=USER, title="Ops", document=new_document("Ops"))
    return head.dashboard_id


def title_insert(text: str) -> JsonOp:
    return [{"p": ["title"], "t": "text-unicode", "o": [text]}]


def record(d: DashboardId, src: str, seq: int, version: int, op: JsonOp) -> SubmitRecord:
    return SubmitRecord(dashboard_id=d, src=src, seq=seq, version=version, user_id=USER, op=op)


class Recorder:
    def __init__(self) -> None:
        self.versions: list[int] = []
        self.ops: list[Committed] = []
        self.event = asyncio.Event()
        self.until = -1

    def __call__(self, committed: Committed) -> None:
        self.versions.append(committed.version)
        self.ops.append(committed)
        if committed.version >= self.until:
            self.event.set()

    async def wait_for(self, version: int) -> None:
        self.until = version
        if self.versions and self.versions[-1] >= version:
            return
        self.event.clear()
        await asyncio.wait_for(self.event.wait(), 5.0)


async def test_concurrent_submitters_through_two_hubs_converge(
    make_hub: MakeHub, store: MemoryStore
) -> None:
    hubs = [await make_hub(store), await make_hub(store)]
    d = await new_dashboard(store)
    recorders = [Recorder(), Recorder()]
    for hub, recorder in zip(hubs, recorders, strict=True):
        hub.listen(d, recorder, from_version=1)
    clients, per_client = 6, 8

    async def client(n: int) -> list[int]:
        hub = hubs[n % 2]
        src, known, acked = f"client-{n}", 1, []
        for seq in range(1, per_client + 1):
            # Based on the last version this client saw acknowledged: concurrent ops between
            # that version and the head are transformed away by the sequencer.
            done = await hub.submit(record(d, src, seq, known, title_insert(chr(ord("a") + n))))
            acked.append(done.version)
            known = done.version + 1
        return acked

    acks = await asyncio.gather(*(client(n) for n in range(clients)))
    total = clients * per_client
    versions = [v for client_acks in acks for v in client_acks]
    assert sorted(versions) == list(range(1, total + 1))  # each acked once, gapless
    assert all(a == sorted(a) for a in acks)
    for recorder in recorders:
        await recorder.wait_for(total)
        assert recorder.versions == list(range(1, total + 1))
    snapshot = await store.load(d)
    assert snapshot.version == total + 1
    title = snapshot.document["title"]
    assert title.endswith("Ops") and len(title) == total + 3
    assert all(title.count(chr(ord("a") + n)) == per_client for n in range(clients))
    stored = await store.ops_between(d, 1)
    assert len({(op.src, op.seq) for op in stored}) == total  # each applied once


async def test_a_resubmit_through_another_hub_gets_the_original_version(
    make_hub: MakeHub, store: MemoryStore
) -> None:
    a, b = await make_hub(store), await make_hub(store)
    d = await new_dashboard(store)
    first = await a.submit(record(d, "c1", 1, 1, title_insert("x")))
    # The client lost its connection before the ack and resends through another gateway.
    again = await b.submit(record(d, "c1", 1, 1, title_insert("x")))
    assert (first.version, again.version) == (1, 1)
    assert again.op == first.op
    snapshot = await store.load(d)
    assert (snapshot.version, snapshot.document["title"]) == (2, "xOps")


async def test_rejections_reach_only_their_submitter(make_hub: MakeHub, store: MemoryStore) -> None:
    a, b = await make_hub(store), await make_hub(store)
    d = await new_dashboard(store)
    recorder = Recorder()
    b.listen(d, recorder)
    results = await asyncio.gather(
        a.submit(record(d, "c1", 1, 1, title_insert("x"))),
        b.submit(record(d, "c2", 1, 5, title_insert("y"))),
        a.submit(record(d, "c3", 1, 1, [{"p": ["nope", "deeper"], "oi": 1}])),
        b.submit(record(d, "c4", 1, 1, title_insert("z"))),
        return_exceptions=True,
    )
    ok = [r for r in results if isinstance(r, Committed)]
    errors = [r for r in results if isinstance(r, SubmitRejected)]
    assert sorted(c.version for c in ok) == [1, 2]
    assert [e.code for e in errors] == ["op_from_future", "invalid_path"]
    await recorder.wait_for(2)
    assert recorder.versions == [1, 2]


async def test_a_holder_lingering_on_its_lock_is_nudged_by_another_process(
    make_hub: MakeHub,
    store: MemoryStore,
    redis: Redis,
    settings: Settings,
) -> None:
    # Linger far longer than the test waits: only the push's nudge can get b's op sequenced.
    a, b = await make_hub(store, hold_linger=30.0), await make_hub(store, hold_linger=30.0)
    d = await new_dashboard(store)
    await a.submit(record(d, "c1", 1, 1, title_insert("a")))
    token = await redis.get(Keys(settings.redis_prefix).lock(d))
    assert token is not None and holder_of(token) == "gw-0"  # a holds on after its batch
    started = time.monotonic()
    committed = await b.submit(record(d, "c2", 1, 2, title_insert("b")))
    assert committed.version == 2
    assert time.monotonic() - started < 2.0
    assert holder_of(await redis.get(Keys(settings.redis_prefix).lock(d))) == "gw-0"


async def test_submits_go_on_after_redis_forgets_the_scripts(
    make_hub: MakeHub, store: MemoryStore, redis: Redis
) -> None:
    a = await make_hub(store)
    d = await new_dashboard(store)
    await a.submit(record(d, "c1", 1, 1, title_insert("a")))
    await redis.script_flush()  # as after a Redis restart
    assert (await a.submit(record(d, "c1", 2, 2, title_insert("b")))).version == 2


async def test_a_front_gateway_leaves_sequencing_to_the_sequencers(
    make_hub: MakeHub, store: MemoryStore, redis: Redis, settings: Settings
) -> None:
    front = await make_hub(store, sequencer=False)
    d = await new_dashboard(store)
    alone = await make_hub(store, sequencer=False, submit_timeout=0.5)
    with pytest.raises(SubmitTimeout):  # no sequencer anywhere: nobody takes the queue
        await alone.submit(record(d, "c0", 1, 1, title_insert("x")))
    await make_hub(store)  # a sequencer (it also drains what the front gateways left)
    recorder = Recorder()
    front.listen(d, recorder)
    done = await asyncio.gather(
        *(front.submit(record(d, f"c{i}", 1, 1, title_insert(str(i)))) for i in range(1, 6))
    )
    assert sorted(c.version for c in done)[-1] == 6
    token = await redis.get(Keys(settings.redis_prefix).lock(d))
    assert token is None or holder_of(token) == "gw-2"  # the sequencer, never a front
    await recorder.wait_for(6)


async def test_a_queue_left_by_a_dead_holder_is_drained_by_the_watchdog(
    make_hub: MakeHub, store: MemoryStore, resp: Resp, settings: Settings
) -> None:
    a, _ = await make_hub(store), await make_hub(store)
    d = await new_dashboard(store)
    # A holder that died: its lock is there until its TTL runs out.
    dead = await Lock.acquire(resp, Keys(settings.redis_prefix).lock(d), 600)
    assert dead is not None
    started = time.monotonic()
    done = await asyncio.gather(
        *(a.submit(record(d, f"c{i}", 1, 1, title_insert(str(i)))) for i in range(5))
    )
    assert time.monotonic() - started >= 0.5  # nobody sequenced while the dead lock held
    assert sorted(c.version for c in done) == [1, 2, 3, 4, 5]
    assert (await store.get_head(d)).version == 6


class LosesCommitReply(MemoryStore):
    """The first commit lands but its caller hears a lost connection (outcome unknown)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def commit(
        self,
        dashboard_id: DashboardId,
        *,
        base_version: int,
        epoch: int,
        ops: Sequence[NewOp],
        document: Any,
    ) -> int:
        head = await super().commit(
            dashboard_id, base_version=base_version, epoch=epoch, ops=ops, document=document
        )
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("connection lost after COMMIT")
        return head


async def test_a_commit_with_a_lost_reply_is_acknowledged_once(make_hub: MakeHub) -> None:
    store = LosesCommitReply()
    a, b = await make_hub(store), await make_hub(store)
    d = await new_dashboard(store)
    recorder = Recorder()
    b.listen(d, recorder)
    done = await asyncio.gather(
        a.submit(record(d, "c1", 1, 1, title_insert("x"))),
        a.submit(record(d, "c2", 1, 1, title_insert("y"))),
    )
    assert sorted(c.version for c in done) == [1, 2]
    assert store.failures == 0
    await recorder.wait_for(2)
    assert recorder.versions == [1, 2]
    assert (await store.get_head(d)).version == 3


async def test_a_listener_gets_every_version_in_order_across_a_lost_message(
    make_hub: MakeHub, store: MemoryStore, redis: Redis, resp: Resp, settings: Settings
) -> None:
    a, b = await make_hub(store), await make_hub(store)
    d = await new_dashboard(store)
    recorder = Recorder()
    a.listen(d, recorder)
    await a.submit(record(d, "c1", 1, 1, title_insert("a")))
    await recorder.wait_for(1)

    # Another holder commits versions 2..4, but only version 4's message is published. Like
    # any holder it first takes the lock (once hub a has let go of it).
    keys = Keys(settings.redis_prefix)
    ghost = None
    while ghost is None:
        ghost = await Lock.acquire(resp, keys.lock(d), settings.lock_ttl_ms)
        await asyncio.sleep(0.005)
    epoch = await store.acquire_epoch(d)
    document = (await store.load(d)).document
    for version in (2, 3, 4):
        op = title_insert(str(version))
        document = {**document, "title": str(version) + document["title"]}
        new_op = NewOp("ghost", version, USER, version, op, [], "insert", None)
        await store.commit(d, base_version=version, epoch=epoch, ops=[new_op], document=document)
    await ghost.release_counting(keys.queue(d))
    late = Committed(dashboard_id=d, version=4, src="ghost", seq=4, op=title_insert("4"))
    channel = keys.ops_channel(d)
    await redis.publish(channel, encode_outcome(BatchOutcome(d, committed=(late,))))
    await recorder.wait_for(4)
    assert recorder.versions == [1, 2, 3, 4]
    assert [c.src for c in recorder.ops] == ["c1", "ghost", "ghost", "ghost"]

    # A duplicate of an old message changes nothing; a late listener starts where it asks.
    await redis.publish(channel, encode_outcome(BatchOutcome(d, committed=(late,))))
    joiner = Recorder()
    b.listen(d, joiner, from_version=2)
    await joiner.wait_for(4)
    done = await a.submit(record(d, "c1", 2, 5, title_insert("b")))
    await recorder.wait_for(5)
    await joiner.wait_for(5)
    assert done.version == 5
    assert recorder.versions == [1, 2, 3, 4, 5]
    assert joiner.versions == [2, 3, 4, 5]


async def test_unlisten_stops_delivery(make_hub: MakeHub, store: MemoryStore) -> None:
    a = await make_hub(store)
    d = await new_dashboard(store)
    kept, dropped = Recorder(), Recorder()
    a.listen(d, kept)
    unlisten = a.listen(d, dropped)
    await a.submit(record(d, "c1", 1, 1, title_insert("a")))
    await dropped.wait_for(1)
    unlisten()
    await a.submit(record(d, "c1", 2, 2, title_insert("b")))
    await kept.wait_for(2)
    assert dropped.versions == [1]
    assert kept.versions == [1, 2]


async def test_ops_since_and_snapshots_come_from_the_store(
    make_hub: MakeHub, store: MemoryStore
) -> None:
    a = await make_hub(store)
    d = await new_dashboard(store)
    await a.submit(record(d, "c1", 1, 1, title_insert("a")))
    await a.submit(record(d, "c1", 2, 2, title_insert("b")))
    assert [c.version for c in await a.ops_since(d, 1)] == [1, 2]
    since_zero = await a.ops_since(d, 0)
    assert since_zero[0].create is not None and since_zero[0].version == 0
    assert (await a.snapshot(d)).document["title"] == "baOps"
    assert (await a.snapshot(d, version=2)).document["title"] == "aOps"


async def test_a_feed_closed_and_reopened_at_once_still_acknowledges(
    make_hub: MakeHub, store: MemoryStore
) -> None:
    # No lingering: every submit opens the dashboard's feed and closes it after its ack, so
    # the unsubscribe of one submit races the subscribe of the next. (No polling of the log
    # either, which would hide a feed that never hears its subscription confirmed.)
    a = await make_hub(store, feed_linger=0.0, feed_poll_interval=60.0, submit_timeout=2.0)
    d = await new_dashboard(store)
    for seq in range(1, 9):
        done = await a.submit(record(d, "c1", seq, seq, title_insert("x")))
        assert done.version == seq
        await asyncio.sleep(0.002 * (seq % 3))


async def test_a_submit_that_is_not_sequenced_in_time_times_out(
    make_hub: MakeHub, store: MemoryStore, resp: Resp, settings: Settings
) -> None:
    a = await make_hub(store, submit_timeout=0.3)
    d = await new_dashboard(store)
    assert await Lock.acquire(resp, Keys(settings.redis_prefix).lock(d), 3000) is not None
    with pytest.raises(SubmitTimeout) as raised:
        await a.submit(record(d, "c1", 1, 1, title_insert("x")))
    assert raised.value.code == "submit_timeout"
    assert (await store.get_head(d)).version == 1
