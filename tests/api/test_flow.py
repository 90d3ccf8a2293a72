"""The whole flow against a served process (uvicorn on a port), over real HTTP and /ws:
sign up, log in, create, list, search, invite, share link with password and expiry, redeem,
the guest on /ws edits or is refused by role, revoke (the guest loses access within a second),
logout (the socket is closed)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx

from tests.api.conftest import PASSWORD, api_settings
from tests.server.gateway_harness import open_client, running_gateway, title_op


async def _account(http: httpx.AsyncClient, name: str) -> tuple[str, dict[str, str]]:
    r = await http.post(
        "/api/users", json={"email": f"{name}@x.io", "username": name, "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    r = await http.post("/api/sessions", json={"login": name, "password": PASSWORD})
    assert r.status_code == 201, r.text
    http.cookies.clear()
    return r.json()["user"]["id"], {"authorization": f"Bearer {r.json()['token']}"}


async def _closed_within(client: Any, seconds: float) -> float:
    started = time.monotonic()
    code, _ = await client.closed(within=seconds + 2)
    assert code is not None
    return time.monotonic() - started


async def test_whole_flow(database_url: str, redis_url: str, redis_prefix: str) -> None:
    settings = api_settings(database_url, redis_url, redis_prefix)
    async with running_gateway(settings) as gw:
        base = f"http://127.0.0.1:{gw.port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            tag = uuid4().hex[:8]
            owner_id, owner = await _account(http, f"own{tag}")
            bob_id, bob = await _account(http, f"bob{tag}")
            word = f"flow{tag}"
            r = await http.post("/api/dashboards", json={"title": f"{word} board"}, headers=owner)
            assert r.status_code == 201
            d = r.json()["id"]
            listed = (await http.get("/api/dashboards", headers=owner)).json()["items"]
            assert [x["id"] for x in listed] == [d]
            found = (await http.get("/api/dashboards", params={"q": word}, headers=owner)).json()
            assert [x["id"] for x in found["items"]] == [d]

            r = await http.post(
                f"/api/dashboards/{d}/collaborators",
                json={"login": f"bob{tag}", "role": "editor"},
                headers=owner,
            )
            assert r.status_code == 201
            assert (await http.get(f"/api/dashboards/{d}", headers=bob)).status_code == 200

            links = {}
            for role in ("viewer", "editor"):
                r = await http.post(
                    f"/api/dashboards/{d}/share-links",
                    json={"role": role, "password": "open sesame",
                          "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
                    headers=owner,
                )  # fmt: skip
                assert r.status_code == 201, r.text
                links[role] = r.json()
            token = links["editor"]["token"]
            r = await http.post("/api/guest-sessions", json={"token": token})
            assert r.status_code == 401 and r.json()["code"] == "share_link_password_required"
            r = await http.post("/api/guest-sessions", json={"token": token, "password": "no"})
            assert r.status_code == 401 and r.json()["code"] == "share_link_password_wrong"
            guests = {}
            for role, link in links.items():
                r = await http.post(
                    "/api/guest-sessions",
                    json={"token": link["token"], "password": "open sesame",
                          "display_name": f"{role} guest"},
                )  # fmt: skip
                assert r.status_code == 201 and r.json()["role"] == role
                guests[role] = r.json()["token"]

            # Guests on /ws: the editor edits, the viewer is refused.
            editor = await open_client(gw.url, guests["editor"])
            viewer = await open_client(gw.url, guests["viewer"])
            for c in (editor, viewer):
                reply = await c.request({"a": "s", "c": "dashboards", "d": d})
                assert "error" not in reply, reply
            version = reply["data"]["v"]
            ack = await editor.op(d, version, title_op(f"{word} board", "by a guest"))
            assert "error" not in ack, ack
            await viewer.send(
                {"a": "op", "c": "dashboards", "d": d, "v": version + 1, "seq": 1,
                 "op": title_op("by a guest", "no")}
            )  # fmt: skip
            refused = await viewer.expect(lambda m: m.get("a") == "op" and "error" in m)
            assert refused["error"]["code"] == "forbidden"

            # Revoking the editor link: its guest loses access within a second.
            r = await http.delete(
                f"/api/dashboards/{d}/share-links/{links['editor']['id']}", headers=owner
            )
            assert r.status_code == 204
            assert await _closed_within(editor, 1.0) < 1.0
            r = await http.get("/api/me", headers={"authorization": f"Bearer {guests['editor']}"})
            assert r.status_code == 401
            # The other link's guest is untouched.
            assert "error" not in await viewer.request({"a": "f", "c": "dashboards", "d": d})

            # Logging out closes the socket that used the session.
            bob_ws = await open_client(gw.url, bob["authorization"].split()[1])
            assert "error" not in await bob_ws.request({"a": "s", "c": "dashboards", "d": d})
            assert (await http.delete("/api/sessions/current", headers=bob)).status_code == 204
            assert await _closed_within(bob_ws, 1.0) < 1.0
            assert (await http.get("/api/me", headers=bob)).status_code == 401

            audit = (await http.get(f"/api/dashboards/{d}/audit", headers=owner)).json()
            actions = [e["action"] for e in audit["items"]]
            for action in ("share_link.created", "share_link.redeemed",
                           "share_link.password_failed", "share_link.revoked",
                           "role.granted", "dashboard.created"):  # fmt: skip
                assert action in actions, action
            assert token not in str(audit) and "open sesame" not in str(audit)
            await viewer.close()
            _ = (owner_id, bob_id)
        await asyncio.sleep(0)
