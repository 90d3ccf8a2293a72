"""Collaborators: invite by login, change roles, remove; who may; the owner is fixed."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_invite_change_remove(api: Api) -> None:
    owner, ann, bob = await api.account(), await api.account(), await api.account()
    d = (await api.dashboard(owner))["id"]
    url = f"/api/dashboards/{d}/collaborators"
    r = await api.http.post(url, json={"login": ann.username, "role": "viewer"}, headers=owner.auth)
    assert r.status_code == 201
    assert r.json()["user"]["id"] == ann.id and r.json()["role"] == "viewer"
    assert r.json()["invited_by"]["id"] == owner.id

    r = await api.http.get(url, headers=ann.auth)
    members = r.json()["items"]
    assert [(m["user"]["id"], m["role"]) for m in members] == [
        (owner.id, "owner"), (ann.id, "viewer"),
    ]  # fmt: skip
    assert all(isinstance(m["online"], bool) for m in members)

    # A viewer cannot invite; an admin can, but cannot touch the owner.
    r = await api.http.put(f"{url}/{bob.id}", json={"role": "editor"}, headers=ann.auth)
    assert r.status_code == 403
    await api.share(owner, d, ann, "admin")
    r = await api.http.put(f"{url}/{bob.id}", json={"role": "editor"}, headers=ann.auth)
    assert r.status_code == 200 and r.json()["role"] == "editor"
    r = await api.http.put(f"{url}/{owner.id}", json={"role": "viewer"}, headers=ann.auth)
    assert r.status_code == 403 and r.json()["code"] == "owner_immutable"
    r = await api.http.delete(f"{url}/{owner.id}", headers=ann.auth)
    assert r.status_code == 403 and r.json()["code"] == "owner_immutable"

    # Bob may leave; then he sees nothing.
    r = await api.http.delete(f"{url}/{bob.id}", headers=bob.auth)
    assert r.status_code == 204
    r = await api.http.get(f"/api/dashboards/{d}", headers=bob.auth)
    assert r.status_code == 404
    r = await api.http.delete(f"{url}/{bob.id}", headers=owner.auth)
    assert r.status_code == 404


async def test_invite_unknown_login_or_role(api: Api) -> None:
    owner = await api.account()
    d = (await api.dashboard(owner))["id"]
    url = f"/api/dashboards/{d}/collaborators"
    r = await api.http.post(
        url, json={"login": "nobody-here", "role": "viewer"}, headers=owner.auth
    )
    assert r.status_code == 404
    r = await api.http.post(url, json={"login": "x", "role": "owner"}, headers=owner.auth)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.role"
