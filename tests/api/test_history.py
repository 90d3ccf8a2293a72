"""History over HTTP: versions, snapshot, ops, diff, widget history, restore, undo/redo,
export/import, templates; real PostgreSQL, Redis and the sequencer behind the API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ot import json0
from server.core.ids import DashboardId, UserId
from server.sequencer.direct import submit_as
from tests.api.conftest import Account, Api
from tests.store.conftest import widget


async def edit(api: Api, dashboard: str, user: Account, dop: dict[str, Any]) -> int:
    """A domain op as ``user`` through the sequencer; the version after it."""
    d = DashboardId(UUID(dashboard))
    head = await api.services.store.get_head(d)
    committed = await submit_as(api.services.hub, UserId(UUID(user.id)), d,
                                version=head.version, dop=[dop])  # fmt: skip
    return committed.version + 1


async def test_versions_snapshot_ops_diff_and_widget_history(api: Api) -> None:
    owner, editor = await api.account(), await api.account()
    d = (await api.dashboard(owner, "History"))["id"]
    await api.share(owner, d, editor, "editor")
    url, auth = f"/api/dashboards/{d}", owner.auth
    await edit(api, d, owner, {"type": "addWidget", "targetId": "w1", "value": widget("CPU")})
    r = await api.http.post(f"{url}/versions", json={"label": "first"}, headers=auth)
    assert r.status_code == 201, r.text
    first = r.json()["version"]
    assert r.json()["created_by"]["id"] == owner.id
    await edit(api, d, editor, {"type": "move", "targetId": "w1", "value": {"x": 5, "y": 1}})
    await edit(api, d, editor, {"type": "update", "targetId": "w1", "path": ["title"],
                                "value": "CPU load"})  # fmt: skip
    head = await edit(api, d, owner, {"type": "update", "path": ["title"], "value": "H2"})
    r = await api.http.post(f"{url}/versions", json={"label": "again", "version": first},
                            headers=auth)  # fmt: skip
    assert (r.status_code, r.json()["code"]) == (409, "version_named")
    assert (await api.http.patch(f"{url}/versions/{first}", json={"label": "one"},
                                 headers=auth)).json()["label"] == "one"  # fmt: skip
    listed = (await api.http.get(f"{url}/versions", headers=editor.auth)).json()["items"]
    assert [(v["version"], v["label"]) for v in listed] == [(first, "one")]

    snap = (await api.http.get(f"{url}/snapshot", params={"version": first},
                               headers=auth)).json()  # fmt: skip
    assert snap["version"] == first and "w1" in snap["document"]["widgets"]
    ops = (await api.http.get(f"{url}/ops", params={"since": first, "limit": 2},
                              headers=auth)).json()  # fmt: skip
    assert [o["version"] for o in ops["items"]] == [first, first + 1]
    assert ops["next_since"] == first + 2 and ops["items"][0]["user"]["id"] == editor.id
    diff = (await api.http.get(f"{url}/diff", params={"from": first, "to": head},
                               headers=auth)).json()  # fmt: skip
    now = (await api.http.get(f"{url}/snapshot", headers=auth)).json()["document"]
    assert json0.apply(snap["document"], diff["op"]) == now
    assert (diff["from"], diff["to"]) == (first, head)
    [w1] = diff["widgets"]
    assert (w1["widget_id"], w1["changes"]) == ("w1", ["moved", "text_edited"])
    assert [u["id"] for u in w1["users"]] == [editor.id]
    assert diff["dashboard"]["changes"] == ["title"]
    history = (await api.http.get(f"{url}/widgets/w1/history", params={"limit": 2},
                                  headers=auth)).json()  # fmt: skip
    assert [i["operation_type"] for i in history["items"]] == ["update", "move"]
    assert history["next_cursor"] is not None
    rest = (
        await api.http.get(
            f"{url}/widgets/w1/history", params={"cursor": history["next_cursor"]}, headers=auth
        )
    ).json()
    assert [i["operation_type"] for i in rest["items"]] == ["addWidget"]
    assert (await api.http.delete(f"{url}/versions/{first}", headers=auth)).status_code == 204
    gone = await api.http.get(f"{url}/snapshot", params={"version": 10_000}, headers=auth)
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"


async def test_restore_undo_redo(api: Api) -> None:
    owner, editor, viewer = await api.account(), await api.account(), await api.account()
    d = (await api.dashboard(owner, "R"))["id"]
    await api.share(owner, d, editor, "editor")
    await api.share(owner, d, viewer, "viewer")
    url = f"/api/dashboards/{d}"
    base = await edit(api, d, owner, {"type": "addWidget", "targetId": "w1", "value": widget()})
    await edit(api, d, editor, {"type": "addWidget", "targetId": "w2", "value": widget("B")})
    refused = await api.http.post(f"{url}/restore", json={"version": base}, headers=viewer.auth)
    assert refused.status_code == 403
    r = await api.http.post(f"{url}/restore", json={"version": base}, headers=owner.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"version": base + 2, "restored_from": base}
    doc = (await api.http.get(url, headers=owner.auth)).json()["document"]
    assert list(doc["widgets"]) == ["w1"]
    # The restore is the owner's newest op: undo brings w2 back; the editor has nothing of
    # theirs undone by it.
    undo = (await api.http.post(f"{url}/undo", headers=owner.auth)).json()
    assert undo == {"version": base + 3, "applied": True, "reason": None}
    doc = (await api.http.get(url, headers=owner.auth)).json()["document"]
    assert sorted(doc["widgets"]) == ["w1", "w2"]
    redo = (await api.http.post(f"{url}/redo", headers=owner.auth)).json()
    assert redo["applied"] is True
    nothing = (await api.http.post(f"{url}/redo", headers=owner.auth)).json()
    assert nothing == {"version": None, "applied": False, "reason": "nothing_to_redo"}


async def test_a_restore_of_several_widgets_is_in_each_ones_history(api: Api) -> None:
    owner, editor = await api.account(), await api.account()
    d = (await api.dashboard(owner, "Many"))["id"]
    await api.share(owner, d, editor, "editor")
    url = f"/api/dashboards/{d}"
    for wid in ("w1", "w2", "w3", "w4"):
        base = await edit(api, d, owner, {"type": "addWidget", "targetId": wid,
                                          "value": widget(wid)})  # fmt: skip
    moved = {}  # each move's stored version
    for wid in ("w1", "w2", "w3"):
        moved[wid] = await edit(api, d, editor, {"type": "move", "targetId": wid,
                                                 "value": {"x": 7, "y": 2}}) - 1  # fmt: skip
    r = await api.http.post(f"{url}/restore", json={"version": base}, headers=owner.auth)
    assert r.status_code == 200, r.text
    restore = r.json()["version"] - 1  # the version the restore's op is stored with
    ops = (await api.http.get(f"{url}/ops", params={"since": restore}, headers=owner.auth)).json()
    [stored] = ops["items"]
    assert stored["target_id"] is None  # it names no single target

    async def history(wid: str, **params: Any) -> dict[str, Any]:
        r = await api.http.get(f"{url}/widgets/{wid}/history", params=params,
                               headers=editor.auth)  # fmt: skip
        assert r.status_code == 200, r.text
        return dict(r.json())

    for wid in ("w1", "w2", "w3"):
        items = (await history(wid))["items"]
        assert [i["version"] for i in items[:2]] == [restore, moved[wid]]
        assert items[0]["user"]["id"] == owner.id and items[1]["user"]["id"] == editor.id
        assert [i["operation_type"] for i in items[1:]] == ["move", "addWidget"]
        # Page by page, the restore once and in its place.
        first = await history(wid, limit=1)
        rest = await history(wid, limit=1, cursor=first["next_cursor"])
        assert [first["items"][0]["version"], rest["items"][0]["version"]] == [
            items[0]["version"], items[1]["version"]]  # fmt: skip
    untouched = (await history("w4"))["items"]
    assert [i["operation_type"] for i in untouched] == ["addWidget"]


async def test_export_import_and_templates(api: Api) -> None:
    owner, other = await api.account(), await api.account()
    d = (await api.dashboard(owner, "Secret board"))["id"]
    await edit(api, d, owner, {"type": "addWidget", "targetId": "w1",
                               "value": {**widget(), "config": {"apiKey": "k-1", "n": 2}}})  # fmt: skip
    r = await api.http.get(f"/api/dashboards/{d}/export", headers=owner.auth)
    assert r.status_code == 200 and "k-1" not in r.text
    file = r.json()
    assert (file["format"], file["redacted"]) == ("tandem.dashboard", 1)
    file["dashboard"]["extra"] = 1
    r = await api.http.post("/api/dashboards/import", json=file, headers=other.auth)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["dropped_fields"] == ["$.dashboard.extra"]
    assert made["dashboard"]["document"] == file["dashboard"]["document"]
    assert made["dashboard"]["owner"]["id"] == other.id
    file["format_version"] = 9
    r = await api.http.post("/api/dashboards/import", json=file, headers=other.auth)
    assert (r.status_code, r.json()["code"]) == (422, "import_invalid")
    assert r.json()["errors"][0]["path"] == "$.format_version"

    r = await api.http.post("/api/templates", json={"dashboard_id": d, "name": "Ops",
                                                     "category": "ops", "public": True},
                            headers=owner.auth)  # fmt: skip
    assert r.status_code == 201, r.text
    template = r.json()
    assert template["redacted"] == 1
    listed = (await api.http.get("/api/templates", params={"category": "ops"},
                                 headers=other.auth)).json()["items"]  # fmt: skip
    assert template["id"] in [t["id"] for t in listed]
    r = await api.http.post("/api/dashboards", json={"title": "From T",
                                                      "template_id": template["id"]},
                            headers=other.auth)  # fmt: skip
    assert r.status_code == 201, r.text
    document = r.json()["document"]
    assert document["title"] == "From T" and len(document["widgets"]) == 1
    assert "w1" not in document["widgets"] and "k-1" not in r.text


async def test_openapi_lists_the_history_endpoints(api: Api) -> None:
    paths = (await api.http.get("/api/openapi.json")).json()["paths"]
    for path in ("/api/dashboards/{id}/versions", "/api/dashboards/{id}/diff",
                 "/api/dashboards/{id}/widgets/{wid}/history", "/api/dashboards/{id}/restore",
                 "/api/dashboards/{id}/undo", "/api/dashboards/import", "/api/templates"):  # fmt: skip
        assert path in paths or path.removeprefix("/api") in paths, path
