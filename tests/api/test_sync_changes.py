"""``GET /api/sync/changes`` through the real app: changed, shared, lost and deleted
dashboards, paging, and cursors that are refused."""

from __future__ import annotations

import base64
import time

import orjson

from tests.api.conftest import Account, Api


async def pull(api: Api, who: Account, cursor: str | None = None, **query: int) -> dict:  # type: ignore[type-arg]
    params: dict[str, str | int] = dict(query)
    if cursor is not None:
        params["since"] = cursor
    r = await api.http.get("/api/sync/changes", params=params, headers=who.auth)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_pull_reports_changes_new_shares_and_losses(api: Api) -> None:
    ann, bob = await api.account(), await api.account()
    mine = [(await api.dashboard(ann, f"d{i}"))["id"] for i in range(3)]
    theirs = (await api.dashboard(bob, "bob's"))["id"]
    first = await pull(api, ann)
    assert {c["id"] for c in first["changed"]} == set(mine)
    assert first["removed"] == [] and first["has_more"] is False

    r = await api.http.patch(f"/api/dashboards/{mine[1]}", json={"title": "renamed"},
                             headers=ann.auth)  # fmt: skip
    assert r.status_code == 200, r.text
    await api.share(bob, theirs, ann, "editor")
    second = await pull(api, ann, first["cursor"])
    by_id = {c["id"]: c for c in second["changed"]}
    assert {mine[1], theirs} <= set(by_id) <= {*mine, theirs}  # repeats are allowed
    assert by_id[mine[1]]["title"] == "renamed" and by_id[mine[1]]["head_version"] == 2
    assert by_id[theirs]["role"] == "editor"
    assert set(by_id[theirs]) == {"id", "title", "role", "head_version", "last_changed_at",
                                  "is_archived"}  # fmt: skip

    r = await api.http.delete(f"/api/dashboards/{theirs}/collaborators/{ann.id}", headers=bob.auth)
    assert r.status_code == 204, r.text
    r = await api.http.delete(f"/api/dashboards/{mine[0]}", headers=ann.auth)
    assert r.status_code == 204, r.text
    third = await pull(api, ann, second["cursor"])
    assert set(third["removed"]) == {theirs, mine[0]}
    assert third["changed"] == [] or {c["id"] for c in third["changed"]} <= set(mine)
    # Bob sees none of Ann's.
    assert {c["id"] for c in (await pull(api, bob))["changed"]} == {theirs}


async def test_pages_of_one_pull_cover_everything_once(api: Api) -> None:
    ann = await api.account()
    made = {(await api.dashboard(ann, f"p{i}"))["id"] for i in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        page = await pull(api, ann, cursor, limit=2)
        seen += [c["id"] for c in page["changed"]]
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert sorted(seen) == sorted(made)
    # The last page's cursor is the next pull's.
    extra = (await api.dashboard(ann, "later"))["id"]
    assert extra in [c["id"] for c in (await pull(api, ann, cursor))["changed"]]


async def test_bad_and_expired_cursors_are_refused(api: Api) -> None:
    ann = await api.account()
    r = await api.http.get("/api/sync/changes", params={"since": "not-a-cursor"}, headers=ann.auth)
    assert r.status_code == 400 and r.json()["code"] == "bad_cursor"
    old = {"s": 1, "x": None, "a": None, "t": time.time() - 90 * 86400}
    stale = base64.urlsafe_b64encode(orjson.dumps(old)).decode().rstrip("=")
    r = await api.http.get("/api/sync/changes", params={"since": stale}, headers=ann.auth)
    assert r.status_code == 410 and r.json()["code"] == "sync_cursor_expired"
    r = await api.http.get("/api/sync/changes")
    assert r.status_code == 401
