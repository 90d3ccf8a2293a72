"""Group commit on the real PostgreSQL store: shared statements, separate fences and errors."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from server.core.errors import BadData, StaleFence
from server.core.ids import DashboardId, UserId
from server.store.group import CommitGroup, Entry
from server.store.postgres import PostgresStore
from tests.store.conftest import INTERVAL, document, new_op, widget


class Recorder:
    """The store's own statement, counting how many batches each one carried."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.sizes: list[int] = []

    async def __call__(self, entries: Sequence[Entry]) -> set[DashboardId]:
        self.sizes.append(len(entries))
        return await self.store._write_batches(entries)


@pytest.fixture
def recorder(pg_store: PostgresStore) -> Recorder:
    recorder = Recorder(pg_store)
    # One statement at a time, so that everything committed meanwhile shares the next one.
    pg_store._group = CommitGroup(recorder, concurrency=1)
    return recorder


async def _dashboards(store: PostgresStore, owner: UserId, count: int) -> list[DashboardId]:
    heads = [
        await store.create_dashboard(
            owner_id=owner, title=f"d{i}", document=document(f"d{i}", {"w": widget("CPU")})
        )
        for i in range(count)
    ]
    return [h.dashboard_id for h in heads]


async def test_batches_committed_together_share_a_statement_and_keep_their_own_fences(
    pg_store: PostgresStore, recorder: Recorder, owner: UserId
) -> None:
    ds = await _dashboards(pg_store, owner, 12)
    epochs = [await pg_store.acquire_epoch(d) for d in ds]
    stale = ds[5]
    await pg_store.acquire_epoch(stale)  # someone else took it: epochs[5] is stale now
    moved = {"w": widget("CPU", x=7)}

    async def commit(i: int, d: DashboardId) -> int | str:
        op = new_op(
            [{"p": ["widgets", "w", "position", "x"], "od": 0, "oi": 7}], seq=1, target_id="w"
        )
        try:
            return await pg_store.commit(
                d, base_version=1, epoch=epochs[i], ops=[op], document=document(f"d{i}", moved)
            )
        except StaleFence:
            return "stale"

    results = await asyncio.gather(*(commit(i, d) for i, d in enumerate(ds)))
    assert results == [2] * 5 + ["stale"] + [2] * 6
    assert len(recorder.sizes) < len(ds) and max(recorder.sizes) > 1, recorder.sizes
    for d in ds:
        head = await pg_store.get_head(d)
        ops = await pg_store.ops_between(d, 1)
        x = await pg_store.pool.fetchval(
            "SELECT position->>'x' FROM widgets WHERE dashboard_id = $1 AND widget_id = 'w'", d
        )
        if d == stale:
            assert (head.version, ops, x) == (1, [], "0")  # nothing of it was written
        else:
            assert (head.version, [o.version for o in ops], x) == (2, [1], "7")


async def test_each_batch_gets_its_checkpoint_title_and_widget_removals(
    pg_store: PostgresStore, recorder: Recorder, owner: UserId
) -> None:
    ds = await _dashboards(pg_store, owner, 3)
    epochs = [await pg_store.acquire_epoch(d) for d in ds]
    # d0: a run of ops across the checkpoint interval; d1: retitled; d2: its widget removed.
    run = [new_op([{"p": ["settings", f"k{v}"], "oi": v}], seq=v) for v in range(1, INTERVAL + 1)]
    after_run = document("d0", {"w": widget("CPU")})
    after_run["settings"] = {f"k{v}": v for v in range(1, INTERVAL + 1)}
    retitle = new_op([{"p": ["title", 2], "si": "!"}], seq=1)
    removal = new_op([{"p": ["widgets", "w"], "od": widget("CPU")}], seq=1, target_id="w")
    await asyncio.gather(
        pg_store.commit(ds[0], base_version=1, epoch=epochs[0], ops=run, document=after_run),
        pg_store.commit(
            ds[1],
            base_version=1,
            epoch=epochs[1],
            ops=[retitle],
            document=document("d1!", {"w": widget("CPU")}),
        ),
        pg_store.commit(
            ds[2], base_version=1, epoch=epochs[2], ops=[removal], document=document("d2", {})
        ),
    )
    assert max(recorder.sizes) > 1
    checkpoints = await pg_store.pool.fetch(
        "SELECT dashboard_id, version FROM checkpoints WHERE dashboard_id = ANY($1) AND version > 1",
        ds,
    )
    assert [(r["dashboard_id"], r["version"]) for r in checkpoints] == [(ds[0], 1 + INTERVAL)]
    titles = await pg_store.pool.fetch("SELECT id, title FROM dashboards WHERE id = ANY($1)", ds)
    assert {r["id"]: r["title"] for r in titles} == {ds[0]: "d0", ds[1]: "d1!", ds[2]: "d2"}
    left = await pg_store.pool.fetch(
        "SELECT dashboard_id FROM widgets WHERE dashboard_id = ANY($1)", ds
    )
    assert sorted(str(r["dashboard_id"]) for r in left) == sorted(str(d) for d in ds[:2])


async def test_a_batch_the_database_refuses_fails_alone(
    pg_store: PostgresStore, recorder: Recorder, owner: UserId
) -> None:
    ds = await _dashboards(pg_store, owner, 4)
    epochs = [await pg_store.acquire_epoch(d) for d in ds]
    group = pg_store._group

    def entry(i: int, version: int) -> Entry:
        d = ds[i]
        head: dict[str, Any] = {"dashboard_id": str(d), "base": 1, "head": 2, "epoch": epochs[i]}
        record = {
            "dashboard_id": str(d), "user_id": None, "operation_type": "update_settings",
            "target_id": None, "operation": [{"p": ["settings", "k"], "oi": 1}], "inverse": [],
            "version": version, "client_version": 1, "src": "c", "seq": 1,
        }  # fmt: skip
        return Entry(d, head, [record], [])

    # Version -1 breaks the log's CHECK constraint: only the database can refuse it.
    outcomes = await asyncio.gather(
        *(group.commit(entry(i, -1 if i == 2 else 1)) for i in range(4)), return_exceptions=True
    )
    assert outcomes[:2] == [True, True] and outcomes[3] is True
    assert isinstance(outcomes[2], BadData)
    assert recorder.sizes[0] > 1  # they were tried together first, then one by one
    heads = [(await pg_store.get_head(d)).version for d in ds]
    assert heads == [2, 2, 1, 2]


async def test_a_commit_alone_goes_at_once(
    pg_store: PostgresStore, recorder: Recorder, owner: UserId
) -> None:
    (d,) = await _dashboards(pg_store, owner, 1)
    epoch = await pg_store.acquire_epoch(d)
    for version in range(1, 4):
        op = new_op([{"p": ["settings", f"k{version}"], "oi": version}], seq=version)
        await pg_store.commit(d, base_version=version, epoch=epoch, ops=[op], document={})
    assert recorder.sizes == [1, 1, 1]
