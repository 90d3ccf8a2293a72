"""Restore as one live op through the sequencer, and diff(V1, V2) over random histories."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ot import json0
from server.core.settings import Settings
from server.history.compare import compare
from server.history.restore import restore
from server.history.undo import undo_last
from server.sequencer.hub import RedisHub
from server.store.accounts import Accounts
from server.store.audit import AuditLog
from server.store.history import VersionNotFound
from server.store.postgres import PostgresStore
from server.store.verify import verify_dashboard
from tests.history.test_undo import WIDGETS, board, dop, head_doc, settitle, setx
from tests.store.conftest import new_user, widget


async def test_restore_is_one_new_op_audited_and_undoable(
    pg_store: PostgresStore, hub: RedisHub, accounts: Accounts, audit: AuditLog
) -> None:
    a, b = await new_user(accounts), await new_user(accounts)
    d = await board(pg_store, a)
    await dop(hub, pg_store, d, a, setx("w1", 11))
    v = (await pg_store.get_head(d)).version
    wanted = await head_doc(pg_store, d)
    await dop(hub, pg_store, d, b, {"type": "removeWidget", "targetId": "w2"})
    await dop(hub, pg_store, d, b, {"type": "addWidget", "targetId": "w9", "value": widget("N")})
    await dop(hub, pg_store, d, b, settitle("w1", "later"))
    before = await head_doc(pg_store, d)
    head = (await pg_store.get_head(d)).version
    done = await restore(store=pg_store, hub=hub, audit=audit, dashboard_id=d, version=v,
                         user_id=a)  # fmt: skip
    assert (done.version, done.restored_from) == (head + 1, v)
    assert await head_doc(pg_store, d) == wanted
    assert (await verify_dashboard(pg_store.pool, d)).ok  # its checkpoint agrees with the log
    ops = await pg_store.ops_between(d, head)
    assert len(ops) == 1 and ops[0].user_id == a  # one op, by the restorer
    entries = await audit.list_audit(dashboard_id=d)
    assert [e.details for e in entries if e.action == "dashboard.restored"] == [
        {"version": head + 1, "restored_from": v, "components": len(ops[0].op)}
    ]
    # The restore is A's newest op: undoing it brings back what was there before it.
    assert (await undo_last(store=pg_store, hub=hub, dashboard_id=d, user_id=a)).applied
    assert await head_doc(pg_store, d) == before


@pytest.mark.parametrize("named", [True, False])
async def test_the_restored_head_is_checkpointed(
    pg_store: PostgresStore, hub: RedisHub, accounts: Accounts, audit: AuditLog, named: bool
) -> None:
    # Loading the head after a restore reads a checkpoint, not a replay of the restore's op:
    # copied in PostgreSQL from a named version's own, else written from the document.
    a = await new_user(accounts)
    d = await board(pg_store, a)
    await dop(hub, pg_store, d, a, setx("w1", 11))
    v = (await pg_store.get_head(d)).version
    wanted = await head_doc(pg_store, d)
    if named:
        await pg_store.create_checkpoint(d, version=v, label="before")
    await dop(hub, pg_store, d, a, settitle("w1", "later"))
    done = await restore(store=pg_store, hub=hub, audit=audit, dashboard_id=d, version=v,
                         user_id=a)  # fmt: skip
    points = {c.version: c for c in await pg_store.list_checkpoints(d)}
    assert done.version in points and not points[done.version].is_major
    row = await pg_store.pool.fetchrow(
        "SELECT document, created_by FROM checkpoints WHERE dashboard_id = $1 AND version = $2",
        d,
        done.version,
    )
    assert (row["document"], row["created_by"]) == (wanted, a)
    assert (await verify_dashboard(pg_store.pool, d)).ok


history = st.lists(
    st.tuples(st.sampled_from(WIDGETS), st.integers(0, 3), st.integers(0, 50)),
    min_size=2,
    max_size=10,
)


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(steps=history, data=st.data())
async def test_diff_of_two_versions_turns_one_into_the_other(
    pg_store: PostgresStore, hub: RedisHub, accounts: Accounts, steps: list[Any], data: Any
) -> None:
    a = await new_user(accounts)
    d = await board(pg_store, a)
    for wid, kind, value in steps:
        doc = await head_doc(pg_store, d)
        if kind == 3 and wid in doc["widgets"]:
            op: dict[str, Any] = {"type": "removeWidget", "targetId": wid}
        elif wid not in doc["widgets"]:
            op = {"type": "addWidget", "targetId": wid, "value": widget(f"n{value}", value)}
        elif kind == 0:
            op = setx(wid, value)
        elif kind == 1:
            op = {"type": "insert", "targetId": wid, "path": ["title"], "position": 0,
                  "value": f"{value}"}  # fmt: skip
        else:
            op = {"type": "update", "targetId": wid, "path": ["config", "k"], "value": value}
        await dop(hub, pg_store, d, a, op)
    head = (await pg_store.get_head(d)).version
    v1 = data.draw(st.integers(1, head))
    v2 = data.draw(st.integers(1, head))
    s1 = (await pg_store.load(d, version=v1)).document
    s2 = (await pg_store.load(d, version=v2)).document
    found = await compare(pg_store, d, v1, v2)
    assert json0.apply(s1, found.op) == s2
    changed = {w.widget_id for w in found.summary.widgets}
    assert changed == {w for w in WIDGETS if s1["widgets"].get(w) != s2["widgets"].get(w)}
    for entry in found.summary.widgets:
        assert [u["id"] for u in entry.users] == [str(a)]


async def test_a_diff_to_a_version_past_the_head_is_not_found(
    pg_store: PostgresStore, accounts: Accounts
) -> None:
    a = await new_user(accounts)
    d = await board(pg_store, a)
    head = (await pg_store.get_head(d)).version
    running = asyncio.all_tasks()  # the fixtures' own, which go on
    for versions in ((head, head + 5), (head + 5, head)):
        with pytest.raises(VersionNotFound):
            await compare(pg_store, d, *versions)
    # The other load and the authors query were cancelled or done: nothing was left running.
    assert asyncio.all_tasks() - running == set()


async def test_a_restore_goes_in_against_the_head_its_process_holds(
    pg_store: PostgresStore, accounts: Accounts, audit: AuditLog, redis_url: str,
    redis_prefix: str,
) -> None:  # fmt: skip
    # Holders linger long enough that the dashboard's lock is held when the restore begins.
    settings = Settings(redis_prefix=f"{redis_prefix}{secrets.token_hex(4)}:", hold_linger=30)
    hub = RedisHub(redis=redis_url, store=pg_store, settings=settings, gateway_id="gw-held")
    await hub.start()
    try:
        a = await new_user(accounts)
        d = await board(pg_store, a)
        await dop(hub, pg_store, d, a, setx("w1", 11))
        v = (await pg_store.get_head(d)).version
        wanted = await head_doc(pg_store, d)
        await dop(hub, pg_store, d, a, settitle("w1", "later"))
        await dop(hub, pg_store, d, a, setx("w2", 7))
        head = (await pg_store.get_head(d)).version
        held = hub.held_snapshot(d)
        assert held is not None and held.version == head
        done = await restore(store=pg_store, hub=hub, audit=audit, dashboard_id=d, version=v,
                             user_id=a)  # fmt: skip
        assert done.version == head + 1
        assert await head_doc(pg_store, d) == wanted
        assert (await verify_dashboard(pg_store.pool, d)).ok
    finally:
        await hub.close()
