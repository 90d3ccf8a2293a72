"""server.sync.inbound against a real hub and store: merged as one op, retried safely."""

from __future__ import annotations

import secrets
from uuid import uuid4

import pytest

from ot.dashboard.document import validate_document
from server.core.errors import InvalidDocument, SyncBaseAhead, SyncConflict
from server.core.ids import DashboardId, UserId
from server.core.settings import Settings
from server.sequencer.hub import RedisHub
from server.store.idempotency import committed_version
from server.store.postgres import PostgresStore
from server.sync.inbound import SyncRequest, sync
from tests.sync.conftest import create, document, edit, widget


async def test_one_op_carries_the_clients_changes_past_the_servers(
    hub: RedisHub, user: UserId
) -> None:
    base = document({"w1": widget()})
    d = await create(hub, user, base)
    await edit(hub, user, d, [{"p": ["widgets", "w1", "title"], "t": "text-unicode", "o": ["> "]}])
    local = {**base, "widgets": {"w1": widget("CPU load"), "w2": widget("new")},
             "layout": ["w1", "w2"]}  # fmt: skip
    result = await sync(hub, SyncRequest(d, user, 1, "merge", document=local))
    assert result.version == 3
    assert result.document["widgets"]["w1"]["title"] == "> CPU load"
    assert set(result.document["widgets"]) == {"w1", "w2"}
    validate_document(result.document)
    head = await hub.snapshot(d)
    assert (head.version, head.document) == (result.version, result.document)
    # Nothing changed: no op, the head answered.
    same = await sync(hub, SyncRequest(d, user, 3, "merge", document=result.document))
    assert same.version == 3


async def test_refusals(hub: RedisHub, user: UserId) -> None:
    base = document({"w1": widget()})
    d = await create(hub, user, base)
    with pytest.raises(SyncBaseAhead):
        await sync(hub, SyncRequest(d, user, 5, "merge", document=base))
    with pytest.raises(InvalidDocument) as bad:
        await sync(hub, SyncRequest(d, user, 1, "merge", document={**base, "layout": []}))
    assert bad.value.errors[0]["path"].startswith("$.document")
    await edit(hub, user, d, [{"p": ["widgets", "w1", "isLocked"], "od": False, "oi": True}])
    conflicting = {**base, "widgets": {"w1": {**widget(), "isLocked": None}}}
    with pytest.raises(InvalidDocument):
        await sync(hub, SyncRequest(d, user, 1, "manual", document=conflicting))
    local = {**base, "widgets": {"w1": {**widget(), "isLocked": False, "title": "x"}}}
    patch = {"updated": {"w1": {"position": {"x": 1, "y": 0, "width": 4, "height": 3}}}}
    await edit(hub, user, d, [{"p": ["widgets", "w1", "position", "x"], "na": 3}])
    with pytest.raises(SyncConflict) as conflict:
        await sync(hub, SyncRequest(d, user, 1, "manual", changes=patch))
    assert conflict.value.extensions["conflicts"][0]["path"][:3] == ["widgets", "w1", "position"]
    del local


async def test_a_retry_after_an_attempt_finds_the_op_and_applies_nothing(
    hub: RedisHub, user: UserId, pg_store: PostgresStore
) -> None:
    base = document({"w1": widget()})
    d = await create(hub, user, base)
    request = SyncRequest(d, user, 1, "merge", changes={"fields": {"description": "once"}})
    plans: list[object] = []

    async def record(plan: object) -> None:
        plans.append(plan)

    async def find(dashboard: object, src: str, seq: int) -> int | None:
        return await committed_version(pg_store.pool, d, src, seq)

    first = await sync(hub, request, src="api:idem:test-1", record_plan=record, find_op=find)
    assert plans == []  # nothing resolved: what a retry assumes without a plan
    await edit(hub, user, d, [{"p": ["title"], "t": "text-unicode", "o": ["A "]}])
    again = await sync(hub, request, src="api:idem:test-1", plan={}, find_op=find)
    assert again.version == first.version and again.resolutions == []
    assert (await hub.snapshot(d)).version == first.version + 1  # the edit only
    # Without the plan, the same submitter id still applies once: the sequencer knows it.
    ops = await hub.ops_since(d, 1)
    assert [o.src for o in ops].count("api:idem:test-1") == 1


async def test_the_held_head_is_the_committed_head_and_syncs_build_on_it(
    pg_store: PostgresStore, redis_url: str, redis_prefix: str, user: UserId
) -> None:
    # Holders linger long enough here that the lock is still held when each answer is back.
    settings = Settings(redis_prefix=f"{redis_prefix}{secrets.token_hex(4)}:", hold_linger=30)
    hub = RedisHub(redis=redis_url, store=pg_store, settings=settings, gateway_id="held")
    await hub.start()
    try:
        d = await create(hub, user, document({"w1": widget(), "w2": widget("Mem")}))
        other = DashboardId(uuid4())
        assert hub.held_snapshot(other) is None  # never sequenced here
        await edit(hub, user, d, [{"p": ["widgets", "w2", "title"], "od": "Mem", "oi": "RAM"}])
        held = hub.held_snapshot(d)
        stored = await hub.snapshot(d)
        assert held is not None
        assert (held.version, held.document) == (stored.version, stored.document)
        # A queue of patches, each based on the previous answer, as a reconnecting client
        # sends them: each merges on the held head and commits on top of it.
        version = stored.version
        for i in range(5):
            patch = {"updated": {"w1": {"title": f"queued {i}"}}}
            result = await sync(hub, SyncRequest(d, user, version, "merge", changes=patch))
            assert result.version == version + 1
            version = result.version
            head = await hub.snapshot(d)
            assert (head.version, head.document) == (result.version, result.document)
            assert head.document["widgets"]["w1"]["title"] == f"queued {i}"
            assert head.document["widgets"]["w2"]["title"] == "RAM"
        # A client behind the head merges with what came since, as before.
        late = await sync(
            hub,
            SyncRequest(
                d, user, stored.version, "merge", changes={"updated": {"w2": {"title": "Memory"}}}
            ),
        )
        assert late.version == version + 1
        assert late.document["widgets"]["w1"]["title"] == "queued 4"
        assert late.document["widgets"]["w2"]["title"] == "Memory"
    finally:
        await hub.close()
