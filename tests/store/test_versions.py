"""Named versions, the ops page, widget history and templates, against real PostgreSQL."""

from __future__ import annotations

import pytest

from server.core.errors import BadRequest, NotFound
from server.core.ids import DashboardId, UserId
from server.store.accounts import Accounts
from server.store.history import VersionUnavailable
from server.store.model import NewOp
from server.store.postgres import PostgresStore
from server.store.templates import Templates
from server.store.timeline import Timeline, decode_cursor
from server.store.versions import VersionNamed, Versions
from tests.store.conftest import document, new_op, new_user, retitle, widget


async def _dashboard(store: PostgresStore, owner: UserId, titles: int) -> DashboardId:
    """A dashboard retitled ``titles`` times: version v has title ``t{v-1}``."""
    head = await store.create_dashboard(owner_id=owner, title="t0", document=document("t0"))
    ops = [retitle(f"t{i}", f"t{i + 1}", i + 1) for i in range(titles)]
    if ops:
        await store.commit(
            head.dashboard_id, base_version=1, epoch=0, ops=ops, document=document(f"t{titles}")
        )
    return head.dashboard_id


async def test_name_list_rename_unname(pg_store: PostgresStore, owner: UserId) -> None:
    d = await _dashboard(pg_store, owner, 14)  # head 15; checkpoints at 1 and 10
    versions = Versions(pg_store)
    assert await versions.list_versions(d) == []
    head = await versions.name_version(d, label=" launch ", user_id=owner)
    past = await versions.name_version(d, label="draft", version=4)
    again = await versions.name_version(d, label="first", version=10)  # names a checkpoint
    assert (head.version, head.label, head.created_by and head.created_by.id) == (
        15,
        "launch",
        owner,
    )
    assert (past.version, past.created_by) == (4, None)
    assert [v.version for v in await versions.list_versions(d)] == [15, 10, 4]
    assert again.label == "first"
    assert (await pg_store.load(d, version=4)).document["title"] == "t3"
    with pytest.raises(VersionNamed):
        await versions.name_version(d, label="again", version=4)
    renamed = await versions.rename_version(d, 4, "second draft")
    assert renamed.label == "second draft"
    await versions.unname_version(d, 4)
    assert [v.version for v in await versions.list_versions(d)] == [15, 10]
    # The checkpoint stays: it is no longer a named version, but still a checkpoint.
    points = await pg_store.list_checkpoints(d)
    assert [c.is_major for c in points if c.version == 4] == [False]
    with pytest.raises(NotFound):
        await versions.unname_version(d, 4)
    with pytest.raises(NotFound):
        await versions.rename_version(d, 5, "x")
    with pytest.raises(NotFound):
        await versions.name_version(d, label="future", version=99)
    with pytest.raises(BadRequest):
        await versions.name_version(d, label="   ")


async def test_ops_page_walks_forward_with_who_and_what(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    author = await new_user(accounts)
    head = await pg_store.create_dashboard(owner_id=author, title="a", document=document("a"))
    d = head.dashboard_id
    add = NewOp("c", 1, author, 1, [{"p": ["widgets", "w1"], "oi": widget()},
                                    {"p": ["layout", 0], "li": "w1"}],
                [], "addWidget", "w1")  # fmt: skip
    ops = [add, *(retitle(f"t{i}", f"t{i + 1}", i + 2) for i in range(4))]
    await pg_store.commit(d, base_version=1, epoch=0, ops=ops, document=document("t4"))
    timeline = Timeline(pg_store.pool)
    first = await timeline.ops_since(d, 0, limit=2)
    assert [o.version for o in first.items] == [0, 1] and first.next_since == 2
    assert first.items[0].operation_type == "create"
    assert first.items[0].op == [{"p": [], "oi": document("a")}]
    assert (first.items[1].target_id, first.items[1].user) == ("w1", first.items[1].user)
    assert first.items[1].user is not None and first.items[1].user.id == author
    rest = await timeline.ops_since(d, 2, limit=100)
    assert [o.version for o in rest.items] == [2, 3, 4, 5] and rest.next_since is None
    assert (await timeline.ops_since(d, 6)).items == ()
    with pytest.raises(BadRequest):
        await timeline.ops_since(d, 7)
    with pytest.raises(BadRequest):
        await timeline.ops_since(d, 0, limit=101)


async def test_widget_history_pages_newest_first(pg_store: PostgresStore, owner: UserId) -> None:
    head = await pg_store.create_dashboard(
        owner_id=owner, title="a", document=document("a", {"w1": widget(), "w2": widget()})
    )
    d = head.dashboard_id
    ops = []
    for i in range(7):
        wid = "w1" if i % 3 else "w2"
        ops.append(new_op([{"p": ["widgets", wid, "position", "x"], "od": 0, "oi": 0}],
                          seq=i + 1, target_id=wid))  # fmt: skip
    await pg_store.commit(d, base_version=1, epoch=0, ops=ops, document=document("a"))
    timeline = Timeline(pg_store.pool)
    page = await timeline.widget_history(d, "w1", limit=3)
    assert [c.version for c in page.items] == [6, 5, 3]
    assert page.next_cursor is not None and decode_cursor(page.next_cursor) == 3
    tail = await timeline.widget_history(d, "w1", cursor=page.next_cursor, limit=3)
    # The create (version 0) made both widgets: it is in both histories.
    assert [c.version for c in tail.items] == [2, 0] and tail.next_cursor is None
    assert [c.version for c in (await timeline.widget_history(d, "w2")).items] == [7, 4, 1, 0]
    with pytest.raises(BadRequest):
        await timeline.widget_history(d, "w1", cursor="not-a-cursor!")


async def test_ops_below_the_retained_log_are_unavailable(
    pg_store: PostgresStore, owner: UserId
) -> None:
    d = await _dashboard(pg_store, owner, 3)
    await pg_store.pool.execute("DELETE FROM operations WHERE dashboard_id = $1 AND version < 2", d)
    with pytest.raises(VersionUnavailable):
        await Timeline(pg_store.pool).ops_since(d, 1)
    assert [o.version for o in (await Timeline(pg_store.pool).ops_since(d, 2)).items] == [2, 3]


async def test_templates_public_and_own_by_category(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    ann, bob = await new_user(accounts), await new_user(accounts)
    templates = Templates(pg_store.pool.acquire)
    doc = document("T", {"w1": widget()})
    mine = await templates.create_template(owner_id=ann, name="Mine", document=doc,
                                           category="ops")  # fmt: skip
    shared = await templates.create_template(owner_id=bob, name="Shared", document=doc,
                                             category="ops", public=True)  # fmt: skip
    hidden = await templates.create_template(owner_id=bob, name="Hidden", document=doc,
                                             category="ops")  # fmt: skip
    other = await templates.create_template(owner_id=bob, name="Sales", document=doc,
                                            category="sales", public=True)  # fmt: skip
    seen = {t.id for t in (await templates.list_templates(ann, category="ops")).items}
    assert mine.id in seen and shared.id in seen
    assert hidden.id not in seen and other.id not in seen
    assert await templates.template_document(shared.id, ann) == doc
    with pytest.raises(NotFound):
        await templates.template_document(hidden.id, ann)
    everything = await templates.list_templates(bob, limit=1)
    assert len(everything.items) == 1 and everything.next_cursor is not None
    with pytest.raises(BadRequest):
        await templates.create_template(owner_id=ann, name=" ", document=doc)
