"""Bad input on every endpoint: wrong types, missing and unknown fields, oversize bodies, bad
JSON, invalid UUIDs, bad cursors. Each answers 4xx application/problem+json and changes
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from server.api import endpoints
from tests.api.conftest import Account, Api

TABLES = ("users", "sessions", "dashboards", "dashboard_collaborators", "share_links",
          "guest_sessions", "operations", "widgets")  # fmt: skip
BAD_UUID = "not-a-uuid"


async def _fingerprint(api: Api) -> list[Any]:
    pool = api.services.api.pool
    counts = [await pool.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES]
    heads = await pool.fetch("SELECT id, head_version, title, is_archived FROM dashboards")
    return [counts, sorted(map(tuple, heads))]


def _bodies(model: Any) -> list[tuple[str, Any]]:
    """(what, body) pairs that must all be refused by an endpoint taking ``model``."""
    fields = model.model_fields
    wrong_types = {name: {"nested": [1]} for name in fields}
    bodies: list[tuple[str, Any]] = [
        ("wrong types", wrong_types),
        ("unknown field", {"surprise": 1}),
        ("not an object", [1, 2, 3]),
        ("raw", b'{"a": NaN}'),
        ("raw", b"{broken"),
        ("raw", b"x" * 70_000),
    ]
    if any(f.is_required() for f in fields.values()):
        bodies.append(("missing fields", {}))
    return bodies


@pytest.fixture
async def owner(api: Api) -> tuple[Account, str]:
    account = await api.account()
    dashboard = (await api.dashboard(account))["id"]
    return account, dashboard


async def test_every_endpoint_refuses_bad_input_and_changes_nothing(
    api: Api, owner: tuple[Account, str]
) -> None:
    account, dashboard = owner
    before = await _fingerprint(api)
    tried = 0
    for e in endpoints():
        good_path = "/api" + e.path.replace("{id}", dashboard).replace(
            "{user_id}", account.id
        ).replace("{link_id}", account.id)
        bad_path = "/api" + e.path.replace("{id}", BAD_UUID).replace("{user_id}", BAD_UUID).replace(
            "{link_id}", BAD_UUID
        )
        requests: list[tuple[str, str, Any, dict[str, str]]] = []
        if e.params is not None:
            requests.append(("invalid uuid", bad_path, None, {}))
        if e.query is not None:
            requests.append(("unknown query", good_path + "?nonsense=1", None, {}))
            requests.append(("bad cursor", good_path + "?cursor=%%%&limit=0", None, {}))
        if e.body is not None:
            for what, body in _bodies(e.body):
                requests.append((what, good_path, body, {}))
            requests.append(("wrong media type", good_path, b"{}", {"content-type": "text/plain"}))
        for what, path, body, extra in requests:
            headers = {**account.auth, **extra}
            if isinstance(body, bytes):
                headers.setdefault("content-type", "application/json")
                r = await api.http.request(e.method, path, content=body, headers=headers)
            else:
                r = await api.http.request(e.method, path, json=body, headers=headers)
            tried += 1
            assert 400 <= r.status_code < 500, (e.method, e.path, what, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json", (e.path, what)
            problem = r.json()
            assert problem["status"] == r.status_code and problem["code"], problem
    assert tried > 60
    api.http.cookies.clear()
    assert await _fingerprint(api) == before


async def test_unknown_paths_and_methods_are_problems(api: Api) -> None:
    for method, path in (("GET", "/api/nothing"), ("PUT", "/api/me"), ("GET", "/api/x%0Ay")):
        r = await api.http.request(method, path)
        assert (
            r.status_code in (404, 405) and r.headers["content-type"] == "application/problem+json"
        )
