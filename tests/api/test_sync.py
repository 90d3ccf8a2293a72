"""``POST /api/dashboards/{id}/sync`` through the real app on real PostgreSQL and Redis: both
forms, every strategy, the refusals, and Idempotency-Key retries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx

from server.api.idempotency import fingerprint, submitter
from server.api.sync import SyncBody
from server.core.ids import DashboardId, UserId
from server.sequencer.direct import submit_as
from server.store.idempotency import IdempotencyKeys
from tests.api.conftest import Account, Api
from tests.store.conftest import widget


async def sync(
    api: Api, who: Account, dashboard: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = dict(who.auth)
    if key is not None:
        headers["idempotency-key"] = key
    return await api.http.post(f"/api/dashboards/{dashboard}/sync", json=body, headers=headers)


async def server_edit(api: Api, who: Account, dashboard: str, op: list[dict[str, Any]]) -> int:
    """An editor's op through the sequencer, against the head; the version it made."""
    hub = api.services.hub
    head = await hub.snapshot(DashboardId(UUID(dashboard)))
    done = await submit_as(hub, UserId(UUID(who.id)), DashboardId(UUID(dashboard)),
                           version=head.version, op=op)  # fmt: skip
    return done.version + 1


async def document(api: Api, who: Account, dashboard: str) -> tuple[int, dict[str, Any]]:
    r = await api.http.get(f"/api/dashboards/{dashboard}", headers=who.auth)
    assert r.status_code == 200, r.text
    return r.json()["head_version"], r.json()["document"]


async def with_widget(api: Api, who: Account, title: str = "Ops") -> tuple[str, int, Any]:
    d = await api.dashboard(who, title)
    r = await sync(api, who, d["id"], {"base_version": d["head_version"],
                                       "changes": {"added": {"w1": widget()}}})  # fmt: skip
    assert r.status_code == 200, r.text
    return d["id"], r.json()["version"], r.json()["document"]


async def test_full_state_merges_with_what_the_server_committed_since(api: Api) -> None:
    ann = await api.account()
    dashboard, base_version, base = await with_widget(api, ann)
    await server_edit(api, ann, dashboard, [
        {"p": ["widgets", "srv"], "oi": widget("server")}, {"p": ["layout", 1], "li": "srv"},
        {"p": ["title"], "t": "text-unicode", "o": [3, " live"]},
    ])  # fmt: skip
    local = {**base, "title": "My Ops", "description": "written offline",
             "widgets": {**base["widgets"], "mine": widget("mine", 4)},
             "layout": [*base["layout"], "mine"]}  # fmt: skip
    local["widgets"]["w1"] = {**widget(), "position": {**widget()["position"], "x": 2}}
    r = await sync(api, ann, dashboard, {"base_version": base_version, "document": local})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["version"] == base_version + 2
    doc = answer["document"]
    assert set(doc["widgets"]) == {"w1", "srv", "mine"}
    assert doc["title"] == "My Ops live"  # both typings, merged by character
    assert doc["description"] == "written offline"
    assert doc["widgets"]["w1"]["position"]["x"] == 2
    assert sorted(doc["layout"]) == sorted(doc["widgets"])
    assert {"path": ["title"], "resolution": "merged"} in answer["conflict_resolutions"]
    assert await document(api, ann, dashboard) == (answer["version"], doc)


async def test_patch_form_and_strategies_on_one_conflicting_value(api: Api) -> None:
    ann = await api.account()
    dashboard, base_version, _ = await with_widget(api, ann)
    path = ["widgets", "w1", "config", "unit"]
    await server_edit(api, ann, dashboard, [{"p": path, "oi": "server"}])
    patch = {"updated": {"w1": {"config": {"unit": "client"}, "isLocked": True}}}
    for strategy, unit, resolution in (
        ("remote-wins", "server", "remote-won"),
        ("local-wins", "client", "local-won"),
    ):
        r = await sync(api, ann, dashboard,
                       {"base_version": base_version, "changes": patch, "strategy": strategy})  # fmt: skip
        assert r.status_code == 200, r.text
        w1 = r.json()["document"]["widgets"]["w1"]
        assert w1["isLocked"] is True  # not conflicting: kept either way
        assert w1["config"]["unit"] == unit
        assert {"path": path, "resolution": resolution} in r.json()["conflict_resolutions"]


async def test_merge_strategy_lets_the_newer_change_win(api: Api) -> None:
    ann = await api.account()
    dashboard, base_version, _ = await with_widget(api, ann)
    path = ["widgets", "w1", "config"]
    await server_edit(api, ann, dashboard, [{"p": path, "od": {}, "oi": {"unit": "%"}}])
    body = {"base_version": base_version, "changes": {"updated": {"w1": {"config": {"unit": "s"}}}}}
    r = await sync(api, ann, dashboard, body)  # no times: the server's change stands
    assert r.json()["document"]["widgets"]["w1"]["config"] == {"unit": "%"}
    later = {**body, "changed_at": [{"path": path, "at": "2999-01-01T00:00:00Z"}]}
    r = await sync(api, ann, dashboard, later)
    assert r.json()["document"]["widgets"]["w1"]["config"] == {"unit": "s"}


async def test_manual_applies_nothing_and_lists_the_conflicts(api: Api) -> None:
    ann = await api.account()
    dashboard, base_version, _ = await with_widget(api, ann)
    path = ["widgets", "w1", "position", "x"]
    head = await server_edit(api, ann, dashboard, [{"p": path, "od": 0, "oi": 5}])
    patch = {"updated": {"w1": {"position": {"x": 9, "y": 0, "width": 4, "height": 3}}},
             "fields": {"description": "also this"}}  # fmt: skip
    r = await sync(api, ann, dashboard,
                   {"base_version": base_version, "changes": patch, "strategy": "manual"})  # fmt: skip
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "sync_conflict"
    assert problem["conflicts"] == [{"path": path, "base": 0, "local": 9, "remote": 5}]
    version, doc = await document(api, ann, dashboard)
    assert version == head and doc["description"] == ""


async def test_refusals_name_the_problem(api: Api) -> None:
    ann, viewer = await api.account(), await api.account()
    dashboard, base_version, base = await with_widget(api, ann)
    await api.share(ann, dashboard, viewer, "viewer")

    bad = {**base, "layout": ["w1", "ghost"]}
    r = await sync(api, ann, dashboard, {"base_version": base_version, "document": bad})
    assert r.status_code == 422 and r.json()["code"] == "invalid_document"
    assert r.json()["errors"][0]["path"] == "$.document.layout[1]"

    r = await sync(api, ann, dashboard,
                   {"base_version": base_version, "changes": {"updated": {"nope": {"title": "x"}}}})  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["path"].startswith("$.changes.updated")

    r = await sync(api, ann, dashboard, {"base_version": 999, "document": base})
    assert r.status_code == 409 and r.json()["code"] == "op_from_future"

    r = await sync(api, ann, dashboard, {"base_version": 1})
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"

    r = await sync(api, viewer, dashboard, {"base_version": base_version, "document": base})
    assert r.status_code == 403


async def test_a_base_older_than_the_log_kept_is_told_to_refetch(api: Api) -> None:
    ann = await api.account()
    dashboard, base_version, base = await with_widget(api, ann)
    for x in range(1, 4):
        await server_edit(api, ann, dashboard,
                          [{"p": ["widgets", "w1", "position", "x"], "od": x - 1, "oi": x}])  # fmt: skip
    # What dropping the oldest partitions does: the first ops are gone, a checkpoint remains.
    pool = api.services.store.pool
    version, doc = await document(api, ann, dashboard)
    await pool.execute(
        "INSERT INTO checkpoints (dashboard_id, version, document) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING", UUID(dashboard), version, doc,
    )  # fmt: skip
    await pool.execute(
        "DELETE FROM operations WHERE dashboard_id = $1 AND version < $2", UUID(dashboard), version
    )
    r = await sync(api, ann, dashboard, {"base_version": base_version, "document": base})
    assert r.status_code == 410, r.text
    assert r.json()["code"] == "sync_base_expired"
    assert "fetch" in r.json()["detail"]


async def test_a_retried_sync_applies_once_and_gets_the_first_answer(api: Api) -> None:
    ann = await api.account()
    dashboard, base_version, _ = await with_widget(api, ann)
    body = {"base_version": base_version, "changes": {"added": {"w2": widget("two")}}}
    first = await sync(api, ann, dashboard, body, key="retry-1")
    assert first.status_code == 200, first.text
    # The server moves on; the client, which never saw the answer, sends the same again.
    await server_edit(api, ann, dashboard, [{"p": ["description"], "oi": "x", "od": ""}])
    again = await sync(api, ann, dashboard, body, key="retry-1")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    version, _ = await document(api, ann, dashboard)
    assert version == first.json()["version"] + 1  # the server's edit only

    other = {**body, "strategy": "local-wins"}
    r = await sync(api, ann, dashboard, other, key="retry-1")
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    # A refusal is an answer too: the same request gets it again.
    bad = {"base_version": 999, "changes": {}}
    codes = [(await sync(api, ann, dashboard, bad, key="bad-1")).json()["code"] for _ in "ab"]
    assert codes == ["op_from_future", "op_from_future"]


async def test_a_retry_after_a_crash_finds_the_committed_op(api: Api) -> None:
    """An attempt committed its op and died before answering: the retry answers with that
    op's version and applies nothing."""
    ann = await api.account()
    dashboard, base_version, base = await with_widget(api, ann)
    user, key = UserId(UUID(ann.id)), "crashed-1"
    local = {**base, "description": "from the dead attempt"}
    body = {"base_version": base_version, "document": local}
    keys = IdempotencyKeys(api.services.store.pool, lease=timedelta(milliseconds=1))
    # What the first attempt did: claim, record its plan, commit as the key's submitter...
    path = f"/api/dashboards/{dashboard}/sync"
    await keys.claim(user, key, fingerprint("POST", path, SyncBody.model_validate(body)))
    await keys.record_plan(user, key, {"resolutions": []})
    hub = api.services.hub
    done = await submit_as(hub, user, DashboardId(UUID(dashboard)), version=base_version,
                           op=[{"p": ["description"], "od": "", "oi": "from the dead attempt"}],
                           src=submitter(user, key), seq=1)  # fmt: skip
    # ...and no answer: its lease runs out. The retry:
    r = await sync(api, ann, dashboard, body, key=key)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == done.version + 1
    version, doc = await document(api, ann, dashboard)
    assert version == done.version + 1 and doc["description"] == "from the dead attempt"


async def test_a_retry_finds_the_op_of_an_attempt_that_recorded_no_plan(api: Api) -> None:
    """An attempt whose merge resolved nothing records no plan: the retry that takes over
    looks its op up all the same, and answers with that op's version, not a later head."""
    ann = await api.account()
    dashboard, base_version, _ = await with_widget(api, ann)
    user, key = UserId(UUID(ann.id)), "crashed-2"
    body = {"base_version": base_version, "changes": {"fields": {"description": "dead"}}}
    keys = IdempotencyKeys(api.services.store.pool, lease=timedelta(milliseconds=1))
    path = f"/api/dashboards/{dashboard}/sync"
    await keys.claim(user, key, fingerprint("POST", path, SyncBody.model_validate(body)))
    hub = api.services.hub
    done = await submit_as(hub, user, DashboardId(UUID(dashboard)), version=base_version,
                           op=[{"p": ["description"], "od": "", "oi": "dead"}],
                           src=submitter(user, key), seq=1)  # fmt: skip
    later = await server_edit(api, ann, dashboard, [{"p": ["title"], "od": "Ops", "oi": "New"}])
    r = await sync(api, ann, dashboard, body, key=key)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == done.version + 1
    assert r.json()["conflict_resolutions"] == []
    assert (await document(api, ann, dashboard))[0] == later


async def test_an_answer_lost_after_its_op_committed_is_given_again(api: Api) -> None:
    """The answer of a sync whose op committed is stored without waiting for the disk: a crash
    may lose it (never the claim and the plan, flushed before the op was queued). The retry
    then gives the same answer, resolutions included, and applies nothing again."""
    ann = await api.account()
    dashboard, base_version, _ = await with_widget(api, ann)
    path = ["widgets", "w1", "config", "unit"]
    await server_edit(api, ann, dashboard, [{"p": path, "oi": "server"}])
    body = {"base_version": base_version, "strategy": "local-wins",
            "changes": {"updated": {"w1": {"config": {"unit": "client"}}}}}  # fmt: skip
    first = await sync(api, ann, dashboard, body, key="lost-1")
    assert first.status_code == 200, first.text
    assert first.json()["conflict_resolutions"] == [{"path": path, "resolution": "local-won"}]
    # The key's row as a crash that lost the answer leaves it, once the lease ran out.
    await api.services.store.pool.execute(
        "UPDATE idempotency_keys SET status = NULL, response = NULL,"
        " locked_until = now() - interval '1 second' WHERE user_id = $1 AND key = $2",
        UUID(ann.id), "lost-1",
    )  # fmt: skip
    again = await sync(api, ann, dashboard, body, key="lost-1")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert await document(api, ann, dashboard) == (first.json()["version"],
                                                   first.json()["document"])  # fmt: skip


async def test_a_retried_create_makes_one_dashboard_with_the_first_answer(api: Api) -> None:
    ann = await api.account()
    headers = {**ann.auth, "idempotency-key": "made-offline-1"}
    chosen = "0b5a1f0e-7a3c-4a8e-9d1f-2f6f3c8d9e01"
    body = {"title": "Offline", "id": chosen}
    first = await api.http.post("/api/dashboards", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["id"] == chosen  # the client's id
    await server_edit(api, ann, chosen, [{"p": ["description"], "od": "", "oi": "later"}])
    again = await api.http.post("/api/dashboards", json=body, headers=headers)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    other = await api.http.post("/api/dashboards", json={"title": "Other"}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # Without a key, the same id again is a conflict, not a second dashboard.
    r = await api.http.post("/api/dashboards", json=body, headers=ann.auth)
    assert r.status_code == 409
