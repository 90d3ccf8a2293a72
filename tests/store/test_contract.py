"""The OpLog contract, run against the in-memory twin and PostgreSQL alike."""

from __future__ import annotations

from uuid import uuid4

import pytest

from server.core.errors import BadData, BadRequest, Conflict, NotFound, StaleFence
from server.core.ids import DashboardId, UserId
from server.store.history import VersionNotFound
from server.store.memory import MemoryStore
from server.store.postgres import PostgresStore
from server.store.projection import WidgetRow
from tests.store.conftest import INTERVAL, Clock, document, new_op, retitle, widget

Store = MemoryStore | PostgresStore


async def test_create_starts_at_version_one(store: Store, owner: UserId) -> None:
    doc = document("First", {"w1": widget()})
    head = await store.create_dashboard(owner_id=owner, title="First", document=doc)
    assert (head.version, head.lock_epoch) == (1, 0)
    assert await store.get_head(head.dashboard_id) == head
    snap = await store.load(head.dashboard_id)
    assert (snap.version, snap.document) == (1, doc)
    [create] = await store.ops_between(head.dashboard_id, 0)
    assert (create.version, create.operation_type) == (0, "create")
    assert create.op == [{"p": [], "oi": doc}]
    empty = await store.load(head.dashboard_id, version=0)
    assert (empty.version, empty.document) == (0, None)


async def test_unknown_dashboard_is_not_found(store: Store) -> None:
    missing = DashboardId(uuid4())
    with pytest.raises(NotFound):
        await store.get_head(missing)
    with pytest.raises(NotFound):
        await store.acquire_epoch(missing)
    with pytest.raises(NotFound):
        await store.load(missing)


async def test_duplicate_dashboard_id_conflicts(store: Store, owner: UserId) -> None:
    head = await store.create_dashboard(owner_id=owner, title="a", document=document("a"))
    with pytest.raises(Conflict):
        await store.create_dashboard(
            owner_id=owner, title="b", document=document("b"), dashboard_id=head.dashboard_id
        )


async def test_epochs_increase(store: Store, owner: UserId) -> None:
    head = await store.create_dashboard(owner_id=owner, title="e", document=document("e"))
    assert await store.acquire_epoch(head.dashboard_id) == 1
    assert await store.acquire_epoch(head.dashboard_id) == 2
    assert (await store.get_head(head.dashboard_id)).lock_epoch == 2


async def test_commit_appends_versions_in_order(store: Store, owner: UserId) -> None:
    d = (
        await store.create_dashboard(owner_id=owner, title="a", document=document("a"))
    ).dashboard_id
    epoch = await store.acquire_epoch(d)
    batch = [retitle("a", "b", 1), retitle("b", "c", 2)]
    assert (
        await store.commit(d, base_version=1, epoch=epoch, ops=batch, document=document("c")) == 3
    )
    assert await store.commit(
        d, base_version=3, epoch=epoch, ops=[retitle("c", "d", 3)], document=document("d")
    ) == 4  # fmt: skip
    ops = await store.ops_between(d, 1)
    assert [(o.version, o.seq, o.op) for o in ops] == [
        (1, 1, batch[0].op),
        (2, 2, batch[1].op),
        (3, 3, [{"p": ["title"], "od": "c", "oi": "d"}]),
    ]
    assert [o.version for o in await store.ops_between(d, 1, 3)] == [1, 2]
    assert await store.ops_between(d, 4) == []
    assert await store.find_op(d, "client", 2) == 2
    assert await store.find_op(d, "client", 99) is None
    assert await store.find_op(d, "other", 1) is None
    for v, title in [(1, "a"), (2, "b"), (3, "c"), (4, "d")]:
        snap = await store.load(d, version=v)
        assert (snap.version, snap.document["title"]) == (v, title)


async def test_stale_fence_writes_nothing(store: Store, owner: UserId) -> None:
    d = (
        await store.create_dashboard(owner_id=owner, title="a", document=document("a"))
    ).dashboard_id
    old = await store.acquire_epoch(d)
    new = await store.acquire_epoch(d)
    with pytest.raises(StaleFence):
        await store.commit(d, base_version=1, epoch=old, ops=[retitle("a", "x", 1)], document={})
    with pytest.raises(StaleFence):
        await store.commit(d, base_version=2, epoch=new, ops=[retitle("a", "x", 1)], document={})
    assert (await store.get_head(d)).version == 1
    assert len(await store.ops_between(d, 0)) == 1
    assert await store.find_op(d, "client", 1) is None
    await store.commit(d, base_version=1, epoch=new, ops=[retitle("a", "y", 1)], document={})
    assert (await store.load(d)).document["title"] == "y"


async def test_empty_commit_is_refused(store: Store, owner: UserId) -> None:
    d = (
        await store.create_dashboard(owner_id=owner, title="a", document=document("a"))
    ).dashboard_id
    with pytest.raises(BadRequest):
        await store.commit(d, base_version=1, epoch=0, ops=[], document=document("a"))


async def test_bad_json_refused_and_nothing_written(store: Store, owner: UserId) -> None:
    d = (
        await store.create_dashboard(owner_id=owner, title="a", document=document("a"))
    ).dashboard_id
    bad = new_op([{"p": ["settings", "x"], "oi": float("nan")}], seq=2)
    with pytest.raises(BadData):
        await store.commit(d, base_version=1, epoch=0, ops=[retitle("a", "b", 1), bad], document={})
    with pytest.raises(BadData):
        await store.create_dashboard(owner_id=owner, title="z", document={"title": "a\x00"})
    assert (await store.get_head(d)).version == 1


async def test_version_beyond_head_is_not_found(store: Store, owner: UserId) -> None:
    d = (
        await store.create_dashboard(owner_id=owner, title="a", document=document("a"))
    ).dashboard_id
    with pytest.raises(VersionNotFound):
        await store.load(d, version=2)


async def test_checkpoints_every_interval_and_named(store: Store, owner: UserId) -> None:
    d = (
        await store.create_dashboard(owner_id=owner, title="t0", document=document("t0"))
    ).dashboard_id
    batch = [retitle(f"t{i}", f"t{i + 1}", i + 1) for i in range(INTERVAL + 2)]
    await store.commit(d, base_version=1, epoch=0, ops=batch, document=document(f"t{INTERVAL + 2}"))
    assert [c.version for c in await store.list_checkpoints(d)] == [1, INTERVAL + 3]
    # INTERVAL is inside the batch: the checkpoint is written at the batch's head, and loading
    # just below it replays from the one at 1.
    mid = await store.load(d, version=INTERVAL)
    assert mid.document["title"] == f"t{INTERVAL - 1}"
    named = await store.create_checkpoint(d, version=5, label="draft")
    assert (named.version, named.is_major, named.label) == (5, True, "draft")
    renamed = await store.create_checkpoint(d, version=1, label="first")
    assert (renamed.version, renamed.is_major, renamed.label) == (1, True, "first")
    majors = await store.list_checkpoints(d, major_only=True)
    assert [(c.version, c.label) for c in majors] == [(1, "first"), (5, "draft")]
    assert (await store.load(d, version=5)).document["title"] == "t4"
    assert await store.oldest_version(d) == 0


async def test_load_at_time(store: Store, owner: UserId, clock: Clock) -> None:
    before = clock.advance()
    clock.advance()
    d = (
        await store.create_dashboard(owner_id=owner, title="a", document=document("a"))
    ).dashboard_id
    created = clock.now
    clock.advance()
    await store.commit(d, base_version=1, epoch=0, ops=[retitle("a", "b", 1)], document={})
    clock.advance()
    assert (await store.load(d, at=before)).version == 0
    assert (await store.load(d, at=created)).document["title"] == "a"
    assert (await store.load(d, at=clock.now)).document["title"] == "b"


async def test_widgets_projection_follows_the_document(store: Store, owner: UserId) -> None:
    start = document("w", {"w1": widget("CPU")})
    d = (await store.create_dashboard(owner_id=owner, title="w", document=start)).dashboard_id
    assert [r.widget_id for r in await store.widget_rows(d)] == ["w1"]
    add = new_op([{"p": ["widgets", "w2"], "oi": widget("Mem", 4)}], seq=1, target_id="w2")
    move = new_op([{"p": ["widgets", "w1", "position", "x"], "na": 2}], seq=2)
    after = document("w", {"w1": widget("CPU", 2), "w2": widget("Mem", 4)})
    await store.commit(d, base_version=1, epoch=0, ops=[add, move], document=after)
    assert await store.widget_rows(d) == [
        WidgetRow("w1", "chart", "CPU", {"x": 2, "y": 0, "width": 4, "height": 3}, {}),
        WidgetRow("w2", "chart", "Mem", {"x": 4, "y": 0, "width": 4, "height": 3}, {}),
    ]
    remove = new_op([{"p": ["widgets", "w1"], "od": widget("CPU", 2)}], seq=3)
    await store.commit(
        d, base_version=3, epoch=0, ops=[remove], document=document("w", {"w2": widget("Mem", 4)})
    )
    assert [r.widget_id for r in await store.widget_rows(d)] == ["w2"]
    replace = new_op(
        [{"p": ["widgets"], "od": {"w2": widget("Mem", 4)}, "oi": {"w9": widget("Net")}}], seq=4
    )
    await store.commit(
        d, base_version=4, epoch=0, ops=[replace], document=document("w", {"w9": widget("Net")})
    )
    assert [r.widget_id for r in await store.widget_rows(d)] == ["w9"]
