"""operations.target_ids: every widget an op touches, written at commit, and the migration's
SQL twin of widgets_touched (which filled the rows already in the log) giving the same
answers (sql/0008_widget_targets.sql)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ot.dashboard.classify import widgets_touched
from ot.jsvalue import MAX_SAFE_INTEGER
from server.core.ids import DashboardId, UserId
from server.store.history import create_record
from server.store.migrate import default_sql_dir, prepare
from server.store.pool import open_pool
from server.store.postgres import PostgresStore
from server.store.timeline import Timeline
from tests.store.conftest import new_op, widget

ids = st.sampled_from(["w1", "w2", "é", "w 3", "a\u20ac"])
# Values an op may hold: the store keeps JSON numbers a browser reads back the same.
values = st.one_of(st.none(), st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER), st.text(max_size=3))
widget_maps = st.dictionaries(ids, st.just({"title": "t"}), max_size=3)
components = st.one_of(
    st.builds(lambda w, v: {"p": ["widgets", w, "title"], "oi": v}, ids, values),
    st.builds(lambda w: {"p": ["widgets", w], "od": {"x": 1}}, ids),
    st.builds(lambda w, k: {"p": ["layout", 0], k: w}, ids, st.sampled_from(["li", "ld"])),
    st.builds(lambda: {"p": ["layout", 0], "lm": 1}),
    st.builds(lambda m, k: {"p": ["widgets"], k: m}, widget_maps, st.sampled_from(["oi", "od"])),
    st.builds(lambda m: {"p": [], "oi": {"widgets": m}, "od": {"widgets": {}}}, widget_maps),
    st.builds(lambda v: {"p": ["settings", "k"], "oi": v}, values),
    st.builds(lambda w: {"p": ["widgets", w, "body"], "t": "text-unicode", "o": ["x"]}, ids),
)
stored_ops = st.one_of(
    st.lists(components, max_size=4),
    st.builds(lambda m: create_record({"widgets": m}), widget_maps),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(stored_ops, min_size=1, max_size=8))
async def test_the_migrations_sql_finds_the_same_widgets(
    pg_store: PostgresStore, ops: list[Any]
) -> None:
    rows = await pg_store.pool.fetch(
        "SELECT tandem_widgets_touched(o) AS ids FROM jsonb_array_elements($1::jsonb)"
        " WITH ORDINALITY AS u(o, n) ORDER BY n",
        ops,
    )
    expected = [
        widgets_touched([{"p": [], "oi": op["create"]["data"]}] if isinstance(op, dict) else op)
        for op in ops
    ]
    assert [tuple(r["ids"]) for r in rows] == expected


async def test_every_commit_records_the_widgets_its_op_touched(
    pg_store: PostgresStore, owner: UserId
) -> None:
    document = {"title": "", "widgets": {"a": widget("A"), "b": widget("B")}, "layout": ["a", "b"]}
    d = (await pg_store.create_dashboard(owner_id=owner, title="", document=document)).dashboard_id
    epoch = await pg_store.acquire_epoch(d)
    ops = [
        new_op([{"p": ["widgets", "a", "title"], "od": "A", "oi": "A2"}], seq=1),
        new_op(
            [
                {"p": ["widgets", "a", "title"], "od": "A2", "oi": "A3"},
                {"p": ["widgets", "b", "title"], "od": "B", "oi": "B2"},
            ],
            seq=2,
        ),
        new_op([{"p": ["title"], "oi": "T"}], seq=3),
    ]
    await pg_store.commit(d, base_version=1, epoch=epoch, ops=ops, document=document)
    rows = await pg_store.pool.fetch(
        "SELECT version, target_ids FROM operations WHERE dashboard_id = $1 ORDER BY version", d
    )
    assert [(r["version"], r["target_ids"]) for r in rows] == [
        (0, ["a", "b"]), (1, ["a"]), (2, ["a", "b"]), (3, []),
    ]  # fmt: skip


async def test_the_migration_fills_the_ops_already_in_the_log(
    empty_database: str, tmp_path: Path
) -> None:
    for path in sorted(default_sql_dir().glob("*.sql")):
        if path.name < "0008":
            shutil.copy(path, tmp_path)
    await prepare(empty_database, sql_dir=tmp_path)  # a database from before target_ids
    user, d = uuid4(), uuid4()
    doc = {"widgets": {"w1": widget(), "w2": widget()}, "layout": ["w1", "w2"]}
    restore = [{"p": ["widgets", "w1", "title"], "od": "CPU", "oi": "A"},
               {"p": ["widgets", "w2", "title"], "od": "CPU", "oi": "B"}]  # fmt: skip
    rows = [
        (0, "create", None, create_record(doc)),
        (1, "update", "w1", [{"p": ["widgets", "w1", "title"], "od": "CPU", "oi": "X"}]),
        (2, "update", None, restore),
        (3, "update", None, [{"p": ["title"], "oi": "T"}]),
    ]
    conn = await asyncpg.connect(empty_database)
    try:
        await conn.execute("INSERT INTO users (id, email, username) VALUES ($1, 'a@x', 'a')", user)
        await conn.execute("INSERT INTO dashboards (id, owner_id, head_version)"
                           " VALUES ($1, $2, 4)", d, user)  # fmt: skip
        for version, kind, target, op in rows:
            await conn.execute(
                "INSERT INTO operations (dashboard_id, user_id, operation_type, target_id,"
                " operation, version, client_version, server_version, src, seq)"
                " VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $6, $6, 'c', $6)",
                d, user, kind, target, orjson.dumps(op).decode(), version,
            )  # fmt: skip
    finally:
        await conn.close()
    report = await prepare(empty_database)
    assert [m.version for m in report.migrations.applied][:1] == [8]  # type: ignore[union-attr]
    pool = await open_pool(empty_database)
    try:
        filled = await pool.fetch(
            "SELECT version, target_ids FROM operations WHERE dashboard_id = $1 ORDER BY version",
            d,
        )
        assert [r["target_ids"] for r in filled] == [["w1", "w2"], ["w1"], ["w1", "w2"], []]
        timeline = Timeline(pool)
        w2 = await timeline.widget_history(DashboardId(d), "w2")
        assert [c.version for c in w2.items] == [2, 0]
        w1 = await timeline.widget_history(DashboardId(d), "w1", limit=2)
        assert [c.version for c in w1.items] == [2, 1] and w1.next_cursor is not None
    finally:
        await pool.close()
