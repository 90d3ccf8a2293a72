"""Sign up, log in, log out, me, lookup: over HTTP against the app, real PostgreSQL and Redis."""

from __future__ import annotations

from uuid import uuid4

import asyncpg

from tests.api.conftest import PASSWORD, Api

PROBLEM = "application/problem+json"


async def test_sign_up_log_in_me_log_out(api: Api, database_url: str) -> None:
    name = f"ann{uuid4().hex[:8]}"
    r = await api.http.post(
        "/api/users",
        json={"email": f"{name}@x.io", "username": name, "password": PASSWORD, "full_name": "Ann"},
    )
    assert r.status_code == 201
    user = r.json()
    assert user["username"] == name and user["full_name"] == "Ann"
    assert user["avatar_color"].startswith("#")

    r = await api.http.post("/api/sessions", json={"login": f"{name}@X.io", "password": PASSWORD})
    assert r.status_code == 201
    token = r.json()["token"]
    assert len(token) >= 43  # 256 bits, url-safe base64
    cookie = r.headers["set-cookie"]
    assert f"tandem_session={token}" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    api.http.cookies.clear()

    # Neither the token nor the password is stored or audited as such.
    conn = await asyncpg.connect(database_url)
    try:
        dump = str(await conn.fetch("SELECT * FROM sessions")) + str(
            await conn.fetch("SELECT * FROM audit_logs")
        )
        stored = await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user["id"])
    finally:
        await conn.close()
    assert token not in dump and PASSWORD not in dump
    assert stored.startswith("$argon2id$")

    bearer = {"authorization": f"Bearer {token}"}
    r = await api.http.get("/api/me", headers=bearer)
    assert r.status_code == 200 and r.json()["id"] == user["id"]

    r = await api.http.delete("/api/sessions/current", headers=bearer)
    assert r.status_code == 204
    r = await api.http.get("/api/me", headers=bearer)
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM and r.json()["code"] == "unauthenticated"


async def test_wrong_password_and_unknown_login_look_alike(api: Api) -> None:
    account = await api.account()
    wrong = await api.http.post(
        "/api/sessions", json={"login": account.username, "password": "not it at all"}
    )
    nobody = await api.http.post(
        "/api/sessions", json={"login": f"nobody{uuid4().hex}", "password": "not it at all"}
    )
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["code"] == nobody.json()["code"] == "invalid_credentials"


async def test_taken_username_is_a_conflict(api: Api) -> None:
    account = await api.account()
    r = await api.http.post(
        "/api/users",
        json={"email": f"{uuid4().hex}@x.io", "username": account.username.upper(),
              "password": PASSWORD},
    )  # fmt: skip
    assert r.status_code == 409 and r.json()["code"] == "conflict"


async def test_cookie_session_needs_an_allowed_origin_for_unsafe_requests(api: Api) -> None:
    account = await api.account()
    cookies = {"tandem_session": account.token}
    api.http.cookies.update(cookies)
    try:
        r = await api.http.get("/api/me")
        assert r.status_code == 200
        r = await api.http.post("/api/dashboards", json={"title": "x"})
        assert r.status_code == 403 and r.json()["code"] == "origin_refused"
        r = await api.http.post(
            "/api/dashboards", json={"title": "x"}, headers={"origin": "https://evil.example"}
        )
        assert r.status_code == 403 and r.json()["code"] == "origin_refused"
        r = await api.http.post(
            "/api/dashboards",
            json={"title": "x"},
            headers={"origin": "http://127.0.0.1:8000"},  # its own origin
        )
        assert r.status_code == 201
    finally:
        api.http.cookies.clear()


async def test_lookup(api: Api) -> None:
    me, other = await api.account(), await api.account()
    r = await api.http.get("/api/users/lookup", params={"login": other.username}, headers=me.auth)
    assert r.status_code == 200 and r.json()["id"] == other.id
    r = await api.http.get("/api/users/lookup", params={"login": "no-such"}, headers=me.auth)
    assert r.status_code == 404
    r = await api.http.get("/api/users/lookup", params={"login": other.username})
    assert r.status_code == 401


async def test_registration_can_be_closed(
    database_url: str, redis_url: str, redis_prefix: str
) -> None:
    from tests.api.conftest import api_client, api_settings

    settings = api_settings(database_url, redis_url, redis_prefix, registration_open=False)
    async with api_client(settings) as closed:
        r = await closed.http.post(
            "/api/users",
            json={"email": "c@x.io", "username": f"c{uuid4().hex[:8]}", "password": PASSWORD},
        )
    assert r.status_code == 403 and r.json()["code"] == "registration_closed"
