"""What only the PostgreSQL store can show: racing writers, cancellation, the rows it writes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import pytest

from server.core.errors import BadData, StaleFence
from server.core.ids import DashboardId, UserId
from server.store.model import NewOp
from server.store.postgres import PostgresStore
from tests.store.conftest import document, new_board, new_op, retitle


async def _versions(store: PostgresStore, d: DashboardId) -> list[int]:
    rows = await store.pool.fetch(
        "SELECT version FROM operations WHERE dashboard_id = $1 ORDER BY version", d
    )
    return [r["version"] for r in rows]


async def _try_commit(
    store: PostgresStore, d: DashboardId, base: int, epoch: int, op: NewOp
) -> bool:
    try:
        await store.commit(d, base_version=base, epoch=epoch, ops=[op], document={})
    except StaleFence:
        return False
    return True


async def test_racing_committers_one_wins_and_versions_stay_gapless(
    pg_store: PostgresStore, owner: UserId
) -> None:
    d = (
        await pg_store.create_dashboard(owner_id=owner, title="t", document=document("t"))
    ).dashboard_id
    wins = 0
    for round_ in range(15):
        head = await pg_store.get_head(d)
        old = await pg_store.acquire_epoch(d)
        new = await pg_store.acquire_epoch(d)
        stale = new_op([{"p": ["settings", f"s{round_}"], "oi": 0}], seq=round_, src="stale")
        fresh = new_op([{"p": ["settings", f"f{round_}"], "oi": 1}], seq=round_, src="fresh")
        results = await asyncio.gather(
            _try_commit(pg_store, d, head.version, old, stale),
            _try_commit(pg_store, d, head.version, new, fresh),
        )
        assert list(results) == [False, True]
        # Same epoch, same base: the head row lets exactly one through.
        a = new_op([{"p": ["settings", f"a{round_}"], "oi": 2}], seq=round_, src="a")
        b = new_op([{"p": ["settings", f"b{round_}"], "oi": 3}], seq=round_, src="b")
        pair = await asyncio.gather(
            _try_commit(pg_store, d, head.version + 1, new, a),
            _try_commit(pg_store, d, head.version + 1, new, b),
        )
        assert sorted(pair) == [False, True]
        wins += 2
        assert await pg_store.find_op(d, "stale", round_) is None
    head = await pg_store.get_head(d)
    assert head.version == 1 + wins
    assert await _versions(pg_store, d) == list(range(head.version))


async def test_stale_epoch_writes_no_row_anywhere(pg_store: PostgresStore, owner: UserId) -> None:
    d = (
        await pg_store.create_dashboard(owner_id=owner, title="t", document=document("t"))
    ).dashboard_id
    await pg_store.acquire_epoch(d)
    before = await pg_store.pool.fetchval(
        "SELECT (SELECT count(*) FROM operations WHERE dashboard_id = $1)"
        " + (SELECT count(*) FROM checkpoints WHERE dashboard_id = $1)"
        " + (SELECT count(*) FROM widgets WHERE dashboard_id = $1)",
        d,
    )
    ops = [retitle(f"t{i}", f"t{i + 1}", i) for i in range(12)]  # would cross a checkpoint
    big = document("t", {"w": {"type": "chart"}})
    with pytest.raises(StaleFence):
        await pg_store.commit(d, base_version=1, epoch=0, ops=ops, document=big)
    after = await pg_store.pool.fetchval(
        "SELECT (SELECT count(*) FROM operations WHERE dashboard_id = $1)"
        " + (SELECT count(*) FROM checkpoints WHERE dashboard_id = $1)"
        " + (SELECT count(*) FROM widgets WHERE dashboard_id = $1)",
        d,
    )
    assert after == before == 2  # the create op and the checkpoint at version 1
    assert (await pg_store.get_head(d)).version == 1


async def test_cancelled_commit_still_settles(pg_store: PostgresStore, owner: UserId) -> None:
    d = (
        await pg_store.create_dashboard(owner_id=owner, title="t", document=document("t"))
    ).dashboard_id
    task = asyncio.create_task(
        pg_store.commit(d, base_version=1, epoch=0, ops=[retitle("t", "u", 7)], document={})
    )
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    for _ in range(100):  # the shielded statement finishes on its own
        if await pg_store.find_op(d, "client", 7) is not None:
            break
        await asyncio.sleep(0.01)
    assert await pg_store.find_op(d, "client", 7) == 1
    assert (await pg_store.get_head(d)).version == 2


async def test_title_change_updates_the_dashboards_row(
    pg_store: PostgresStore, owner: UserId
) -> None:
    d = (
        await pg_store.create_dashboard(owner_id=owner, title="Old", document=document("Old"))
    ).dashboard_id
    op = new_op([{"p": ["description"], "od": "", "oi": "latency graphs"}], seq=1)
    await pg_store.commit(
        d, base_version=1, epoch=0, ops=[retitle("Old", "Fresh", 0), op],
        document={**document("Fresh"), "description": "latency graphs"},
    )  # fmt: skip
    row = await pg_store.pool.fetchrow(
        "SELECT title, description, head_version FROM dashboards WHERE id = $1", d
    )
    assert tuple(row) == ("Fresh", "latency graphs", 3)


async def test_user_id_and_versions_are_stored(pg_store: PostgresStore, owner: UserId) -> None:
    d = (
        await pg_store.create_dashboard(owner_id=owner, title="t", document=document("t"))
    ).dashboard_id
    op = NewOp("c1", 5, owner, 1, [{"p": ["title"], "od": "t", "oi": "u"}], [], "update", None)
    await pg_store.commit(d, base_version=1, epoch=0, ops=[op], document={})
    row = await pg_store.pool.fetchrow(
        "SELECT user_id, version, server_version, client_version, src, seq FROM operations"
        " WHERE dashboard_id = $1 AND version = 1",
        d,
    )
    assert tuple(row) == (owner, 1, 1, 1, "c1", 5)
    [stored] = await pg_store.ops_between(d, 1)
    assert (stored.user_id, stored.client_version) == (owner, 1)


async def test_ops_between_reads_head_and_ops_as_one(
    pg_store: PostgresStore, owner: UserId
) -> None:
    """A reader asking for the ops from the head it knows, while commits land, gets the ops that
    exist (possibly none) and never a spurious version_unavailable."""
    d = (
        await pg_store.create_dashboard(owner_id=owner, title="t0", document=document("t0"))
    ).dashboard_id
    epoch = await pg_store.acquire_epoch(d)
    committed = 1
    done = asyncio.Event()

    async def commit_all() -> None:
        nonlocal committed
        for i in range(60):
            op = retitle(f"t{i}", f"t{i + 1}", seq=i)
            await pg_store.commit(d, base_version=committed, epoch=epoch, ops=[op], document={})
            committed += 1
        done.set()

    async def read_at_head() -> int:
        reads = 0
        while not done.is_set():
            start = committed
            ops = await pg_store.ops_between(d, start)
            assert [op.version for op in ops] == list(range(start, start + len(ops)))
            reads += 1
        return reads

    results = await asyncio.gather(commit_all(), read_at_head(), read_at_head(), read_at_head())
    assert all(reads > 0 for reads in results[1:])
    assert [op.version for op in await pg_store.ops_between(d, 1)] == list(range(1, 61))


async def test_a_sequenced_op_is_not_walked_again_but_postgresql_still_refuses_a_nul(
    pg_store: PostgresStore, owner: UserId
) -> None:
    # The sequencer checks its ops as strictly as jsonb stores them, so the store does not walk
    # them again; should a NUL get past it anyway, PostgreSQL refuses the batch as BadData
    # (and the sequencer then goes one record at a time) and nothing is written.
    d = await new_board(pg_store, owner)
    bad = dataclasses.replace(
        new_op([{"p": ["settings", "x"], "oi": "a\x00"}], seq=1), sequenced=True
    )
    with pytest.raises(BadData, match="Unicode escape"):
        await pg_store.commit(d, base_version=1, epoch=0, ops=[bad], document=document("t"))
    assert (await pg_store.get_head(d)).version == 1
    assert await _versions(pg_store, d) == [0]
