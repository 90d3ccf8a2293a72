"""Row-level security: an API transaction that forgets its WHERE still sees only the acting
user's rows (sql/0002_api.sql, server/api/principal.py)."""

from __future__ import annotations

from uuid import UUID

from server.api.principal import Principal, acting
from tests.api.conftest import Api


async def test_unfiltered_queries_return_only_the_actors_rows(api: Api) -> None:
    ann, bob = await api.account(), await api.account()
    mine = (await api.dashboard(ann, "ann's"))["id"]
    shared = (await api.dashboard(bob, "bob's, shared"))["id"]
    private = (await api.dashboard(bob, "bob's, private"))["id"]
    await api.share(bob, shared, ann, "viewer")
    r = await api.http.post(
        f"/api/dashboards/{private}/share-links", json={"role": "viewer"}, headers=bob.auth
    )
    assert r.status_code == 201

    pool = api.services.api.pool
    # Without row-level security (the connecting role) every row is there.
    everything = {str(r["id"]) for r in await pool.fetch("SELECT id FROM dashboards")}
    assert {mine, shared, private} <= everything

    ann_principal = Principal(UUID(ann.id), UUID(int=0), "bearer", b"")
    async with acting(pool, ann_principal) as conn:
        # Deliberately unfiltered: no WHERE at all.
        seen = {str(r["id"]) for r in await conn.fetch("SELECT id FROM dashboards")}
        links = await conn.fetch("SELECT dashboard_id FROM share_links")
        members = await conn.fetch("SELECT dashboard_id FROM dashboard_collaborators")
        ops = await conn.fetch("SELECT DISTINCT dashboard_id FROM operations")
        checkpoints = await conn.fetch("SELECT DISTINCT dashboard_id FROM checkpoints")
        audit = await conn.fetch("SELECT DISTINCT dashboard_id FROM audit_logs")
    assert seen == {mine, shared}
    visible = {UUID(mine), UUID(shared)}
    assert links == []  # the only link is on bob's private dashboard
    for rows in (members, ops, checkpoints, audit):
        assert {r["dashboard_id"] for r in rows if r["dashboard_id"] is not None} <= visible

    async with acting(pool, None) as conn:
        assert await conn.fetch("SELECT id FROM dashboards") == []
