"""The sequencer draining a real Redis queue into the in-memory store."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from ot.dashboard.document import new_document
from server.core.errors import BadData
from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.core.submission import SubmitRecord
from server.redis.keys import Keys
from server.redis.resp import Resp
from server.sequencer.holding import Sequencer
from server.sequencer.lock import Lock
from server.sequencer.plant import Holding, Memory, Plant
from server.sequencer.records import BatchOutcome, encode_record
from server.store.memory import MemoryStore
from server.store.model import JsonOp, NewOp

USER = UserId(uuid4())


@pytest.fixture
def settings(redis_prefix: str) -> Settings:
    return Settings(redis_prefix=f"{redis_prefix}{secrets.token_hex(4)}:", batch_size=50)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def dashboard_id(store: MemoryStore) -> DashboardId:
    head = await store.create_dashboard(owner_id=USER, title="Ops", document=new_document("Ops"))
    return head.dashboard_id


def title_insert(position: int, text: str) -> JsonOp:
    return [{"p": ["title"], "t": "text-unicode", "o": [position, text] if position else [text]}]


def record(
    dashboard_id: DashboardId,
    src: str,
    seq: int,
    version: int,
    op: JsonOp | None = None,
    **fields: Any,
) -> SubmitRecord:
    return SubmitRecord(
        dashboard_id=dashboard_id, src=src, seq=seq, version=version, user_id=USER, op=op, **fields
    )


class Run:
    """Queue records, take the lock, drain once; keeps what the sequencer delivered."""

    def __init__(self, redis: Redis, resp: Resp, settings: Settings, store: MemoryStore) -> None:
        self.redis = redis
        self.resp = resp
        self.settings = settings
        self.store = store
        self.keys = Keys(settings.redis_prefix)
        self.outcomes: list[BatchOutcome] = []

    async def push(self, records: Sequence[SubmitRecord]) -> None:
        for r in records:
            await self.redis.rpush(self.keys.queue(r.dashboard_id), encode_record(r))

    async def drain(
        self, dashboard_id: DashboardId, *, ttl_ms: int = 5000, memory: Memory | None = None
    ) -> Sequencer:
        lock = await Lock.acquire(self.resp, self.keys.lock(dashboard_id), ttl_ms)
        assert lock is not None

        async def deliver(outcome: BatchOutcome) -> None:
            self.outcomes.append(outcome)

        plant = Plant(self.resp, self.keys, self.store, self.settings, deliver)
        sequencer = Sequencer(Holding(plant, dashboard_id, lock, memory=memory))
        await sequencer.drain()
        return sequencer

    async def queued(self, dashboard_id: DashboardId) -> int:
        return int(await self.redis.llen(self.keys.queue(dashboard_id)))

    def committed(self) -> list[tuple[int, str, int]]:
        return [(c.version, c.src, c.seq) for o in self.outcomes for c in o.committed]

    def duplicates(self) -> list[tuple[int, str, int]]:
        return [(c.version, c.src, c.seq) for o in self.outcomes for c in o.duplicates]

    def rejected(self) -> list[tuple[str, int, str]]:
        return [(r.src, r.seq, r.code) for o in self.outcomes for r in o.rejected]


@pytest.fixture
def run(redis: Redis, resp: Resp, settings: Settings, store: MemoryStore) -> Run:
    return Run(redis, resp, settings, store)


async def test_a_batch_transforms_concurrent_ops_and_commits_them_in_order(
    run: Run, store: MemoryStore, dashboard_id: DashboardId
) -> None:
    # Three clients edit the title "Ops" concurrently, all from version 1.
    await run.push(
        [
            record(dashboard_id, "a", 1, 1, title_insert(0, "A")),
            record(dashboard_id, "b", 1, 1, title_insert(3, "B")),
            record(dashboard_id, "c", 1, 1, title_insert(0, "C")),
        ]
    )
    sequencer = await run.drain(dashboard_id)
    assert not sequencer.lost
    assert len(run.outcomes) == 1  # one batch, one message
    assert run.committed() == [(1, "a", 1), (2, "b", 1), (3, "c", 1)]
    ops = [c.op for c in run.outcomes[0].committed]
    assert ops[1] == title_insert(4, "B")  # moved past "A"
    snapshot = await store.load(dashboard_id)
    assert snapshot.version == 4
    assert snapshot.document["title"] == "CAOpsB"
    assert await run.queued(dashboard_id) == 0
    assert [op.client_version for op in await store.ops_between(dashboard_id, 1)] == [1, 1, 1]


async def test_a_resubmit_is_answered_with_its_original_version(
    run: Run, store: MemoryStore, dashboard_id: DashboardId
) -> None:
    first = record(dashboard_id, "a", 1, 1, title_insert(0, "A"))
    await run.push([first, first])  # a retried RPUSH: the copy is in the same batch
    await run.drain(dashboard_id)
    assert run.committed() == [(1, "a", 1)]
    assert run.duplicates() == [(1, "a", 1)]

    # The client reconnects and resends the op it never saw acknowledged.
    run.outcomes.clear()
    await run.push([first, record(dashboard_id, "b", 1, 1, title_insert(0, "B"))])
    await run.drain(dashboard_id)
    assert run.duplicates() == [(1, "a", 1)]
    assert run.committed() == [(2, "b", 1)]
    snapshot = await store.load(dashboard_id)
    assert snapshot.document["title"] == "BAOps"  # "A" once
    assert snapshot.version == 3


async def test_an_op_from_the_future_is_rejected(run: Run, dashboard_id: DashboardId) -> None:
    await run.push([record(dashboard_id, "a", 1, 7, title_insert(0, "A"))])
    await run.drain(dashboard_id)
    assert run.rejected() == [("a", 1, "op_from_future")]
    assert run.committed() == []
    assert await run.queued(dashboard_id) == 0


async def test_a_bad_op_is_rejected_alone(
    run: Run, store: MemoryStore, dashboard_id: DashboardId
) -> None:
    await run.push(
        [
            record(dashboard_id, "a", 1, 1, title_insert(0, "A")),
            record(dashboard_id, "b", 1, 1, [{"p": ["widgets", "w9", "title"], "oi": "x"}]),
            record(dashboard_id, "c", 1, 1, [{"p": ["unknown"], "oi": 1}]),
            record(dashboard_id, "d", 1, 1, title_insert(0, "D")),
        ]
    )
    await run.drain(dashboard_id)
    assert run.committed() == [(1, "a", 1), (2, "d", 1)]
    rejected = run.rejected()
    assert [r[:2] for r in rejected] == [("b", 1), ("c", 1)]
    assert rejected[1][2] == "invalid_document"
    assert (await store.get_head(dashboard_id)).version == 3
    assert await run.queued(dashboard_id) == 0


async def _on(
    store: MemoryStore, redis: Redis, resp: Resp, settings: Settings
) -> tuple[Run, DashboardId]:
    """A run on ``store`` and a new dashboard in it."""
    head = await store.create_dashboard(owner_id=USER, title="Ops", document=new_document("Ops"))
    return Run(redis, resp, settings, store), head.dashboard_id


class _Refusing(MemoryStore):
    """Refuses any batch holding an op of ``src`` "b", as PostgreSQL refuses a batch with a
    value it cannot take."""

    async def commit(self, dashboard_id: DashboardId, **batch: Any) -> int:
        if any(op.src == "b" for op in batch["ops"]):
            raise BadData("refused by the store")
        return await super().commit(dashboard_id, **batch)


@pytest.mark.parametrize(
    ("log", "text", "code"),
    [
        # U+0000 is a fine Python string but jsonb cannot hold it: the sequencer checks ops as
        # strictly as the log stores them, so only that record is refused, before any commit.
        (MemoryStore(), "\x00", "invalid_op"),
        # A batch the store refuses as a whole is refused once, then the records go one at a
        # time so only the one it refuses is rejected.
        (_Refusing(), "B", "bad_data"),
    ],
    ids=["checked-by-the-sequencer", "refused-by-the-store"],
)
async def test_a_record_that_cannot_be_stored_is_rejected_alone(
    redis: Redis, resp: Resp, settings: Settings, log: MemoryStore, text: str, code: str
) -> None:
    run, dashboard_id = await _on(log, redis, resp, settings)
    await run.push(
        [
            record(dashboard_id, "a", 1, 1, title_insert(0, "A")),
            record(dashboard_id, "b", 1, 1, title_insert(0, text)),
            record(dashboard_id, "c", 1, 1, title_insert(0, "C")),
        ]
    )
    await run.drain(dashboard_id)
    assert run.committed() == [(1, "a", 1), (2, "c", 1)]
    assert run.rejected() == [("b", 1, code)]
    assert (await log.load(dashboard_id)).document["title"] == "CAOps"


async def test_domain_ops_are_built_against_the_head(
    run: Run, store: MemoryStore, dashboard_id: DashboardId
) -> None:
    await run.push(
        [
            record(dashboard_id, "a", 1, 1, title_insert(0, "A")),
            record(
                dashboard_id,
                "b",
                1,
                1,
                dop=[{"type": "update", "path": ["description"], "value": "about"}],
            ),
        ]
    )
    await run.drain(dashboard_id)
    assert run.committed() == [(1, "a", 1), (2, "b", 1)]
    op = run.outcomes[0].committed[1].op
    assert op is not None and op[0]["p"] == ["description"]
    stored = await store.ops_between(dashboard_id, 2)
    assert stored[0].operation_type == "update"
    assert (await store.load(dashboard_id)).document["description"] == "about"


async def test_create_then_edit_then_create_again(run: Run, store: MemoryStore) -> None:
    fresh = DashboardId(uuid4())
    create = record(fresh, "a", 1, 0, create={"type": "json0", "data": new_document("Fresh")})
    await run.push(
        [
            record(fresh, "z", 1, 1, title_insert(0, "Z")),  # before it exists
            create,
            record(fresh, "a", 2, 1, title_insert(0, "A")),
            create,  # the client resends its create
            record(fresh, "b", 1, 0, create={"type": "json0", "data": new_document("B")}),
            record(fresh, "c", 1, 1, delete=True),
        ]
    )
    await run.drain(fresh)
    assert run.committed() == [(0, "a", 1), (1, "a", 2)]
    assert run.duplicates() == [(0, "a", 1)]
    assert run.rejected() == [
        ("z", 1, "not_found"),
        ("b", 1, "already_created"),
        ("c", 1, "forbidden"),
    ]
    snapshot = await store.load(fresh)
    assert (snapshot.version, snapshot.document["title"]) == (2, "AFresh")


class TakenOver(MemoryStore):
    """A store where another sequencer takes the dashboard's fence just before each commit."""

    async def commit(
        self,
        dashboard_id: DashboardId,
        *,
        base_version: int,
        epoch: int,
        ops: Sequence[NewOp],
        document: Any,
    ) -> int:
        await self.acquire_epoch(dashboard_id)
        return await super().commit(
            dashboard_id, base_version=base_version, epoch=epoch, ops=ops, document=document
        )


async def test_a_stale_holder_commits_and_answers_nothing(
    redis: Redis, resp: Resp, settings: Settings
) -> None:
    store = TakenOver()
    head = await store.create_dashboard(owner_id=USER, title="Ops", document=new_document("Ops"))
    d = head.dashboard_id
    run = Run(redis, resp, settings, store)
    await run.push([record(d, "a", 1, 1, title_insert(0, "A")), record(d, "b", 1, 7, [])])
    sequencer = await run.drain(d)
    assert sequencer.lost
    assert run.outcomes == []  # not even the rejection: the new holder decides
    assert (await store.get_head(d)).version == 1
    assert await run.queued(d) == 2  # left for the new holder


class Slow(MemoryStore):
    """Commits after a pause, long enough for a short lock to expire meanwhile."""

    async def commit(
        self,
        dashboard_id: DashboardId,
        *,
        base_version: int,
        epoch: int,
        ops: Sequence[NewOp],
        document: Any,
    ) -> int:
        await asyncio.sleep(0.3)
        return await super().commit(
            dashboard_id, base_version=base_version, epoch=epoch, ops=ops, document=document
        )


async def test_records_committed_by_a_holder_that_lost_the_lock_are_deduped(
    redis: Redis, resp: Resp, settings: Settings
) -> None:
    slow = Slow()
    head = await slow.create_dashboard(owner_id=USER, title="Ops", document=new_document("Ops"))
    d = head.dashboard_id
    run = Run(redis, resp, settings, slow)
    await run.push([record(d, "a", 1, 1, title_insert(0, "A"))])
    # The lock expires during the commit: the commit lands (nobody bumped the epoch), but the
    # records stay queued since the trim checks the token.
    sequencer = await run.drain(d, ttl_ms=100)
    assert sequencer.lost
    assert run.committed() == [(1, "a", 1)]
    assert await run.queued(d) == 1

    # The next holder finds the op in the log and answers it with its original version.
    run.outcomes.clear()
    sequencer = await run.drain(d)
    assert not sequencer.lost
    assert run.committed() == []
    assert run.duplicates() == [(1, "a", 1)]
    assert (await slow.get_head(d)).version == 2
    assert await run.queued(d) == 0


async def test_ops_older_than_memory_are_read_from_the_store(
    run: Run, store: MemoryStore, dashboard_id: DashboardId
) -> None:
    await run.push([record(dashboard_id, "a", i, i, title_insert(0, "a")) for i in range(1, 4)])
    await run.drain(dashboard_id)
    # A new holder has nothing in memory: transforming from version 1 reads versions 1..3.
    await run.push([record(dashboard_id, "b", 1, 1, title_insert(3, "B"))])
    await run.drain(dashboard_id)
    assert run.committed()[-1] == (4, "b", 1)
    assert (await store.load(dashboard_id)).document["title"] == "aaaOpsB"


class CountingLoads(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load(self, dashboard_id: DashboardId, **options: Any) -> Any:
        self.loads += 1
        return await super().load(dashboard_id, **options)


async def test_a_new_holding_resumes_from_memory_only_while_nobody_else_held_the_fence(
    redis: Redis, resp: Resp, settings: Settings
) -> None:
    store = CountingLoads()
    run, d = await _on(store, redis, resp, settings)
    await run.push([record(d, "a", 1, 1, title_insert(0, "A"))])
    first = await run.drain(d)
    assert store.loads == 1
    await run.push([record(d, "a", 2, 2, title_insert(0, "B"))])
    second = await run.drain(d, memory=first.memory())
    assert store.loads == 1  # resumed: the head it remembered is still the head
    assert run.committed() == [(1, "a", 1), (2, "a", 2)]

    await store.acquire_epoch(d)  # someone else held the fence meanwhile
    await run.push([record(d, "a", 3, 3, title_insert(0, "C"))])
    await run.drain(d, memory=second.memory())
    assert store.loads == 2  # so the head is loaded again
    snapshot = await store.load(d)
    assert (snapshot.version, snapshot.document["title"]) == (4, "CBAOps")
