"""The sync tables on real PostgreSQL: idempotency keys and the changes feed with its cursor."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from server.core.ids import DashboardId, UserId
from server.store.access import Access
from server.store.accounts import Accounts
from server.store.changes import ChangesPage, changes
from server.store.idempotency import Answered, Busy, Claimed, IdempotencyKeys, Mismatch
from server.store.pool import open_pool
from server.store.postgres import PostgresStore
from tests.store.conftest import document, new_op, new_user


def _fp(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


async def test_a_key_is_claimed_once_answered_and_refused_for_another_request(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    keys = IdempotencyKeys(pg_store.pool)
    user = await new_user(accounts)
    first = await keys.claim(user, "k1", _fp("a"))
    assert first == Claimed(None, True)
    assert isinstance(await keys.claim(user, "k1", _fp("a")), Busy)
    assert isinstance(await keys.claim(user, "k1", _fp("b")), Mismatch)
    await keys.record_plan(user, "k1", {"src": "api:x"})
    await keys.settle(user, "k1", 200, {"version": 7})
    assert await keys.claim(user, "k1", _fp("a")) == Answered(200, {"version": 7})
    assert isinstance(await keys.claim(user, "k1", _fp("b")), Mismatch)
    # Another user's key of the same spelling is another key.
    other = await new_user(accounts)
    assert await keys.claim(other, "k1", _fp("b")) == Claimed(None, True)


async def test_a_dead_attempt_is_taken_over_with_its_plan(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    keys = IdempotencyKeys(pg_store.pool, lease=timedelta(milliseconds=50))
    user = await new_user(accounts)
    assert isinstance(await keys.claim(user, "k", _fp("a")), Claimed)
    await keys.record_plan(user, "k", {"seq": 1})
    assert isinstance(await keys.claim(user, "k", _fp("a")), Busy)
    await asyncio.sleep(0.1)
    assert isinstance(await keys.claim(user, "k", _fp("b")), Mismatch)
    assert await keys.claim(user, "k", _fp("a")) == Claimed({"seq": 1}, False)
    # A released attempt is free at once.
    await keys.release(user, "k")
    assert await keys.claim(user, "k", _fp("a")) == Claimed({"seq": 1}, False)


async def test_the_writes_that_skip_the_flush_leave_the_connection_as_it_was(
    migrated_url: str, accounts: Accounts
) -> None:
    """A release and an unflushed answer skip the WAL flush for their own transaction only:
    the next statement on the same connection waits for the disk again."""
    pool = await open_pool(migrated_url, min_size=1, max_size=1)  # so: the same connection
    try:
        keys = IdempotencyKeys(pool)
        user = await new_user(accounts)
        before = await pool.fetchval("SHOW synchronous_commit")
        assert isinstance(await keys.claim(user, "k", _fp("a")), Claimed)
        await keys.release(user, "k")
        assert await pool.fetchval("SHOW synchronous_commit") == before
        assert await keys.claim(user, "k", _fp("a")) == Claimed(None, False)
        await keys.settle(user, "k", 200, {"version": 2}, flush=False)
        assert await pool.fetchval("SHOW synchronous_commit") == before
        assert await keys.claim(user, "k", _fp("a")) == Answered(200, {"version": 2})
    finally:
        await pool.close()


async def test_concurrent_claims_of_one_key_let_exactly_one_through(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    keys = IdempotencyKeys(pg_store.pool)
    user = await new_user(accounts)
    results = await asyncio.gather(*(keys.claim(user, "race", _fp("a")) for _ in range(5)))
    assert sum(isinstance(r, Claimed) for r in results) == 1
    assert sum(isinstance(r, Busy) for r in results) == 4


async def test_an_expired_key_is_a_new_key(pg_store: PostgresStore, accounts: Accounts) -> None:
    keys = IdempotencyKeys(pg_store.pool, ttl=timedelta(milliseconds=50))
    user = await new_user(accounts)
    await keys.claim(user, "k", _fp("a"))
    await keys.settle(user, "k", 201, {"id": 1})
    await asyncio.sleep(0.1)
    assert await keys.claim(user, "k", _fp("b")) == Claimed(None, True)
    assert await keys.purge() >= 0


async def test_a_claim_purges_the_users_other_expired_keys(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    short = IdempotencyKeys(pg_store.pool, ttl=timedelta(milliseconds=50))
    user, other = await new_user(accounts), await new_user(accounts)
    for owner in (user, other):
        await short.claim(owner, "old", _fp("a"))
        await short.settle(owner, "old", 200, {"v": 1})
    await asyncio.sleep(0.1)
    assert isinstance(await IdempotencyKeys(pg_store.pool).claim(user, "new", _fp("a")), Claimed)
    rows = await pg_store.pool.fetch(
        "SELECT user_id, key FROM idempotency_keys WHERE user_id = ANY($1::uuid[])", [user, other]
    )
    assert {(r["user_id"], r["key"]) for r in rows} == {(user, "new"), (other, "old")}


async def _pull(store: PostgresStore, user: UserId, since: int, limit: int = 100) -> ChangesPage:
    async with store.pool.acquire() as conn:
        return await changes(conn, user, since=since, after=None, limit=limit)


async def _retitle(store: PostgresStore, d: DashboardId, title: str) -> None:
    head = await store.get_head(d)
    op = [{"p": ["title"], "od": "x", "oi": title}]
    await store.commit(
        d,
        base_version=head.version,
        epoch=head.lock_epoch,
        ops=[new_op(op, seq=head.version)],
        document=document(title),
    )


async def test_changes_since_a_cursor_owned_shared_lost_and_deleted(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    access = Access(pg_store.pool)
    ann, bob = await new_user(accounts), await new_user(accounts)
    owned = [(await pg_store.create_dashboard(owner_id=ann, title=f"d{i}", document=document()))
             .dashboard_id for i in range(3)]  # fmt: skip
    theirs = await pg_store.create_dashboard(owner_id=bob, title="b", document=document())
    shared = theirs.dashboard_id
    first = await _pull(pg_store, ann, 0)
    assert {c.id for c in first.changed} == set(owned)
    assert first.removed == [] and not first.more
    cursor = first.xmin

    # Nothing happened: nothing to report (a report twice is allowed, so only the ids count).
    quiet = await _pull(pg_store, ann, cursor)
    assert {c.id for c in quiet.changed} <= set(owned)

    cursor = quiet.xmin
    await _retitle(pg_store, owned[1], "renamed")
    await access.add_collaborator(shared, ann, "editor")
    # A lock epoch bump (a new sequencer) is not a change.
    async with pg_store.pool.acquire() as conn:
        mark = "SELECT change_xid FROM dashboards WHERE id = $1"
        before = await conn.fetchval(mark, owned[2])
        await pg_store.acquire_epoch(owned[2])
        assert await conn.fetchval(mark, owned[2]) == before
    page = await _pull(pg_store, ann, cursor)
    by_id = {c.id: c for c in page.changed}
    # A transaction anywhere on the server that was running at the last pull may make it
    # report a dashboard again: what changed must be there, anything else is a repeat.
    assert {owned[1], shared} <= set(by_id) <= {*owned, shared}
    assert by_id[owned[1]].title == "renamed" and by_id[owned[1]].head_version == 2
    assert by_id[shared].role == "editor"

    cursor = page.xmin
    await _retitle(pg_store, shared, "bob's")
    assert shared in {c.id for c in (await _pull(pg_store, ann, cursor)).changed}

    await access.remove_collaborator(shared, ann)
    async with pg_store.pool.acquire() as conn:
        await conn.execute("DELETE FROM dashboards WHERE id = $1", owned[0])
    gone = await _pull(pg_store, ann, cursor)
    assert set(gone.removed) == {shared, owned[0]}
    assert shared not in {c.id for c in gone.changed}
    # Given back: changed again, and no longer reported as lost.
    await access.add_collaborator(shared, ann, "viewer")
    back = await _pull(pg_store, ann, cursor)
    assert back.removed == [owned[0]]
    assert shared in {c.id for c in back.changed}


async def test_paging_covers_every_change_once_in_order(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    ann = await new_user(accounts)
    made = {(await pg_store.create_dashboard(owner_id=ann, title=f"d{i}", document=document()))
            .dashboard_id for i in range(7)}  # fmt: skip
    seen: list[DashboardId] = []
    after = None
    async with pg_store.pool.acquire() as conn:
        while True:
            page = await changes(conn, ann, since=0, after=after, limit=3)
            seen += [c.id for c in page.changed]
            if not page.more:
                break
            after = page.after()
    assert len(seen) == 7 and set(seen) == made


async def test_a_commit_running_during_a_pull_is_in_the_next_one(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    ann = await new_user(accounts)
    d = (await pg_store.create_dashboard(owner_id=ann, title="t", document=document())).dashboard_id
    before = await _pull(pg_store, ann, 0)
    async with pg_store.pool.acquire() as writer:
        tx = writer.transaction()
        await tx.start()
        # An older transaction id, still running while a pull reads...
        await writer.execute("UPDATE dashboards SET title = 'late' WHERE id = $1", d)
        during = await _pull(pg_store, ann, before.xmin)
        await tx.commit()
    # ...commits after it: the pull's cursor still sees it.
    after = await _pull(pg_store, ann, during.xmin)
    assert [c.title for c in after.changed if c.id == d] == ["late"]
