"""The caches every process shares in Redis (roles, dashboard metadata, sessions, profiles), over
HTTP against the app on real PostgreSQL and Redis.

A change made directly in PostgreSQL is not announced: the cache keeps answering what it had
until the entry's TTL, which shows the request did not read PostgreSQL. A change made through
Tandem (or announced) is seen by the very next request.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
import redis.asyncio as aioredis

from server.access.cache import MISS, SharedCache, forget
from server.access.changes import AccessChange, announce
from server.access.roles import Roles
from server.core.ids import DashboardId, UserId
from server.redis.keys import Keys
from server.redis.resp import Resp
from tests.api.conftest import Api, api_client, api_settings

TTL = 1.5


@pytest.fixture(scope="module")
async def cached(database_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Api]:
    settings = api_settings(database_url, redis_url, f"{redis_prefix}caches:", cache_seconds=TTL)
    async with api_client(settings) as client:
        yield client


@pytest.fixture
async def sql(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def _role(api: Api, dashboard: str, auth: dict[str, str]) -> Any:
    r = await api.http.get(f"/api/dashboards/{dashboard}", headers=auth)
    return r.json()["role"] if r.status_code == 200 else r.status_code


async def _set_role(sql: asyncpg.Connection, dashboard: str, user: str, role: str) -> None:
    """Behind Tandem's back: nothing is announced."""
    await sql.execute(
        "UPDATE dashboard_collaborators SET role = $3 WHERE dashboard_id = $1 AND user_id = $2",
        UUID(dashboard),
        UUID(user),
        role,
    )


async def test_a_cached_role_is_served_until_its_ttl_and_an_announced_change_at_once(
    cached: Api, sql: asyncpg.Connection
) -> None:
    owner, bob = await cached.account(), await cached.account()
    dashboard = (await cached.dashboard(owner))["id"]
    await cached.share(owner, dashboard, bob, "editor")
    assert await _role(cached, dashboard, bob.auth) == "editor"

    # Changed behind Tandem's back: the shared entry still says editor, for the API...
    await _set_role(sql, dashboard, bob.id, "viewer")
    assert await _role(cached, dashboard, bob.auth) == "editor"
    # ... and for the socket's role lookup (a fresh per-process layer over the same entry).
    running = cached.services
    roles = Roles(running.access, shared=running.api.cache)
    assert await roles.role(DashboardId(UUID(dashboard)), UserId(UUID(bob.id))) == "editor"

    # After the TTL PostgreSQL is read again.
    await asyncio.sleep(TTL + 0.3)
    assert await _role(cached, dashboard, bob.auth) == "viewer"

    # Announced, a change takes effect with the very next request.
    await _set_role(sql, dashboard, bob.id, "admin")
    assert await _role(cached, dashboard, bob.auth) == "viewer"
    change = AccessChange("role", bob.id, DashboardId(UUID(dashboard)))
    await announce(running.redis, running.api.keys, change)
    assert await _role(cached, dashboard, bob.auth) == "admin"

    # Through the API: removed, bob sees nothing at once.
    r = await cached.http.delete(
        f"/api/dashboards/{dashboard}/collaborators/{bob.id}", headers=owner.auth
    )
    assert r.status_code == 204
    assert await _role(cached, dashboard, bob.auth) == 404


async def test_metadata_is_cached_and_follows_patches_and_commits_at_once(
    cached: Api, sql: asyncpg.Connection
) -> None:
    owner = await cached.account()
    made = await cached.dashboard(owner, "Before")
    dashboard = made["id"]
    url = f"/api/dashboards/{dashboard}"
    assert (await cached.http.get(url, headers=owner.auth)).json()["is_public"] is False

    await sql.execute("UPDATE dashboards SET is_public = true WHERE id = $1", UUID(dashboard))
    assert (await cached.http.get(url, headers=owner.auth)).json()["is_public"] is False

    # A title is an op through the sequencer: its commit forgets the metadata.
    r = await cached.http.patch(url, json={"title": "After"}, headers=owner.auth)
    assert r.status_code == 200 and r.json()["title"] == "After"
    got = (await cached.http.get(url, headers=owner.auth)).json()
    assert got["title"] == "After" and got["head_version"] == made["head_version"] + 1
    assert got["is_public"] is True  # read again with the commit
    listed = await cached.http.get("/api/dashboards", headers=owner.auth)
    assert (
        got["updated_at"]
        == next(d for d in listed.json()["items"] if d["id"] == dashboard)["updated_at"]
    )

    r = await cached.http.patch(url, json={"archived": True, "public": False}, headers=owner.auth)
    assert r.status_code == 200
    got = (await cached.http.get(url, headers=owner.auth)).json()
    assert got["is_archived"] is True and got["is_public"] is False


async def test_a_sync_is_authorised_by_the_cached_role_while_commits_forget_the_metadata(
    cached: Api, sql: asyncpg.Connection
) -> None:
    owner, bob = await cached.account(), await cached.account()
    made = await cached.dashboard(owner)
    dashboard, version = made["id"], made["head_version"]
    await cached.share(owner, dashboard, bob, "editor")

    async def sync(title: str) -> Any:
        nonlocal version
        body = {"base_version": version, "changes": {"fields": {"title": title}}}
        r = await cached.http.post(f"/api/dashboards/{dashboard}/sync", json=body,
                                   headers=bob.auth)  # fmt: skip
        if r.status_code != 200:
            return r.status_code
        version = r.json()["version"]
        return r.json()["document"]["title"]

    assert await sync("one") == "one"
    # Behind Tandem's back: the entry still says editor, and each sync's commit forgot the
    # metadata, yet no sync reads PostgreSQL for the role.
    await _set_role(sql, dashboard, bob.id, "viewer")
    assert await sync("two") == "two"
    assert await sync("three") == "three"
    # Announced, the change refuses the very next sync; taken away through the API, too.
    change = AccessChange("role", bob.id, DashboardId(UUID(dashboard)))
    await announce(cached.services.redis, cached.services.api.keys, change)
    assert await sync("four") == 403
    await _set_role(sql, dashboard, bob.id, "editor")
    await announce(cached.services.redis, cached.services.api.keys, change)
    assert await sync("five") == "five"
    r = await cached.http.delete(
        f"/api/dashboards/{dashboard}/collaborators/{bob.id}", headers=owner.auth
    )
    assert r.status_code == 204
    assert await sync("six") == 404
    # A deleted dashboard forgets every role cached on it.
    await cached.share(owner, dashboard, bob, "editor")
    assert await sync("seven") == "seven"
    r = await cached.http.delete(f"/api/dashboards/{dashboard}", headers=owner.auth)
    assert r.status_code == 204
    assert await sync("eight") == 404


async def test_a_session_is_cached_by_its_token_hash_and_forgotten_at_logout(
    cached: Api, sql: asyncpg.Connection, redis_url: str
) -> None:
    ann = await cached.account()
    assert (await cached.http.get("/api/me", headers=ann.auth)).status_code == 200
    digest = hashlib.sha256(ann.token.encode()).digest()

    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = cached.services.api.keys
        names = [k.decode() async for k in client.scan_iter(f"{keys.prefix}cache:session:*")]
        assert keys.cache_session(digest) in names
        assert all(ann.token not in n for n in names)
        values = [await client.get(n) or b"" for n in names]
        assert all(ann.token.encode() not in v for v in values)
    finally:
        await client.aclose()

    # Revoked behind Tandem's back: served from the cache until the TTL, then refused.
    await sql.execute("UPDATE sessions SET revoked_at = now() WHERE token_hash = $1", digest)
    assert (await cached.http.get("/api/me", headers=ann.auth)).status_code == 200
    await asyncio.sleep(TTL + 0.3)
    assert (await cached.http.get("/api/me", headers=ann.auth)).status_code == 401

    # Logged out through the API: refused with the very next request.
    bob = await cached.account()
    assert (await cached.http.get("/api/me", headers=bob.auth)).status_code == 200
    assert (await cached.http.delete("/api/sessions/current", headers=bob.auth)).status_code == 204
    assert (await cached.http.get("/api/me", headers=bob.auth)).status_code == 401


async def test_a_cached_session_ends_when_the_session_expires(
    database_url: str, redis_url: str, redis_prefix: str, sql: asyncpg.Connection
) -> None:
    settings = api_settings(database_url, redis_url, f"{redis_prefix}long:", cache_seconds=600)
    async with api_client(settings) as api:
        ann = await api.account()
        digest = hashlib.sha256(ann.token.encode()).digest()
        await sql.execute(
            "UPDATE sessions SET expires_at = now() + interval '1.5 seconds' WHERE token_hash = $1",
            digest,
        )
        assert (await api.http.get("/api/me", headers=ann.auth)).status_code == 200
        assert (await api.http.get("/api/me", headers=ann.auth)).status_code == 200
        await asyncio.sleep(1.8)
        assert (await api.http.get("/api/me", headers=ann.auth)).status_code == 401


async def test_the_profile_is_cached_until_its_ttl_or_a_user_change(
    cached: Api, sql: asyncpg.Connection
) -> None:
    ann = await cached.account()
    assert (await cached.http.get("/api/me", headers=ann.auth)).json()["full_name"] == ""
    await sql.execute("UPDATE users SET display_name = 'Ann' WHERE id = $1", UUID(ann.id))
    assert (await cached.http.get("/api/me", headers=ann.auth)).json()["full_name"] == ""
    running = cached.services
    await announce(running.redis, running.api.keys, AccessChange("user", ann.id))
    assert (await cached.http.get("/api/me", headers=ann.auth)).json()["full_name"] == "Ann"


async def test_a_read_that_raced_a_change_writes_nothing(redis_url: str, redis_prefix: str) -> None:
    """A miss read PostgreSQL, a change forgot the entry meanwhile: the late write is refused,
    so the old answer is not served until the TTL."""
    client = aioredis.Redis.from_url(redis_url)
    resp = Resp.from_url(redis_url)
    keys = Keys(f"{redis_prefix}race:")
    cache = SharedCache(resp, keys, ttl=60)
    dashboard, user = DashboardId(uuid4()), UserId(uuid4())
    try:
        seen = await cache.dashboard(dashboard, user)
        assert seen.role is MISS
        await forget(client, keys, dashboard=dashboard, user=user)
        await cache.remember_role(dashboard, user, "admin", seen.access)
        assert (await cache.dashboard(dashboard, user)).role is MISS
        fresh = await cache.dashboard(dashboard, user)
        await cache.remember_role(dashboard, user, "viewer", fresh.access)
        assert (await cache.dashboard(dashboard, user)).role == "viewer"
    finally:
        await client.aclose()
        await resp.aclose()
