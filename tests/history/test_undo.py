"""Per-user undo and redo through the real sequencer (PostgreSQL, Redis): an undo reverts only
the caller's own op, past everything others did since; redo is dropped after a new own edit;
undo of something since deleted is a clear no-op."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.core.ids import DashboardId, UserId
from server.core.submission import SubmitRecord
from server.history.undo import redo_last, undo_last
from server.sequencer.hub import RedisHub
from server.store.accounts import Accounts
from server.store.postgres import PostgresStore
from tests.store.conftest import document, new_user, widget

_seq = itertools.count(1)
WIDGETS = ("w1", "w2", "w3")


async def dop(hub: RedisHub, store: PostgresStore, d: DashboardId, user: UserId,
              op: dict[str, Any]) -> int:  # fmt: skip
    head = await store.get_head(d)
    committed = await hub.submit(SubmitRecord(dashboard_id=d, src=f"conn-{user}", seq=next(_seq),
                                              version=head.version, user_id=user, dop=[op]))  # fmt: skip
    return committed.version


def setx(wid: str, x: int) -> dict[str, Any]:
    return {"type": "update", "targetId": wid, "path": ["position", "x"], "value": x}


def settitle(wid: str, title: str) -> dict[str, Any]:
    return {"type": "update", "targetId": wid, "path": ["title"], "value": title}


async def board(store: PostgresStore, owner: UserId) -> DashboardId:
    doc = document("B", {w: widget(w.upper(), i) for i, w in enumerate(WIDGETS)})
    return (await store.create_dashboard(owner_id=owner, title="B", document=doc)).dashboard_id


async def head_doc(store: PostgresStore, d: DashboardId) -> Any:
    return (await store.load(d)).document


async def test_undo_leaves_the_other_users_edit_of_the_same_widget(
    pg_store: PostgresStore, hub: RedisHub, accounts: Accounts
) -> None:
    a, b = await new_user(accounts), await new_user(accounts)
    d = await board(pg_store, a)
    await dop(hub, pg_store, d, a, setx("w1", 40))
    await dop(hub, pg_store, d, b, settitle("w1", "B's title"))
    await dop(hub, pg_store, d, b, setx("w2", 7))
    result = await undo_last(store=pg_store, hub=hub, dashboard_id=d, user_id=a)
    assert result.applied and result.version == (await pg_store.get_head(d)).version
    doc = await head_doc(pg_store, d)
    assert doc["widgets"]["w1"]["position"]["x"] == 0
    assert doc["widgets"]["w1"]["title"] == "B's title"
    assert doc["widgets"]["w2"]["position"]["x"] == 7
    # Nothing else of A's to undo: a clear no-op.
    again = await undo_last(store=pg_store, hub=hub, dashboard_id=d, user_id=a)
    assert (again.applied, again.version, again.reason) == (False, None, "nothing_to_undo")
    # Redo puts A's move back; an undo of the redo takes it away again.
    redone = await redo_last(store=pg_store, hub=hub, dashboard_id=d, user_id=a)
    assert redone.applied
    assert (await head_doc(pg_store, d))["widgets"]["w1"]["position"]["x"] == 40
    assert (await undo_last(store=pg_store, hub=hub, dashboard_id=d, user_id=a)).applied
    assert (await head_doc(pg_store, d))["widgets"]["w1"]["position"]["x"] == 0


async def test_redo_is_dropped_after_an_own_edit(
    pg_store: PostgresStore, hub: RedisHub, accounts: Accounts
) -> None:
    a = await new_user(accounts)
    d = await board(pg_store, a)
    await dop(hub, pg_store, d, a, setx("w1", 5))
    assert (await undo_last(store=pg_store, hub=hub, dashboard_id=d, user_id=a)).applied
    await dop(hub, pg_store, d, a, setx("w2", 9))
    result = await redo_last(store=pg_store, hub=hub, dashboard_id=d, user_id=a)
    assert (result.applied, result.reason) == (False, "nothing_to_redo")
    assert (await head_doc(pg_store, d))["widgets"]["w1"]["position"]["x"] == 0


async def test_undo_of_a_deleted_target_is_a_clear_no_op_then_goes_past_it(
    pg_store: PostgresStore, hub: RedisHub, accounts: Accounts
) -> None:
    a, b = await new_user(accounts), await new_user(accounts)
    d = await board(pg_store, a)
    await dop(hub, pg_store, d, a, setx("w2", 3))
    await dop(hub, pg_store, d, a, settitle("w1", "mine"))
    await dop(hub, pg_store, d, b, {"type": "removeWidget", "targetId": "w1"})
    before = (await pg_store.get_head(d)).version
    result = await undo_last(store=pg_store, hub=hub, dashboard_id=d, user_id=a)
    assert (result.applied, result.version, result.reason) == (False, None, "target_deleted")
    assert (await pg_store.get_head(d)).version == before  # nothing was written to the log
    assert (await undo_last(store=pg_store, hub=hub, dashboard_id=d, user_id=a)).applied
    doc = await head_doc(pg_store, d)
    assert "w1" not in doc["widgets"] and doc["widgets"]["w2"]["position"]["x"] == 1


# One step of a random history: (user 0 = A / 1 = B, widget, kind 0 x / 1 title / 2 remove, value)
steps = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from(WIDGETS), st.integers(0, 2), st.integers(0, 99)),
    min_size=1,
    max_size=8,
)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(history=steps)
async def test_undo_reverts_only_the_callers_op_over_random_histories(
    pg_store: PostgresStore, hub: RedisHub, accounts: Accounts, history: list[Any]
) -> None:
    a, b = await new_user(accounts), await new_user(accounts)
    d = await board(pg_store, a)
    # A plain model of the fields: (widget, field) -> value; a removed widget has none.
    model: dict[tuple[str, str], Any] = {}
    for w in WIDGETS:
        model[(w, "x")] = WIDGETS.index(w)
        model[(w, "title")] = w.upper()
    alive = set(WIDGETS)
    last_a: tuple[str, str, Any] | None = None  # A's newest op: widget, field, value before
    later_b: dict[tuple[str, str], Any] = {}
    removed_after: set[str] = set()
    for user, wid, kind, value in history:
        if wid not in alive or (user == 0 and kind == 2):
            continue
        who = a if user == 0 else b
        if kind == 2:
            await dop(hub, pg_store, d, who, {"type": "removeWidget", "targetId": wid})
            alive.discard(wid)
            removed_after.add(wid)
            continue
        field = "x" if kind == 0 else "title"
        new: Any = value if kind == 0 else f"t{value}"
        await dop(hub, pg_store, d, who, setx(wid, new) if kind == 0 else settitle(wid, new))
        if user == 0:
            last_a = (wid, field, model[(wid, field)])
            later_b, removed_after = {}, set()
        else:
            later_b[(wid, field)] = new
        model[(wid, field)] = new
    result = await undo_last(store=pg_store, hub=hub, dashboard_id=d, user_id=a)
    doc = await head_doc(pg_store, d)
    if last_a is None:
        assert result.reason == "nothing_to_undo"
        return
    wid, field, before = last_a
    if wid in removed_after:
        assert (result.applied, result.reason) == (False, "target_deleted")
    elif (wid, field) in later_b:
        assert (result.applied, result.reason) == (False, "superseded")
    else:
        assert result.applied, result
        model[(wid, field)] = before
    # Every field: B's later edits are in place, A's undone one is back, others as they were.
    for (w, f), expected in model.items():
        if w in alive:
            widget_now = doc["widgets"][w]
            actual = widget_now["position"]["x"] if f == "x" else widget_now["title"]
            assert actual == expected, (w, f)
    assert set(doc["widgets"]) == alive
