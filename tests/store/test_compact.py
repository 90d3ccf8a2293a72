"""Compaction: old partitions go, named versions and the head stay, verify still passes, and a
client older than what remains is told version_unavailable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from server.core.ids import UserId
from server.store.accounts import Accounts
from server.store.compact import compact
from server.store.history import VersionUnavailable
from server.store.migrate import prepare
from server.store.partitions import ensure_partitions
from server.store.pool import connection
from server.store.postgres import PostgresStore
from server.store.timeline import Timeline
from server.store.verify import verify_dashboard
from server.store.versions import Versions
from tests.store.conftest import Clock, document, retitle


@pytest.fixture
async def own_db(empty_database: str) -> AsyncIterator[str]:
    await prepare(empty_database)
    yield empty_database


async def test_compact_drops_old_ops_and_keeps_every_named_version(own_db: str) -> None:
    now = datetime.now(UTC)
    long_ago = datetime(now.year - 1, 1, 10, tzinfo=UTC)
    clock = Clock.at(long_ago)
    async with connection(own_db) as conn:
        await ensure_partitions(conn, now=long_ago, months_ahead=14)
    store = await PostgresStore.open(own_db, checkpoint_interval=10, min_size=1, max_size=2,
                                     clock=clock)  # fmt: skip
    try:
        owner = await Accounts(store.pool).create_user("c@example.com", "compactor")
        d = (await store.create_dashboard(owner_id=owner, title="t0",
                                          document=document("t0"))).dashboard_id  # fmt: skip
        untouched = (await store.create_dashboard(owner_id=UserId(owner), title="u",
                                                  document=document("u"))).dashboard_id  # fmt: skip
        await store.commit(d, base_version=1, epoch=0,
                           ops=[retitle(f"t{i}", f"t{i + 1}", i + 1) for i in range(5)],
                           document=document("t5"))  # fmt: skip
        await Versions(store).name_version(d, label="old", version=3)
        clock.now = now - timedelta(days=1)
        await store.commit(d, base_version=6, epoch=0, ops=[retitle("t5", "t6", 6)],
                           document=document("t6"))  # fmt: skip

        dry = await compact(store, older_than_days=30, dry_run=True)
        assert dry.dry_run and "operations_p" + f"{long_ago:%Y%m}" in dry.dropped
        assert dry.ops_dropped == 7 and set(dry.checkpointed) == {d}
        assert len(await store.ops_between(d, 0)) == 7  # nothing changed

        done = await compact(store, older_than_days=30)
        assert done.dropped == dry.dropped and done.kept == ()
        assert done.ops_dropped == 7
        # Named version 3 still loads, as does the head; the untouched dashboard too.
        assert (await store.load(d, version=3)).document["title"] == "t2"
        assert (await store.load(d)).document["title"] == "t6"
        assert (await store.load(untouched)).document["title"] == "u"
        assert [v.version for v in await Versions(store).list_versions(d)] == [3]
        # A stale client (at version 2) is told to refetch, never given a wrong document.
        with pytest.raises(VersionUnavailable):
            await store.ops_between(d, 2)
        with pytest.raises(VersionUnavailable):
            await Timeline(store.pool).ops_since(d, 2)
        for dashboard in (d, untouched):
            verdict = await verify_dashboard(store.pool, dashboard)
            assert verdict.ok, verdict.problems
        # Unnamed checkpoints below the log are pruned, but the newest ones stay.
        points = [c.version for c in await store.list_checkpoints(d)]
        assert points == [3, 7]

        again = await compact(store, older_than_days=30)
        assert again.dropped == () and again.ops_dropped == 0
    finally:
        await store.close()
