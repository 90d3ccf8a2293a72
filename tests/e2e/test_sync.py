"""Offline sync against real gateway processes while stock ShareDB clients edit live.

1. Syncs merged into a dashboard that stock clients are editing at the same time: every client
   converges on the server's document, which holds every sync's changes.
2. The offline flow: a client queues 100 changes while its server is stopped, the server
   comes back, the queue drains (one response lost on the way and retried), nothing is lost or
   applied twice, and the live editors on the other gateway kept working throughout.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Account
from tests.e2e.harness import Gateway, run_scenario
from tests.e2e.oplog import assert_sound_log, sql

pytestmark = pytest.mark.node


def _widget(title: str, x: int = 0) -> dict[str, Any]:
    return {"type": "chart", "title": title,
            "position": {"x": x, "y": 0, "width": 2, "height": 2},
            "config": {}, "data": {}, "isLocked": False}  # fmt: skip


def _auth(account: Account, key: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {account.token}"}
    if key is not None:
        headers["idempotency-key"] = key
    return headers


def _get(http: httpx.Client, gateway: Gateway, account: Account, dashboard: str) -> Any:
    r = http.get(f"{gateway.http}/api/dashboards/{dashboard}", headers=_auth(account))
    assert r.status_code == 200, r.text
    return r.json()


def _set_up(http: httpx.Client, gateway: Gateway, account: Account, dashboard: str) -> int:
    """The widgets the live editors work on."""
    head = _get(http, gateway, account, dashboard)
    body = {"base_version": head["head_version"],
            "changes": {"added": {"chart": _widget("chart"), "notes": _widget("")}}}  # fmt: skip
    r = http.post(f"{gateway.http}/api/dashboards/{dashboard}/sync", json=body,
                  headers=_auth(account))  # fmt: skip
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


class Editors:
    """The live editors (a Node process of stock clients), run in a thread until stopped."""

    def __init__(self, node_dir: Path, gateways: list[Gateway], tokens: list[str],
                 dashboard: str, stop_file: Path, seed: int) -> None:  # fmt: skip
        self.stop_file = stop_file
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None
        payload = {"urls": [g.url for g in gateways], "tokens": tokens, "dashboard": dashboard,
                   "clients": 3, "seed": seed, "stopFile": str(stop_file), "maxMs": 60000}  # fmt: skip

        def run() -> None:
            try:
                self.result = run_scenario(node_dir, "e2e_sync_editors.js", payload,
                                           timeout=110, gateways=gateways)  # fmt: skip
            except BaseException as exc:  # handed to the test's thread
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def finish(self) -> dict[str, Any]:
        self.stop_file.touch()
        self.thread.join(timeout=120)
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def _wait_for_edits(http: httpx.Client, gateway: Gateway, account: Account, dashboard: str,
                    past: int) -> None:  # fmt: skip
    for _ in range(200):
        if _get(http, gateway, account, dashboard)["head_version"] > past + 5:
            return
        threading.Event().wait(0.05)
    raise AssertionError("the live editors made no edits")


def _assert_editors_converged(result: dict[str, Any]) -> dict[str, Any]:
    assert result["rejected"] == []
    assert result["acked"] == result["submitted"] > 0
    fresh = result["fresh"]
    for client in result["clients"]:
        assert client["errors"] == [], client["name"]
        assert (client["v"], client["data"]) == (fresh["v"], fresh["data"]), client["name"]
    return dict(fresh)


def test_syncs_during_live_editing_converge_on_the_servers_document(
    node_dir: Path, node_bin: str, gateways: list[Gateway], accounts: dict[str, Account],
    new_dashboard: Callable[[], str], database_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    dashboard = new_dashboard()
    owner = accounts["owner"]
    with httpx.Client(timeout=30) as http:
        start = _set_up(http, gateways[0], owner, dashboard)
        base = _get(http, gateways[0], owner, dashboard)
        editors = Editors(node_dir, gateways, [owner.token, accounts["editor"].token], dashboard,
                          tmp_path / "stop", seed=5)  # fmt: skip
        try:
            _wait_for_edits(http, gateways[0], owner, dashboard, start)
            answers = []
            for i in range(8):
                doc = base["document"]
                # Whole-state syncs from one stale base: a widget each, and typing in the title
                # the editors type into too.
                local = {**doc, "widgets": {**doc["widgets"], f"s{i}": _widget(f"sync {i}", i)},
                         "layout": [*doc["layout"], f"s{i}"]}  # fmt: skip
                local["widgets"]["notes"] = {**doc["widgets"]["notes"], "title": f"[{i}]"}
                body = {"base_version": base["head_version"], "document": local,
                        "strategy": ("merge", "local-wins", "remote-wins")[i % 3]}  # fmt: skip
                gateway = gateways[i % 2]
                r = http.post(f"{gateway.http}/api/dashboards/{dashboard}/sync", json=body,
                              headers=_auth(owner, f"live-{dashboard}-{i}"))  # fmt: skip
                assert r.status_code == 200, r.text
                answers.append(r.json())
        finally:
            result = editors.finish()
        fresh = _assert_editors_converged(result)
        server = _get(http, gateways[1], owner, dashboard)
    assert (server["head_version"], server["document"]) == (fresh["v"], fresh["data"])
    assert {f"s{i}" for i in range(8)} <= set(fresh["data"]["widgets"])
    assert sorted(fresh["data"]["layout"]) == sorted(fresh["data"]["widgets"])
    title = fresh["data"]["widgets"]["notes"]["title"]
    # Merged by character: every sync's typing is there (editors may have typed inside it since).
    assert all(str(i) in title for i in range(8)) and title.count("[") >= 8, title
    assert [a["version"] for a in answers] == sorted(a["version"] for a in answers)
    assert_sound_log(database_url, dashboard, fresh["v"])


def test_a_queue_made_offline_drains_once_while_live_editors_keep_working(
    node_dir: Path, node_bin: str, spare_gateways: list[Gateway], accounts: dict[str, Account],
    new_dashboard: Callable[[], str], e2e_env: dict[str, str], database_url: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    mobile, live = spare_gateways
    dashboard = new_dashboard()
    owner = accounts["owner"]
    with httpx.Client(timeout=30) as http:
        start = _set_up(http, mobile, owner, dashboard)
        known = _get(http, mobile, owner, dashboard)["head_version"]
        editors = Editors(node_dir, [live], [accounts["editor"].token], dashboard,
                          tmp_path / "stop", seed=9)  # fmt: skip
        try:
            _wait_for_edits(http, live, owner, dashboard, start)
            mobile.kill()  # the offline client's server is gone
            queue = [(f"offline-{uuid.uuid4()}", {"added": {f"q{i:03}": _widget(f"q{i}", i % 9)}})
                     for i in range(100)]  # fmt: skip
            with pytest.raises(httpx.TransportError):  # still offline: nothing leaves the queue
                http.post(f"{mobile.http}/api/dashboards/{dashboard}/sync", headers=_auth(owner),
                          json={"base_version": known, "changes": queue[0][1]})  # fmt: skip
            mobile.start(e2e_env)
            mobile.wait_healthy()
            lost = 0
            while queue:
                key, changes = queue[0]
                body = {"base_version": known, "changes": changes}
                url = f"{mobile.http}/api/dashboards/{dashboard}/sync"
                try:
                    # Every tenth answer is lost on the way back (the client gives up reading).
                    timeout = 0.001 if len(queue) % 10 == 0 and lost < 10 else 30
                    r = http.post(url, json=body, headers=_auth(owner, key), timeout=timeout)
                except httpx.TimeoutException:
                    lost += 1
                    continue  # retried with the same key
                if r.status_code == 409 and r.json()["code"] == "idempotency_key_busy":
                    time.sleep(0.05)  # the lost request is still running: ask again shortly
                    continue
                assert r.status_code == 200, r.text
                known = r.json()["version"]
                queue.pop(0)
        finally:
            result = editors.finish()
        fresh = _assert_editors_converged(result)
        server = _get(http, mobile, owner, dashboard)
    assert lost > 0
    assert (server["head_version"], server["document"]) == (fresh["v"], fresh["data"])
    widgets = fresh["data"]["widgets"]
    assert {f"q{i:03}" for i in range(100)} <= set(widgets)
    assert sorted(fresh["data"]["layout"]) == sorted(widgets)
    # Each queued change is one op in the log, whatever the retries.
    rows = sql(database_url, "SELECT src, count(*) AS n FROM operations"
               " WHERE dashboard_id = $1 AND src LIKE 'api:idem:%' GROUP BY src",
               uuid.UUID(dashboard))  # fmt: skip
    assert len(rows) == 100 and all(r["n"] == 1 for r in rows)
    assert_sound_log(database_url, dashboard, fresh["v"])
