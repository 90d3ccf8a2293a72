"""Dashboards over HTTP: list, search, create, get, patch through the sequencer, delete."""

from __future__ import annotations

from uuid import UUID, uuid4

from server.core.ids import DashboardId
from tests.api.conftest import Api


async def test_create_get_patch_delete(api: Api) -> None:
    owner = await api.account()
    made = await api.dashboard(owner, "Ops board", description="latency and errors")
    assert made["role"] == "owner" and made["head_version"] == 1
    assert made["document"]["title"] == "Ops board" and made["widgets"] == []

    r = await api.http.patch(
        f"/api/dashboards/{made['id']}", json={"title": "Ops 2"}, headers=owner.auth
    )
    assert r.status_code == 200
    assert r.json()["title"] == "Ops 2" and r.json()["head_version"] == 2
    # The change went through the sequencer: it is an op in the log, by the owner.
    ops = await api.services.hub.ops_since(DashboardId(UUID(made["id"])), 1)
    assert [op.op for op in ops] == [[{"p": ["title"], "od": "Ops board", "oi": "Ops 2"}]]
    assert str(ops[0].user_id) == owner.id

    r = await api.http.delete(f"/api/dashboards/{made['id']}", headers=owner.auth)
    assert r.status_code == 204
    r = await api.http.get(f"/api/dashboards/{made['id']}", headers=owner.auth)
    assert r.status_code == 404 and r.json()["code"] == "not_found"


async def test_list_is_paginated_newest_first_with_roles(api: Api) -> None:
    owner, other = await api.account(), await api.account()
    ids = [(await api.dashboard(owner, f"board {i}"))["id"] for i in range(5)]
    shared = await api.dashboard(other, "theirs")
    await api.share(other, shared["id"], owner, "editor")
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        r = await api.http.get("/api/dashboards", params=params, headers=owner.auth)
        assert r.status_code == 200
        page = r.json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [d["id"] for d in seen] == [shared["id"], *reversed(ids)]
    assert seen[0]["role"] == "editor" and seen[0]["collaborator_count"] == 1
    assert {d["role"] for d in seen[1:]} == {"owner"}


async def test_search_is_ranked_with_an_escaped_highlighted_snippet(api: Api) -> None:
    owner = await api.account()
    word = f"zq{uuid4().hex[:6]}"
    weak = await api.dashboard(owner, "Weekly", description=f"mentions {word} once & more")
    strong = await api.dashboard(owner, f"{word} {word}", description=f"all about {word}")
    await api.dashboard(owner, "Unrelated")
    r = await api.http.get("/api/dashboards", params={"q": word}, headers=owner.auth)
    items = r.json()["items"]
    assert [d["id"] for d in items] == [strong["id"], weak["id"]]
    assert f"<mark>{word}</mark>" in items[1]["snippet"]
    assert "&amp;" in items[1]["snippet"]


async def test_archived_dashboards_are_listed_apart(api: Api) -> None:
    owner = await api.account()
    made = await api.dashboard(owner, "to archive")
    r = await api.http.patch(
        f"/api/dashboards/{made['id']}", json={"archived": True}, headers=owner.auth
    )
    assert r.status_code == 200 and r.json()["is_archived"] is True
    live = (await api.http.get("/api/dashboards", headers=owner.auth)).json()["items"]
    archived = await api.http.get("/api/dashboards?archived=true", headers=owner.auth)
    assert made["id"] not in [d["id"] for d in live]
    assert [d["id"] for d in archived.json()["items"]] == [made["id"]]


async def test_roles_decide_who_may_do_what(api: Api) -> None:
    owner, admin, editor, viewer, stranger = [await api.account() for _ in range(5)]
    made = await api.dashboard(owner)
    d = made["id"]
    for user, role in ((admin, "admin"), (editor, "editor"), (viewer, "viewer")):
        await api.share(owner, d, user, role)
    url = f"/api/dashboards/{d}"

    async def status(method: str, who: object, json: object = None) -> int:
        headers = who.auth  # type: ignore[attr-defined]
        r = await api.http.request(method, url, json=json, headers=headers)
        return r.status_code

    assert [await status("GET", u) for u in (owner, admin, editor, viewer, stranger)] == [
        200, 200, 200, 200, 404,
    ]  # fmt: skip
    assert [await status("PATCH", u, {"title": "t"}) for u in (editor, viewer, stranger)] == [
        200, 403, 404,
    ]  # fmt: skip
    assert [await status("PATCH", u, {"public": True}) for u in (editor, admin)] == [403, 200]
    # Public now: anyone signed in may view it, and nothing more.
    assert await status("GET", stranger) == 200
    assert await status("PATCH", stranger, {"title": "x"}) == 403
    assert [await status("DELETE", u) for u in (admin, editor, owner)] == [403, 403, 204]


async def test_idempotency_key_creates_once(api: Api) -> None:
    owner = await api.account()
    headers = {**owner.auth, "idempotency-key": uuid4().hex}
    first = await api.http.post("/api/dashboards", json={"title": "once"}, headers=headers)
    again = await api.http.post("/api/dashboards", json={"title": "once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    listed = (await api.http.get("/api/dashboards", headers=owner.auth)).json()["items"]
    assert [d["title"] for d in listed] == ["once"]


async def test_bad_cursor_and_unknown_query_are_refused(api: Api) -> None:
    owner = await api.account()
    for params in ({"cursor": "not-a-cursor"}, {"cursor": "WyJ4Il0"}, {"q": "a", "cursor": "W10"}):
        r = await api.http.get("/api/dashboards", params=params, headers=owner.auth)
        assert r.status_code == 400 and r.json()["code"] == "bad_cursor", params
    r = await api.http.get("/api/dashboards", params={"sort": "x"}, headers=owner.auth)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "query.sort"
