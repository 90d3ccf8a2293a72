"""Row-level security: an API transaction that forgets its WHERE still sees only the acting
user's rows (sql/0002_api.sql, server/api/principal.py)."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg
import pytest

from server.api.principal import Principal, acting
from tests.api.conftest import Account, Api


def _principal(user: Account) -> Principal:
    return Principal(UUID(user.id), UUID(int=0), "bearer", b"")


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


async def _template(api: Api, owner: Account, dashboard: str, public: bool) -> UUID:
    r = await api.http.post(
        "/api/templates",
        json={"dashboard_id": dashboard, "name": "t", "public": public},
        headers=owner.auth,
    )
    assert r.status_code == 201, r.text
    return UUID(r.json()["id"])


async def test_the_later_tables_return_only_the_actors_rows(api: Api) -> None:
    """Templates, undo skips, idempotency keys and sync removals (sql/0007)."""
    ann, bob, cat = await api.account(), await api.account(), await api.account()
    shared = (await api.dashboard(bob, "shared"))["id"]
    gone = (await api.dashboard(bob, "taken back"))["id"]
    mine = (await api.dashboard(ann, "ann's"))["id"]
    for user in (ann, cat):
        await api.share(bob, gone, user, "viewer")
    await api.share(bob, shared, ann, "editor")
    # Removed through the API: the triggers write the removals for users other than the actor.
    for user in (ann, cat):
        r = await api.http.delete(f"/api/dashboards/{gone}/collaborators/{user.id}",
                                  headers=bob.auth)  # fmt: skip
        assert r.status_code == 204, r.text
    bob_public = await _template(api, bob, shared, public=True)
    bob_private = await _template(api, bob, shared, public=False)
    ann_private = await _template(api, ann, mine, public=False)
    for user in (ann, bob):
        r = await api.http.post("/api/dashboards", json={"title": "keyed"},
                                headers={**user.auth, "idempotency-key": uuid4().hex})  # fmt: skip
        assert r.status_code == 201, r.text
    pool = api.services.api.pool
    for user in (ann, bob):
        await pool.execute("INSERT INTO undo_skips (dashboard_id, user_id, version)"
                           " VALUES ($1, $2, 1)", UUID(shared), UUID(user.id))  # fmt: skip

    owners = {r["user_id"] for r in await pool.fetch("SELECT user_id FROM idempotency_keys")}
    assert {UUID(ann.id), UUID(bob.id)} <= owners  # the connecting role sees everyone's

    async with acting(pool, _principal(ann)) as conn:
        # Deliberately unfiltered: no WHERE at all.
        templates = {r["id"] for r in await conn.fetch("SELECT id FROM dashboard_templates")}
        skips = await conn.fetch("SELECT user_id FROM undo_skips")
        keys = await conn.fetch("SELECT user_id FROM idempotency_keys")
        removals = await conn.fetch("SELECT user_id, dashboard_id FROM sync_removals")
        # Nor can a forgotten WHERE change what is not the actor's.
        await conn.execute("UPDATE dashboard_templates SET usage_count = 7")
        wiped = await conn.execute("DELETE FROM idempotency_keys")
    assert {bob_public, ann_private} <= templates and bob_private not in templates
    assert all(r["user_id"] == UUID(ann.id) for r in skips) and len(skips) == 1
    assert all(r["user_id"] == UUID(ann.id) for r in keys) and keys
    assert [(r["user_id"], str(r["dashboard_id"])) for r in removals] == [(UUID(ann.id), gone)]
    counts = dict(
        await pool.fetch(
            "SELECT id, usage_count FROM dashboard_templates WHERE id = ANY($1)",
            [bob_public, bob_private, ann_private],
        )
    )
    assert counts == {bob_public: 7, bob_private: 0, ann_private: 7}
    assert int(wiped.split()[-1]) == len(keys)
    assert {UUID(bob.id)} <= {
        r["user_id"] for r in await pool.fetch("SELECT user_id FROM idempotency_keys")
    }
    cat_removals = await pool.fetch("SELECT 1 FROM sync_removals WHERE user_id = $1", UUID(cat.id))
    assert len(cat_removals) == 1


async def test_secrets_and_partitions_are_out_of_the_apis_reach(api: Api) -> None:
    """users and sessions keep their rows (names of collaborators, owners, authors) but not
    their secret columns; a partition cannot be read by its own name, around its parent's
    policies."""
    ann = await api.account()
    pool = api.services.api.pool
    secrets = [
        "SELECT password_hash FROM users",
        "SELECT email FROM users",
        "SELECT token_hash FROM sessions",
        "SELECT * FROM schema_migrations",
        "UPDATE users SET display_name = ''",
    ]
    partitions = [str(r["name"]) for r in await pool.fetch(
        "SELECT inhrelid::regclass::text AS name FROM pg_inherits"
        " WHERE inhparent IN ('operations'::regclass, 'audit_logs'::regclass)")]  # fmt: skip
    assert any(p.startswith("operations_") and p != "operations_default" for p in partitions)
    for query in secrets + [f"SELECT * FROM {p}" for p in partitions]:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with acting(pool, _principal(ann)) as conn:
                await conn.fetch(query)
    async with acting(pool, _principal(ann)) as conn:
        names = await conn.fetch("SELECT id, username FROM users")
        ops = await conn.fetchval("SELECT count(*) FROM operations")
    assert UUID(ann.id) in {r["id"] for r in names}
    assert ops is not None
