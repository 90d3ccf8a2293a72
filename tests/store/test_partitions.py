"""Monthly partitions: created ahead, nothing left in the default ones, retention-safe drops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from server.core.errors import BadRequest
from server.core.ids import UserId
from server.store.history import VersionUnavailable
from server.store.partitions import (
    add_months,
    drop_partitions,
    ensure_partitions,
    month_start,
    parse_month,
    partition_status,
)
from server.store.pool import connection
from server.store.postgres import PostgresStore
from server.store.verify import verify_dashboard
from tests.store.conftest import Clock, document, retitle


def test_month_arithmetic() -> None:
    start = datetime(2024, 11, 1, tzinfo=UTC)
    assert [add_months(start, i).month for i in range(4)] == [11, 12, 1, 2]
    assert add_months(start, 2).year == 2025
    assert month_start(datetime(2024, 2, 29, 23, 59, tzinfo=UTC)) == datetime(
        2024, 2, 1, tzinfo=UTC
    )
    assert parse_month("2025-03") == datetime(2025, 3, 1, tzinfo=UTC)
    for bad in ("2025-13", "2025/03", "March"):
        with pytest.raises(BadRequest, match="YYYY-MM"):
            parse_month(bad)


async def _store_at(url: str, moment: datetime) -> PostgresStore:
    return await PostgresStore.open(url, min_size=1, max_size=1, clock=Clock.at(moment))


async def test_commits_in_the_next_months_land_in_monthly_partitions(
    migrated_url: str, owner: UserId
) -> None:
    first = month_start(datetime.now(UTC))
    for ahead in range(4):
        moment = add_months(first, ahead) + timedelta(days=3)
        store = await _store_at(migrated_url, moment)
        try:
            head = await store.create_dashboard(owner_id=owner, title="a", document=document("a"))
            await store.commit(
                head.dashboard_id, base_version=1, epoch=0, ops=[retitle("a", "b", 1)], document={}
            )
            rows = await store.pool.fetch(
                "SELECT tableoid::regclass::text AS part FROM operations WHERE dashboard_id = $1",
                head.dashboard_id,
            )
        finally:
            await store.close()
        expected = f"operations_p{moment:%Y%m}"
        assert [r["part"] for r in rows] == [expected, expected]


async def test_rows_in_default_are_reported_then_moved(migrated_url: str, owner: UserId) -> None:
    long_ago = datetime(1990, 6, 15, tzinfo=UTC)
    store = await _store_at(migrated_url, long_ago)
    try:
        head = await store.create_dashboard(owner_id=owner, title="old", document=document("old"))
        async with connection(migrated_url) as conn:
            stray = [p for p in await partition_status(conn) if p.is_default and p.rows]
            assert [(p.name, p.rows) for p in stray] == [("operations_default", 1)]
            created = await ensure_partitions(conn)
            assert "operations_p199006" in created
            assert not [p for p in await partition_status(conn) if p.is_default and p.rows]
        assert (await store.load(head.dashboard_id)).document["title"] == "old"
        assert len(await store.ops_between(head.dashboard_id, 0)) == 1
    finally:
        await store.close()


def _mine(names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n.startswith("operations_p1980")]


async def test_drop_keeps_what_a_dashboard_still_needs(migrated_url: str, owner: UserId) -> None:
    january = datetime(1980, 1, 10, tzinfo=UTC)
    async with connection(migrated_url) as conn:
        await ensure_partitions(conn, now=january)
    old = await _store_at(migrated_url, january)
    try:
        d = (
            await old.create_dashboard(owner_id=owner, title="t0", document=document("t0"))
        ).dashboard_id
        ops = [retitle(f"t{i}", f"t{i + 1}", i + 1) for i in range(3)]
        await old.commit(d, base_version=1, epoch=0, ops=ops, document=document("t3"))
        async with connection(migrated_url) as conn:
            # Other tests' older partitions may come and go; look at this test's own.
            report = await drop_partitions(conn, before=parse_month("1980-03"), dry_run=True)
            assert not _mine(report.dropped)
            assert report.blocked[0].partition == "operations_p198001"
            assert d in report.blocked[0].dashboards
            assert [b.partition for b in report.blocked[1:]] == ["operations_p198002"]
            await old.create_checkpoint(d)  # at the head, 4: above every op in January
            dry = await drop_partitions(conn, before=parse_month("1980-02"), dry_run=True)
            assert (_mine(dry.dropped), dry.blocked) == (["operations_p198001"], ())
            assert len(await old.ops_between(d, 1)) == 3  # a dry run drops nothing
            done = await drop_partitions(conn, before=parse_month("1980-02"))
            assert _mine(done.dropped) == ["operations_p198001"]
        assert (await old.load(d)).document["title"] == "t3"
        assert await old.oldest_version(d) == 4
        with pytest.raises(VersionUnavailable):
            await old.load(d, version=2)
        with pytest.raises(VersionUnavailable):
            await old.ops_between(d, 1)
        assert await old.ops_between(d, 4) == []
        verdict = await verify_dashboard(old.pool, d)
        # Checkpoint 1 is older than the retained log; 4 is where replay starts, on trust.
        assert (verdict.ok, verdict.checkpoints_unverified) == (True, 2)
    finally:
        await old.close()


async def test_concurrent_ensure_creates_each_partition_once(migrated_url: str) -> None:
    moment = datetime(1960, 5, 1, tzinfo=UTC)

    async def ensure() -> list[str]:
        async with connection(migrated_url) as conn:
            return await ensure_partitions(conn, now=moment)

    first, second = await asyncio.gather(ensure(), ensure())
    created = sorted(first + second)
    assert created == sorted(
        f"{table}_p1960{m:02d}" for table in ("operations", "audit_logs") for m in (5, 6, 7, 8)
    )


async def test_drop_never_touches_the_current_month(migrated_url: str) -> None:
    now = datetime.now(UTC)
    async with connection(migrated_url) as conn:
        report = await drop_partitions(conn, before=add_months(month_start(now), 6), dry_run=True)
    assert all(
        not name.endswith(f"{now:%Y%m}")
        for name in report.dropped + tuple(b.partition for b in report.blocked)
    )
